//! Reading `/etc/passwd` and `/etc/group` directly.
//!
//! A statically linked glibc can only use NSS when the matching shared NSS modules exist at
//! run time, which they do not in `FROM scratch` or busybox images. Container images always
//! carry the two files, so they are read first; NSS stays the fallback (LDAP, sssd, ...).

use std::path::Path;

/// One `/etc/passwd` entry (the fields we use).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PasswdEntry {
    pub name: String,
    pub uid: u32,
    pub gid: u32,
    pub home: String,
}

/// One `/etc/group` entry.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct GroupEntry {
    pub name: String,
    pub gid: u32,
    pub members: Vec<String>,
}

/// Lines of a colon-separated database, skipping comments, blanks and NIS `+`/`-` entries.
fn records(path: &Path) -> Vec<Vec<String>> {
    let Ok(text) = std::fs::read_to_string(path) else {
        return Vec::new();
    };
    text.lines()
        .map(str::trim_end)
        .filter(|l| !l.is_empty() && !l.starts_with('#') && !l.starts_with(['+', '-']))
        .map(|l| l.split(':').map(str::to_string).collect())
        .collect()
}

pub fn passwd_entries(path: &Path) -> Vec<PasswdEntry> {
    records(path)
        .into_iter()
        .filter(|f| f.len() >= 6)
        .filter_map(|f| {
            Some(PasswdEntry {
                name: f[0].clone(),
                uid: f[2].parse().ok()?,
                gid: f[3].parse().ok()?,
                home: f[5].clone(),
            })
        })
        .collect()
}

pub fn group_entries(path: &Path) -> Vec<GroupEntry> {
    records(path)
        .into_iter()
        .filter(|f| f.len() >= 3)
        .filter_map(|f| {
            let members = f
                .get(3)
                .map(|m| {
                    m.split(',')
                        .filter(|s| !s.is_empty())
                        .map(str::to_string)
                        .collect()
                })
                .unwrap_or_default();
            Some(GroupEntry {
                name: f[0].clone(),
                gid: f[2].parse().ok()?,
                members,
            })
        })
        .collect()
}

/// The groups `initgroups` would give `user`: the primary gid first, then every group that
/// lists the user as a member.
pub fn groups_of(groups: &[GroupEntry], user: &str, primary: u32) -> Vec<u32> {
    let mut out = vec![primary];
    for g in groups {
        if g.members.iter().any(|m| m == user) && !out.contains(&g.gid) {
            out.push(g.gid);
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn write(name: &str, text: &str) -> std::path::PathBuf {
        let p = std::env::temp_dir().join(format!("svrs-passwd-{}-{name}", std::process::id()));
        std::fs::write(&p, text).unwrap();
        p
    }

    #[test]
    fn reads_passwd_and_group_files() {
        let pw = write(
            "passwd",
            "# comment\nroot:x:0:0:root:/root:/bin/sh\n+nis\nweb:x:1000:1000::/home/web:/bin/sh\nbroken:x:abc:1::/:/bin/sh\n",
        );
        let gr = write(
            "group",
            "root:x:0:\nweb:x:1000:\nwww-data:x:33:web,other\ndocker:x:999:other\n",
        );
        let users = passwd_entries(&pw);
        assert_eq!(users.len(), 2);
        assert_eq!(users[1].name, "web");
        assert_eq!(users[1].uid, 1000);
        assert_eq!(users[1].home, "/home/web");
        let groups = group_entries(&gr);
        assert_eq!(groups_of(&groups, "web", 1000), vec![1000, 33]);
        assert_eq!(groups_of(&groups, "other", 5), vec![5, 33, 999]);
        let _ = std::fs::remove_file(pw);
        let _ = std::fs::remove_file(gr);
    }

    #[test]
    fn missing_files_read_as_empty() {
        assert!(passwd_entries(Path::new("/nonexistent/passwd")).is_empty());
        assert!(group_entries(Path::new("/nonexistent/group")).is_empty());
    }
}
