//! Hostile numbers and sizes at load time: out-of-range values, more processes than the system
//! can run, an exponential include glob; and start-up oddities: a closed stderr, a directory
//! at the socket path; AUTO log files across reloads.

use std::os::fd::{FromRawFd, OwnedFd};
use std::process::{Command, Output, Stdio};
use std::time::{Duration, Instant};

use crate::support::daemon::*;
use crate::support::supervisord::*;
use crate::support::temp::TempDir;
use crate::support::wait::wait_for;

/// Runs supervisord with `args` and `-c` a config made of `body`; its output and how long.
fn run_with(dir: &TempDir, body: &str, args: &[&str]) -> (Output, Duration) {
    let conf = dir.join("sd.conf");
    std::fs::write(&conf, body.replace("{dir}", &dir.0.display().to_string())).unwrap();
    let started = Instant::now();
    let out = Command::new(SUPERVISORD)
        .args(args)
        .arg("-c")
        .arg(&conf)
        .stdin(Stdio::null())
        .output()
        .expect("run supervisord");
    (out, started.elapsed())
}

fn stderr(out: &Output) -> String {
    String::from_utf8_lossy(&out.stderr).into_owned()
}

fn check_config(dir: &TempDir, body: &str) -> (Output, Duration) {
    run_with(dir, body, &["--check-config"])
}

#[test]
fn numbers_beyond_their_bounds_are_config_errors_with_file_line_and_option() {
    let dir = TempDir::new("numbers");
    let conf = dir.join("sd.conf").display().to_string();
    let cases = [
        (
            "stopwaitsecs=9223372036854775807",
            "stopwaitsecs: 9223372036854775807 is above upper bound (2147483647)",
        ),
        (
            "startsecs=9223372036854775807",
            "startsecs: 9223372036854775807 is above upper bound (2147483647)",
        ),
        (
            "startsecs=99999999999999999999999",
            "startsecs: 99999999999999999999999 is above upper bound (2147483647)",
        ),
        (
            "startretries=4294967296",
            "startretries: 4294967296 is above upper bound (2147483647)",
        ),
        (
            "stdout_logfile_backups=4294967296",
            "stdout_logfile_backups: 4294967296 is above upper bound (2147483647)",
        ),
        (
            "stdout_logfile_backups=-1",
            "stdout_logfile_backups: -1 is below lower bound (0)",
        ),
        (
            "numprocs_start=9223372036854775806",
            "numprocs_start: 9223372036854775806 is above upper bound (2147483647)",
        ),
        (
            "numprocs=9223372036854775807",
            "numprocs: 9223372036854775807 is above upper bound (2147483647)",
        ),
    ];
    for (line, message) in cases {
        let body = format!("[supervisord]\n[program:x]\ncommand=/bin/true\n{line}\nprocess_name=%(program_name)s_%(process_num)s\n");
        let (out, _) = check_config(&dir, &body);
        let err = stderr(&out);
        assert_eq!(out.status.code(), Some(2), "{line}: {err}");
        assert!(
            err.contains(&format!("Error: {conf}:4: [program:x] {message}")),
            "{line}: {err}"
        );
    }
    let body = "[supervisord]\nshutdown_grace=9223372036854775807\n";
    let (out, _) = check_config(&dir, body);
    assert!(
        stderr(&out).contains("shutdown_grace: 9223372036854775807 is above upper bound"),
        "{}",
        stderr(&out)
    );
}

#[test]
fn command_line_numbers_are_range_checked_not_truncated() {
    let dir = TempDir::new("cli-numbers");
    let body = "[supervisord]\n";
    for (flag, value) in [
        ("-z", "4294967296"),
        ("--minfds", "18446744073709551616"),
        ("--minprocs", "-1"),
    ] {
        let (out, _) = run_with(&dir, body, &[flag, value]);
        let err = stderr(&out);
        assert_eq!(out.status.code(), Some(2), "{flag} {value}: {err}");
        assert!(err.contains("bound ("), "{flag} {value}: {err}");
    }
}

