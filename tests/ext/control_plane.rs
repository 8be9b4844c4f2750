//! Extensions seen through the control plane of a real supervisord: `start` of a program with
//! dependencies, `stop all` ordering, health in `status --json` and getProcessInfo, and
//! `GET /metrics` behind the servers' auth.

use std::io::{Read, Write};
use std::net::TcpStream;
use std::process::Command;
use std::time::Duration;

use crate::support::daemon::*;
use crate::support::temp::TempDir;
use crate::support::wait::wait_for;

const SUPERVISORCTL: &str = env!("CARGO_BIN_EXE_supervisorctl");

fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .map(|a| a.port())
        .expect("a free port")
}

/// Server sections: a unix socket for supervisorctl, a TCP port with Basic auth.
fn servers(port: u16) -> String {
    format!(
        "[unix_http_server]\nfile={{dir}}/sd.sock\n\n\
         [inet_http_server]\nport=127.0.0.1:{port}\nusername=user\npassword=secret\n\n\
         [rpcinterface:supervisor]\n\
         supervisor.rpcinterface_factory = supervisor.rpcinterface:make_main_rpcinterface\n\n\
         [supervisorctl]\nserverurl=unix://{{dir}}/sd.sock\n\n"
    )
}

fn ctl(sup: &Sup, args: &[&str]) -> (i32, String) {
    let out = Command::new(SUPERVISORCTL)
        .arg("-c")
        .arg(sup.dir.join("sd.conf"))
        .args(args)
        .output()
        .expect("run supervisorctl");
    let mut text = String::from_utf8_lossy(&out.stdout).into_owned();
    text.push_str(&String::from_utf8_lossy(&out.stderr));
    (out.status.code().unwrap_or(-1), text)
}

fn wait_socket(sup: &Sup) {
    assert!(
        wait_for(10.0, || ctl(sup, &["pid"]).0 == 0),
        "{}",
        sup.log()
    );
}

/// A GET over TCP; returns (status code, body).
fn http_get(port: u16, path: &str, auth: Option<&str>) -> (u16, String) {
    let mut s = TcpStream::connect(("127.0.0.1", port)).expect("connect");
    s.set_read_timeout(Some(Duration::from_secs(10))).unwrap();
    let auth = auth
        .map(|a| format!("Authorization: Basic {a}\r\n"))
        .unwrap_or_default();
    write!(
        s,
        "GET {path} HTTP/1.1\r\nHost: localhost\r\n{auth}Connection: close\r\n\r\n"
    )
    .unwrap();
    let mut resp = String::new();
    let _ = s.read_to_string(&mut resp);
    let code = resp
        .split_whitespace()
        .nth(1)
        .and_then(|c| c.parse().ok())
        .unwrap_or(0);
    let body = resp
        .split_once("\r\n\r\n")
        .map(|(_, b)| b.to_string())
        .unwrap_or_default();
    (code, body)
}

#[test]
fn start_starts_missing_dependencies_first_and_stop_all_reverses() {
    let port = free_port();
    let conf = format!(
        "{}[program:db]\ncommand={{prog}} stop-delay=0.2 sleep=100\nstartsecs=1\nautostart=false\n\n\
         [program:web]\ncommand={{prog}} stop-delay=0.2 sleep=100\nstartsecs=0\n\
         autostart=false\ndepends_on=db\n",
        servers(port)
    );
    let sup = Sup::start("ctl-deps", &conf);
    wait_socket(&sup);
    let (code, out) = ctl(&sup, &["start", "web"]);
    assert_eq!(code, 0, "{out}\n{}", sup.log());
    assert!(out.contains("web: started"), "{out}");
    let log = sup.log();
    let db_running = sup.times_of("success: db entered RUNNING");
    let web_spawned = sup.times_of("spawned: 'web'");
    assert!(!db_running.is_empty() && !web_spawned.is_empty(), "{log}");
    assert!(web_spawned[0] >= db_running[0], "{log}");
    let (code, out) = ctl(&sup, &["stop", "all"]);
    assert_eq!(code, 0, "{out}");
    let web_stopped = sup.times_of("stopped: web")[0];
    let db_stopped = sup.times_of("stopped: db")[0];
    assert!(db_stopped - web_stopped >= 0.15, "{}", sup.log());
}

