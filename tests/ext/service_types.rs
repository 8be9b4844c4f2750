//! Service types as a user meets them: a oneshot migration gating a web server, a failing
//! oneshot keeping its dependents down, a notify service reporting READY=1 and STATUS= over
//! the socket (a real sender: Python's socket module), a watchdog timeout, an s6-style
//! notify fd, and start timeouts.

use std::time::Instant;

use super::service_util::*;
use crate::support::daemon::*;
use crate::support::temp::TempDir;
use crate::support::wait::wait_for;

fn state_of(sup: &Sup, name: &str) -> String {
    ctl(sup, &["status", name]).1
}

#[test]
fn oneshot_migration_gates_the_web_server() {
    let dir = TempDir::new("svc-oneshot");
    let conf = format!(
        "[program:migrate]\ncommand=/bin/sh -c 'sleep 1; touch {m}'\ntype=oneshot\n\n\
         [program:web]\ncommand={{prog}} exists={m} sleep=100\nstartsecs=0\n\
         depends_on=migrate\n",
        m = dir.join("migrated").display()
    );
    let sup = launch(dir, &conf);
    assert!(sup.wait_log("spawned: 'web'", 15.0), "{}", sup.log());
    let finished = sup.times_of("success: migrate finished: exit status 0")[0];
    let web = sup.times_of("spawned: 'web'")[0];
    assert!(web >= finished, "{}", sup.log());
    assert!(
        wait_for(10.0, || state_of(&sup, "web").contains("RUNNING")),
        "{}",
        sup.log()
    );
    // A job that succeeded does not make `status` exit 3, and says when it finished.
    let (code, out) = ctl(&sup, &["status"]);
    assert_eq!(code, 0, "{out}");
    assert!(out.contains("EXITED"), "{out}");
    assert!(out.contains("finished"), "{out}");
    assert!(out.contains("(exit status 0)"), "{out}");
    let (_, json) = ctl(&sup, &["status", "--json", "migrate"]);
    assert!(json.contains("\"type\": \"oneshot\""), "{json}");
    let (_, out) = ctl(&sup, &["avail"]);
    assert!(
        out.lines()
            .any(|l| l.starts_with("migrate ") && l.ends_with(" oneshot")),
        "{out}"
    );
    assert!(out
        .lines()
        .any(|l| l.starts_with("web ") && l.ends_with("999:999")));
    // `start` on the job returns when it has finished.
    let t = Instant::now();
    let (code, out) = ctl(&sup, &["start", "migrate"]);
    assert_eq!((code, out.trim()), (0, "migrate: started"));
    assert!(
        t.elapsed().as_secs_f64() >= 0.9,
        "returned before the job ended"
    );
    assert_eq!(sup.count("spawned: 'web'"), 1, "{}", sup.log());
}

#[test]
fn failing_oneshot_keeps_dependents_down() {
    let conf = "[program:migrate]\ncommand=/bin/sh -c 'exit 3'\ntype=oneshot\n\
                startretries=1\n\n\
                [program:web]\ncommand={prog} sleep=100\nstartsecs=0\ndepends_on=migrate\n";
    let sup = launch(TempDir::new("svc-oneshot-fail"), conf);
    assert!(
        sup.wait_log("gave up: migrate entered FATAL", 15.0),
        "{}",
        sup.log()
    );
    assert_eq!(sup.count("spawned: 'migrate'"), 2, "{}", sup.log());
    let (code, out) = ctl(&sup, &["status"]);
    assert_eq!(code, 3, "{out}");
    assert!(
        out.contains("FATAL") && out.contains("Bad exit code 3"),
        "{out}"
    );
    let (code, out) = ctl(&sup, &["start", "migrate"]);
    assert_ne!(code, 0, "{out}");
    assert!(out.contains("migrate: ERROR"), "{out}");
    assert!(!sup.log().contains("spawned: 'web'"), "{}", sup.log());
}

#[test]
fn oneshot_past_its_start_timeout_fails() {
    let conf = "[program:job]\ncommand={prog} sleep=100\ntype=oneshot\nstart_timeout=1\n\
                startretries=0\n";
    let sup = launch(TempDir::new("svc-oneshot-timeout"), conf);
    assert!(
        sup.wait_log("gave up: job entered FATAL", 15.0),
        "{}",
        sup.log()
    );
    assert!(
        sup.log()
            .contains("start timeout: job did not finish within 1 seconds"),
        "{}",
        sup.log()
    );
    assert!(state_of(&sup, "job").contains("start timeout"));
}

/// A notify service in Python: writes its NOTIFY_SOCKET to `sock`, says STATUS=warming up,
/// waits for the file `go`, then sends READY=1 and STATUS=serving.
const NOTIFY_PY: &str = r#"
import os, socket, sys, time
d = sys.argv[1]
addr = os.environ["NOTIFY_SOCKET"]
open(d + "/sock.tmp", "w").write(addr)
os.rename(d + "/sock.tmp", d + "/sock")
if addr.startswith("@"):
    addr = "\0" + addr[1:]
s = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
s.sendto(b"STATUS=warming up", addr)
while not os.path.exists(d + "/go"):
    time.sleep(0.05)
s.sendto(b"READY=1\nSTATUS=serving", addr)
time.sleep(100)
"#;

