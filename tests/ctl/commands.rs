//! Our supervisorctl against our server with a mock engine: output and exit status of every
//! command.

use crate::support::mock_engine::*;
use crate::support::temp::TempDir;
use crate::support::wait::wait_for;
use supervisor_rs::state::ProcessState;

const PROCS: &[(&str, &str, i64)] = &[
    ("web", "web", 10),
    ("grp", "a", 20),
    ("grp", "b", 20),
    ("nofile", "nofile", 30),
    ("spawnfail", "spawnfail", 30),
];

fn code(o: &std::process::Output) -> i32 {
    o.status.code().unwrap_or(-1)
}

/// Runs `supervisorctl ARGS` against the harness and checks its stdout and exit status.
fn expect_ctl(h: &Harness, args: &[&str], out: &str, status: i32) {
    let o = h.ctl(args);
    assert_eq!(
        (stdout(&o), code(&o)),
        (out.to_string(), status),
        "{args:?}"
    );
}

#[test]
fn status_lists_all_in_lexical_order_and_exits_3_when_stopped() {
    let h = Harness::new("status", PROCS);
    h.backend.set_state("web", ProcessState::Running, 123);
    let o = h.ctl(&["status"]);
    let out = stdout(&o);
    let lines: Vec<&str> = out.lines().collect();
    assert_eq!(lines.len(), 5, "{out}");
    assert_eq!(
        lines[0],
        "grp:a                            STOPPED   Not started"
    );
    assert!(
        lines[4].starts_with("web                              RUNNING   pid 123, uptime 0:00:0"),
        "{out}"
    );
    assert_eq!(code(&o), 3);
}

#[test]
fn status_of_running_names_is_0_and_bad_names_4() {
    let h = Harness::new("status-names", PROCS);
    h.backend.set_state("web", ProcessState::Running, 123);
    assert_eq!(code(&h.ctl(&["status", "web"])), 0);
    let o = h.ctl(&["status", "web", "nosuch"]);
    let out = stdout(&o);
    assert!(
        out.starts_with("nosuch: ERROR (no such process)\nweb "),
        "{out}"
    );
    assert_eq!(code(&o), 4);
    let o = h.ctl(&["status", "grp:a", "nosuch"]);
    assert_eq!(code(&o), 3);
    let o = h.ctl(&["status", "nogroup:*"]);
    assert_eq!(stdout(&o), "nogroup: ERROR (no such group)\n");
    assert_eq!(code(&o), 4);
    let o = h.ctl(&["status", "grp:*"]);
    assert_eq!(stdout(&o).lines().count(), 2);
}

#[test]
fn status_json_extension() {
    let h = Harness::new("status-json", PROCS);
    h.backend.set_state("web", ProcessState::Running, 123);
    let o = h.ctl(&["status", "--json", "web"]);
    let out = stdout(&o);
    assert!(
        out.starts_with("[{\"name\": \"web\", \"group\": \"web\", "),
        "{out}"
    );
    assert!(out.contains("\"statename\": \"RUNNING\""), "{out}");
    assert_eq!(code(&o), 0);
    assert_eq!(code(&h.ctl(&["status", "--json"])), 3);
}

