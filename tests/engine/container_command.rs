//! The container's command (`supervisord [options] [--] COMMAND`): a plain init without a
//! config, services first and the command after with one, exit statuses passed through,
//! signals passed on, `supervisorctl stop main`, the bounded wait for the programs, and an
//! interactive shell on a terminal, as PID 1 of a pid namespace where that matters.

use std::path::{Path, PathBuf};
use std::process::{Child, Command, ExitStatus, Output, Stdio};
use std::time::{Duration, Instant};

use crate::support::daemon::{descendants, line_time};
use crate::support::supervisord::*;
use crate::support::temp::TempDir;
use crate::support::wait::wait_for;

const SUPERVISORCTL: &str = env!("CARGO_BIN_EXE_supervisorctl");
const UNSHARE: &[&str] = &["unshare", "--pid", "--fork", "--mount-proc"];

/// A file in `dir`, as a path and as text for command lines.
fn at(dir: &TempDir, name: &str) -> PathBuf {
    dir.join(name)
}

fn text_at(dir: &TempDir, name: &str) -> String {
    at(dir, name).display().to_string()
}

fn can_unshare() -> bool {
    Command::new("unshare")
        .args(["--pid", "--fork", "--mount-proc", "true"])
        .status()
        .map(|s| s.success())
        .unwrap_or(false)
}

fn fill(dir: &TempDir, text: &str) -> String {
    text.replace("{dir}", &dir.0.display().to_string())
        .replace("{prog}", &testprog().display().to_string())
}

/// `supervisord ARGS...` run to its end in `dir` (no config there, none on the default search
/// path of this machine unless one is installed in /etc).
fn run_plain(dir: &TempDir, args: &[&str]) -> Output {
    let out = Command::new(SUPERVISORD)
        .args(args)
        .current_dir(dir)
        .stdin(Stdio::null())
        .output()
        .expect("run supervisord");
    out
}

fn no_default_config() -> bool {
    let found = ["/etc/supervisord.conf", "/etc/supervisor/supervisord.conf"]
        .iter()
        .any(|p| Path::new(p).exists());
    if found {
        eprintln!("skipped: a supervisord.conf on the default search path of this machine");
    }
    !found
}

/// A supervisord with a command, killed with everything it spawned on drop.
struct Container {
    dir: TempDir,
    child: Child,
    status: Option<ExitStatus>,
}

impl Container {
    /// `[prefix...] supervisord -c sd.conf ARGS...` with the test header plus `programs` and
    /// a control socket.
    fn start(dir: TempDir, programs: &str, args: &[&str], prefix: &[&str]) -> Container {
        let conf = format!(
            "{}[unix_http_server]\nfile={}\n\n[rpcinterface:supervisor]\n\
             supervisor.rpcinterface_factory = supervisor.rpcinterface:make_main_rpcinterface\n\n\
             [supervisorctl]\nserverurl=unix://{}\n\n{}",
            header(&dir),
            text_at(&dir, "sd.sock"),
            text_at(&dir, "sd.sock"),
            fill(&dir, programs)
        );
        std::fs::write(at(&dir, "sd.conf"), conf).unwrap();
        let args: Vec<String> = args.iter().map(|a| fill(&dir, a)).collect();
        let mut cmd = Command::new(prefix.first().copied().unwrap_or(SUPERVISORD));
        if !prefix.is_empty() {
            cmd.args(&prefix[1..]).arg(SUPERVISORD);
        }
        cmd.arg("-c").arg(at(&dir, "sd.conf")).args(&args);
        cmd.stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::null());
        let child = cmd.spawn().expect("start supervisord");
        Container {
            dir,
            child,
            status: None,
        }
    }

    fn pid(&self) -> i32 {
        self.child.id() as i32
    }

    /// The supervisord that signals reach: inside the namespace, the child of `unshare`.
    fn target(&self, namespaced: bool) -> i32 {
        if !namespaced {
            return self.pid();
        }
        let mut pid = 0;
        assert!(wait_for(10.0, || {
            pid = descendants(self.pid()).first().copied().unwrap_or(0);
            pid != 0
        }));
        pid
    }

    fn log(&self) -> String {
        read(&at(&self.dir, "sd.log"))
    }

    fn file(&self, name: &str) -> String {
        read(&at(&self.dir, name))
    }

    fn wait_exit(&mut self, secs: f64) -> Option<i32> {
        let end = Instant::now() + Duration::from_secs_f64(secs);
        loop {
            if let Ok(Some(st)) = self.child.try_wait() {
                self.status = Some(st);
                return st.code();
            }
            if Instant::now() > end {
                return None;
            }
            std::thread::sleep(Duration::from_millis(5));
        }
    }

    fn ctl(&self, args: &[&str]) -> Output {
        Command::new(SUPERVISORCTL)
            .arg("-c")
            .arg(at(&self.dir, "sd.conf"))
            .args(args)
            .output()
            .expect("run supervisorctl")
    }
}