#[test]
fn notify_service_is_starting_until_ready() {
    let dir = TempDir::new("svc-notify");
    std::fs::write(dir.join("svc.py"), NOTIFY_PY).unwrap();
    let conf = format!(
        "[program:svc]\ncommand=python3 {d}/svc.py {d}\ntype=notify\n\n\
         [program:web]\ncommand={{prog}} sleep=100\nstartsecs=0\ndepends_on=svc\n",
        d = dir.0.display()
    );
    let sup = launch(dir, &conf);
    assert!(
        wait_for(15.0, || sup.dir.join("sock").exists()),
        "{}",
        sup.log()
    );
    assert!(
        wait_for(10.0, || state_of(&sup, "svc").contains("warming up")),
        "{}",
        state_of(&sup, "svc")
    );
    // A READY=1 from a process that is not the service's is ignored (SO_PASSCRED).
    let addr = std::fs::read_to_string(sup.dir.join("sock")).unwrap();
    let name = addr.strip_prefix('@').expect("abstract address");
    let status = std::process::Command::new("python3")
        .arg("-c")
        .arg(format!(
            "import socket; s=socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM); \
             s.sendto(b'READY=1', b'\\0{name}')"
        ))
        .status()
        .unwrap();
    assert!(status.success());
    assert!(sup.wait_log("not its process", 5.0), "{}", sup.log());
    let out = state_of(&sup, "svc");
    assert!(out.contains("STARTING"), "{out}");
    assert!(!sup.log().contains("spawned: 'web'"), "{}", sup.log());
    std::fs::write(sup.dir.join("go"), "").unwrap();
    assert!(
        sup.wait_log(
            "success: svc entered RUNNING state, process reported ready",
            10.0
        ),
        "{}",
        sup.log()
    );
    assert!(sup.wait_log("spawned: 'web'", 10.0), "{}", sup.log());
    assert!(
        wait_for(5.0, || state_of(&sup, "svc").contains("serving")),
        "{}",
        state_of(&sup, "svc")
    );
    let out = state_of(&sup, "svc");
    assert!(out.contains("RUNNING") && out.contains("pid "), "{out}");
    let (_, json) = ctl(&sup, &["status", "--json", "svc"]);
    assert!(json.contains("\"status_text\": \"serving\""), "{json}");
    assert!(json.contains("\"type\": \"notify\""), "{json}");
}

/// Says READY=1, pings the watchdog three times, then goes silent.
const WATCHDOG_PY: &str = r#"
import os, socket, sys, time
env = os.environ
open(sys.argv[1], "a").write("%s %s %d\n" % (env.get("WATCHDOG_USEC"), env.get("WATCHDOG_PID"), os.getpid()))
addr = os.environ["NOTIFY_SOCKET"]
if addr.startswith("@"):
    addr = "\0" + addr[1:]
s = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
s.sendto(b"READY=1", addr)
for _ in range(3):
    time.sleep(0.4)
    s.sendto(b"WATCHDOG=1", addr)
time.sleep(100)
"#;

#[test]
fn watchdog_timeout_aborts_and_restarts() {
    let dir = TempDir::new("svc-watchdog");
    std::fs::write(dir.join("dog.py"), WATCHDOG_PY).unwrap();
    let conf = format!(
        "[program:dog]\ncommand=python3 {d}/dog.py {d}/usec\ntype=notify\nwatchdog_secs=1\n",
        d = dir.0.display()
    );
    let sup = launch(dir, &conf);
    assert!(sup.wait_log("watchdog timeout: dog", 15.0), "{}", sup.log());
    assert!(
        sup.wait_log("exited: dog (terminated by SIGABRT", 10.0),
        "{}",
        sup.log()
    );
    assert!(
        wait_for(10.0, || sup.count("spawned: 'dog'") >= 2),
        "{}",
        sup.log()
    );
    // Pings kept it alive past the first second: the timeout came 1 s after the last one.
    let ready = sup.times_of("process reported ready")[0];
    let timeout = sup.times_of("watchdog timeout: dog")[0];
    assert!(timeout - ready >= 2.0, "{}", sup.log());
    // WATCHDOG_USEC, and WATCHDOG_PID naming the process itself.
    let first = sup.file("usec");
    let words: Vec<&str> = first.lines().next().unwrap().split(' ').collect();
    assert_eq!(words[0], "1000000", "{first}");
    assert_eq!(
        words[1], words[2],
        "WATCHDOG_PID is not the process's pid: {first}"
    );
}

#[test]
fn notify_fd_newline_means_ready() {
    let conf = "[program:s6]\ncommand=/bin/sh -c 'sleep 1; echo >&3; exec sleep 100'\n\
                type=notify\nnotify_fd=3\n";
    let sup = launch(TempDir::new("svc-notify-fd"), conf);
    assert!(
        sup.wait_log(
            "success: s6 entered RUNNING state, process reported ready",
            15.0
        ),
        "{}",
        sup.log()
    );
    let spawned = sup.times_of("spawned: 's6'")[0];
    let ready = sup.times_of("process reported ready")[0];
    assert!(ready - spawned >= 0.9, "{}", sup.log());
}

#[test]
fn notify_without_ready_fails_after_start_timeout() {
    let conf = "[program:mute]\ncommand=/bin/sh -c 'exec sleep 100'\ntype=notify\n\
                notify_fd=5\nstart_timeout=1\nstartretries=0\n";
    let sup = launch(TempDir::new("svc-notify-timeout"), conf);
    assert!(
        sup.wait_log("gave up: mute entered FATAL", 15.0),
        "{}",
        sup.log()
    );
    assert!(
        sup.log()
            .contains("start timeout: mute did not report ready within 1 seconds"),
        "{}",
        sup.log()
    );
}