#[test]
fn start_messages_and_exit_codes() {
    let h = Harness::new("start", PROCS);
    let o = h.ctl(&["start", "web"]);
    assert_eq!(stdout(&o), "web: started\n");
    assert_eq!(code(&o), 0);
    let o = h.ctl(&["start", "web"]);
    assert_eq!(stdout(&o), "web: ERROR (already started)\n");
    assert_eq!(code(&o), 0);
    let o = h.ctl(&["start", "nosuch"]);
    assert_eq!(stdout(&o), "nosuch: ERROR (no such process)\n");
    assert_eq!(code(&o), 1);
    let o = h.ctl(&["start", "nofile"]);
    assert_eq!(stdout(&o), "nofile: ERROR (no such file)\n");
    assert_eq!(code(&o), 1);
    let o = h.ctl(&["start", "spawnfail"]);
    assert_eq!(stdout(&o), "spawnfail: ERROR (spawn error)\n");
    assert_eq!(code(&o), 7);
    let o = h.ctl(&["start", "nogroup:*"]);
    assert_eq!(stdout(&o), "nogroup: ERROR (no such group)\n");
    assert_eq!(code(&o), 2);
    let o = h.ctl(&["start", "grp:*"]);
    assert_eq!(stdout(&o), "grp:a: started\ngrp:b: started\n");
    let o = h.ctl(&["start"]);
    assert!(stdout(&o)
        .starts_with("Error: start requires a process name\nstart <name>\t\tStart a process\n"));
    assert_eq!(code(&o), 2);
}

#[test]
fn start_all_skips_running_and_reports_failures() {
    let h = Harness::new("start-all", PROCS);
    h.backend.set_state("web", ProcessState::Running, 5);
    let o = h.ctl(&["start", "all"]);
    let out = stdout(&o);
    assert!(!out.contains("web"), "{out}");
    assert!(out.contains("grp:a: started\n"), "{out}");
    assert!(out.contains("nofile: ERROR (no such file)\n"), "{out}");
    assert!(out.contains("spawnfail: ERROR (spawn error)\n"), "{out}");
    // The last failure wins: spawnfail (7) comes after nofile (1) in priority order.
    assert_eq!(code(&o), 7);
}

#[test]
fn stop_messages_and_exit_codes() {
    let h = Harness::new("stop", PROCS);
    h.backend.set_state("web", ProcessState::Running, 5);
    let o = h.ctl(&["stop", "web"]);
    assert_eq!(stdout(&o), "web: stopped\n");
    assert_eq!(code(&o), 0);
    let o = h.ctl(&["stop", "web"]);
    assert_eq!(stdout(&o), "web: ERROR (not running)\n");
    assert_eq!(code(&o), 0);
    let o = h.ctl(&["stop", "nosuch"]);
    assert_eq!(stdout(&o), "nosuch: ERROR (no such process)\n");
    assert_eq!(code(&o), 1);
    let o = h.ctl(&["stop", "nogroup:*"]);
    assert_eq!(stdout(&o), "nogroup: ERROR (no such group)\n");
    assert_eq!(code(&o), 1);
    let o = h.ctl(&["stop"]);
    assert!(stdout(&o).starts_with("Error: stop requires a process name\n"));
    assert_eq!(code(&o), 1);
    h.backend.set_state("grp:a", ProcessState::Running, 6);
    let o = h.ctl(&["stop", "all"]);
    assert_eq!(stdout(&o), "grp:a: stopped\n");
}

#[test]
fn restart_is_stop_then_start() {
    let h = Harness::new("restart", PROCS);
    let o = h.ctl(&["restart", "web"]);
    assert_eq!(stdout(&o), "web: ERROR (not running)\nweb: started\n");
    assert_eq!(code(&o), 0);
    let o = h.ctl(&["restart"]);
    assert!(stdout(&o).contains(
        "Note: restart does not reread config files. For that, see reread and update.\n"
    ));
    assert_eq!(code(&o), 1);
}

#[test]
fn signal_messages() {
    let h = Harness::new("signal", PROCS);
    h.backend.set_state("web", ProcessState::Running, 5);
    let o = h.ctl(&["signal", "HUP", "web"]);
    assert_eq!(stdout(&o), "web: signalled\n");
    assert_eq!(code(&o), 0);
    let o = h.ctl(&["signal", "BOGUS", "web"]);
    assert_eq!(stdout(&o), "web: ERROR (bad signal name)\n");
    assert_eq!(code(&o), 1);
    let o = h.ctl(&["signal", "HUP", "grp:a"]);
    assert_eq!(stdout(&o), "grp:a: ERROR (not running)\n");
    assert_eq!(code(&o), 7);
    let o = h.ctl(&["signal", "HUP", "all"]);
    assert_eq!(stdout(&o), "web: signalled\n");
    let o = h.ctl(&["signal", "HUP"]);
    assert!(stdout(&o).starts_with("Error: signal requires a signal name and a process name\n"));
    assert_eq!(code(&o), 1);
    assert!(h
        .backend
        .calls
        .lock()
        .unwrap()
        .contains(&"signal web 1".to_string()));
}

