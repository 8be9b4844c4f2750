//! The engine behind the real control socket: supervisorctl commands against a running
//! supervisord (status, start/stop, update, reload, shutdown, refusals while shutting down).

use std::process::{Command, Output};

use crate::support::daemon::*;
use crate::support::supervisord::*;
use crate::support::wait::wait_for;

const SUPERVISORCTL: &str = env!("CARGO_BIN_EXE_supervisorctl");

fn socket_conf() -> &'static str {
    "[unix_http_server]\nfile={dir}/sd.sock\n\n[supervisorctl]\nserverurl=unix://{dir}/sd.sock\n\n\
     [rpcinterface:supervisor]\n\
     supervisor.rpcinterface_factory = supervisor.rpcinterface:make_main_rpcinterface\n\n"
}

fn ctl(sup: &Sup, args: &[&str]) -> Output {
    Command::new(SUPERVISORCTL)
        .arg("-c")
        .arg(sup.dir.join("sd.conf"))
        .args(args)
        .output()
        .unwrap()
}

fn out(o: &Output) -> String {
    String::from_utf8_lossy(&o.stdout).into_owned() + &String::from_utf8_lossy(&o.stderr)
}

fn start(tag: &str, programs: &str) -> Sup {
    let sup = Sup::start(tag, &format!("{}{programs}", socket_conf()));
    assert!(
        wait_for(10.0, || sup.dir.join("sd.sock").exists()),
        "{}",
        sup.log()
    );
    sup
}

#[test]
fn status_start_stop_through_the_socket() {
    let sup = start(
        "ctlbasic",
        "[program:a]\ncommand={prog} sleep=100\nstartsecs=1\n\n\
         [program:m]\ncommand={prog} sleep=100\nautostart=false\nstartsecs=0\n",
    );
    assert!(
        sup.wait_log("success: a entered RUNNING", 10.0),
        "{}",
        sup.log()
    );
    let o = ctl(&sup, &["status"]);
    assert_eq!(o.status.code(), Some(3), "{}", out(&o));
    assert!(
        out(&o).contains("m                                STOPPED   Not started"),
        "{}",
        out(&o)
    );
    let o = ctl(&sup, &["start", "m"]);
    assert_eq!(out(&o), "m: started\n");
    let o = ctl(&sup, &["status", "a", "m"]);
    assert_eq!(o.status.code(), Some(0), "{}", out(&o));
    let o = ctl(&sup, &["stop", "all"]);
    assert!(
        out(&o).contains("a: stopped") && out(&o).contains("m: stopped"),
        "{}",
        out(&o)
    );
    let o = ctl(&sup, &["start", "nosuch"]);
    assert!(
        out(&o).contains("nosuch: ERROR (no such process)"),
        "{}",
        out(&o)
    );
}

#[test]
fn update_adds_changes_and_removes_groups() {
    let mut sup = start(
        "ctlupdate",
        "[program:keep]\ncommand={prog} sleep=100\nstartsecs=0\n\n\
         [program:gone]\ncommand={prog} sleep=100\nstartsecs=0\n",
    );
    assert!(
        wait_for(10.0, || sup.count("spawned:") == 2),
        "{}",
        sup.log()
    );
    let conf = header(&sup.dir)
        + &format!(
            "{}[program:keep]\ncommand={{prog}} sleep=100\nstartsecs=0\n\n\
             [program:new]\ncommand={{prog}} sleep=100\nstartsecs=0\n",
            socket_conf()
        )
        .replace("{dir}", &sup.dir.0.display().to_string())
        .replace("{prog}", &testprog().display().to_string());
    std::fs::write(sup.dir.join("sd.conf"), conf).unwrap();
    let o = ctl(&sup, &["reread"]);
    assert_eq!(out(&o), "gone: disappeared\nnew: available\n");
    let o = ctl(&sup, &["update"]);
    assert!(
        out(&o).contains("gone: removed process group"),
        "{}",
        out(&o)
    );
    assert!(out(&o).contains("new: added process group"), "{}", out(&o));
    assert!(sup.wait_log("spawned: 'new'", 10.0), "{}", sup.log());
    let o = ctl(&sup, &["shutdown"]);
    assert_eq!(out(&o), "Shut down\n");
    assert_eq!(sup.wait_exit(10.0).and_then(|s| s.code()), Some(0));
    assert!(!sup.dir.join("sd.sock").exists(), "socket removed at exit");
}