impl Drop for Container {
    fn drop(&mut self) {
        let left = descendants(self.pid());
        if self.status.is_none() {
            kill(self.pid(), libc::SIGKILL);
        }
        for p in left {
            kill(p, libc::SIGKILL);
        }
        let _ = self.child.wait();
    }
}

#[test]
fn plain_init_passes_the_exit_status_through() {
    if !no_default_config() {
        return;
    }
    let dir = TempDir::new("cmdplain");
    let code = |args: &[&str]| run_plain(&dir, args).status.code();
    assert_eq!(code(&["sh", "-c", "exit 0"]), Some(0));
    assert_eq!(code(&["sh", "-c", "exit 3"]), Some(3));
    assert_eq!(code(&["--", "sh", "-c", "kill -KILL $$"]), Some(137));
    assert_eq!(code(&["-n", "--", "sh", "-c", "kill -TERM $$"]), Some(143));
    assert_eq!(code(&["--remap-exit", "3", "sh", "-c", "exit 3"]), Some(0));
    let missing = run_plain(&dir, &["no-such-command-here"]);
    assert_eq!(missing.status.code(), Some(127));
    let err = String::from_utf8_lossy(&missing.stderr);
    assert!(
        err.contains("can't find command 'no-such-command-here'"),
        "{err}"
    );
}

#[test]
fn plain_init_leaves_stdout_to_the_command() {
    if !no_default_config() {
        return;
    }
    let dir = TempDir::new("cmdout");
    // The command's own options are not supervisord's: getopt stops at the command.
    let out = run_plain(&dir, &["-n", "sh", "-c", "echo out; echo err >&2", "-n"]);
    assert_eq!(out.status.code(), Some(0));
    assert_eq!(String::from_utf8_lossy(&out.stdout), "out\n");
    assert_eq!(String::from_utf8_lossy(&out.stderr), "err\n");
    assert!(!at(&dir, "supervisord.log").exists());
    assert!(!at(&dir, "supervisord.pid").exists());
}

#[test]
fn plain_init_as_pid1_passes_signals_and_stops_within_its_bound() {
    if !can_unshare() || !no_default_config() {
        eprintln!("skipped: cannot create a pid namespace here");
        return;
    }
    let dir = TempDir::new("cmdpid1");
    let sig = text_at(&dir, "main.sig");
    let prog = testprog().display().to_string();
    let mut child = Command::new(UNSHARE[0])
        .args(&UNSHARE[1..])
        .arg(SUPERVISORD)
        .args([&prog, &format!("record={sig}"), "sleep=100"])
        .current_dir(&*dir)
        .stdin(Stdio::null())
        .spawn()
        .unwrap();
    let host = child.id() as i32;
    let mut inner = 0;
    assert!(wait_for(10.0, || {
        inner = descendants(host).first().copied().unwrap_or(0);
        inner != 0 && at(&dir, "main.sig").exists()
    }));
    for s in [libc::SIGUSR1, libc::SIGHUP, libc::SIGUSR2, libc::SIGWINCH] {
        kill(inner, s);
    }
    // Pending signals are delivered in number order, not in sending order.
    let sorted = |s: String| {
        let mut v: Vec<String> = s.lines().map(String::from).collect();
        v.sort();
        v.join(" ")
    };
    let recorded = || read(&at(&dir, "main.sig"));
    assert!(
        wait_for(5.0, || sorted(recorded()) == "HUP USR1 USR2 WINCH"),
        "{}",
        recorded()
    );
    let t0 = Instant::now();
    kill(inner, libc::SIGTERM);
    let st = child.wait().unwrap();
    // testprog dies of the SIGTERM it records: 128 + 15.
    assert_eq!(st.code(), Some(143));
    assert!(t0.elapsed() < Duration::from_secs(3));
    assert!(recorded().ends_with("TERM\n"), "{}", recorded());
}

