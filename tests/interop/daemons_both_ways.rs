//! Interoperability with Python Supervisor 4.3.0, both ways, with real daemons:
//! Python supervisorctl driving our supervisord, and our supervisorctl driving Python
//! supervisord, each compared with Python supervisorctl driving Python supervisord. Outputs and
//! exit statuses must be identical after normalizing pids, uptimes, dates and paths.

use std::path::{Path, PathBuf};
use std::process::{Child, Command, Output, Stdio};
use std::time::Duration;

use crate::compare::{normalize, py_ctl};
use crate::support::mock_engine::*;
use crate::support::python::python_venv;
use crate::support::temp::TempDir;
use crate::support::wait::wait_for;

const CONFIG: &str = r#"[supervisord]
logfile=DIR/supervisord.log
pidfile=DIR/supervisord.pid
childlogdir=DIR
user=root

[unix_http_server]
file=DIR/supervisor.sock

[rpcinterface:supervisor]
supervisor.rpcinterface_factory = supervisor.rpcinterface:make_main_rpcinterface

[supervisorctl]
serverurl=unix://DIR/supervisor.sock

[program:sleeper]
command=sleep 1000
startsecs=0

[program:echoer]
command=sh -c "echo hello; echo oops >&2; exec sleep 1000"
startsecs=0

[program:manual]
command=sleep 1000
autostart=false
startsecs=0

[program:failer]
command=sh -c "exit 3"
startsecs=0
autorestart=false

[program:missing]
command=/nonexistent/program
autostart=false

[program:ga]
command=sleep 1000
autostart=false
startsecs=0

[program:gb]
command=sleep 1000
autostart=false
startsecs=0

[group:grp]
programs=ga,gb
"#;

/// Commands run in order against each daemon.
const SCRIPT: &[&str] = &[
    "status",
    "status sleeper",
    "status sleeper nosuch",
    "status nogroup:*",
    "status grp:*",
    "start manual",
    "start manual",
    "start nosuch",
    "start missing",
    "start nogroup:*",
    "start grp:*",
    "status",
    "stop manual",
    "stop manual",
    "stop grp:ga",
    "stop nogroup:*",
    "restart sleeper",
    "signal CONT echoer",
    "signal BOGUS echoer",
    "signal CONT manual",
    "pid nosuch",
    "pid manual",
    "tail echoer",
    "tail echoer stderr",
    "tail -3 echoer",
    "tail nosuch",
    "clear nosuch",
    "avail",
    "reread",
    "add sleeper",
    "add nosuch",
    "remove sleeper",
    "remove nosuch",
    "version",
    "help",
    "help status",
    "nosuchcmd",
    "stop all",
    "status",
    "shutdown",
];

enum Kind {
    Ours,
    Python,
}

struct Daemon {
    dir: TempDir,
    child: Option<Child>,
}

impl Daemon {
    fn start(kind: Kind, venv: &Path, tag: &str) -> Daemon {
        let dir = TempDir::new(tag);
        let conf = dir.0.join("supervisord.conf");
        std::fs::write(&conf, CONFIG.replace("DIR", &dir.0.display().to_string())).unwrap();
        let exe = match kind {
            Kind::Ours => PathBuf::from(env!("CARGO_BIN_EXE_supervisord")),
            Kind::Python => venv.join("bin/supervisord"),
        };
        let child = Command::new(exe)
            .arg("-n")
            .arg("-c")
            .arg(&conf)
            .current_dir(&dir.0)
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("spawn supervisord");
        let d = Daemon {
            dir,
            child: Some(child),
        };
        assert!(
            wait_for(20.0, || d.socket().exists()),
            "no socket at {}",
            d.socket().display()
        );
        d
    }

    fn socket(&self) -> PathBuf {
        self.dir.0.join("supervisor.sock")
    }

    fn url(&self) -> String {
        format!("unix://{}", self.socket().display())
    }

