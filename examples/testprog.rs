//! A helper program for the engine tests. Arguments are steps run in order:
//!
//! `pid=FILE` write own pid · `append=FILE` append `start <pid> <unix ms>` · `env=FILE` write
//! environment, cwd, uid, gid, groups, umask · `record=FILE` append the name of every received
//! signal (TERM/INT handled as below) · `ignore-term` · `stop-delay=SECS` on SIGTERM wait, then die
//! by SIGTERM · `grandchild=FILE` fork a sleeping child (same process group), write its pid ·
//! `daemon=FILE` double-fork a daemon in its own session that appends `started <pid>` and, on
//! SIGTERM, `TERM` to FILE · `orphans=N` make N orphaned children that exit at once, then write
//! `done` to the file given by `done=FILE` (must come first) · `print=TEXT` stdout line ·
//! `sleep=SECS` · `exit=CODE` · `exists=FILE` exit 1 unless FILE exists · `stdin-line=FILE`
//! append one line read from stdin to FILE · `sigstate=FILE` write pid, pgid, blocked and
//! ignored signals.

use std::ffi::CString;
use std::fs::OpenOptions;
use std::io::Write;
use std::sync::atomic::{AtomicBool, AtomicI32, Ordering};
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

static TERM: AtomicBool = AtomicBool::new(false);
static RECORD_FD: AtomicI32 = AtomicI32::new(-1);

fn name(sig: i32) -> &'static [u8] {
    match sig {
        libc::SIGTERM => b"TERM\n",
        libc::SIGINT => b"INT\n",
        libc::SIGHUP => b"HUP\n",
        libc::SIGUSR1 => b"USR1\n",
        libc::SIGUSR2 => b"USR2\n",
        libc::SIGWINCH => b"WINCH\n",
        libc::SIGALRM => b"ALRM\n",
        libc::SIGQUIT => b"QUIT\n",
        libc::SIGPWR => b"PWR\n",
        _ => b"OTHER\n",
    }
}

extern "C" fn on_signal(sig: i32) {
    let fd = RECORD_FD.load(Ordering::SeqCst);
    if fd >= 0 {
        let n = name(sig);
        // SAFETY: write is async-signal-safe.
        unsafe { libc::write(fd, n.as_ptr().cast(), n.len()) };
    }
    if sig == libc::SIGTERM || sig == libc::SIGINT {
        TERM.store(true, Ordering::SeqCst);
    }
}

fn handle(sig: i32) {
    // SAFETY: installing a handler that only does async-signal-safe work.
    unsafe {
        let mut sa: libc::sigaction = std::mem::zeroed();
        sa.sa_sigaction = on_signal as extern "C" fn(i32) as usize;
        sa.sa_flags = libc::SA_RESTART;
        libc::sigaction(sig, &sa, std::ptr::null_mut());
    }
}

fn append(path: &str, line: &str) {
    let mut f = OpenOptions::new()
        .create(true)
        .append(true)
        .open(path)
        .expect("open");
    f.write_all(line.as_bytes()).expect("write");
}

fn now_ms() -> u128 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .unwrap()
        .as_millis()
}

fn die_by_term() -> ! {
    // SAFETY: restoring the default action and raising it.
    unsafe {
        libc::signal(libc::SIGTERM, libc::SIG_DFL);
        libc::raise(libc::SIGTERM);
    }
    std::process::exit(143)
}

struct Opts {
    stop_delay: Option<f64>,
    ignore_term: bool,
    done: Option<String>,
}

fn sleep(secs: f64, o: &Opts) {
    let end = Instant::now() + Duration::from_secs_f64(secs);
    while Instant::now() < end {
        std::thread::sleep(Duration::from_millis(5));
        if TERM.swap(false, Ordering::SeqCst) && !o.ignore_term {
            if let Some(d) = o.stop_delay {
                std::thread::sleep(Duration::from_secs_f64(d));
            }
            die_by_term();
        }
    }
}

fn fork() -> i32 {
    // SAFETY: the test helper is single-threaded.
    unsafe { libc::fork() }
}

fn daemon(file: &str) {
    if fork() == 0 {
        // SAFETY: plain syscalls in a single-threaded child.
        unsafe { libc::setsid() };
        if fork() != 0 {
            // SAFETY: leaving the intermediate child without running destructors.
            unsafe { libc::_exit(0) };
        }
        append(file, &format!("started {}\n", std::process::id()));
        let fd = OpenOptions::new().append(true).open(file).expect("open");
        RECORD_FD.store(std::os::fd::IntoRawFd::into_raw_fd(fd), Ordering::SeqCst);
        handle(libc::SIGTERM);
        loop {
            std::thread::sleep(Duration::from_millis(5));
            if TERM.load(Ordering::SeqCst) {
                std::process::exit(0);
            }
        }
    }
}

