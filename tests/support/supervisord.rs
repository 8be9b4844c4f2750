//! The supervisord under test, the `[supervisord]` header every config starts with, and the
//! test program (`examples/testprog.rs`) the configs run.

use std::path::{Path, PathBuf};
use std::process::Command;

use super::temp::TempDir;

pub const SUPERVISORD: &str = env!("CARGO_BIN_EXE_supervisord");

/// The test helper program `examples/testprog.rs`. `cargo test` only checks examples, so it
/// is built here once per test binary, with the profile of the tests.
pub fn testprog() -> PathBuf {
    static BUILD: std::sync::Once = std::sync::Once::new();
    BUILD.call_once(|| {
        let cargo = std::env::var("CARGO").unwrap_or_else(|_| "cargo".into());
        let mut cmd = Command::new(cargo);
        cmd.args(["build", "--quiet", "--example", "testprog"]);
        cmd.current_dir(env!("CARGO_MANIFEST_DIR"));
        if !cfg!(debug_assertions) {
            cmd.arg("--release");
        }
        let st = cmd.status().expect("run cargo build --example testprog");
        assert!(st.success(), "building examples/testprog failed");
    });
    let bin = Path::new(SUPERVISORD);
    bin.parent().unwrap().join("examples").join("testprog")
}

/// The text of `path`, empty when it cannot be read.
pub fn read(path: &Path) -> String {
    std::fs::read_to_string(path).unwrap_or_default()
}

/// Sends `sig` to `pid` (a process this test started).
pub fn kill(pid: i32, sig: i32) {
    // SAFETY: kill(2) has no memory effects; the tests only name pids they spawned.
    unsafe { libc::kill(pid, sig) };
}

/// The `[supervisord]` section every test uses (logs in the temp dir, foreground).
pub fn header(dir: &TempDir) -> String {
    format!(
        "[supervisord]\nlogfile={}\npidfile={}\nchildlogdir={}\nnodaemon=true\nloglevel=debug\n\n",
        dir.join("sd.log").display(),
        dir.join("sd.pid").display(),
        dir.0.display()
    )
}