#[test]
fn a_command_ignoring_sigterm_is_killed_after_main_stopwait() {
    if !no_default_config() {
        return;
    }
    let dir = TempDir::new("cmdstubborn");
    let prog = testprog().display().to_string();
    let pidfile = text_at(&dir, "main.pid");
    let mut child = Command::new(SUPERVISORD)
        .args(["--main-stopwait", "1", "--", &prog])
        .args([
            format!("pid={pidfile}"),
            "ignore-term".into(),
            "sleep=100".into(),
        ])
        .current_dir(&*dir)
        .stdin(Stdio::null())
        .spawn()
        .unwrap();
    assert!(wait_for(10.0, || read(&at(&dir, "main.pid")).ends_with('\n')));
    let t0 = Instant::now();
    kill(child.id() as i32, libc::SIGTERM);
    let st = child.wait().unwrap();
    let took = t0.elapsed();
    assert_eq!(st.code(), Some(137), "killed by SIGKILL after 1 s");
    assert!(
        took >= Duration::from_millis(900) && took < Duration::from_secs(4),
        "{took:?}"
    );
}

#[test]
fn forward_to_group_reaches_what_the_command_runs() {
    if !no_default_config() {
        return;
    }
    let dir = TempDir::new("cmdgroup");
    let script = fill(
        &dir,
        "{prog} record={dir}/child.sig sleep=100; echo done >{dir}/sh.done",
    );
    let mut child = Command::new(SUPERVISORD)
        .args(["--forward-to-group", "sh", "-c", &script])
        .current_dir(&*dir)
        .stdin(Stdio::null())
        .spawn()
        .unwrap();
    assert!(wait_for(10.0, || at(&dir, "child.sig").exists()));
    // sh ignores WINCH; the program it runs in its process group records it.
    kill(child.id() as i32, libc::SIGWINCH);
    assert!(wait_for(5.0, || read(&at(&dir, "child.sig")) == "WINCH\n"));
    // SIGTERM to the group: the program ends, sh has a TERM of its own and dies of it.
    kill(child.id() as i32, libc::SIGTERM);
    let st = child.wait().unwrap();
    assert_eq!(st.code(), Some(143));
    // The forwarded TERM; a program still exiting when the command has ended may get the
    // leftover sweep's TERM as well.
    let got = read(&at(&dir, "child.sig"));
    assert!(
        got == "WINCH\nTERM\n" || got == "WINCH\nTERM\nTERM\n",
        "{got:?}"
    );
    assert!(!at(&dir, "sh.done").exists());
}

#[test]
fn services_start_first_and_stop_after_the_command() {
    let dir = TempDir::new("cmdsvc");
    let mut c = Container::start(
        dir,
        "[program:svc]\ncommand={prog} pid={dir}/svc.pid record={dir}/svc.sig sleep=100\n\
         startsecs=1\n",
        // The command fails (status 1) unless the service is up before it starts.
        &["--", "{prog}", "exists={dir}/svc.pid", "exit=3"],
        &[],
    );
    assert_eq!(c.wait_exit(15.0), Some(3), "{}", c.log());
    assert_eq!(c.file("svc.sig"), "TERM\n");
    let log = c.log();
    let at = |needle: &str| {
        log.find(needle)
            .unwrap_or_else(|| panic!("no '{needle}' in {log}"))
    };
    // RUNNING after startsecs=1; the two workers' log lines may interleave, their times not.
    let time_of = |needle: &str| {
        let line = log.lines().find(|l| l.contains(needle)).unwrap_or("");
        line_time(line).unwrap_or_else(|| panic!("no '{needle}' in {log}"))
    };
    let waited = time_of("spawned: 'main'") - time_of("spawned: 'svc'");
    assert!(
        waited >= 0.95,
        "the command started {waited} s after svc: {log}"
    );
    assert!(at("exited: main (exit status 3") < at("stopped: svc"));
}

