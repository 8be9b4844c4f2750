//! Robustness under load: 30 programs (crash loops, quick exits with autorestart, orphan
//! makers, long runners) while 4 clients start, stop and signal them concurrently over the
//! socket, and a reload closes and reopens that socket in the middle.
//! Afterwards the daemon must still answer, have no unreaped children, leave every process
//! in a stopped state after `stop all`, and shut down with status 0 within a bound.

use std::io::{Read, Write};
use std::os::unix::net::UnixStream;
use std::path::Path;
use std::time::{Duration, Instant};

use crate::support::daemon::*;
use crate::support::wait::wait_for;

const SUPERVISORCTL: &str = env!("CARGO_BIN_EXE_supervisorctl");

/// How long the clients hammer the daemon.
const CHURN: Duration = Duration::from_secs(5);

fn programs() -> String {
    let mut conf = String::from(
        "[unix_http_server]\nfile={dir}/sd.sock\n\n\
         [supervisorctl]\nserverurl=unix://{dir}/sd.sock\n\n\
         [rpcinterface:supervisor]\n\
         supervisor.rpcinterface_factory = supervisor.rpcinterface:make_main_rpcinterface\n\n",
    );
    for i in 0..30 {
        let body = match i % 4 {
            // Crash loop: never reaches startsecs, backs off, gives up.
            0 => "command={prog} sleep=0.05 exit=1\nstartsecs=1\nstartretries=3\n",
            // Quick exit, restarted at once.
            1 => "command={prog} sleep=0.1 exit=0\nstartsecs=0\nautorestart=true\n",
            // Leaves orphans for the subreaper to reap, then exits and is restarted.
            2 => {
                "command={prog} done=/dev/null orphans=2 sleep=0.2 exit=3\nstartsecs=0\n\
                  autorestart=true\n"
            }
            // Long runner, slow to stop.
            _ => "command={prog} stop-delay=0.1 sleep=100\nstartsecs=0\n",
        };
        conf.push_str(&format!("[program:p{i:02}]\n{body}\n"));
    }
    conf
}

/// One XML-RPC call over the unix socket; the raw response body (empty if unanswered).
fn rpc(sock: &Path, method: &str, params: &[&str]) -> String {
    let params: String = params
        .iter()
        .map(|p| format!("<param><value>{p}</value></param>"))
        .collect();
    let body = format!(
        "<?xml version=\"1.0\"?><methodCall><methodName>{method}</methodName>\
         <params>{params}</params></methodCall>"
    );
    let Ok(mut s) = UnixStream::connect(sock) else {
        return String::new();
    };
    let _ = s.set_read_timeout(Some(Duration::from_secs(30)));
    let req = format!(
        "POST /RPC2 HTTP/1.1\r\nHost: localhost\r\nContent-Type: text/xml\r\n\
         Content-Length: {}\r\nConnection: close\r\n\r\n{body}",
        body.len()
    );
    if s.write_all(req.as_bytes()).is_err() {
        return String::new();
    }
    let mut resp = String::new();
    let _ = s.read_to_string(&mut resp);
    resp.split_once("\r\n\r\n")
        .map(|(_, b)| b.to_string())
        .unwrap_or_default()
}

/// `statename` of every process in a getAllProcessInfo answer, with the process name.
fn states(body: &str) -> Vec<(String, String)> {
    let field = |chunk: &str, key: &str| {
        let at = chunk.find(&format!("<name>{key}</name>"))?;
        let rest = &chunk[at..];
        let start = rest.find("<string>")? + "<string>".len();
        let end = rest[start..].find("</string>")?;
        Some(rest[start..start + end].to_string())
    };
    body.split("<struct>")
        .skip(1)
        .filter_map(|c| Some((field(c, "name")?, field(c, "statename")?)))
        .collect()
}

/// Children of `pid` that are zombies (exited, not reaped).
fn zombie_children(pid: i32) -> Vec<i32> {
    let mut out = Vec::new();
    let Ok(dir) = std::fs::read_dir("/proc") else {
        return out;
    };
    for e in dir.flatten() {
        let Some(child) = e.file_name().to_str().and_then(|s| s.parse::<i32>().ok()) else {
            continue;
        };
        let Ok(stat) = std::fs::read_to_string(format!("/proc/{child}/stat")) else {
            continue;
        };
        let Some(close) = stat.rfind(')') else {
            continue;
        };
        let f: Vec<&str> = stat[close + 1..].split_whitespace().collect();
        if f.first() == Some(&"Z") && f.get(1).and_then(|p| p.parse().ok()) == Some(pid) {
            out.push(child);
        }
    }
    out
}

/// A small deterministic generator, so every client makes a different but repeatable mix.
struct Lcg(u64);