    /// Waits until no process is STARTING or BACKOFF and autostarted ones are up.
    fn settle(&self, venv: &Path) {
        let ok = wait_for(30.0, || {
            let out = stdout(&py_ctl(venv, &self.url(), &["status"], None));
            out.contains("sleeper ")
                && out.contains("echoer ")
                && !out.contains("STARTING")
                && !out.contains("BACKOFF")
                && out.contains("failer                           EXITED")
        });
        assert!(ok, "daemon in {} did not settle", self.dir.0.display());
    }
}

impl Drop for Daemon {
    fn drop(&mut self) {
        if let Some(mut child) = self.child.take() {
            // SAFETY: signalling our own child process.
            unsafe { libc::kill(child.id() as i32, libc::SIGTERM) };
            let deadline = std::time::Instant::now() + Duration::from_secs(15);
            while std::time::Instant::now() < deadline {
                if let Ok(Some(_)) = child.try_wait() {
                    return;
                }
                std::thread::sleep(Duration::from_millis(20));
            }
            let _ = child.kill();
            let _ = child.wait();
        }
    }
}

/// Pids, uptimes, stop dates and the daemon's directory made comparable.
fn normalize_run(text: &str, dir: &Path) -> String {
    let text = normalize(text).replace(&dir.display().to_string(), "DIR");
    let mut out = String::new();
    for line in text.split_inclusive('\n') {
        let mut line = line.to_string();
        if let Some(i) = line.find("pid ") {
            let start = i + 4;
            let end = line[start..]
                .find(|c: char| !c.is_ascii_digit())
                .map(|e| start + e)
                .unwrap_or(line.len());
            line.replace_range(start..end, "N");
        }
        // `%b %d %I:%M %p` stop dates.
        for month in [
            "Jan ", "Feb ", "Mar ", "Apr ", "May ", "Jun ", "Jul ", "Aug ", "Sep ", "Oct ", "Nov ",
            "Dec ",
        ] {
            if let Some(i) = line.find(month) {
                if line[i..].len() >= 15 && (line[i..].contains(" AM") || line[i..].contains(" PM"))
                {
                    line.replace_range(i..i + 15, "DATE");
                }
            }
        }
        if line.trim().chars().all(|c| c.is_ascii_digit()) && !line.trim().is_empty() {
            line = "NUMBER\n".into();
        }
        out.push_str(&line);
    }
    out
}

type Ctl = dyn Fn(&str, &[&str]) -> Output;

fn run_script(ctl: &Ctl, daemon: &Daemon) -> Vec<(String, String, Option<i32>)> {
    SCRIPT
        .iter()
        .map(|line| {
            let args: Vec<&str> = line.split_whitespace().collect();
            let o = ctl(&daemon.url(), &args);
            let mut text = normalize_run(&stdout(&o), &daemon.dir.0);
            if line.ends_with(" all") {
                // Supervisor reports multi-process results in completion order, which depends
                // on timing; compare them as sets.
                let mut lines: Vec<&str> = text.lines().collect();
                lines.sort();
                text = lines.join("\n");
            }
            (line.to_string(), text, o.status.code())
        })
        .collect()
}

fn compare(
    label: &str,
    got: &[(String, String, Option<i32>)],
    reference: &[(String, String, Option<i32>)],
) {
    let mut diffs = Vec::new();
    for (g, r) in got.iter().zip(reference) {
        if g != r {
            diffs.push(format!(
                "`{}`:\n  {label} ({:?}): {:?}\n  reference ({:?}): {:?}",
                g.0, g.2, g.1, r.2, r.1
            ));
        }
    }
    assert!(diffs.is_empty(), "{}", diffs.join("\n"));
}