#[test]
fn sigterm_stops_the_command_first_then_the_programs_as_pid1() {
    if !can_unshare() {
        eprintln!("skipped: cannot create a pid namespace here");
        return;
    }
    let dir = TempDir::new("cmdterm");
    let mut c = Container::start(
        dir,
        "[program:svc]\ncommand={prog} record={dir}/svc.sig sleep=100\nstartsecs=0\n",
        &["{prog}", "record={dir}/main.sig", "sleep=100"],
        UNSHARE,
    );
    assert!(
        wait_for(10.0, || at(&c.dir, "main.sig").exists()),
        "{}",
        c.log()
    );
    let t0 = Instant::now();
    kill(c.target(true), libc::SIGTERM);
    // The command's status: testprog dies of the SIGTERM it records.
    assert_eq!(c.wait_exit(10.0), Some(143), "{}", c.log());
    assert!(t0.elapsed() < Duration::from_secs(3));
    assert_eq!(c.file("main.sig"), "TERM\n");
    assert_eq!(c.file("svc.sig"), "TERM\n");
    let log = c.log();
    let main_stopped = log.find("stopped: main").expect("main stopped");
    let svc_stopped = log.find("stopped: svc").expect("svc stopped");
    assert!(main_stopped < svc_stopped, "{log}");
}

#[test]
fn rewrite_passes_sigterm_as_sigquit() {
    let dir = TempDir::new("cmdrewrite");
    let mut c = Container::start(
        dir,
        "",
        &[
            "--rewrite",
            "TERM:QUIT",
            "--main-stopwait",
            "1",
            "{prog}",
            "record={dir}/main.sig",
            "sleep=100",
        ],
        &[],
    );
    assert!(
        wait_for(10.0, || at(&c.dir, "main.sig").exists()),
        "{}",
        c.log()
    );
    kill(c.pid(), libc::SIGTERM);
    // testprog records QUIT and sleeps on: SIGKILL after --main-stopwait.
    assert_eq!(c.wait_exit(10.0), Some(137), "{}", c.log());
    assert_eq!(c.file("main.sig"), "QUIT\n");
}

#[test]
fn status_shows_main_and_stopping_it_ends_supervisord() {
    let dir = TempDir::new("cmdctl");
    let mut c = Container::start(
        dir,
        "[program:svc]\ncommand={prog} sleep=100\nstartsecs=0\n",
        &["{prog}", "pid={dir}/main.pid", "sleep=100"],
        &[],
    );
    assert!(
        wait_for(10.0, || c.file("main.pid").ends_with('\n')),
        "{}",
        c.log()
    );
    let out = c.ctl(&["status"]);
    let text = String::from_utf8_lossy(&out.stdout).into_owned();
    assert!(
        text.lines()
            .any(|l| l.starts_with("main ") && l.contains("RUNNING")),
        "{text}"
    );
    assert!(text.lines().any(|l| l.starts_with("svc ")), "{text}");
    // A reload restarts the programs of the config, not the command; `update` leaves it too.
    let main_pid = c.file("main.pid").trim().to_string();
    let pid_of = |c: &Container, name: &str| {
        String::from_utf8_lossy(&c.ctl(&["pid", name]).stdout)
            .trim()
            .to_string()
    };
    let svc_pid = pid_of(&c, "svc");
    assert_eq!(pid_of(&c, "main"), main_pid);
    c.ctl(&["reload"]);
    assert!(
        wait_for(10.0, || {
            let p = pid_of(&c, "svc");
            p != svc_pid && p != "0" && !p.is_empty()
        }),
        "{}",
        c.log()
    );
    c.ctl(&["update"]);
    assert_eq!(pid_of(&c, "main"), main_pid, "{}", c.log());
    let out = c.ctl(&["stop", "main"]);
    assert_eq!(String::from_utf8_lossy(&out.stdout), "main: stopped\n");
    // testprog without handlers dies of the SIGTERM: 128 + 15.
    assert_eq!(c.wait_exit(10.0), Some(143), "{}", c.log());
}

