//! A spawned program holds exactly fds 0-2: nothing supervisord has open (control sockets, an
//! open control connection, its main log, other programs' pipes and log files) leaks into it.

use std::process::Command;

use crate::support::daemon::*;
use crate::support::temp::TempDir;

const SUPERVISORCTL: &str = env!("CARGO_BIN_EXE_supervisorctl");

/// Descriptor numbers and targets from `ls -l /proc/self/fd` output.
fn listed_fds(out: &str) -> Vec<(u32, String)> {
    out.lines()
        .filter_map(|l| {
            let (left, target) = l.split_once(" -> ")?;
            let fd = left.split_whitespace().last()?.parse().ok()?;
            Some((fd, target.to_string()))
        })
        .collect()
}

/// Descriptors of a running process, from /proc.
fn fds_of(pid: i32) -> Vec<String> {
    std::fs::read_dir(format!("/proc/{pid}/fd"))
        .map(|d| {
            d.flatten()
                .filter_map(|e| std::fs::read_link(e.path()).ok())
                .map(|t| t.display().to_string())
                .collect()
        })
        .unwrap_or_default()
}

fn free_port() -> u16 {
    let l = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    l.local_addr().unwrap().port()
}

/// Checks `out` (the listing a child made of its own fds) holds 0, 1, 2 and nothing else but
/// the directory handle `ls` itself reads /proc/self/fd through.
fn assert_only_std_fds(out: &str, context: &str) {
    let fds = listed_fds(out);
    let numbers: Vec<u32> = fds.iter().map(|(n, _)| *n).collect();
    for n in 0..3 {
        assert!(numbers.contains(&n), "fd {n} missing:\n{out}\n{context}");
    }
    let extra: Vec<&(u32, String)> = fds
        .iter()
        .filter(|(n, t)| *n > 2 && !(t.starts_with("/proc/") && t.ends_with("/fd")))
        .collect();
    assert!(extra.is_empty(), "leaked fds {extra:?}:\n{out}\n{context}");
    assert!(
        fds.len() <= 4,
        "more than ls's own directory handle:\n{out}"
    );
}

#[test]
fn a_spawned_child_holds_exactly_fds_0_to_2() {
    let dir = TempDir::new("spawnfds");
    let port = free_port();
    let programs = format!(
        "[unix_http_server]\nfile={{dir}}/sd.sock\n\n\
         [inet_http_server]\nport=127.0.0.1:{port}\n\n\
         [supervisorctl]\nserverurl=unix://{{dir}}/sd.sock\n\n\
         [rpcinterface:supervisor]\n\
         supervisor.rpcinterface_factory = supervisor.rpcinterface:make_main_rpcinterface\n\n\
         [program:busy]\ncommand={{prog}} sleep=60\nstdout_logfile={{dir}}/busy.out\n\
         stderr_logfile={{dir}}/busy.err\nstartsecs=0\n\n\
         [program:fds]\ncommand=/bin/ls -l /proc/self/fd\nautostart=false\nautorestart=false\n\
         startsecs=0\nstdout_logfile={{dir}}/fds.out\nstderr_logfile={{dir}}/fds.err\n\n\
         [program:fdsredirect]\ncommand=/bin/ls -l /proc/self/fd\nautostart=false\n\
         autorestart=false\nstartsecs=0\nredirect_stderr=true\n\
         stdout_logfile={{dir}}/fdsredirect.out\n"
    );
    let sup = Sup::launch(dir, &programs, &[]);
    assert!(
        sup.wait_log("success: busy entered RUNNING state", 15.0),
        "{}",
        sup.log()
    );
    // supervisord itself holds far more than 0-2 now: both servers, its log, busy's pipes
    // and log files, the pump's epoll and eventfd.
    let own = fds_of(sup.pid);
    assert!(
        own.iter().filter(|t| t.starts_with("socket:")).count() >= 2
            && own.iter().any(|t| t.ends_with("sd.log"))
            && own.iter().any(|t| t.ends_with("busy.out")),
        "supervisord's fds: {own:?}"
    );
    let conf = sup.dir.join("sd.conf");
    for name in ["fds", "fdsredirect"] {
        let out = Command::new(SUPERVISORCTL)
            .arg("-c")
            .arg(&conf)
            .args(["start", name])
            .output()
            .expect("run supervisorctl");
        let text = String::from_utf8_lossy(&out.stdout).into_owned();
        // `ls` exits at once, so start may report it as exited; only the listing matters.
        let exited = format!("exited: {name} (exit status 0");
        assert!(sup.wait_log(&exited, 15.0), "{text}\n{}", sup.log());
        let listing = sup.file(&format!("{name}.out"));
        assert_only_std_fds(&listing, &format!("supervisord's fds: {own:?}"));
        let fds = listed_fds(&listing);
        let target = |n: u32| fds.iter().find(|(f, _)| *f == n).unwrap().1.clone();
        for n in 0..3 {
            assert!(target(n).starts_with("pipe:"), "fd {n}:\n{listing}");
        }
        // redirect_stderr: stderr is stdout's pipe; otherwise a pipe of its own.
        let shared = target(1) == target(2);
        assert_eq!(shared, name == "fdsredirect", "{listing}");
    }
    assert_eq!(sup.file("fds.err"), "", "stderr of ls");
}
