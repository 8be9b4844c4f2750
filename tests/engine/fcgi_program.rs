//! `[fcgi-program:x]` for real: a WSGI app served by flup on fd 0 answers FastCGI requests
//! made with `cgi-fcgi` (libfcgi), on a TCP and on a unix socket; the processes of a group
//! share one socket, which outlives restarts and follows `update` and exit.

use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};

use crate::support::daemon::*;
use crate::support::supervisord::header;
use crate::support::temp::TempDir;
use crate::support::wait::wait_for;

const CTL: &str = env!("CARGO_BIN_EXE_supervisorctl");

/// The python with flup (and cgi-fcgi on PATH) from scripts/fcgi-env.sh. Like the Python
/// comparisons, this fails when they cannot be had, unless `SUPERVISORD_RS_SKIP_PYTHON=1` (and
/// not under CI=true): then it prints `skipped: <test>: <why>` and the test returns.
fn fcgi_python() -> Option<PathBuf> {
    let script = Path::new(env!("CARGO_MANIFEST_DIR")).join("scripts/fcgi-env.sh");
    let why = match Command::new(&script).stderr(Stdio::piped()).output() {
        Ok(o) if o.status.success() => {
            return Some(PathBuf::from(String::from_utf8_lossy(&o.stdout).trim()));
        }
        Ok(o) => String::from_utf8_lossy(&o.stderr).trim().to_string(),
        Err(e) => format!("cannot run {}: {e}", script.display()),
    };
    let skip = std::env::var("SUPERVISORD_RS_SKIP_PYTHON").as_deref() == Ok("1");
    if !skip || std::env::var("CI").as_deref() == Ok("true") {
        panic!(
            "flup and cgi-fcgi are needed for the fcgi-program tests: {why}\n\
             run scripts/fcgi-env.sh, or set SUPERVISORD_RS_SKIP_PYTHON=1 to skip them \
             (not under CI=true)"
        );
    }
    let test = std::thread::current().name().unwrap_or("?").to_string();
    eprintln!("skipped: {test}: SUPERVISORD_RS_SKIP_PYTHON=1 and {why}");
    None
}

fn app_section(python: &Path, name: &str, socket_lines: &str) -> String {
    let app = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fcgi/app.py");
    format!(
        "[fcgi-program:{name}]\ncommand={} {}\n{socket_lines}\nstartsecs=1\n\
         stopwaitsecs=5\n\n",
        python.display(),
        app.display()
    )
}

/// The control socket sections, so supervisorctl -c finds the daemon.
fn control(dir: &TempDir) -> String {
    format!(
        "[unix_http_server]\nfile={0}\n[supervisorctl]\nserverurl=unix://{0}\n\
         [rpcinterface:supervisor]\n\
         supervisor.rpcinterface_factory = supervisor.rpcinterface:make_main_rpcinterface\n\n",
        dir.join("ctl.sock").display()
    )
}

fn ctl(sup: &Sup, args: &[&str]) -> String {
    let out = Command::new(CTL)
        .arg("-c")
        .arg(sup.dir.join("sd.conf"))
        .args(args)
        .output()
        .expect("run supervisorctl");
    String::from_utf8_lossy(&out.stdout).into_owned()
}

fn fcgi_request(target: &str, path: &str) -> Command {
    let mut cmd = Command::new("cgi-fcgi");
    cmd.args(["-bind", "-connect", target])
        .env("REQUEST_METHOD", "GET")
        .env("SCRIPT_NAME", "")
        .env("PATH_INFO", path)
        .env("SERVER_NAME", "localhost")
        .env("SERVER_PORT", "80")
        .env("SERVER_PROTOCOL", "HTTP/1.1")
        .stdin(Stdio::null())
        .stderr(Stdio::null());
    cmd
}

/// One GET through FastCGI; the pid of the process that answered.
fn get(target: &str, path: &str) -> i32 {
    let out = fcgi_request(target, path).output().expect("run cgi-fcgi");
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(text.starts_with("Status: 200 OK"), "{target}{path}: {text}");
    assert!(text.contains(&format!(" path={path}\n")), "{text}");
    pid_in(&text)
}

fn pid_in(text: &str) -> i32 {
    let at = text.find("pid=").expect("pid in answer") + 4;
    let digits: String = text[at..]
        .chars()
        .take_while(char::is_ascii_digit)
        .collect();
    digits.parse().unwrap()
}

fn pids(sup: &Sup, names: &[&str]) -> Vec<i32> {
    names
        .iter()
        .map(|n| ctl(sup, &["pid", n]).trim().parse().unwrap_or(0))
        .collect()
}

/// `socket:[inode]` of a process's fd 0.
fn stdin_of(pid: i32) -> String {
    let link = std::fs::read_link(format!("/proc/{pid}/fd/0")).expect("fd 0 of the app");
    link.display().to_string()
}

