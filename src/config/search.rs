//! The default config search list used when no `-c` is given.

use std::path::{Path, PathBuf};

/// Supervisor's search list for `argv0` (`here` = parent of the directory holding it).
pub fn search_paths(exe_path: &Path) -> Vec<PathBuf> {
    let here = exe_path
        .parent()
        .and_then(Path::parent)
        .unwrap_or(Path::new(""));
    vec![
        here.join("etc").join("supervisord.conf"),
        here.join("supervisord.conf"),
        PathBuf::from("supervisord.conf"),
        PathBuf::from("etc/supervisord.conf"),
        PathBuf::from("/etc/supervisord.conf"),
        PathBuf::from("/etc/supervisor/supervisord.conf"),
    ]
}

/// The first existing file of [`search_paths`].
pub fn search_default(exe_path: &Path) -> Option<PathBuf> {
    search_paths(exe_path).into_iter().find(|p| p.exists())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn paths_follow_supervisor_order() {
        let p = search_paths(Path::new("/opt/venv/bin/supervisord"));
        assert_eq!(p[0], PathBuf::from("/opt/venv/etc/supervisord.conf"));
        assert_eq!(p[1], PathBuf::from("/opt/venv/supervisord.conf"));
        assert_eq!(p[5], PathBuf::from("/etc/supervisor/supervisord.conf"));
        let bare = search_paths(Path::new("supervisord"));
        assert_eq!(bare[0], PathBuf::from("etc/supervisord.conf"));
        assert_eq!(bare[1], PathBuf::from("supervisord.conf"));
    }
}
