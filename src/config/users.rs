//! Resolving `user=` / `chown=` values against the system's user and group databases.

use super::datatypes::Conv;
use super::model::UserSpec;
use super::passwd;
use nix::unistd::{Gid, Group, Uid, User};
use std::ffi::CString;
use std::path::{Path, PathBuf};

const PASSWD: &str = "/etc/passwd";
const GROUP: &str = "/etc/group";

fn numeric(s: &str) -> Option<u32> {
    s.trim().parse::<u32>().ok()
}

/// A user name or numeric uid that must exist: uid, primary gid, supplementary groups, home.
pub fn resolve_user(name: &str) -> Conv<UserSpec> {
    if let Some(spec) = from_files(name, Path::new(PASSWD), Path::new(GROUP)) {
        return Ok(spec);
    }
    let user = match numeric(name) {
        Some(uid) => User::from_uid(Uid::from_raw(uid))
            .ok()
            .flatten()
            .ok_or_else(|| format!("Invalid user id {name}"))?,
        None => User::from_name(name)
            .ok()
            .flatten()
            .ok_or_else(|| format!("Invalid user name {name}"))?,
    };
    let groups = supplementary_groups(&user.name, user.gid);
    Ok(UserSpec {
        name: user.name,
        uid: user.uid.as_raw(),
        gid: user.gid.as_raw(),
        groups,
        home: user.dir,
    })
}

/// The user from the passwd/group files, by name or numeric uid.
fn from_files(name: &str, passwd_path: &Path, group_path: &Path) -> Option<UserSpec> {
    let uid = numeric(name);
    let entry = passwd::passwd_entries(passwd_path)
        .into_iter()
        .find(|e| match uid {
            Some(uid) => e.uid == uid,
            None => e.name == name.trim(),
        })?;
    let groups = passwd::groups_of(&passwd::group_entries(group_path), &entry.name, entry.gid);
    Some(UserSpec {
        name: entry.name,
        uid: entry.uid,
        gid: entry.gid,
        groups,
        home: PathBuf::from(entry.home),
    })
}

/// Every group the user belongs to (including the primary one), as `initgroups` would set.
fn supplementary_groups(name: &str, gid: Gid) -> Vec<u32> {
    let Ok(cname) = CString::new(name) else {
        return vec![gid.as_raw()];
    };
    match nix::unistd::getgrouplist(&cname, gid) {
        Ok(list) => list.into_iter().map(|g| g.as_raw()).collect(),
        Err(_) => vec![gid.as_raw()],
    }
}

pub fn name_to_uid(name: &str) -> Conv<u32> {
    resolve_user(name).map(|u| u.uid)
}

pub fn name_to_gid(name: &str) -> Conv<u32> {
    let from_file = passwd::group_entries(Path::new(GROUP))
        .into_iter()
        .find(|g| match numeric(name) {
            Some(gid) => g.gid == gid,
            None => g.name == name.trim(),
        });
    if let Some(g) = from_file {
        return Ok(g.gid);
    }
    match numeric(name) {
        Some(gid) => Group::from_gid(Gid::from_raw(gid))
            .ok()
            .flatten()
            .map(|g| g.gid.as_raw())
            .ok_or_else(|| format!("Invalid group id {name}")),
        None => Group::from_name(name)
            .ok()
            .flatten()
            .map(|g| g.gid.as_raw())
            .ok_or_else(|| format!("Invalid group name {name}")),
    }
}

/// `user` or `user:group` → (uid, gid); a missing group is `u32::MAX` (chown's "leave as is").
pub fn colon_separated_user_group(s: &str) -> Conv<(u32, u32)> {
    let err = || format!("Invalid user:group definition {s}");
    match s.split_once(':') {
        None => Ok((name_to_uid(s).map_err(|_| err())?, u32::MAX)),
        Some((u, g)) => Ok((
            name_to_uid(u).map_err(|_| err())?,
            name_to_gid(g).map_err(|_| err())?,
        )),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn files_are_read_without_nss() {
        let dir = std::env::temp_dir().join(format!("svrs-users-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let (pw, gr) = (dir.join("passwd"), dir.join("group"));
        std::fs::write(&pw, "app:x:4321:4321::/srv/app:/bin/sh\n").unwrap();
        std::fs::write(&gr, "app:x:4321:\nlogs:x:4400:app\n").unwrap();
        let spec = from_files("app", &pw, &gr).expect("app from files");
        assert_eq!((spec.uid, spec.gid), (4321, 4321));
        assert_eq!(spec.groups, vec![4321, 4400]);
        assert_eq!(spec.home, PathBuf::from("/srv/app"));
        assert_eq!(
            from_files("4321", &pw, &gr).map(|s| s.name),
            Some("app".into())
        );
        assert!(from_files("nobody-here", &pw, &gr).is_none());
        let _ = std::fs::remove_dir_all(dir);
    }

    #[test]
    fn root_resolves_by_name_and_id() {
        let by_name = resolve_user("root").expect("root exists");
        assert_eq!((by_name.uid, by_name.gid), (0, 0));
        assert!(by_name.groups.contains(&0));
        assert_eq!(resolve_user("0").map(|u| u.name), Ok("root".into()));
    }

    #[test]
    fn unknown_users_are_errors() {
        assert_eq!(
            resolve_user("nosuchuser"),
            Err("Invalid user name nosuchuser".into())
        );
        assert_eq!(
            resolve_user("3999999"),
            Err("Invalid user id 3999999".into())
        );
    }

    #[test]
    fn user_group_pairs() {
        assert_eq!(colon_separated_user_group("root"), Ok((0, u32::MAX)));
        assert_eq!(colon_separated_user_group("root:0"), Ok((0, 0)));
        assert_eq!(
            colon_separated_user_group("root:nosuchgrp"),
            Err("Invalid user:group definition root:nosuchgrp".into())
        );
    }
}