#[test]
fn python_ctl_on_our_daemon_and_our_ctl_on_python_daemon_match_python_on_python() {
    let Some(venv) = python_venv() else { return };
    let v = venv.clone();
    let python_ctl = move |url: &str, args: &[&str]| py_ctl(&v, url, args, None);
    let our_ctl = |url: &str, args: &[&str]| ctl_with_stdin(url, args, None);

    let reference_daemon = Daemon::start(Kind::Python, &venv, "interop-ref");
    reference_daemon.settle(&venv);
    let reference = run_script(&python_ctl, &reference_daemon);

    let ours = Daemon::start(Kind::Ours, &venv, "interop-ours");
    ours.settle(&venv);
    let py_on_ours = run_script(&python_ctl, &ours);

    let python_daemon = Daemon::start(Kind::Python, &venv, "interop-py");
    python_daemon.settle(&venv);
    let ours_on_py = run_script(&our_ctl, &python_daemon);

    compare("python ctl on our daemon", &py_on_ours, &reference);
    compare("our ctl on python daemon", &ours_on_py, &reference);
}

const CONFIG_INFO_CONF: &str = r#"[supervisord]
logfile=DIR/supervisord.log
pidfile=DIR/supervisord.pid
childlogdir=DIR
user=root

[unix_http_server]
file=DIR/supervisor.sock

[rpcinterface:supervisor]
supervisor.rpcinterface_factory = supervisor.rpcinterface:make_main_rpcinterface

[program:a]
command=sleep 100
redirect_stderr=true
directory=/tmp
startsecs=0

[program:b]
command=sleep 100
stdout_logfile=NONE
user=nobody
numprocs=2
process_name=%(program_name)s_%(process_num)d
priority=5
startsecs=0
stopsignal=INT
exitcodes=0,2
"#;

/// getAllConfigInfo and getProcessInfo through Python's own XML-RPC client, one line per key;
/// then the log paths getAllConfigInfo reports after reloadConfig and after re-adding a group.
const DUMP: &str = r#"
import re, sys, xmlrpc.client
from supervisor.xmlrpc import SupervisorTransport
url, d = sys.argv[1], sys.argv[2]
p = xmlrpc.client.ServerProxy('http://127.0.0.1', transport=SupervisorTransport(None, None, url))
def norm(v):
    return re.sub(r'---supervisor-[^.]*\.log', '---supervisor-X.log', repr(v).replace(d, 'D'))
for c in p.supervisor.getAllConfigInfo():
    print(c['name'], [(k, norm(c[k])) for k in sorted(c)])
i = p.supervisor.getProcessInfo('a')
print('info', [(k, norm(i[k])) for k in sorted(i) if k not in ('now', 'start', 'pid', 'description', 'state', 'statename')])
print('state', p.supervisor.getState(), p.supervisor.getIdentification(), p.supervisor.getAPIVersion())
print(len(p.system.listMethods()), p.system.methodSignature('supervisor.signalProcess'))
print(p.system.methodHelp('supervisor.getState'))
def logs(tag):
    for c in p.supervisor.getAllConfigInfo():
        print(tag, c['name'], c['inuse'], norm(c['stdout_logfile']), norm(c['stderr_logfile']))
# A reread config reports 'auto' until its group is added again from it.
p.supervisor.reloadConfig()
logs('reread')
p.supervisor.stopProcessGroup('a')
p.supervisor.removeProcessGroup('a')
p.supervisor.addProcessGroup('a')
logs('readded')
"#;