impl Lcg {
    fn next(&mut self, n: u64) -> u64 {
        self.0 = self
            .0
            .wrapping_mul(6364136223846793005)
            .wrapping_add(1442695040888963407);
        (self.0 >> 33) % n
    }
}

fn client(sock: std::path::PathBuf, seed: u64) -> usize {
    let mut rng = Lcg(seed);
    let end = Instant::now() + CHURN;
    let mut answered = 0;
    while Instant::now() < end {
        let name = format!("<string>p{:02}</string>", rng.next(30));
        let wait = if rng.next(4) == 0 {
            "<boolean>1</boolean>"
        } else {
            "<boolean>0</boolean>"
        };
        let body = match rng.next(6) {
            0 | 1 => rpc(&sock, "supervisor.startProcess", &[&name, wait]),
            2 | 3 => rpc(&sock, "supervisor.stopProcess", &[&name, wait]),
            4 => rpc(
                &sock,
                "supervisor.signalProcess",
                &[&name, "<string>HUP</string>"],
            ),
            _ => rpc(&sock, "supervisor.getAllProcessInfo", &[]),
        };
        if body.contains("<methodResponse>") {
            answered += 1;
        }
    }
    answered
}

fn ctl(sup: &Sup, args: &[&str]) -> (Option<i32>, String) {
    let out = std::process::Command::new(SUPERVISORCTL)
        .arg("-c")
        .arg(sup.dir.join("sd.conf"))
        .args(args)
        .output()
        .expect("run supervisorctl");
    let text =
        String::from_utf8_lossy(&out.stdout).into_owned() + &String::from_utf8_lossy(&out.stderr);
    (out.status.code(), text)
}

#[test]
fn daemon_survives_concurrent_churn_and_shuts_down_cleanly() {
    let mut sup = Sup::start("stress", &programs());
    let sock = sup.dir.join("sd.sock");
    assert!(
        wait_for(10.0, || rpc(&sock, "supervisor.getState", &[])
            .contains("RUNNING")),
        "{}",
        sup.log()
    );
    let clients: Vec<_> = (0..4u64)
        .map(|i| {
            let sock = sock.clone();
            std::thread::spawn(move || client(sock, 0x5eed + i * 7919))
        })
        .collect();
    // One reload in the middle: the socket is closed and reopened under the clients' feet.
    std::thread::sleep(CHURN / 2);
    let restart = rpc(&sock, "supervisor.restart", &[]);
    assert!(restart.contains("<boolean>1</boolean>"), "{restart}");
    let answered: usize = clients
        .into_iter()
        .map(|c| c.join().expect("client thread"))
        .sum();
    assert!(answered > 20, "only {answered} answers\n{}", sup.log());

    // Still answering, back in RUNNING after the reload.
    assert!(
        wait_for(10.0, || rpc(&sock, "supervisor.getState", &[])
            .contains("RUNNING")),
        "{}",
        sup.log()
    );
    assert_eq!(
        sup.count("supervisord started with pid"),
        2,
        "{}",
        sup.log()
    );

    // Every exited child gets reaped (a zombie may exist only until its SIGCHLD is handled).
    assert!(
        wait_for(5.0, || zombie_children(sup.pid).is_empty()),
        "zombies under supervisord: {:?}\n{}",
        zombie_children(sup.pid),
        sup.log()
    );

    let (code, out) = ctl(&sup, &["stop", "all"]);
    assert!(code.is_some(), "{out}");
    // `stop all` (like Supervisor's) skips processes already STOPPING from a client's
    // earlier stop without wait: those must get to a stopped state on their own.
    let settled = ["STOPPED", "EXITED", "FATAL"];
    let mut all = Vec::new();
    let done = wait_for(5.0, || {
        all = states(&rpc(&sock, "supervisor.getAllProcessInfo", &[]));
        all.len() == 30 && all.iter().all(|(_, s)| settled.contains(&s.as_str()))
    });
    assert!(
        done,
        "not stopped after stop all: {all:?}\n{out}\n{}",
        sup.log()
    );
    // Nothing supervised is left running (orphans included), and nothing respawns.
    assert!(
        wait_for(5.0, || descendants(sup.pid).is_empty()),
        "left after stop all: {:?}\n{}",
        descendants(sup.pid),
        sup.log()
    );
    let again = states(&rpc(&sock, "supervisor.getAllProcessInfo", &[]));
    assert_eq!(all, again, "a process changed state after stop all");

    let t0 = Instant::now();
    let (_, out) = ctl(&sup, &["shutdown"]);
    assert!(out.contains("Shut down"), "{out}");
    assert_eq!(sup.wait_exit(10.0).and_then(|s| s.code()), Some(0));
    assert!(t0.elapsed() < Duration::from_secs(10));
    assert!(!sock.exists(), "socket removed at exit");
}