#[test]
fn processes_at_the_edge_of_numprocs_start_are_all_created() {
    let dir = TempDir::new("numprocs-edge");
    let body = "[supervisord]\n[program:x]\ncommand=/bin/true\nnumprocs=3\nnumprocs_start=2147483645\nprocess_name=%(program_name)s_%(process_num)s\n";
    let (out, _) = check_config(&dir, body);
    let text = String::from_utf8_lossy(&out.stdout);
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    for n in ["x_2147483645", "x_2147483646", "x_2147483647"] {
        assert!(text.contains(n), "{text}");
    }
}

#[test]
fn more_processes_than_the_system_can_run_are_refused_at_load_time() {
    let dir = TempDir::new("capacity");
    let body = "[supervisord]\nlogfile={dir}/sd.log\npidfile={dir}/sd.pid\nchildlogdir={dir}\nnodaemon=true\n\
                [program:x]\ncommand=/bin/sleep 100\nnumprocs=20000\nprocess_name=%(program_name)s_%(process_num)s\n";
    let (out, took) = check_config(&dir, body);
    let err = stderr(&out);
    assert_eq!(out.status.code(), Some(2), "{err}");
    assert!(
        err.contains("20000 processes are more than this system can run"),
        "{err}"
    );
    assert!(took < Duration::from_secs(10), "{took:?}");
    // Started for real: the same error, no abort, nothing spawned, no AUTO log left behind.
    let (out, _) = run_with(&dir, body, &[]);
    assert_eq!(out.status.code(), Some(2), "{}", stderr(&out));
    assert!(stderr(&out).contains("more than this system can run"));
    let autos = std::fs::read_dir(&dir.0).unwrap().flatten();
    let autos = autos
        .filter(|e| e.file_name().to_string_lossy().contains("---"))
        .count();
    assert_eq!(autos, 0);
}

#[test]
fn an_include_glob_with_many_stars_is_quick() {
    let dir = TempDir::new("glob");
    std::fs::create_dir(dir.join("conf.d")).unwrap();
    for i in 0..20 {
        std::fs::write(dir.join(format!("conf.d/{}{i}", "a".repeat(40))), "").unwrap();
    }
    let body = "[supervisord]\n[include]\nfiles={dir}/conf.d/*a*a*a*a*a*a*a*a*b\n";
    let (out, took) = check_config(&dir, body);
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    assert!(took < Duration::from_secs(2), "{took:?}");
}

/// A pipe whose reading end is closed: writing to it fails with EPIPE.
fn broken_pipe() -> OwnedFd {
    let mut fds = [0; 2];
    // SAFETY: pipe with a valid two-int array; both fds become owned here.
    assert_eq!(unsafe { libc::pipe(fds.as_mut_ptr()) }, 0);
    // SAFETY: fds[0] was just created and is owned by nobody else.
    drop(unsafe { OwnedFd::from_raw_fd(fds[0]) });
    // SAFETY: as above, for fds[1].
    unsafe { OwnedFd::from_raw_fd(fds[1]) }
}

#[test]
fn a_closed_stderr_or_stdout_never_makes_supervisord_panic() {
    let dir = TempDir::new("closed-stderr");
    let conf = dir.join("sd.conf");
    std::fs::write(
        &conf,
        "[supervisord]\n[program:x]\ncommand=/bin/true\nstartsecs=abc\n",
    )
    .unwrap();
    let st = Command::new(SUPERVISORD)
        .arg("-c")
        .arg(&conf)
        .stderr(broken_pipe())
        .status()
        .unwrap();
    assert_eq!(st.code(), Some(2), "usage error, not a panic (101)");
    std::fs::write(&conf, "[supervisord]\n[program:x]\ncommand=/bin/true\n").unwrap();
    for args in [&["--check-config"][..], &["--version"], &["--help"]] {
        let st = Command::new(SUPERVISORD)
            .args(args)
            .arg("-c")
            .arg(&conf)
            .stdout(broken_pipe())
            .stderr(broken_pipe())
            .status()
            .unwrap();
        assert_eq!(st.code(), Some(0), "{args:?}");
    }
}