#[test]
fn start_of_a_dependent_fails_when_its_dependency_goes_fatal() {
    let port = free_port();
    let conf = format!(
        "{}[program:db]\ncommand=/nonexistent/db\nstartretries=0\nautostart=false\n\n\
         [program:web]\ncommand={{prog}} sleep=100\nautostart=false\ndepends_on=db\n",
        servers(port)
    );
    let sup = Sup::start("ctl-depfail", &conf);
    wait_socket(&sup);
    let (code, out) = ctl(&sup, &["start", "web"]);
    assert_ne!(code, 0, "{out}");
    assert!(out.contains("web: ERROR"), "{out}");
    assert!(
        sup.log()
            .contains("not starting web: its dependency db is FATAL"),
        "{}",
        sup.log()
    );
    assert!(!sup.log().contains("spawned: 'web'"));
}

#[test]
fn health_shows_in_json_status_but_not_in_plain_status() {
    let port = free_port();
    let conf = format!(
        "{}[program:web]\ncommand={{prog}} sleep=100\nstartsecs=0\n\
         healthcheck_command=/bin/true\nhealthcheck_interval=1\n\n\
         [program:plain]\ncommand={{prog}} sleep=100\nstartsecs=0\n",
        servers(port)
    );
    let sup = Sup::start("ctl-health", &conf);
    wait_socket(&sup);
    assert!(
        sup.wait_log("health check passed: web is healthy", 10.0),
        "{}",
        sup.log()
    );
    let (_, json) = ctl(&sup, &["status", "--json"]);
    assert!(
        json.contains("\"health\":\"healthy\"") || json.contains("\"health\": \"healthy\""),
        "{json}"
    );
    assert_eq!(json.matches("\"health\"").count(), 1, "{json}");
    let (code, plain) = ctl(&sup, &["status"]);
    assert_eq!(code, 0, "{plain}");
    assert!(!plain.contains("health"), "{plain}");
    for line in plain.lines() {
        assert!(line.contains("RUNNING   pid "), "{plain}");
    }
}

#[test]
fn metrics_are_served_behind_auth() {
    let port = free_port();
    let conf = format!(
        "{}[program:web]\ncommand={{prog}} print=hello sleep=100\nstartsecs=0\n\
         healthcheck_command=/bin/true\nhealthcheck_interval=1\n\n\
         [program:once]\ncommand={{prog}} exit=3\nstartsecs=0\nautorestart=false\n",
        servers(port)
    );
    let sup = Sup::start("ctl-metrics", &conf);
    wait_socket(&sup);
    assert!(
        sup.wait_log("health check passed: web is healthy", 10.0),
        "{}",
        sup.log()
    );
    assert!(sup.wait_log("exited: once", 10.0), "{}", sup.log());
    let (code, _) = http_get(port, "/metrics", None);
    assert_eq!(code, 401);
    // user:secret
    let (code, body) = http_get(port, "/metrics", Some("dXNlcjpzZWNyZXQ="));
    assert_eq!(code, 200, "{body}");
    for want in [
        "supervisord_process_state{group=\"web\",name=\"web\"} 20",
        "supervisord_process_state{group=\"once\",name=\"once\"} 100",
        "supervisord_process_starts_total{group=\"web\",name=\"web\"} 1",
        "supervisord_process_exit_status{group=\"once\",name=\"once\"} 3",
        "supervisord_process_healthy{group=\"web\",name=\"web\"} 1",
        "supervisord_state{state=\"RUNNING\"} 1",
    ] {
        assert!(body.lines().any(|l| l == want), "missing {want}\n{body}");
    }
    let value = |prefix: &str| -> f64 {
        body.lines()
            .find(|l| l.starts_with(prefix))
            .and_then(|l| l.rsplit(' ').next())
            .and_then(|v| v.parse().ok())
            .unwrap_or(-1.0)
    };
    assert!(
        value("supervisord_process_log_bytes_written_total{group=\"web\"") >= 6.0,
        "{body}"
    );
    assert!(value("process_resident_memory_bytes ") > 0.0, "{body}");
    assert!(value("process_open_fds ") >= 3.0, "{body}");
}

