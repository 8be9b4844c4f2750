//! The real Python supervisorctl (4.3.0) against our server, and our supervisorctl against the
//! same mock engine: every command must print the same text and exit with the same status.

use crate::compare::{normalize, py_ctl};
use crate::support::mock_engine::*;
use crate::support::python::python_venv;
use crate::support::temp::TempDir;
use supervisor_rs::state::ProcessState;

const PROCS: &[(&str, &str, i64)] = &[
    ("web", "web", 10),
    ("grp", "a", 20),
    ("grp", "b", 20),
    ("nofile", "nofile", 30),
    ("spawnfail", "spawnfail", 30),
    ("unknownstate", "unknownstate", 40),
];

/// Command lines run in this order against two identical servers, one per client.
const SCRIPT: &[&str] = &[
    "status",
    "status web",
    "status web nosuch",
    "status nogroup:*",
    "status grp:*",
    "status grp:",
    "start web",
    "start web",
    "start nosuch",
    "start nofile",
    "start spawnfail",
    "start nogroup:*",
    "start grp:*",
    "start unknownstate",
    "start",
    "status",
    "stop web",
    "stop web",
    "stop nosuch",
    "stop nogroup:*",
    "stop",
    "restart web",
    "restart",
    "signal HUP web",
    "signal BOGUS web",
    "signal HUP nofile",
    "signal HUP grp:*",
    "signal HUP all",
    "signal HUP",
    "pid",
    "pid web",
    "pid nofile",
    "pid nosuch",
    "pid all",
    "tail web",
    "tail -3 web",
    "tail web stderr",
    "tail nosuch",
    "tail web bogus",
    "tail -x web",
    "tail",
    "tail a b c d",
    "maintail",
    "maintail -5",
    "maintail x",
    "maintail -x",
    "clear web nosuch",
    "clear all",
    "clear",
    "version",
    "version x",
    "help",
    "help start",
    "help tail",
    "help help",
    "help nosuchcmd",
    "nosuchcmd",
    "avail",
    "avail x",
    "reread",
    "reread x",
    "add web",
    "add zzz",
    "remove web",
    "remove zzz",
    "update",
    "open ftp://x",
    "fg",
    "fg a b",
    "fg nosuch",
    // `fg grp:a` with stdin at EOF: Python crashes in asyncore after "Exiting foreground"
    // (AttributeError, status 1); we exit 0.
    "stop all",
    "start all",
    "reload",
    "reload x",
    "shutdown x",
    "shutdown",
    "shutdown",
    "status",
];

#[test]
fn python_and_our_supervisorctl_agree_on_every_command() {
    let Some(venv) = python_venv() else { return };
    let ours = Harness::new("agree-ours", PROCS);
    let theirs = Harness::new("agree-py", PROCS);
    for h in [&ours, &theirs] {
        std::fs::write(h.dir.0.join("web.out"), "hello\nworld\n").unwrap();
        std::fs::write(h.dir.0.join("supervisord.log"), "main log line\n").unwrap();
    }
    let mut mismatches = Vec::new();
    for line in SCRIPT {
        let args: Vec<&str> = line.split_whitespace().collect();
        let a = ours.ctl(&args);
        let b = py_ctl(&venv, &theirs.url(), &args, None);
        let (out_a, out_b) = (normalize(&stdout(&a)), normalize(&stdout(&b)));
        let sockets = |s: String, h: &Harness| s.replace(&h.url(), "URL");
        let (out_a, out_b) = (sockets(out_a, &ours), sockets(out_b, &theirs));
        if out_a != out_b || a.status.code() != b.status.code() {
            mismatches.push(format!(
                "`{line}`:\n  ours   ({:?}): {out_a:?}\n  python ({:?}): {out_b:?}",
                a.status.code(),
                b.status.code()
            ));
        }
    }
    assert!(mismatches.is_empty(), "{}", mismatches.join("\n"));
}

#[test]
fn python_interactive_shell_works_against_our_server() {
    let Some(venv) = python_venv() else { return };
    let h = Harness::new("py-shell", PROCS);
    h.backend.set_state("web", ProcessState::Running, 9);
    let py = py_ctl(&venv, &h.url(), &[], Some("status web\nversion\n"));
    let out = normalize(&stdout(&py));
    assert!(out.contains("supervisor> web                              RUNNING   pid 9, uptime H:MM:SS\nsupervisor> 4.3.0\nsupervisor> \n"), "{out:?}");
    let ours = ctl_with_stdin(&h.url(), &[], Some("status web\nversion\n"));
    assert_eq!(normalize(&stdout(&ours)), out);
}