#[test]
fn a_directory_at_the_socket_path_is_a_clear_error() {
    let dir = TempDir::new("sockdir");
    std::fs::create_dir(dir.join("sock")).unwrap();
    let body = format!("{}[unix_http_server]\nfile={{dir}}/sock\n", header(&dir));
    let (out, took) = run_with(&dir, &body, &[]);
    let err = stderr(&out);
    assert_eq!(out.status.code(), Some(2), "{err}");
    assert!(
        err.contains(&format!(
            "{} is a directory, not a socket",
            dir.join("sock").display()
        )),
        "{err}"
    );
    assert!(!err.contains("Another program"), "{err}");
    assert!(took < Duration::from_secs(5), "{took:?}");
}

#[test]
fn reloads_leave_only_the_current_auto_logs_as_supervisor_does() {
    // Python Supervisor 4.3 keeps 10 files after 5 reloads of 5 processes (checked by hand:
    // it cleans childlogdir on every start); so do we.
    let mut programs = String::new();
    for i in 0..5 {
        programs += &format!("[program:p{i}]\ncommand={{prog}} sleep=100\nstartsecs=0\n");
    }
    let mut sup = Sup::start("autologs", &programs);
    assert!(sup.wait_log("success: p4", 10.0) || sup.wait_log("spawned: 'p4'", 1.0));
    for n in 2..=6 {
        sup.signal(libc::SIGHUP);
        assert!(wait_for(10.0, || sup.count("supervisord started with pid") == n));
        assert!(
            wait_for(10.0, || sup.count("spawned: ") == 5 * n),
            "{}",
            sup.log()
        );
    }
    let autos = std::fs::read_dir(&sup.dir.0).unwrap().flatten();
    let autos = autos
        .filter(|e| e.file_name().to_string_lossy().contains("---"))
        .count();
    assert_eq!(autos, 10);
    sup.signal(libc::SIGTERM);
    assert_eq!(sup.wait_exit(10.0).and_then(|s| s.code()), Some(0));
}

#[test]
fn a_reread_beyond_capacity_is_refused_and_the_running_config_kept() {
    let server = "[unix_http_server]\nfile={dir}/sock\n[supervisorctl]\nserverurl=unix://{dir}/sock\n\
                  [rpcinterface:supervisor]\nsupervisor.rpcinterface_factory = supervisor.rpcinterface:make_main_rpcinterface\n";
    let program = "[program:a]\ncommand={prog} sleep=100\nstartsecs=0\n";
    let mut sup = Sup::start("capacity-reread", &format!("{server}{program}"));
    assert!(sup.wait_log("success: a", 10.0), "{}", sup.log());
    let conf = sup.dir.join("sd.conf");
    let bigger = sup.file("sd.conf")
        + "[program:many]\ncommand=/bin/sleep 100\nnumprocs=20000\nprocess_name=%(program_name)s_%(process_num)s\n";
    std::fs::write(&conf, bigger).unwrap();
    let out = Command::new(env!("CARGO_BIN_EXE_supervisorctl"))
        .arg("-c")
        .arg(&conf)
        .arg("reread")
        .output()
        .unwrap();
    let text = String::from_utf8_lossy(&out.stdout).into_owned() + &stderr(&out);
    assert!(
        text.contains("20001 processes are more than this system can run"),
        "{text}"
    );
    assert!(
        !sup.log().contains("many_"),
        "nothing of the refused config ran"
    );
    sup.signal(libc::SIGTERM);
    assert_eq!(sup.wait_exit(10.0).and_then(|s| s.code()), Some(0));
}
