//! `AUTO` child log files: `<process>-<channel>---<identifier>-<8 random chars>.log` in
//! childlogdir, created 0600 when the sink is opened, and the start-up cleanup of old ones.

use std::fs::OpenOptions;
use std::io;
use std::os::unix::fs::OpenOptionsExt;
use std::path::{Path, PathBuf};

use super::fdio;

/// tempfile.mkstemp's alphabet.
const ALPHABET: &[u8] = b"abcdefghijklmnopqrstuvwxyz0123456789_";

fn random_name_part() -> io::Result<String> {
    let mut raw = [0u8; 8];
    fdio::random_bytes(&mut raw)?;
    Ok(raw
        .iter()
        .map(|b| ALPHABET[*b as usize % ALPHABET.len()] as char)
        .collect())
}

/// Creates a new, empty AUTO log file (mode 0600) and returns its path.
pub fn create_auto_log(
    childlogdir: &Path,
    process_name: &str,
    channel: &str,
    identifier: &str,
) -> io::Result<PathBuf> {
    loop {
        let name = format!(
            "{process_name}-{channel}---{identifier}-{}.log",
            random_name_part()?
        );
        let path = childlogdir.join(name);
        match OpenOptions::new()
            .write(true)
            .create_new(true)
            .mode(0o600)
            .open(&path)
        {
            Ok(_) => return Ok(path),
            Err(e) if e.kind() == io::ErrorKind::AlreadyExists => continue,
            Err(e) => {
                return Err(io::Error::new(
                    e.kind(),
                    format!("creating AUTO log file {}: {e}", path.display()),
                ))
            }
        }
    }
}

/// Whether `name` is `<anything>---<identifier>-<no spaces>.log` optionally followed by `.N`.
pub fn is_auto_log_name(name: &str, identifier: &str) -> bool {
    let marker = format!("---{identifier}-");
    name.match_indices(&marker).any(|(at, _)| {
        if at == 0 {
            return false;
        }
        let rest = &name[at + marker.len()..];
        let base = match rest.rsplit_once('.') {
            Some((b, n)) if !n.is_empty() && n.bytes().all(|c| c.is_ascii_digit()) => b,
            _ => rest,
        };
        match base.strip_suffix(".log") {
            Some(stem) => !stem.is_empty() && !stem.contains(char::is_whitespace),
            None => false,
        }
    })
}

/// Deletes old AUTO logs of supervisors with `identifier` from `childlogdir` (done at every
/// start unless `nocleanup`). Failures are logged per file and do not stop the cleanup.
pub fn cleanup_auto_logs(childlogdir: &Path, identifier: &str) {
    let entries = match std::fs::read_dir(childlogdir) {
        Ok(e) => e,
        Err(e) => {
            log::warn!(
                "Failed to list childlogdir {} for AUTO log cleanup: {e}",
                childlogdir.display()
            );
            return;
        }
    };
    for entry in entries.flatten() {
        let name = entry.file_name();
        let Some(name) = name.to_str() else { continue };
        if !is_auto_log_name(name, identifier) {
            continue;
        }
        let path = entry.path();
        if let Err(e) = std::fs::remove_file(&path) {
            log::warn!("Failed to clean up {:?}: {e}", path.display().to_string());
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn auto_names_match_the_cleanup_pattern() {
        assert!(is_auto_log_name(
            "web-stdout---supervisor-ab_12xyz.log",
            "supervisor"
        ));
        assert!(is_auto_log_name(
            "web-stderr---supervisor-ab12xyzq.log.3",
            "supervisor"
        ));
        assert!(!is_auto_log_name(
            "web-stdout---other-ab12xyzq.log",
            "supervisor"
        ));
        assert!(!is_auto_log_name(
            "---supervisor-ab12xyzq.log",
            "supervisor"
        ));
        assert!(!is_auto_log_name("web---supervisor-a b.log", "supervisor"));
        assert!(!is_auto_log_name("web---supervisor-abc.txt", "supervisor"));
        assert!(!is_auto_log_name("supervisord.log", "supervisor"));
    }

    #[test]
    fn random_part_has_eight_chars_from_the_alphabet() {
        let s = random_name_part().unwrap();
        assert_eq!(s.len(), 8);
        assert!(s.bytes().all(|c| ALPHABET.contains(&c)));
    }
}
