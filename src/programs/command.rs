//! Resolving a program's command to an executable file, with Supervisor's checks and texts.

use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};

use super::error::ErrorKind;

/// Why a command cannot be run: the kind a start request reports and the spawnerr text.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CommandError {
    pub kind: ErrorKind,
    pub message: String,
}

impl CommandError {
    fn new(kind: ErrorKind, message: String) -> CommandError {
        CommandError { kind, message }
    }
}

/// Python's `%r` for a plain string: single quotes unless the text holds one.
fn py_repr(s: &str) -> String {
    if s.contains('\'') && !s.contains('"') {
        format!("\"{s}\"")
    } else {
        format!("'{}'", s.replace('\\', "\\\\").replace('\'', "\\'"))
    }
}

/// Finds the file `argv0` names: as is when it holds a `/`, else the first existing entry in
/// `search_path` (a `:`-separated PATH). Then checks exists, not a directory, any x bit and
/// access(X_OK), in Supervisor's order.
pub fn resolve(argv0: &str, search_path: Option<&str>) -> Result<PathBuf, CommandError> {
    if argv0.is_empty() {
        return Err(CommandError::new(
            ErrorKind::NotExecutable,
            "command is empty".into(),
        ));
    }
    let mut found: Option<(PathBuf, std::fs::Metadata)> = None;
    let filename = if argv0.contains('/') {
        let p = PathBuf::from(argv0);
        if let Ok(md) = std::fs::metadata(&p) {
            found = Some((p.clone(), md));
        }
        p
    } else {
        let path = search_path
            .filter(|p| !p.is_empty())
            .unwrap_or("/bin:/usr/bin:/usr/local/bin");
        for dir in path.split(':') {
            let candidate = Path::new(dir).join(argv0);
            if let Ok(md) = std::fs::metadata(&candidate) {
                found = Some((candidate, md));
                break;
            }
        }
        found
            .as_ref()
            .map(|(p, _)| p.clone())
            .unwrap_or_else(|| PathBuf::from(argv0))
    };
    let shown = py_repr(&filename.to_string_lossy());
    let Some((_, md)) = found else {
        return Err(CommandError::new(
            ErrorKind::NoFile,
            format!("can't find command {shown}"),
        ));
    };
    if md.is_dir() {
        let msg = format!("command at {shown} is a directory");
        return Err(CommandError::new(ErrorKind::NotExecutable, msg));
    }
    if md.permissions().mode() & 0o111 == 0 {
        let msg = format!("command at {shown} is not executable");
        return Err(CommandError::new(ErrorKind::NotExecutable, msg));
    }
    if !executable_by_us(&filename) {
        let msg = format!("no permission to run command {shown}");
        return Err(CommandError::new(ErrorKind::NotExecutable, msg));
    }
    Ok(filename)
}

fn executable_by_us(path: &Path) -> bool {
    nix::unistd::access(path, nix::unistd::AccessFlags::X_OK).is_ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn finds_commands_on_the_path() {
        assert_eq!(
            resolve("sh", Some("/nonexistent:/bin")).unwrap(),
            PathBuf::from("/bin/sh")
        );
    }

    #[test]
    fn reports_supervisor_texts() {
        let e = resolve("no_such_command_xyz", Some("/bin")).unwrap_err();
        assert_eq!(e.kind, ErrorKind::NoFile);
        assert_eq!(e.message, "can't find command 'no_such_command_xyz'");
        let e = resolve("/tmp", None).unwrap_err();
        assert_eq!(e.message, "command at '/tmp' is a directory");
        let e = resolve("/etc/passwd", None).unwrap_err();
        assert_eq!(e.kind, ErrorKind::NotExecutable);
        assert_eq!(e.message, "command at '/etc/passwd' is not executable");
    }
}
