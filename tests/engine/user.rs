//! `user=`: the child runs with the user's uid, primary gid and supplementary groups.

use std::os::unix::fs::PermissionsExt;
use std::process::Command;

use crate::support::daemon::*;
use crate::support::temp::TempDir;
use crate::support::wait::wait_for;

const USER: &str = "sdrs-test";

/// The test user's (uid, gid), created when missing; `None` when that is impossible here.
fn test_user() -> Option<(u32, u32)> {
    if !nix::unistd::geteuid().is_root() {
        return None;
    }
    let id = |flag: &str| -> Option<u32> {
        let out = Command::new("id").args([flag, USER]).output().ok()?;
        String::from_utf8(out.stdout).ok()?.trim().parse().ok()
    };
    if id("-u").is_none() {
        let _ = Command::new("useradd")
            .args(["-M", "-s", "/bin/false", USER])
            .status();
    }
    Some((id("-u")?, id("-g")?))
}

#[test]
fn program_runs_as_configured_user() {
    let Some((uid, gid)) = test_user() else {
        eprintln!("skipped: needs root and useradd");
        return;
    };
    let dir = TempDir::new("user");
    std::fs::set_permissions(&dir.0, std::fs::Permissions::from_mode(0o777)).unwrap();
    let sup = Sup::launch(
        dir,
        &format!("[program:u]\ncommand={{prog}} env={{dir}}/env.txt sleep=100\nuser={USER}\n"),
        &[],
    );
    assert!(
        wait_for(10.0, || sup.file("env.txt").contains("groups=")),
        "{}",
        sup.log()
    );
    let env = sup.file("env.txt");
    assert!(env.contains(&format!("uid={uid}\n")), "{env}");
    assert!(env.contains(&format!("gid={gid}\n")), "{env}");
    assert!(!env.contains("groups=[0"), "root group kept: {env}");
}