/// db: RUNNING but never healthy (so web keeps waiting); `db_cmd` decides how db ends.
fn unhealthy_db_and_web(port: u16, db_cmd: &str) -> String {
    format!(
        "{}[program:db]\ncommand={{prog}} {db_cmd}\nstartsecs=0\nautostart=false\n\
         autorestart=false\nhealthcheck_command=/bin/false\nhealthcheck_interval=1\n\
         healthcheck_retries=1000\n\n\
         [program:web]\ncommand={{prog}} sleep=100\nstartsecs=0\nautostart=false\n\
         depends_on=db\n",
        servers(port)
    )
}

#[test]
fn start_of_a_dependent_fails_when_its_dependency_exits_for_good() {
    let port = free_port();
    let sup = Sup::start("ctl-depexit", &unhealthy_db_and_web(port, "sleep=1"));
    wait_socket(&sup);
    let t0 = std::time::Instant::now();
    let (code, out) = ctl(&sup, &["start", "web"]);
    assert_ne!(code, 0, "{out}");
    assert!(out.contains("web: ERROR (abnormal termination)"), "{out}");
    assert!(t0.elapsed() < Duration::from_secs(15), "{:?}", t0.elapsed());
    assert!(
        sup.log()
            .contains("not starting web: its dependency db is EXITED"),
        "{}",
        sup.log()
    );
    assert!(!sup.log().contains("spawned: 'web'"), "{}", sup.log());
}

#[test]
fn start_of_a_dependent_fails_when_its_dependency_is_stopped() {
    let port = free_port();
    let sup = Sup::start("ctl-depstop", &unhealthy_db_and_web(port, "sleep=100"));
    wait_socket(&sup);
    let starter = {
        let conf = sup.dir.join("sd.conf");
        std::thread::spawn(move || {
            Command::new(SUPERVISORCTL)
                .arg("-c")
                .arg(conf)
                .args(["start", "web"])
                .output()
                .expect("run supervisorctl")
        })
    };
    assert!(
        sup.wait_log("success: db entered RUNNING", 10.0),
        "{}",
        sup.log()
    );
    let (code, out) = ctl(&sup, &["stop", "db"]);
    assert_eq!(code, 0, "{out}");
    let out = starter.join().expect("starter thread");
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(
        text.contains("web: ERROR (abnormal termination)"),
        "{text}\n{}",
        sup.log()
    );
    assert!(
        sup.log()
            .contains("not starting web: its dependency db is STOPPED"),
        "{}",
        sup.log()
    );
}

#[test]
fn program_held_for_a_manual_dependency_shows_stopped_and_can_be_stopped() {
    let port = free_port();
    let conf = format!(
        "{}[program:db]\ncommand={{prog}} sleep=100\nstartsecs=0\nautostart=false\n\n\
         [program:web]\ncommand={{prog}} sleep=100\nstartsecs=0\ndepends_on=db\n",
        servers(port)
    );
    let mut sup = Sup::start("ctl-dephold", &conf);
    wait_socket(&sup);
    assert!(
        sup.log().contains("web waits for db to be RUNNING"),
        "{}",
        sup.log()
    );
    let (_, out) = ctl(&sup, &["status", "web"]);
    assert!(out.contains("STOPPED"), "{out}");
    assert!(out.contains("waiting for its dependencies"), "{out}");
    // Stopping the held program cancels its pending start: db starting later leaves it alone.
    let (code, out) = ctl(&sup, &["stop", "web"]);
    assert_eq!(code, 0, "{out}\n{}", sup.log());
    assert!(out.contains("web: stopped"), "{out}");
    let (code, out) = ctl(&sup, &["start", "db"]);
    assert_eq!(code, 0, "{out}");
    std::thread::sleep(Duration::from_millis(300));
    assert!(!sup.log().contains("spawned: 'web'"), "{}", sup.log());
    let (_, out) = ctl(&sup, &["status", "web"]);
    assert!(out.contains("Not started"), "{out}");
    sup.signal(libc::SIGTERM);
    assert_eq!(sup.wait_exit(15.0).and_then(|s| s.code()), Some(0));
}