#[test]
fn pid_forms() {
    let h = Harness::new("pid", PROCS);
    h.backend.set_state("web", ProcessState::Running, 77);
    let o = h.ctl(&["pid"]);
    assert_eq!(stdout(&o), format!("{}\n", std::process::id()));
    let o = h.ctl(&["pid", "web"]);
    assert_eq!((stdout(&o), code(&o)), ("77\n".to_string(), 0));
    let o = h.ctl(&["pid", "grp:a"]);
    assert_eq!((stdout(&o), code(&o)), ("0\n".to_string(), 7));
    expect_ctl(&h, &["pid", "nosuch"], "No such process nosuch\n", 1);
    let o = h.ctl(&["pid", "all"]);
    assert_eq!(stdout(&o), "0\n0\n0\n0\n77\n");
}

#[test]
fn tail_and_maintail() {
    let h = Harness::new("tail", PROCS);
    std::fs::write(h.dir.0.join("web.out"), "hello\nworld\n").unwrap();
    let o = h.ctl(&["tail", "web"]);
    assert_eq!(stdout(&o), "hello\nworld\n\n");
    let o = h.ctl(&["tail", "-3", "web"]);
    assert_eq!(stdout(&o), "ld\n\n");
    let o = h.ctl(&["tail", "web", "stderr"]);
    assert_eq!(stdout(&o), "web: ERROR (no log file)\n");
    assert_eq!(code(&o), 1);
    let o = h.ctl(&["tail", "nosuch"]);
    assert_eq!(stdout(&o), "nosuch: ERROR (no such process name)\n");
    let o = h.ctl(&["tail", "web", "bogus"]);
    assert_eq!(stdout(&o), "Error: bad channel 'bogus'\n");
    let o = h.ctl(&["tail", "-x", "web"]);
    assert_eq!(stdout(&o), "Error: bad argument -x\n");
    let o = h.ctl(&["tail"]);
    assert!(stdout(&o).starts_with("Error: too few arguments\ntail [-f] <name>"));
    let o = h.ctl(&["maintail"]);
    assert_eq!(stdout(&o), "supervisord: ERROR (no log file)\n");
    std::fs::write(h.dir.0.join("supervisord.log"), "main log\n").unwrap();
    let o = h.ctl(&["maintail", "-5"]);
    assert_eq!(stdout(&o), " log\n\n");
    let o = h.ctl(&["maintail", "x"]);
    assert_eq!(stdout(&o), "Error: bad argument x\n");
}

#[test]
fn clear_forms() {
    let h = Harness::new("clear", PROCS);
    let o = h.ctl(&["clear", "web", "nosuch"]);
    assert_eq!(
        stdout(&o),
        "web: cleared\nnosuch: ERROR (no such process)\n"
    );
    assert_eq!(code(&o), 1);
    let o = h.ctl(&["clear", "all"]);
    assert_eq!(stdout(&o).lines().count(), 5);
    let o = h.ctl(&["clear"]);
    assert!(stdout(&o).starts_with("Error: clear requires a process name\n"));
}