#[test]
fn reload_restarts_in_place_and_reopens_the_socket() {
    let sup = start(
        "ctlreload",
        "[program:a]\ncommand={prog} sleep=100\nstartsecs=0\n",
    );
    assert!(sup.wait_log("spawned: 'a'", 10.0), "{}", sup.log());
    let o = ctl(&sup, &["reload"]);
    assert_eq!(out(&o), "Restarted supervisord\n");
    assert!(
        wait_for(10.0, || sup.count("spawned: 'a'") == 2),
        "{}",
        sup.log()
    );
    assert!(wait_for(10.0, || ctl(&sup, &["status", "a"]).status.code()
        == Some(0)));
    assert_eq!(
        sup.count(&format!("supervisord started with pid {}", sup.pid)),
        2
    );
}

#[test]
fn requests_during_shutdown_are_refused() {
    let mut sup = start(
        "ctlshut",
        "[program:slow]\ncommand={prog} stop-delay=1.5 sleep=100\nstartsecs=0\nstopwaitsecs=10\n",
    );
    assert!(sup.wait_log("spawned: 'slow'", 10.0), "{}", sup.log());
    std::thread::sleep(std::time::Duration::from_millis(100));
    sup.signal(libc::SIGTERM);
    assert!(
        sup.wait_log("waiting for slow to die", 5.0),
        "{}",
        sup.log()
    );
    let o = ctl(&sup, &["shutdown"]);
    assert!(
        out(&o).contains("ERROR: already shutting down"),
        "{}",
        out(&o)
    );
    assert_eq!(sup.wait_exit(10.0).and_then(|s| s.code()), Some(0));
}

/// Files in the temp dir that belong to the control socket (`sd.sock` and bind temporaries).
fn socket_files(sup: &Sup) -> Vec<String> {
    std::fs::read_dir(&sup.dir.0)
        .map(|d| {
            d.flatten()
                .map(|e| e.file_name().to_string_lossy().into_owned())
                .filter(|n| n.starts_with("sd.sock"))
                .collect()
        })
        .unwrap_or_default()
}

#[test]
fn socket_is_removed_at_exit_after_a_reload() {
    let mut sup = start(
        "ctlsockreload",
        "[program:a]\ncommand={prog} sleep=100\nstartsecs=0\n",
    );
    let o = ctl(&sup, &["reload"]);
    assert_eq!(out(&o), "Restarted supervisord\n");
    assert!(
        wait_for(10.0, || sup.count("supervisord started with pid") == 2
            && ctl(&sup, &["pid"]).status.code() == Some(0)),
        "{}",
        sup.log()
    );
    assert_eq!(socket_files(&sup), ["sd.sock"]);
    sup.signal(libc::SIGTERM);
    assert_eq!(sup.wait_exit(10.0).and_then(|s| s.code()), Some(0));
    assert!(socket_files(&sup).is_empty(), "{:?}", socket_files(&sup));
}

#[test]
fn socket_is_removed_when_an_essential_program_ends_supervisord() {
    let mut sup = start(
        "ctlsockess",
        "[program:e]\ncommand={prog} sleep=1.5 exit=3\nstartsecs=0\nautorestart=false\n\
         essential=true\n",
    );
    assert_eq!(sup.wait_exit(10.0).and_then(|s| s.code()), Some(3));
    assert!(socket_files(&sup).is_empty(), "{:?}", socket_files(&sup));
}