fn free_port() -> u16 {
    let probe = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    probe.local_addr().unwrap().port()
}

fn running(sup: &Sup, names: &[&str]) -> bool {
    wait_for(20.0, || {
        let status = ctl(sup, &["status"]);
        names.iter().all(|n| {
            status
                .lines()
                .any(|l| l.starts_with(&format!("{n} ")) && l.contains("RUNNING"))
        })
    })
}

#[test]
fn tcp_socket_is_shared_by_the_group_and_kept_across_restarts() {
    let Some(python) = fcgi_python() else { return };
    let dir = TempDir::new("fcgi-tcp");
    let port = free_port();
    let target = format!("127.0.0.1:{port}");
    let lines = format!(
        "socket=tcp://{target}\nsocket_backlog=16\nnumprocs=2\n\
         process_name=%(program_name)s_%(process_num)d"
    );
    let programs = control(&dir) + &app_section(&python, "app", &lines);
    let mut sup = Sup::launch(dir, &programs, &[]);
    let names = ["app:app_0", "app:app_1"];
    assert!(running(&sup, &names), "{}", sup.log());

    let before = pids(&sup, &names);
    assert_eq!(
        stdin_of(before[0]),
        stdin_of(before[1]),
        "numprocs share one socket"
    );
    let socket = stdin_of(before[0]);
    assert!(socket.starts_with("socket:["), "{socket}");
    assert!(before.contains(&get(&target, "/one")));

    ctl(&sup, &["restart", "app:*"]);
    assert!(running(&sup, &names), "{}", sup.log());
    let after = pids(&sup, &names);
    assert!(
        after.iter().all(|p| !before.contains(p)),
        "{before:?} {after:?}"
    );
    assert_eq!(
        stdin_of(after[0]),
        socket,
        "the socket outlives the processes"
    );
    assert!(after.contains(&get(&target, "/two")));

    // With every process stopped the socket still listens: a request waits in the backlog
    // and is answered once the group runs again.
    ctl(&sup, &["stop", "app:*"]);
    let waiting = fcgi_request(&target, "/queued")
        .stdout(Stdio::piped())
        .spawn()
        .unwrap();
    ctl(&sup, &["start", "app:*"]);
    let out = waiting.wait_with_output().unwrap();
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(text.contains("path=/queued"), "{text}");

    assert_eq!(sup.count(&format!("Creating socket tcp://{target}")), 1);
    sup.signal(libc::SIGTERM);
    assert!(sup.wait_exit(20.0).is_some());
    assert!(sup
        .log()
        .contains(&format!("Closing socket tcp://{target}")));
    assert!(
        std::net::TcpStream::connect(&target).is_err(),
        "closed at exit"
    );
}

#[test]
fn unix_socket_follows_update_and_exit() {
    let Some(python) = fcgi_python() else { return };
    let dir = TempDir::new("fcgi-unix");
    let sock = |n: &str| dir.join(n).display().to_string();
    let section = |file: &str| {
        let lines = format!("socket=unix://{}\nsocket_mode=0660", sock(file));
        app_section(&python, "uapp", &lines)
    };
    let base = control(&dir);
    let a = sock("a.sock");
    let b = sock("b.sock");
    let write_conf = |programs: &str| {
        let text = header(&dir) + &base + programs;
        std::fs::write(dir.join("sd.conf"), text).unwrap();
    };
    let programs = base.clone() + &section("a.sock");
    // The daemon's TempDir and ours name the same directory; removing it twice is harmless.
    let mut sup = Sup::launch(TempDir(dir.0.clone()), &programs, &[]);
    assert!(running(&sup, &["uapp"]), "{}", sup.log());
    let mode = std::fs::metadata(&a).unwrap().permissions().mode();
    assert_eq!(mode & 0o777, 0o660);
    get(&a, "/a");

    // A changed socket: update replaces the group, the old file goes, the new one serves.
    write_conf(&section("b.sock"));
    ctl(&sup, &["update"]);
    assert!(wait_for(10.0, || !Path::new(&a).exists()), "{}", sup.log());
    assert!(running(&sup, &["uapp"]), "{}", sup.log());
    get(&b, "/b");

    // Removed from the config: update removes the group and its socket file.
    write_conf("");
    ctl(&sup, &["update"]);
    assert!(wait_for(10.0, || !Path::new(&b).exists()), "{}", sup.log());
    assert!(sup.log().contains(&format!("Closing socket unix://{b}")));

    // Added again, then supervisord exits: the file is removed at exit.
    write_conf(&section("a.sock"));
    ctl(&sup, &["update"]);
    assert!(running(&sup, &["uapp"]), "{}", sup.log());
    get(&a, "/again");
    sup.signal(libc::SIGTERM);
    assert!(sup.wait_exit(20.0).is_some());
    assert!(!Path::new(&a).exists(), "{}", sup.log());
}