#[test]
fn version_help_unknown() {
    let h = Harness::new("misc", PROCS);
    let o = h.ctl(&["version"]);
    assert_eq!((stdout(&o), code(&o)), ("4.3.0\n".to_string(), 0));
    let o = h.ctl(&["version", "x"]);
    assert!(stdout(&o).starts_with("Error: version accepts no arguments\n"));
    let o = h.ctl(&["help"]);
    assert_eq!(
        stdout(&o),
        "\ndefault commands (type help <topic>):\n=====================================\nadd    exit      open  reload  restart   start   tail   \navail  fg        pid   remove  shutdown  status  update \nclear  maintail  quit  reread  signal    stop    version\n\n"
    );
    expect_ctl(&h, &["help", "nosuchcmd"], "*** No help on nosuchcmd\n", 0);
    expect_ctl(&h, &["nosuchcmd"], "*** Unknown syntax: nosuchcmd\n", 1);
}

#[test]
fn config_commands() {
    let h = Harness::new("config", PROCS);
    let o = h.ctl(&["avail"]);
    let out = stdout(&o);
    assert!(
        out.contains("grp:a                            in use    auto      20:20\n"),
        "{out}"
    );
    let o = h.ctl(&["reread"]);
    assert_eq!(stdout(&o), "No config updates to processes\n");
    *h.backend.pending.lock().unwrap() = Some(supervisor_rs::ctl::backend::ConfigDiff {
        added: vec!["new1".into()],
        changed: vec!["grp".into()],
        removed: vec![],
    });
    let o = h.ctl(&["reread"]);
    assert_eq!(stdout(&o), "grp: changed\nnew1: available\n");
    expect_ctl(
        &h,
        &["add", "web"],
        "ERROR: process group already active\n",
        0,
    );
    expect_ctl(
        &h,
        &["add", "zzz"],
        "ERROR: no such process/group: zzz\n",
        1,
    );
    h.backend.set_state("web", ProcessState::Running, 5);
    expect_ctl(
        &h,
        &["remove", "web"],
        "ERROR: process/group still running: web\n",
        1,
    );
    expect_ctl(&h, &["remove", "grp"], "grp: removed process group\n", 0);
}

#[test]
fn shutdown_and_reload() {
    let h = Harness::new("shutdown", PROCS);
    expect_ctl(&h, &["reload"], "Restarted supervisord\n", 0);
    let o = h.ctl(&["shutdown"]);
    assert_eq!((stdout(&o), code(&o)), ("Shut down\n".to_string(), 0));
    expect_ctl(&h, &["shutdown"], "ERROR: already shutting down\n", 0);
    let o = h.ctl(&["shutdown", "x"]);
    assert!(stdout(&o).starts_with("Error: shutdown accepts no arguments\n"));
    assert_eq!(code(&o), 1);
}

#[test]
fn connection_failures() {
    let dir = TempDir::new("dead");
    let missing = format!("unix://{}/nope.sock", dir.0.display());
    let o = ctl_with_stdin(&missing, &["status"], None);
    assert_eq!(
        (stdout(&o), code(&o)),
        (format!("{missing} no such file\n"), 4)
    );
    let o = ctl_with_stdin(&missing, &["start", "x"], None);
    assert_eq!(
        (stdout(&o), code(&o)),
        (format!("{missing} no such file\n"), 7)
    );
    let o = ctl_with_stdin(&missing, &["shutdown"], None);
    assert_eq!(
        (stdout(&o), code(&o)),
        (
            format!("ERROR: {missing} no such file (already shut down?)\n"),
            1
        )
    );
    let o = ctl_with_stdin(&missing, &["avail"], None);
    assert!(stdout(&o).starts_with(
        "error: <class 'FileNotFoundError'>, [Errno 2] No such file or directory: file: "
    ));
    assert_eq!(code(&o), 1);
    // A socket file nobody listens on: refused.
    let stale = dir.0.join("stale.sock");
    drop(std::os::unix::net::UnixListener::bind(&stale).unwrap());
    let url = format!("unix://{}", stale.display());
    let o = ctl_with_stdin(&url, &["status"], None);
    assert_eq!(
        (stdout(&o), code(&o)),
        (format!("{url} refused connection\n"), 4)
    );
    let o = ctl_with_stdin("http://127.0.0.1:9", &["stop", "x"], None);
    assert_eq!(
        (stdout(&o), code(&o)),
        ("http://127.0.0.1:9 refused connection\n".to_string(), 4)
    );
}