fn orphans(n: usize, done: Option<&str>) {
    let mid = fork();
    if mid == 0 {
        for _ in 0..n {
            if fork() == 0 {
                // SAFETY: leave at once.
                unsafe { libc::_exit(0) };
            }
        }
        // SAFETY: leave without waiting: the children become orphans.
        unsafe { libc::_exit(0) };
    }
    let mut st = 0;
    // SAFETY: waiting for our own direct child.
    unsafe { libc::waitpid(mid, &mut st, 0) };
    if let Some(d) = done {
        append(d, "done\n");
    }
}

fn write_env(path: &str) {
    let mut out = String::new();
    for (k, v) in std::env::vars() {
        out.push_str(&format!("{k}={v}\n"));
    }
    let cwd = std::env::current_dir().unwrap();
    // SAFETY: id queries; umask is set back right away.
    let (uid, gid, mask) = unsafe {
        let m = libc::umask(0o22);
        libc::umask(m);
        (libc::getuid(), libc::getgid(), m)
    };
    let mut groups = vec![0 as libc::gid_t; 64];
    // SAFETY: buffer of 64 entries.
    let n = unsafe { libc::getgroups(64, groups.as_mut_ptr()) };
    groups.truncate(n.max(0) as usize);
    out.push_str(&format!(
        "cwd={}\nuid={uid}\ngid={gid}\numask={mask:o}\n",
        cwd.display()
    ));
    out.push_str(&format!("groups={groups:?}\n"));
    std::fs::write(path, out).unwrap();
}

fn main() {
    let mut o = Opts {
        stop_delay: None,
        ignore_term: false,
        done: None,
    };
    for arg in std::env::args().skip(1) {
        let (k, v) = arg.split_once('=').unwrap_or((arg.as_str(), ""));
        match k {
            "pid" => std::fs::write(v, format!("{}\n", std::process::id())).unwrap(),
            "append" => append(v, &format!("start {} {}\n", std::process::id(), now_ms())),
            "env" => write_env(v),
            "record" => {
                // Handlers first: the test takes the file's existence as "ready for signals".
                for s in [
                    libc::SIGTERM,
                    libc::SIGINT,
                    libc::SIGHUP,
                    libc::SIGUSR1,
                    libc::SIGUSR2,
                    libc::SIGWINCH,
                    libc::SIGALRM,
                    libc::SIGQUIT,
                    libc::SIGPWR,
                ] {
                    handle(s);
                }
                // Opened under another name and renamed once the handler can write to it:
                // a signal sent as soon as the file exists is never missed.
                let tmp = format!("{v}.opening");
                let c = CString::new(tmp.as_str()).unwrap();
                // SAFETY: opening a file for appends.
                let fd = unsafe {
                    libc::open(
                        c.as_ptr(),
                        libc::O_WRONLY | libc::O_CREAT | libc::O_APPEND,
                        0o644,
                    )
                };
                RECORD_FD.store(fd, Ordering::SeqCst);
                std::fs::rename(&tmp, v).unwrap();
            }
            "ignore-term" => {
                o.ignore_term = true;
                handle(libc::SIGTERM);
            }
            "stop-delay" => {
                o.stop_delay = Some(v.parse().unwrap());
                handle(libc::SIGTERM);
            }
            "grandchild" => {
                let pid = fork();
                if pid == 0 {
                    loop {
                        std::thread::sleep(Duration::from_secs(1000));
                    }
                }
                std::fs::write(v, format!("{pid}\n")).unwrap();
            }
            "daemon" => daemon(v),
            "done" => o.done = Some(v.to_string()),
            "orphans" => orphans(v.parse().unwrap(), o.done.as_deref()),
            "print" => {
                println!("{v}");
                std::io::stdout().flush().unwrap();
            }
            "sleep" => sleep(v.parse().unwrap(), &o),
            "exit" => std::process::exit(v.parse().unwrap()),
            "stdin-line" => {
                let mut line = String::new();
                std::io::stdin().read_line(&mut line).unwrap();
                append(v, &line);
            }
            "sigstate" => {
                let status = std::fs::read_to_string("/proc/self/status").unwrap();
                let mut out = format!(
                    "pid={} pgid={}\n",
                    std::process::id(),
                    // SAFETY: plain query.
                    unsafe { libc::getpgrp() }
                );
                for l in status
                    .lines()
                    .filter(|l| l.starts_with("SigBlk") || l.starts_with("SigIgn"))
                {
                    out.push_str(l);
                    out.push('\n');
                }
                std::fs::write(v, out).unwrap();
            }
            "exists" => {
                if !std::path::Path::new(v).exists() {
                    std::process::exit(1);
                }
            }
            other => {
                eprintln!("testprog: unknown step {other}");
                std::process::exit(99);
            }
        }
    }
}