#[test]
fn the_wait_for_services_is_bounded() {
    let dir = TempDir::new("cmdwait");
    let mut c = Container::start(
        dir,
        "[program:slow]\ncommand={prog} sleep=100\nstartsecs=60\n",
        &["--wait-services", "1", "{prog}", "pid={dir}/main.pid"],
        &[],
    );
    let t0 = Instant::now();
    assert_eq!(c.wait_exit(10.0), Some(1), "{}", c.log());
    assert!(t0.elapsed() < Duration::from_secs(5));
    assert!(!at(&c.dir, "main.pid").exists(), "the command must not run");
    assert!(
        c.log()
            .contains("not starting the command: slow not RUNNING after 1 s"),
        "{}",
        c.log()
    );
}

#[test]
fn a_service_that_gives_up_fails_the_container_at_once() {
    let dir = TempDir::new("cmdfatal");
    let mut c = Container::start(
        dir,
        "[program:broken]\ncommand={prog} exit=1\nstartsecs=1\nstartretries=0\n",
        &["--wait-services", "0", "{prog}", "pid={dir}/main.pid"],
        &[],
    );
    assert_eq!(c.wait_exit(10.0), Some(1), "{}", c.log());
    assert!(!at(&c.dir, "main.pid").exists());
    assert!(
        c.log().contains("broken entered FATAL state"),
        "{}",
        c.log()
    );
}

#[test]
fn a_program_named_main_is_refused() {
    let dir = TempDir::new("cmdclash");
    let mut c = Container::start(dir, "[program:main]\ncommand={prog}\n", &["true"], &[]);
    assert_eq!(c.wait_exit(10.0), Some(2));
}

/// Drives an interactive shell on a pseudo-terminal (Python's pty module): a `sleep` in the
/// foreground, Ctrl-C, then a command that proves the shell survived, then `exit 5`.
const PTY_SCRIPT: &str = include_str!("../../docker/e2e/pty_shell.py");

#[test]
fn interactive_shell_ctrl_c_interrupts_the_foreground_job_only() {
    let has_python = Command::new("python3").arg("-c").arg("import pty").status();
    if !has_python.map(|s| s.success()).unwrap_or(false) || !can_unshare() {
        eprintln!("skipped: needs python3 and pid namespaces");
        return;
    }
    let dir = TempDir::new("cmdpty");
    std::fs::write(at(&dir, "sd.conf"), header(&dir)).unwrap();
    let out = Command::new("python3")
        .arg("-c")
        .arg(PTY_SCRIPT)
        .args(UNSHARE)
        .arg(SUPERVISORD)
        .arg("-c")
        .arg(at(&dir, "sd.conf"))
        .args(["sh", "-i"])
        .output()
        .unwrap();
    let text = String::from_utf8_lossy(&out.stdout).into_owned();
    let f: Vec<&str> = text.split_whitespace().collect();
    assert_eq!(
        f.len(),
        4,
        "{text} {}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert_eq!(f[0], "alive", "the shell died of Ctrl-C");
    let took: f64 = f[1].parse().unwrap();
    assert!(took < 5.0, "Ctrl-C did not interrupt sleep 30 ({took} s)");
    assert_eq!(f[2], "5", "supervisord's status is the shell's");
    assert_eq!(f[3], "False", "the interrupted list went on");
    let log = read(&at(&dir, "sd.log"));
    assert!(log.contains("supervisord started with pid 1"), "{log}");
}
