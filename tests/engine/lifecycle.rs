//! Start, backoff, exit and restart behaviour of real programs under a real supervisord.

use crate::support::daemon::*;
use crate::support::temp::TempDir;
use crate::support::wait::wait_for;

#[test]
fn crash_loop_gives_up_after_startretries_plus_one_with_linear_backoff() {
    let sup = Sup::start(
        "crash",
        "[program:crash]\ncommand={prog} exit=1\nstartretries=3\nstartsecs=1\n",
    );
    assert!(
        sup.wait_log("gave up: crash entered FATAL state", 15.0),
        "{}",
        sup.log()
    );
    assert_eq!(sup.count("spawned: 'crash'"), 4, "{}", sup.log());
    assert_eq!(sup.count("exited: crash (exit status 1; not expected)"), 4);
    let t = sup.times_of("spawned: 'crash'");
    for (i, want) in [1.0, 2.0, 3.0].iter().enumerate() {
        let gap = t[i + 1] - t[i];
        assert!(
            (gap - want).abs() <= 0.3,
            "gap {i} was {gap:.3}s, want {want}s\n{}",
            sup.log()
        );
    }
}

#[test]
fn exit_with_listed_code_is_expected_and_not_restarted() {
    let sup = Sup::start(
        "expected",
        "[program:ok3]\ncommand={prog} sleep=0.3 exit=3\nstartsecs=0\nexitcodes=0,3\n",
    );
    assert!(
        sup.wait_log("exited: ok3 (exit status 3; expected)", 10.0),
        "{}",
        sup.log()
    );
    std::thread::sleep(std::time::Duration::from_millis(300));
    assert_eq!(sup.count("spawned: 'ok3'"), 1, "{}", sup.log());
}

#[test]
fn unexpected_exit_restarts_immediately() {
    let sup = Sup::start(
        "unexpected",
        // Runs over 1 s: shorter ones wait for the crash-loop floor.
        "[program:bad]\ncommand={prog} sleep=1.05 exit=3\nstartsecs=0\nexitcodes=0\n",
    );
    assert!(
        wait_for(15.0, || sup.count("spawned: 'bad'") >= 3),
        "{}",
        sup.log()
    );
    assert!(sup
        .log()
        .contains("exited: bad (exit status 3; not expected)"));
    let exits = sup.times_of("exited: bad");
    let spawns = sup.times_of("spawned: 'bad'");
    let gap = exits
        .iter()
        .zip(&spawns[1..])
        .map(|(e, s)| s - e)
        .fold(f64::MAX, f64::min);
    println!("restart gap after exit: {:.1} ms", gap * 1000.0);
    // The best of a few restarts: a loaded machine may delay any single one.
    assert!(
        gap <= 0.02,
        "respawn took {:.1} ms\n{}",
        gap * 1000.0,
        sup.log()
    );
}

#[test]
fn autorestart_false_leaves_process_exited() {
    let sup = Sup::start(
        "norestart",
        "[program:once]\ncommand={prog} sleep=0.2 exit=5\nstartsecs=0\nautorestart=false\n",
    );
    assert!(
        sup.wait_log("exited: once (exit status 5; not expected)", 10.0),
        "{}",
        sup.log()
    );
    std::thread::sleep(std::time::Duration::from_millis(300));
    assert_eq!(sup.count("spawned: 'once'"), 1);
}

#[test]
fn early_exit_with_expected_code_still_backs_off() {
    let sup = Sup::start(
        "early",
        "[program:quick]\ncommand={prog} exit=0\nstartsecs=1\nstartretries=0\n",
    );
    assert!(
        sup.wait_log("gave up: quick entered FATAL state", 10.0),
        "{}",
        sup.log()
    );
    assert!(sup
        .log()
        .contains("exited: quick (exit status 0; not expected)"));
}

#[test]
fn startsecs_promotes_to_running() {
    let sup = Sup::start(
        "running",
        "[program:long]\ncommand={prog} sleep=100\nstartsecs=1\n",
    );
    let want = "success: long entered RUNNING state, process has stayed up for > than 1 seconds \
                (startsecs)";
    assert!(sup.wait_log(want, 10.0), "{}", sup.log());
    let spawned = sup.times_of("spawned: 'long'")[0];
    let running = sup.times_of("success: long")[0];
    assert!((running - spawned - 1.0).abs() < 0.3, "{}", sup.log());
}

#[test]
fn missing_command_is_a_spawn_error() {
    let sup = Sup::start(
        "nocmd",
        "[program:nosuch]\ncommand=no_such_command_xyz\nstartretries=1\n",
    );
    assert!(
        sup.wait_log("gave up: nosuch entered FATAL state", 10.0),
        "{}",
        sup.log()
    );
    assert_eq!(
        sup.count("spawnerr: can't find command 'no_such_command_xyz'"),
        2
    );
    assert!(!sup.log().contains("spawned: 'nosuch'"));
}

