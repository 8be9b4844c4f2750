//! Python Supervisor 4.3.0, the reference the interop tests compare with.

use std::path::{Path, PathBuf};
use std::process::Command;

/// The venv that `scripts/pyenv.sh` creates (or finds) under `target/pyenv`.
///
/// A comparison must not pass silently without its reference: when the venv cannot be had this
/// panics, naming the script. With `SUPERVISORD_RS_SKIP_PYTHON=1` (and not under `CI=true`) it
/// prints `skipped: <test>: <why>` to stderr and returns `None`; the test then returns.
pub fn python_venv() -> Option<PathBuf> {
    let why = match venv() {
        Ok(path) => return Some(path),
        Err(why) => why,
    };
    let skip = std::env::var("SUPERVISORD_RS_SKIP_PYTHON").as_deref() == Ok("1");
    if !skip || std::env::var("CI").as_deref() == Ok("true") {
        panic!(
            "Python Supervisor 4.3.0 is needed for this comparison: {why}\n\
             run scripts/pyenv.sh (it creates target/pyenv), or set \
             SUPERVISORD_RS_SKIP_PYTHON=1 to skip the comparisons (not under CI=true)"
        );
    }
    let test = std::thread::current().name().unwrap_or("?").to_string();
    eprintln!("skipped: {test}: SUPERVISORD_RS_SKIP_PYTHON=1 and {why}");
    None
}

fn venv() -> Result<PathBuf, String> {
    let script = Path::new(env!("CARGO_MANIFEST_DIR")).join("scripts/pyenv.sh");
    let out = Command::new(&script)
        .output()
        .map_err(|e| format!("cannot run {}: {e}", script.display()))?;
    if !out.status.success() {
        return Err(format!(
            "{} failed: {}",
            script.display(),
            String::from_utf8_lossy(&out.stderr).trim()
        ));
    }
    let path = PathBuf::from(String::from_utf8_lossy(&out.stdout).trim());
    for bin in ["bin/supervisord", "bin/supervisorctl", "bin/python"] {
        if !path.join(bin).exists() {
            return Err(format!(
                "{} printed {}, which has no {bin}",
                script.display(),
                path.display()
            ));
        }
    }
    Ok(path)
}