#[test]
fn interactive_mode_runs_status_then_prompts() {
    let h = Harness::new("interactive", PROCS);
    let o = ctl_with_stdin(&h.url(), &[], Some("version\n\nnosuch\n"));
    let out = stdout(&o);
    assert!(out.starts_with("grp:a "), "{out}");
    assert!(
        out.ends_with(
            "supervisor> 4.3.0\nsupervisor> supervisor> *** Unknown syntax: nosuch\nsupervisor> \n"
        ),
        "{out:?}"
    );
    assert_eq!(code(&o), 0);
    // Confirmation: anything but y/Y declines.
    let o = ctl_with_stdin(&h.url(), &[], Some("shutdown\nn\n"));
    assert!(stdout(&o).contains("Really shut the remote supervisord process down y/N? "));
    assert!(!h
        .backend
        .calls
        .lock()
        .unwrap()
        .contains(&"shutdown".to_string()));
    let o = ctl_with_stdin(&h.url(), &["-i", "shutdown"], Some("y\n"));
    assert!(stdout(&o).ends_with("Shut down\n"), "{}", stdout(&o));
}

#[test]
fn usage_errors() {
    let o = ctl_with_stdin("unix:///x", &["--bogus"], None);
    assert_eq!(code(&o), 2);
    assert!(String::from_utf8_lossy(&o.stderr)
        .starts_with("Error: option --bogus not recognized\nFor help, use "));
    let o = ctl_with_stdin("unix:///x", &["-h"], None);
    assert_eq!(code(&o), 0);
    assert!(stdout(&o).starts_with(
        "supervisorctl -- control applications run by supervisord from the cmd line.\n"
    ));
}

#[test]
fn fg_forwards_stdin_lines() {
    let h = Harness::new("fg", PROCS);
    h.backend.set_state("web", ProcessState::Running, 5);
    let o = ctl_with_stdin(&h.url(), &["fg", "web"], Some("hello\nworld\n"));
    assert_eq!(
        stdout(&o),
        "==> Press Ctrl-C to exit <==\nExiting foreground\n"
    );
    assert_eq!(code(&o), 0);
    assert_eq!(&*h.backend.stdin.lock().unwrap(), b"hello\nworld\n");
    expect_ctl(&h, &["fg", "grp:a"], "ERROR: process not running\n", 1);
    expect_ctl(
        &h,
        &["fg", "nosuch"],
        "ERROR: bad process name supplied\n",
        1,
    );
    expect_ctl(
        &h,
        &["fg", "a", "b"],
        "ERROR: too many process names supplied\n",
        1,
    );
    let o = h.ctl(&["fg"]);
    assert!(stdout(&o).starts_with("ERROR: no process name supplied\nfg <process>"));
}

