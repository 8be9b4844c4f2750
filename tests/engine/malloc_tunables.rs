//! supervisord starts itself once more with glibc's per-thread caches turned off
//! (`GLIBC_TUNABLES`, init/malloc.rs), and its programs still get the environment it was given.

use std::process::{Command, Stdio};

use crate::support::daemon::*;
use crate::support::supervisord::{header, read, SUPERVISORD};
use crate::support::temp::TempDir;
use crate::support::wait::wait_for;

/// Starts supervisord with `tunables` as GLIBC_TUNABLES (None: unset) and a program that writes
/// its environment to env.txt; returns the daemon, once the file is written.
fn start(tag: &str, tunables: Option<&str>) -> Sup {
    let dir = TempDir::new(tag);
    let conf = format!(
        "{}[program:env]\ncommand=sh -c 'env > {d}/env.tmp && mv {d}/env.tmp {d}/env.txt && exec sleep 100'\nstartsecs=0\n",
        header(&dir),
        d = dir.0.display()
    );
    std::fs::write(dir.join("sd.conf"), conf).unwrap();
    let mut cmd = Command::new(SUPERVISORD);
    cmd.arg("-n").arg("-c").arg(dir.join("sd.conf"));
    cmd.env_remove("GLIBC_TUNABLES")
        .env_remove("SUPERVISORD_RS_GLIBC_TUNABLES");
    if let Some(t) = tunables {
        cmd.env("GLIBC_TUNABLES", t);
    }
    cmd.stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::null());
    let child = cmd.spawn().expect("start supervisord");
    let pid = child.id() as i32;
    let sup = Sup {
        dir,
        child: Some(child),
        pid,
        status: None,
    };
    assert!(
        wait_for(20.0, || sup.dir.join("env.txt").exists()),
        "the program never wrote its environment:\n{}",
        sup.log()
    );
    sup
}

/// The environment supervisord's process image started with (what the second start got).
fn own_environment(pid: i32) -> Vec<String> {
    let raw = std::fs::read(format!("/proc/{pid}/environ")).unwrap_or_default();
    raw.split(|b| *b == 0)
        .map(|v| String::from_utf8_lossy(v).into_owned())
        .collect()
}

fn program_environment(sup: &Sup) -> Vec<String> {
    read(&sup.dir.join("env.txt"))
        .lines()
        .map(str::to_string)
        .collect()
}

#[test]
fn caches_off_for_the_daemon_and_unset_again_for_programs() {
    let sup = start("tunables-unset", None);
    if cfg!(target_env = "gnu") {
        let own = own_environment(sup.pid);
        assert!(
            own.contains(&"GLIBC_TUNABLES=glibc.malloc.tcache_count=0".to_string()),
            "{own:?}"
        );
    }
    // Same pid (an exec, not a new process) and the same name, not "exe".
    let comm = read(std::path::Path::new(&format!("/proc/{}/comm", sup.pid)));
    assert_eq!(comm.trim(), "supervisord");
    let env = program_environment(&sup);
    assert!(
        !env.iter().any(|l| l.starts_with("GLIBC_TUNABLES=")),
        "{env:?}"
    );
    assert!(
        !env.iter().any(|l| l.starts_with("SUPERVISORD_RS_")),
        "{env:?}"
    );
}

#[test]
fn a_users_tunables_are_kept_and_passed_on_unchanged() {
    let sup = start("tunables-set", Some("glibc.malloc.arena_max=2"));
    if cfg!(target_env = "gnu") {
        // glibc edits the variable in place while it reads it: look for both parts.
        let own = own_environment(sup.pid).join("\n");
        assert!(
            own.contains("GLIBC_TUNABLES=glibc.malloc.arena_max=2"),
            "{own}"
        );
        assert!(own.contains("glibc.malloc.tcache_count=0"), "{own}");
    }
    let env = program_environment(&sup);
    assert!(
        env.contains(&"GLIBC_TUNABLES=glibc.malloc.arena_max=2".to_string()),
        "{env:?}"
    );
    assert!(
        !env.iter().any(|l| l.starts_with("SUPERVISORD_RS_")),
        "{env:?}"
    );
}

#[test]
fn a_users_own_cache_setting_is_left_alone() {
    let sup = start("tunables-own", Some("glibc.malloc.tcache_count=3"));
    let own = own_environment(sup.pid);
    assert!(
        own.contains(&"GLIBC_TUNABLES=glibc.malloc.tcache_count=3".to_string()),
        "{own:?}"
    );
    let env = program_environment(&sup);
    assert!(
        env.contains(&"GLIBC_TUNABLES=glibc.malloc.tcache_count=3".to_string()),
        "{env:?}"
    );
}