#[test]
fn start_through_a_chain_fails_when_the_deepest_dependency_exits() {
    let port = free_port();
    let conf = format!(
        "{}[program:db]\ncommand={{prog}} sleep=1\nstartsecs=0\nautostart=false\n\
         autorestart=false\nhealthcheck_command=/bin/false\nhealthcheck_interval=1\n\
         healthcheck_retries=1000\n\n\
         [program:api]\ncommand={{prog}} sleep=100\nstartsecs=0\nautostart=false\n\
         depends_on=db\n\n\
         [program:web]\ncommand={{prog}} sleep=100\nstartsecs=0\nautostart=false\n\
         depends_on=api\n",
        servers(port)
    );
    let sup = Sup::start("ctl-depchain", &conf);
    wait_socket(&sup);
    let (code, out) = ctl(&sup, &["start", "web"]);
    assert_ne!(code, 0, "{out}");
    assert!(out.contains("web: ERROR (abnormal termination)"), "{out}");
    let log = sup.log();
    assert!(
        log.contains("not starting api: its dependency db is EXITED"),
        "{log}"
    );
    assert!(
        log.contains("not starting web: its dependency api could not be started"),
        "{log}"
    );
    assert!(!log.contains("spawned: 'api'") && !log.contains("spawned: 'web'"));
}

#[test]
fn start_restarts_a_fatal_dependency_instead_of_failing_at_once() {
    let port = free_port();
    let dir = TempDir::new("ctl-depfatal");
    // db fails for good at boot (its file is missing), then can start once the file exists.
    let conf = format!(
        "{}[program:db]\ncommand={{prog}} exists={} sleep=100\nstartsecs=1\nstartretries=0\n\n\
         [program:web]\ncommand={{prog}} sleep=100\nstartsecs=0\nautostart=false\n\
         depends_on=db\n",
        servers(port),
        dir.join("ok").display()
    );
    let sup = Sup::launch(dir, &conf, &[]);
    wait_socket(&sup);
    assert!(
        sup.wait_log("gave up: db entered FATAL state", 10.0),
        "{}",
        sup.log()
    );
    std::fs::write(sup.dir.join("ok"), "").unwrap();
    let (code, out) = ctl(&sup, &["start", "web"]);
    assert_eq!(code, 0, "{out}\n{}", sup.log());
    assert!(out.contains("web: started"), "{out}");
}

#[test]
fn shutdown_answers_a_held_start_and_exits() {
    let port = free_port();
    let mut sup = Sup::start("ctl-depshut", &unhealthy_db_and_web(port, "sleep=100"));
    wait_socket(&sup);
    let starter = {
        let conf = sup.dir.join("sd.conf");
        std::thread::spawn(move || {
            Command::new(SUPERVISORCTL)
                .arg("-c")
                .arg(conf)
                .args(["start", "web"])
                .output()
                .expect("run supervisorctl")
        })
    };
    assert!(
        sup.wait_log("success: db entered RUNNING", 10.0),
        "{}",
        sup.log()
    );
    assert!(
        wait_for(10.0, || ctl(&sup, &["status", "web"])
            .1
            .contains("waiting for its dependencies")),
        "{}",
        sup.log()
    );
    let (_, out) = ctl(&sup, &["shutdown"]);
    assert!(out.contains("Shut down"), "{out}");
    assert_eq!(sup.wait_exit(15.0).and_then(|s| s.code()), Some(0));
    let out = starter.join().expect("starter thread");
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(text.contains("web: ERROR"), "{text}");
    assert!(!sup.log().contains("spawned: 'web'"), "{}", sup.log());
}