#[test]
fn tail_f_streams_until_ctrl_c() {
    use std::io::{Read, Write};
    let h = Harness::new("tailf", PROCS);
    let log = h.dir.0.join("web.out");
    std::fs::write(&log, "first\n").unwrap();
    let conf = h.dir.0.join("ctl.conf");
    std::fs::write(&conf, "[supervisorctl]\n").unwrap();
    let mut child = std::process::Command::new(env!("CARGO_BIN_EXE_supervisorctl"))
        .arg("-c")
        .arg(&conf)
        .args(["-s", &h.url(), "tail", "-f", "web"])
        .stdout(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    struct Kill(std::process::Child);
    impl Drop for Kill {
        fn drop(&mut self) {
            let _ = self.0.kill();
            let _ = self.0.wait();
        }
    }
    let mut pipe = child.stdout.take().unwrap();
    let pid = child.id() as i32;
    let mut guard = Kill(child);
    let (tx, rx) = std::sync::mpsc::channel();
    std::thread::spawn(move || {
        let mut buf = [0u8; 4096];
        while let Ok(n) = pipe.read(&mut buf) {
            if n == 0 || tx.send(buf[..n].to_vec()).is_err() {
                break;
            }
        }
    });
    let mut seen = Vec::new();
    let wait_for = |needle: &str, seen: &mut Vec<u8>| {
        let end = std::time::Instant::now() + std::time::Duration::from_secs(10);
        while !String::from_utf8_lossy(seen).contains(needle) {
            match rx.recv_timeout(end.saturating_duration_since(std::time::Instant::now())) {
                Ok(d) => seen.extend_from_slice(&d),
                Err(_) => return false,
            }
        }
        true
    };
    assert!(wait_for("first\n", &mut seen));
    std::fs::OpenOptions::new()
        .append(true)
        .open(&log)
        .unwrap()
        .write_all(b"second\n")
        .unwrap();
    assert!(wait_for("second\n", &mut seen));
    // SAFETY: signalling our own child.
    unsafe { libc::kill(pid, libc::SIGINT) };
    let status = guard.0.wait().unwrap();
    assert_eq!(status.code(), Some(0));
    assert!(
        wait_for("second\n\n", &mut seen),
        "{:?}",
        String::from_utf8_lossy(&seen)
    );
    assert!(
        String::from_utf8_lossy(&seen).starts_with("==> Press Ctrl-C to exit <==\nfirst\nsecond\n")
    );
}

#[test]
fn interactive_401_prompts_for_credentials() {
    let auth = supervisor_rs::config::Auth {
        username: "user".into(),
        password: "123".into(),
    };
    let h = Harness::with("auth-shell", PROCS, Some(auth), Default::default());
    let o = ctl_with_stdin(&h.url(), &[], Some("user\n123\nversion\n"));
    let out = stdout(&o);
    assert!(
        out.starts_with("Server requires authentication\nUsername:\ngrp:a "),
        "{out:?}"
    );
    assert!(
        out.ends_with("supervisor> 4.3.0\nsupervisor> \n"),
        "{out:?}"
    );
    let o = h.ctl(&["-u", "user", "-p", "123", "version"]);
    assert_eq!(stdout(&o), "4.3.0\n");
}

#[test]
fn open_switches_server_and_history_is_kept() {
    let h = Harness::new("open", PROCS);
    expect_ctl(
        &h,
        &["open", "ftp://x"],
        "ERROR: url must be http:// or unix://\n",
        1,
    );
    let o = ctl_with_stdin("unix:///nonexistent.sock", &["open", &h.url()], None);
    assert_eq!(stdout(&o).lines().count(), 5);
    assert_eq!(code(&o), 0);
    let history = h.dir.0.join("history");
    let hist = history.display().to_string();
    let o = ctl_with_stdin(&h.url(), &["-r", &hist], Some("version\n\npid\n"));
    assert_eq!(code(&o), 0);
    assert_eq!(std::fs::read_to_string(&history).unwrap(), "version\npid\n");
}

#[test]
fn server_without_supervisor_namespace() {
    let h = Harness::custom("no-ns", PROCS, None, Default::default(), |c| {
        c.rpcinterface_supervisor = false
    });
    let sorry = "Sorry, supervisord responded but did not recognize the supervisor namespace commands that supervisorctl uses to control it.  Please check that the [rpcinterface:supervisor] section is enabled in the configuration file (see sample.conf).\n";
    let o = h.ctl(&["status"]);
    assert_eq!((stdout(&o), code(&o)), (sorry.to_string(), 4));
    let o = h.ctl(&["start", "web"]);
    assert_eq!((stdout(&o), code(&o)), (sorry.to_string(), 3));
}

#[test]
fn socket_owner_is_set_when_configured() {
    if !nix::unistd::geteuid().is_root() {
        eprintln!("note: skipping chown check (not root)");
        return;
    }
    let h = Harness::custom("chown", PROCS, None, Default::default(), |c| {
        if let Some(u) = c.unix_http_server.as_mut() {
            u.chown = Some((65534, 65534));
            u.chmod = 0o770;
        }
    });
    use std::os::unix::fs::{MetadataExt, PermissionsExt};
    let meta = std::fs::metadata(&h.socket).unwrap();
    assert_eq!((meta.uid(), meta.gid()), (65534, 65534));
    assert_eq!(meta.permissions().mode() & 0o777, 0o770);
}

#[test]
fn terminal_shell_edits_completes_and_recalls_history() {
    use std::io::{Read, Write};
    use std::os::fd::AsRawFd;
    let h = Harness::new("pty", PROCS);
    let conf = h.dir.0.join("ctl.conf");
    let hist = h.dir.0.join("hist");
    std::fs::write(
        &conf,
        format!(
            "[supervisorctl]\nserverurl={}\nhistory_file={}\n",
            h.url(),
            hist.display()
        ),
    )
    .unwrap();
    let pty = nix::pty::openpty(None, None).unwrap();
    let slave = std::fs::File::from(pty.slave);
    let child = std::process::Command::new(env!("CARGO_BIN_EXE_supervisorctl"))
        .arg("-c")
        .arg(&conf)
        .stdin(slave.try_clone().unwrap())
        .stdout(slave.try_clone().unwrap())
        .stderr(slave)
        .spawn()
        .unwrap();
    struct Kill(std::process::Child);
    impl Drop for Kill {
        fn drop(&mut self) {
            let _ = self.0.kill();
            let _ = self.0.wait();
        }
    }
    let mut master = std::fs::File::from(pty.master);
    let fd = master.as_raw_fd();
    let mut reader = master.try_clone().unwrap();
    let (tx, rx) = std::sync::mpsc::channel();
    std::thread::spawn(move || {
        let mut buf = [0u8; 4096];
        while let Ok(n) = reader.read(&mut buf) {
            if n == 0 || tx.send(buf[..n].to_vec()).is_err() {
                break;
            }
        }
    });
    let _ = fd;
    let mut guard = Kill(child);
    let mut seen = String::new();
    let expect = |needle: &str, seen: &mut String| {
        let end = std::time::Instant::now() + std::time::Duration::from_secs(10);
        while !seen.contains(needle) {
            match rx.recv_timeout(end.saturating_duration_since(std::time::Instant::now())) {
                Ok(d) => seen.push_str(&String::from_utf8_lossy(&d)),
                Err(_) => return false,
            }
        }
        true
    };
    assert!(expect("supervisor> ", &mut seen), "{seen:?}");
    // Tab completes the command, Up recalls it, Ctrl-U clears, Backspace edits.
    master.write_all(b"vers\t\r").unwrap();
    assert!(expect("4.3.0", &mut seen), "{seen:?}");
    seen.clear();
    master.write_all(b"\x1b[A\r").unwrap();
    assert!(expect("4.3.0", &mut seen), "{seen:?}");
    seen.clear();
    master.write_all(b"junk\x15pix\x7fd gr\t\r").unwrap();
    // Ctrl-D only once the next prompt is up (typed ahead, the terminal would take it as EOF).
    assert!(
        expect("No such process grp:\r\n\rsupervisor> ", &mut seen),
        "{seen:?}"
    );
    master.write_all(b"\x04").unwrap();
    let mut status = None;
    assert!(wait_for(10.0, || {
        status = guard.0.try_wait().ok().flatten();
        status.is_some()
    }));
    assert_eq!(status.and_then(|s| s.code()), Some(0));
    let history = std::fs::read_to_string(&hist).unwrap();
    assert_eq!(history, "version\nversion\npid grp:\n");
}