#[test]
fn python_client_sees_401_and_passes_with_credentials() {
    let Some(venv) = python_venv() else { return };
    let sha = format!("{{SHA}}{}", supervisor_rs::ctl::sha1::hex_digest(b"secret"));
    let auth = supervisor_rs::config::Auth {
        username: "user".into(),
        password: sha,
    };
    let h = Harness::with("py-auth", PROCS, Some(auth), Default::default());
    let py = py_ctl(&venv, &h.url(), &["status", "web"], None);
    let ours = h.ctl(&["status", "web"]);
    assert_eq!(normalize(&stdout(&py)), normalize(&stdout(&ours)));
    assert_eq!(py.status.code(), ours.status.code());
    assert!(stdout(&ours).starts_with("Server requires authentication\nerror: <class 'xmlrpc.client.ProtocolError'>, <ProtocolError for 127.0.0.1/RPC2: 401 Unauthorized>"));
    let py = py_ctl(
        &venv,
        &h.url(),
        &["-u", "user", "-p", "secret", "status", "web"],
        None,
    );
    let ours = h.ctl(&["-u", "user", "-p", "secret", "status", "web"]);
    assert_eq!(stdout(&py), stdout(&ours));
    assert_eq!(py.status.code(), Some(3));
    assert_eq!(ours.status.code(), Some(3));
}

#[test]
fn python_tail_f_streams_from_our_server() {
    let Some(venv) = python_venv() else { return };
    let h = Harness::new("py-tailf", PROCS);
    let log = h.dir.0.join("web.out");
    std::fs::write(&log, "first\n").unwrap();
    let mut child = std::process::Command::new(venv.join("bin/supervisorctl"))
        .args(["-s", &h.url(), "tail", "-f", "web"])
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::null())
        .spawn()
        .unwrap();
    struct Kill(std::process::Child);
    impl Drop for Kill {
        fn drop(&mut self) {
            let _ = self.0.kill();
            let _ = self.0.wait();
        }
    }
    let mut stdout_pipe = child.stdout.take().unwrap();
    let _guard = Kill(child);
    let (tx, rx) = std::sync::mpsc::channel();
    std::thread::spawn(move || {
        use std::io::Read;
        let mut buf = [0u8; 4096];
        while let Ok(n) = stdout_pipe.read(&mut buf) {
            if n == 0 || tx.send(buf[..n].to_vec()).is_err() {
                break;
            }
        }
    });
    let mut seen = Vec::new();
    let read_until = |needle: &str, seen: &mut Vec<u8>| {
        let end = std::time::Instant::now() + std::time::Duration::from_secs(20);
        while !String::from_utf8_lossy(seen).contains(needle) {
            let left = end.saturating_duration_since(std::time::Instant::now());
            match rx.recv_timeout(left) {
                Ok(d) => seen.extend_from_slice(&d),
                Err(_) => return false,
            }
        }
        true
    };
    assert!(
        read_until("first\n", &mut seen),
        "{}",
        String::from_utf8_lossy(&seen)
    );
    use std::io::Write;
    std::fs::OpenOptions::new()
        .append(true)
        .open(&log)
        .unwrap()
        .write_all(b"second\n")
        .unwrap();
    assert!(
        read_until("second\n", &mut seen),
        "{}",
        String::from_utf8_lossy(&seen)
    );
    assert!(String::from_utf8_lossy(&seen).starts_with("==> Press Ctrl-C to exit <==\nfirst\n"));
}

#[test]
fn python_and_ours_agree_when_the_server_is_down() {
    let Some(venv) = python_venv() else { return };
    let dir = TempDir::new("py-dead");
    let missing = format!("unix://{}/nope.sock", dir.0.display());
    let stale = dir.0.join("stale.sock");
    drop(std::os::unix::net::UnixListener::bind(&stale).unwrap());
    let refused = format!("unix://{}", stale.display());
    let mut mismatches = Vec::new();
    for url in [missing.as_str(), refused.as_str(), "http://127.0.0.1:9"] {
        for line in [
            "status", "start x", "stop all", "pid", "tail x", "version", "shutdown", "avail",
            "reread", "add x", "reload",
        ] {
            let args: Vec<&str> = line.split_whitespace().collect();
            let a = ctl_with_stdin(url, &args, None);
            let b = py_ctl(&venv, url, &args, None);
            let (out_a, out_b) = (normalize(&stdout(&a)), normalize(&stdout(&b)));
            if out_a != out_b || a.status.code() != b.status.code() {
                mismatches.push(format!(
                    "`{line}` on {url}:\n  ours   ({:?}): {out_a:?}\n  python ({:?}): {out_b:?}",
                    a.status.code(),
                    b.status.code()
                ));
            }
        }
    }
    assert!(mismatches.is_empty(), "{}", mismatches.join("\n"));
}