#[test]
fn config_and_process_info_match_python() {
    let Some(venv) = python_venv() else { return };
    let dump = |kind: Kind, tag: &str| -> String {
        let dir = TempDir::new(tag);
        let conf = dir.0.join("supervisord.conf");
        std::fs::write(
            &conf,
            CONFIG_INFO_CONF.replace("DIR", &dir.0.display().to_string()),
        )
        .unwrap();
        let exe = match kind {
            Kind::Ours => PathBuf::from(env!("CARGO_BIN_EXE_supervisord")),
            Kind::Python => venv.join("bin/supervisord"),
        };
        let child = Command::new(exe)
            .args(["-n", "-c"])
            .arg(&conf)
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .unwrap();
        let daemon = Daemon {
            dir,
            child: Some(child),
        };
        assert!(wait_for(20.0, || daemon.socket().exists()));
        let out = Command::new(venv.join("bin/python"))
            .args(["-c", DUMP, &daemon.url()])
            .arg(daemon.dir.0.display().to_string())
            .output()
            .unwrap();
        assert!(
            out.status.success(),
            "{}",
            String::from_utf8_lossy(&out.stderr)
        );
        String::from_utf8_lossy(&out.stdout).into_owned()
    };
    let python = dump(Kind::Python, "ci-py");
    let ours = dump(Kind::Ours, "ci-ours");
    let diffs: Vec<String> = python
        .lines()
        .zip(ours.lines())
        .filter(|(a, b)| a != b)
        .map(|(a, b)| format!("python: {a}\nours:   {b}"))
        .collect();
    assert!(diffs.is_empty(), "{}", diffs.join("\n"));
    assert_eq!(python.lines().count(), ours.lines().count());
}

#[test]
fn our_tail_f_follows_python_daemon_logs() {
    let Some(venv) = python_venv() else { return };
    let daemon = Daemon::start(Kind::Python, &venv, "tailf-py");
    daemon.settle(&venv);
    let mut child = Command::new(env!("CARGO_BIN_EXE_supervisorctl"))
        .args(["-s", &daemon.url(), "tail", "-f", "echoer"])
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let mut pipe = child.stdout.take().unwrap();
    struct Kill(Child);
    impl Drop for Kill {
        fn drop(&mut self) {
            let _ = self.0.kill();
            let _ = self.0.wait();
        }
    }
    let _guard = Kill(child);
    let (tx, rx) = std::sync::mpsc::channel();
    std::thread::spawn(move || {
        use std::io::Read;
        let mut buf = [0u8; 4096];
        while let Ok(n) = pipe.read(&mut buf) {
            if n == 0 || tx.send(buf[..n].to_vec()).is_err() {
                break;
            }
        }
    });
    let mut seen = Vec::new();
    let end = std::time::Instant::now() + Duration::from_secs(20);
    while !String::from_utf8_lossy(&seen).contains("hello\n") {
        match rx.recv_timeout(end.saturating_duration_since(std::time::Instant::now())) {
            Ok(d) => seen.extend_from_slice(&d),
            Err(_) => break,
        }
    }
    assert_eq!(
        String::from_utf8_lossy(&seen),
        "==> Press Ctrl-C to exit <==\nhello\n"
    );
}

#[test]
fn stale_socket_and_second_daemon_behave_like_python() {
    let Some(venv) = python_venv() else { return };
    for kind in [Kind::Python, Kind::Ours] {
        let dir = TempDir::new("stale");
        let conf = dir.0.join("supervisord.conf");
        std::fs::write(
            &conf,
            CONFIG_INFO_CONF.replace("DIR", &dir.0.display().to_string()),
        )
        .unwrap();
        let socket = dir.0.join("supervisor.sock");
        drop(std::os::unix::net::UnixListener::bind(&socket).unwrap());
        let exe = match kind {
            Kind::Ours => PathBuf::from(env!("CARGO_BIN_EXE_supervisord")),
            Kind::Python => venv.join("bin/supervisord"),
        };
        let err_file = dir.0.join("first.err");
        let child = Command::new(&exe)
            .args(["-n", "-c"])
            .arg(&conf)
            .stdout(Stdio::null())
            .stderr(std::fs::File::create(&err_file).unwrap())
            .spawn()
            .unwrap();
        let daemon = Daemon {
            dir,
            child: Some(child),
        };
        let url = daemon.url();
        assert!(wait_for(20.0, || {
            stdout(&py_ctl(&venv, &url, &["pid"], None))
                .trim()
                .parse::<i32>()
                .is_ok()
        }));
        let err = std::fs::read_to_string(&err_file).unwrap();
        assert!(
            err.contains(&format!("Unlinking stale socket {}\n", socket.display())),
            "{err}"
        );
        let second = Command::new(&exe)
            .args(["-n", "-c"])
            .arg(&conf)
            .output()
            .unwrap();
        assert_eq!(second.status.code(), Some(2));
        let text =
            String::from_utf8_lossy(&second.stderr).replace(&exe.display().to_string(), "EXE");
        assert!(
            text.ends_with("Error: Another program is already listening on a port that one of our HTTP servers is configured to use.  Shut this program down first before starting supervisord.\nFor help, use EXE -h\n"),
            "{text}"
        );
        // The first daemon still answers.
        assert_eq!(stdout(&py_ctl(&venv, &url, &["version"], None)), "4.3.0\n");
    }
}

