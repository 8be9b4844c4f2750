//! Shared helpers for the event listener end-to-end tests: a temp dir with a config, a
//! supervisord child killed (with its process group) on drop, a Python listener program that
//! records what it receives, and condition waits with deadlines.

use std::fs;
use std::io::{Read, Write};
use std::os::unix::net::UnixStream;
use std::os::unix::process::CommandExt;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, ExitStatus, Stdio};
use std::time::Duration;

use super::temp::TempDir;
use super::wait::wait_for;

/// The supervisord under test (`EVENTS_TEST_SUPERVISORD` overrides it, e.g. to compare with
/// Python Supervisor).
pub fn supervisord_bin() -> PathBuf {
    match std::env::var_os("EVENTS_TEST_SUPERVISORD") {
        Some(p) => PathBuf::from(p),
        None => PathBuf::from(env!("CARGO_BIN_EXE_supervisord")),
    }
}

/// The real Python interpreter (not a shim), for listener scripts.
pub fn python() -> String {
    let out = Command::new("python3")
        .args(["-c", "import sys; print(sys.executable)"])
        .output()
        .expect("python3 is needed for listener scripts");
    String::from_utf8_lossy(&out.stdout).trim().to_string()
}

/// A listener that records each event as one line `EVENTNAME <header>|<payload with \n as \\n>`
/// into `$RECORD`, answers `OK` unless `$REJECT_ONCE` is set (then it answers `FAIL` the first
/// time it sees a serial), and runs `$ON_EVENT` (a shell command) after each event whose
/// name is in `$ON_EVENT_NAMES`; with `$DIE_ONCE=1` it exits without answering the first event
/// it ever receives; each event (with `$LISTENER_PPID` set to the listener's parent, supervisord).
pub const RECORDING_LISTENER: &str = r#"
import os, sys, subprocess
out, inp = sys.stdout.buffer, sys.stdin.buffer
record = os.environ["RECORD"]
reject_once = os.environ.get("REJECT_ONCE") == "1"
on_event = os.environ.get("ON_EVENT")
on_names = os.environ.get("ON_EVENT_NAMES", "").split(",")
seen = set()
while True:
    out.write(b"READY\n"); out.flush()
    line = inp.readline()
    if not line:
        break
    header = dict(kv.split(":", 1) for kv in line.decode().split())
    payload = inp.read(int(header["len"]))
    with open(record, "a") as f:
        f.write("%s %s|%s\n" % (header["eventname"], line.decode().strip(),
                                payload.decode().replace("\n", "\\n")))
    if os.environ.get("DIE_ONCE") == "1" and not os.path.exists(record + ".died"):
        open(record + ".died", "w").close()
        os._exit(1)
    answer = b"OK"
    if reject_once and header["serial"] not in seen:
        seen.add(header["serial"])
        answer = b"FAIL"
    out.write(b"RESULT %d\n%s" % (len(answer), answer)); out.flush()
    if on_event and header["eventname"] in on_names:
        env = dict(os.environ, LISTENER_PPID=str(os.getppid()))
        subprocess.call(on_event, shell=True, env=env)
"#;

/// A temp dir holding config, logs, scripts and records; removed on drop.
pub struct TestDir {
    pub path: TempDir,
}

impl TestDir {
    pub fn new(tag: &str) -> TestDir {
        TestDir {
            path: TempDir::new(&format!("ev-{tag}")),
        }
    }

    pub fn file(&self, name: &str) -> PathBuf {
        self.path.join(name)
    }

    pub fn write(&self, name: &str, text: &str) -> PathBuf {
        let p = self.file(name);
        fs::write(&p, text).expect("writing a test file");
        p
    }