#[test]
fn environment_and_directory_reach_the_child() {
    let sup = Sup::start(
        "env",
        "[supervisord]\nenvironment=GLOBAL=1,FOO=global\n\n\
         [program:envy]\ncommand={prog} env={dir}/env.txt sleep=100\n\
         environment=FOO=\"bar baz\",PROG=2\ndirectory=/tmp\numask=027\n",
    );
    assert!(
        wait_for(10.0, || sup.file("env.txt").contains("groups=")),
        "{}",
        sup.log()
    );
    let env = sup.file("env.txt");
    for want in [
        "FOO=bar baz\n",
        "GLOBAL=1\n",
        "PROG=2\n",
        "SUPERVISOR_ENABLED=1\n",
        "SUPERVISOR_PROCESS_NAME=envy\n",
        "SUPERVISOR_GROUP_NAME=envy\n",
        "cwd=/tmp\n",
        "umask=27\n",
    ] {
        assert!(env.contains(want), "missing {want:?} in\n{env}");
    }
}

#[test]
fn exec_failure_is_reported_on_the_child_stderr() {
    use std::os::unix::fs::PermissionsExt;
    let dir = TempDir::new("execfail");
    // Passes the checks (exists, has an x bit) but execve refuses it.
    std::fs::write(dir.join("notexec"), b"garbage").unwrap();
    std::fs::set_permissions(dir.join("notexec"), std::fs::Permissions::from_mode(0o755)).unwrap();
    let sup = Sup::launch(
        dir,
        "[program:bad]\ncommand={dir}/notexec\nstartretries=0\nstderr_logfile={dir}/bad.err\n",
        &[],
    );
    assert!(
        sup.wait_log("gave up: bad entered FATAL state", 10.0),
        "{}",
        sup.log()
    );
    assert!(
        sup.log()
            .contains("exited: bad (exit status 127; not expected)"),
        "{}",
        sup.log()
    );
    let err = sup.file("bad.err");
    let want = format!(
        "supervisor: couldn't exec {}: ENOEXEC\nsupervisor: child process was not spawned\n",
        sup.dir.join("notexec").display()
    );
    assert_eq!(err, want);
}

#[test]
fn minfds_raises_the_open_files_limit() {
    let sup = Sup::start_with(
        "minfds",
        "[supervisord]\nminfds=2048\n\n[program:a]\ncommand={prog} sleep=100\nstartsecs=0\n",
        &["sh", "-c", "ulimit -Sn 256; exec \"$0\" \"$@\""],
    );
    assert!(sup.wait_log("spawned: 'a'", 10.0), "{}", sup.log());
    assert!(
        sup.log()
            .contains("INFO Increased RLIMIT_NOFILE limit to 2048"),
        "{}",
        sup.log()
    );
}

#[test]
fn unusable_directory_fails_in_the_child_with_supervisor_text() {
    let sup = Sup::start(
        "chdir",
        "[program:lost]\ncommand={prog} sleep=100\ndirectory=/nonexistent/dir\nstartretries=0\n\
         stderr_logfile={dir}/lost.err\n",
    );
    assert!(
        sup.wait_log("gave up: lost entered FATAL state", 10.0),
        "{}",
        sup.log()
    );
    assert!(
        sup.log()
            .contains("exited: lost (exit status 127; not expected)"),
        "{}",
        sup.log()
    );
    assert_eq!(
        sup.file("lost.err"),
        "supervisor: couldn't chdir to /nonexistent/dir: ENOENT\n\
         supervisor: child process was not spawned\n"
    );
}

#[test]
fn children_get_own_process_group_and_clean_signal_state() {
    let sup = Sup::start(
        "pgrp",
        "[program:a]\ncommand={prog} sigstate={dir}/state sleep=100\nstartsecs=0\n",
    );
    assert!(
        wait_for(10.0, || sup.file("state").contains("SigIgn")),
        "{}",
        sup.log()
    );
    let text = sup.file("state");
    let ids = text.lines().next().unwrap();
    let (pid, pgid) = ids.split_once(' ').unwrap();
    assert_eq!(
        pid.trim_start_matches("pid="),
        pgid.trim_start_matches("pgid="),
        "{text}"
    );
    assert!(text.contains("SigBlk:\t0000000000000000"), "{text}");
    // The Rust runtime of the test program ignores SIGPIPE itself; nothing else may be.
    let ign = text
        .lines()
        .find_map(|l| l.strip_prefix("SigIgn:\t"))
        .unwrap();
    let ign = u64::from_str_radix(ign, 16).unwrap() & !(1 << (libc::SIGPIPE - 1));
    assert_eq!(ign, 0, "{text}");
}