const UPDATE_BEFORE: &str = r#"[supervisord]
logfile=DIR/supervisord.log
pidfile=DIR/supervisord.pid
childlogdir=DIR
user=root

[unix_http_server]
file=DIR/supervisor.sock

[rpcinterface:supervisor]
supervisor.rpcinterface_factory = supervisor.rpcinterface:make_main_rpcinterface

[program:keep]
command=sleep 1000
startsecs=0

[program:change]
command=sleep 1000
startsecs=0

[program:drop]
command=sleep 1000
startsecs=0
"#;

const UPDATE_AFTER: &str = r#"[supervisord]
logfile=DIR/supervisord.log
pidfile=DIR/supervisord.pid
childlogdir=DIR
user=root

[unix_http_server]
file=DIR/supervisor.sock

[rpcinterface:supervisor]
supervisor.rpcinterface_factory = supervisor.rpcinterface:make_main_rpcinterface

[program:keep]
command=sleep 1000
startsecs=0

[program:change]
command=sleep 1001
startsecs=0

[program:added]
command=sleep 1000
startsecs=0
autostart=false
"#;

#[test]
fn reread_and_update_match_python() {
    let Some(venv) = python_venv() else { return };
    let run = |kind: Kind, tag: &str, ctl: &Ctl| -> Vec<(String, String, Option<i32>)> {
        let dir = TempDir::new(tag);
        let conf = dir.0.join("supervisord.conf");
        let dir_text = dir.0.display().to_string();
        let fill = |t: &str| t.replace("DIR", &dir_text);
        std::fs::write(&conf, fill(UPDATE_BEFORE)).unwrap();
        let exe = match kind {
            Kind::Ours => PathBuf::from(env!("CARGO_BIN_EXE_supervisord")),
            Kind::Python => venv.join("bin/supervisord"),
        };
        let child = Command::new(exe)
            .args(["-n", "-c"])
            .arg(&conf)
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .unwrap();
        let daemon = Daemon {
            dir,
            child: Some(child),
        };
        let url = daemon.url();
        assert!(wait_for(30.0, || {
            stdout(&py_ctl(&venv, &url, &["status"], None))
                .matches("RUNNING")
                .count()
                == 3
        }));
        std::fs::write(&conf, fill(UPDATE_AFTER)).unwrap();
        let mut results = Vec::new();
        for line in [
            "reread",
            "avail",
            "update nosuch",
            "update",
            "status",
            "reread",
            "update",
            "add added",
            "remove added",
            "avail",
        ] {
            let args: Vec<&str> = line.split_whitespace().collect();
            let o = ctl(&url, &args);
            results.push((
                line.to_string(),
                normalize_run(&stdout(&o), &daemon.dir.0),
                o.status.code(),
            ));
        }
        results
    };
    let v = venv.clone();
    let python_ctl = move |url: &str, args: &[&str]| py_ctl(&v, url, args, None);
    let our_ctl = |url: &str, args: &[&str]| ctl_with_stdin(url, args, None);
    let reference = run(Kind::Python, "upd-ref", &python_ctl);
    let py_on_ours = run(Kind::Ours, "upd-ours", &python_ctl);
    let ours_on_py = run(Kind::Python, "upd-py", &our_ctl);
    compare("python ctl on our daemon", &py_on_ours, &reference);
    compare("our ctl on python daemon", &ours_on_py, &reference);
}