#[test]
fn usage_errors_match_python() {
    let Some(venv) = python_venv() else { return };
    let dir = TempDir::new("py-usage");
    let nosec = dir.0.join("nosec.conf");
    std::fs::write(&nosec, "[supervisord]\n").unwrap();
    let nosec = nosec.display().to_string();
    let dirarg = dir.0.display().to_string();
    let cases: Vec<Vec<&str>> = vec![
        vec!["-c", "/nonexistent-ctl.conf", "status"],
        vec!["-c", &nosec, "status"],
        vec!["-c", &dirarg, "status"],
        vec!["-s", "x", "status"],
        vec!["-s", "ftp://x/y", "status"],
        vec!["--bogus"],
        vec!["-c"],
        vec!["-s", "unix:///nonexistent-ctl.sock", "-i", "version"],
    ];
    let ours_exe = env!("CARGO_BIN_EXE_supervisorctl");
    let py_exe = venv.join("bin/supervisorctl");
    for args in cases {
        let a = std::process::Command::new(ours_exe)
            .args(&args)
            .output()
            .unwrap();
        let b = std::process::Command::new(&py_exe)
            .args(&args)
            .output()
            .unwrap();
        let clean = |o: &std::process::Output, exe: &str| {
            let text = format!("{}{}", stdout(o), String::from_utf8_lossy(&o.stderr));
            normalize(&text.replace(exe, "EXE"))
        };
        assert_eq!(
            clean(&a, ours_exe),
            clean(&b, &py_exe.display().to_string()),
            "{args:?}"
        );
        assert_eq!(a.status.code(), b.status.code(), "{args:?}");
    }
}

#[test]
fn xml_serializer_matches_python_dumps_byte_for_byte() {
    use supervisor_rs::ctl::protocol::xmlrpc::{dumps_call, dumps_fault, dumps_response, Value};
    let Some(venv) = python_venv() else { return };
    let script = r#"
import xmlrpc.client as x, sys
v = [{'name': 'a<b>&c', 'pid': -5, 'ok': True, 'no': False, 'empty': '', 'list': [], 'nested': {'k': [1, 'two', {}]}},
     'unicode é ✓', 2147483647]
sys.stdout.write(x.dumps((v,), methodresponse=True))
sys.stdout.write('----\n')
sys.stdout.write(x.dumps(x.Fault(70, 'NOT_RUNNING: web')))
sys.stdout.write('----\n')
sys.stdout.write(x.dumps(('web', 'HUP'), 'supervisor.signalProcess'))
"#;
    let out = std::process::Command::new(venv.join("bin/python"))
        .args(["-c", script])
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let python = String::from_utf8(out.stdout).unwrap();
    let value = Value::Array(vec![
        Value::Struct(vec![
            ("name".into(), Value::str("a<b>&c")),
            ("pid".into(), Value::Int(-5)),
            ("ok".into(), Value::Bool(true)),
            ("no".into(), Value::Bool(false)),
            ("empty".into(), Value::str("")),
            ("list".into(), Value::Array(vec![])),
            (
                "nested".into(),
                Value::Struct(vec![(
                    "k".into(),
                    Value::Array(vec![
                        Value::Int(1),
                        Value::str("two"),
                        Value::Struct(vec![]),
                    ]),
                )]),
            ),
        ]),
        Value::str("unicode é ✓"),
        Value::Int(2147483647),
    ]);
    let ours = format!(
        "{}----\n{}----\n{}",
        dumps_response(&value),
        dumps_fault(70, "NOT_RUNNING: web"),
        dumps_call(
            "supervisor.signalProcess",
            &[Value::str("web"), Value::str("HUP")]
        )
    );
    assert_eq!(ours, python);
}