    /// The `[supervisord]`, socket and ctl sections every test uses, then `sections`.
    pub fn config(&self, sections: &str) -> PathBuf {
        let d = self.path.display();
        let text = format!(
            "[supervisord]\nnodaemon=true\nlogfile={d}/supervisord.log\npidfile={d}/supervisord.pid\n\
             childlogdir={d}\nloglevel=debug\nidentifier=evtest\nuser=root\n\n\
             [unix_http_server]\nfile={d}/sock\n\n\
             [rpcinterface:supervisor]\n\
             supervisor.rpcinterface_factory = supervisor.rpcinterface:make_main_rpcinterface\n\n\
             [supervisorctl]\nserverurl=unix://{d}/sock\n\n{sections}"
        );
        self.write("supervisord.conf", &text)
    }

    pub fn main_log(&self) -> String {
        fs::read_to_string(self.file("supervisord.log")).unwrap_or_default()
    }

    /// Lines a recording listener wrote to `name`.
    pub fn records(&self, name: &str) -> Vec<String> {
        fs::read_to_string(self.file(name))
            .unwrap_or_default()
            .lines()
            .map(str::to_string)
            .collect()
    }

    pub fn socket(&self) -> PathBuf {
        self.file("sock")
    }
}

/// A running supervisord (in its own process group); killed with its group on drop.
pub struct Daemon {
    pub child: Child,
}

impl Daemon {
    pub fn start(config: &Path) -> Daemon {
        Daemon::spawn(
            Command::new(supervisord_bin())
                .args(["-n", "-c"])
                .arg(config),
        )
    }

    pub fn spawn(cmd: &mut Command) -> Daemon {
        let child = cmd
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .process_group(0)
            .spawn()
            .expect("starting supervisord");
        Daemon { child }
    }

    pub fn pid(&self) -> i32 {
        self.child.id() as i32
    }

    /// Waits up to `limit` for the process to exit.
    pub fn wait_exit(&mut self, limit: Duration) -> Option<ExitStatus> {
        let mut status = None;
        wait_for(limit.as_secs_f64(), || {
            status = self.child.try_wait().ok().flatten();
            status.is_some()
        });
        status
    }
}

impl Drop for Daemon {
    fn drop(&mut self) {
        if let Ok(None) = self.child.try_wait() {
            let pgid = self.pid();
            // SAFETY: kill(2) has no memory effects; the group is the daemon's own (process_group(0)).
            unsafe {
                libc::kill(-pgid, libc::SIGTERM);
            }
            if self.wait_exit(Duration::from_secs(10)).is_none() {
                // SAFETY: as above.
                unsafe {
                    libc::kill(-pgid, libc::SIGKILL);
                }
                let _ = self.child.wait();
            }
        }
    }
}

/// One XML-RPC call with string parameters over the unix socket; returns the raw response.
pub fn xmlrpc(socket: &Path, method: &str, params: &[&str]) -> std::io::Result<String> {
    let params: String = params
        .iter()
        .map(|p| format!("<param><value><string>{p}</string></value></param>"))
        .collect();
    let body = format!(
        "<?xml version=\"1.0\"?><methodCall><methodName>{method}</methodName>\
         <params>{params}</params></methodCall>"
    );
    let mut s = UnixStream::connect(socket)?;
    s.set_read_timeout(Some(Duration::from_secs(10)))?;
    write!(
        s,
        "POST /RPC2 HTTP/1.0\r\nHost: localhost\r\nContent-Type: text/xml\r\nContent-Length: {}\r\n\r\n{body}",
        body.len()
    )?;
    let mut out = String::new();
    s.read_to_string(&mut out)?;
    Ok(out)
}

/// An `[eventlistener:name]` section running the recording listener, recording into
/// `<name>.rec`; `env` adds `,K="v"` pairs to its environment, `extra` adds keys.
pub fn recording_listener(
    dir: &TestDir,
    name: &str,
    events: &str,
    env: &str,
    extra: &str,
) -> String {
    let script = dir.write("listener.py", RECORDING_LISTENER);
    let d = dir.path.display();
    format!(
        "[eventlistener:{name}]\ncommand={} -u {}\nevents={events}\nstartsecs=0\n\
         stderr_logfile={d}/{name}.err\nenvironment=RECORD=\"{d}/{name}.rec\"{env}\n{extra}\n",
        python(),
        script.display(),
    )
}
