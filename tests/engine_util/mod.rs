//! Shared helpers for the engine tests: a real `supervisord` in a temp dir, its main log,
//! condition waits with deadlines, and cleanup of everything it spawned.
#![allow(dead_code)]

use std::path::{Path, PathBuf};
use std::process::{Child, Command, ExitStatus, Stdio};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::{Duration, Instant};

pub const SUPERVISORD: &str = env!("CARGO_BIN_EXE_supervisord");

/// The test helper program `examples/testprog.rs`. `cargo test` only checks examples, so it
/// is built here once per test binary, with the profile of the tests.
pub fn testprog() -> PathBuf {
    static BUILD: std::sync::Once = std::sync::Once::new();
    BUILD.call_once(|| {
        let cargo = std::env::var("CARGO").unwrap_or_else(|_| "cargo".into());
        let mut cmd = Command::new(cargo);
        cmd.args(["build", "--quiet", "--example", "testprog"]);
        cmd.current_dir(env!("CARGO_MANIFEST_DIR"));
        if !cfg!(debug_assertions) {
            cmd.arg("--release");
        }
        let st = cmd.status().expect("run cargo build --example testprog");
        assert!(st.success(), "building examples/testprog failed");
    });
    let bin = Path::new(SUPERVISORD);
    bin.parent().unwrap().join("examples").join("testprog")
}

/// A unique temp dir removed on drop.
pub struct TempDir(pub PathBuf);

impl TempDir {
    pub fn new(tag: &str) -> TempDir {
        static N: AtomicUsize = AtomicUsize::new(0);
        let p = std::env::temp_dir().join(format!(
            "sdrs-{tag}-{}-{}",
            std::process::id(),
            N.fetch_add(1, Ordering::SeqCst)
        ));
        let _ = std::fs::remove_dir_all(&p);
        std::fs::create_dir_all(&p).unwrap();
        TempDir(p)
    }

    pub fn path(&self, name: &str) -> PathBuf {
        self.0.join(name)
    }

    pub fn s(&self, name: &str) -> String {
        self.path(name).display().to_string()
    }
}

impl Drop for TempDir {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

/// Polls `f` every 5 ms until it holds or `secs` pass.
pub fn wait_for(secs: f64, mut f: impl FnMut() -> bool) -> bool {
    let end = Instant::now() + Duration::from_secs_f64(secs);
    loop {
        if f() {
            return true;
        }
        if Instant::now() > end {
            return false;
        }
        std::thread::sleep(Duration::from_millis(5));
    }
}

pub fn read(path: &Path) -> String {
    std::fs::read_to_string(path).unwrap_or_default()
}

/// Every living descendant of `root` (from /proc).
pub fn descendants(root: i32) -> Vec<i32> {
    let mut all = Vec::new();
    for e in std::fs::read_dir("/proc").unwrap().flatten() {
        let Some(pid) = e.file_name().to_str().and_then(|s| s.parse::<i32>().ok()) else {
            continue;
        };
        let Ok(stat) = std::fs::read_to_string(format!("/proc/{pid}/stat")) else {
            continue;
        };
        let Some(close) = stat.rfind(')') else {
            continue;
        };
        let f: Vec<&str> = stat[close + 1..].split_whitespace().collect();
        if let (Some(state), Some(ppid)) = (f.first(), f.get(1).and_then(|p| p.parse::<i32>().ok()))
        {
            all.push((pid, ppid, state.to_string()));
        }
    }
    let mut out = Vec::new();
    let mut todo = vec![root];
    while let Some(p) = todo.pop() {
        for &(pid, ppid, _) in &all {
            if ppid == p {
                out.push(pid);
                todo.push(pid);
            }
        }
    }
    out
}

pub fn alive(pid: i32) -> bool {
    match std::fs::read_to_string(format!("/proc/{pid}/stat")) {
        Ok(s) => !s
            .rsplit(')')
            .next()
            .unwrap_or("")
            .trim_start()
            .starts_with('Z'),
        Err(_) => false,
    }
}

pub fn kill(pid: i32, sig: i32) {
    unsafe { libc::kill(pid, sig) };
}

/// A running supervisord; killed with everything it spawned on drop.
pub struct Sup {
    pub dir: TempDir,
    pub child: Option<Child>,
    pub pid: i32,
    pub status: Option<ExitStatus>,
}

/// The `[supervisord]` section every test uses (logs in the temp dir, foreground).
pub fn header(dir: &TempDir) -> String {
    format!(
        "[supervisord]\nlogfile={}\npidfile={}\nchildlogdir={}\nnodaemon=true\nloglevel=debug\n\n",
        dir.s("sd.log"),
        dir.s("sd.pid"),
        dir.0.display()
    )
}

impl Sup {
    /// Starts `supervisord -n -c` with the header plus `programs`; `prefix` wraps the command
    /// (e.g. `unshare --pid --fork --mount-proc`).
    pub fn start_with(tag: &str, programs: &str, prefix: &[&str]) -> Sup {
        Sup::launch(TempDir::new(tag), programs, prefix)
    }

    /// Like `start_with` in a directory the test prepared.
    pub fn launch(dir: TempDir, programs: &str, prefix: &[&str]) -> Sup {
        let conf = format!(
            "{}{}",
            header(&dir),
            programs
                .replace("{dir}", &dir.0.display().to_string())
                .replace("{prog}", &testprog().display().to_string())
        );
        std::fs::write(dir.path("sd.conf"), conf).unwrap();
        let mut cmd = if prefix.is_empty() {
            Command::new(SUPERVISORD)
        } else {
            let mut c = Command::new(prefix[0]);
            c.args(&prefix[1..]).arg(SUPERVISORD);
            c
        };
        cmd.arg("-n").arg("-c").arg(dir.path("sd.conf"));
        cmd.stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::null());
        let child = cmd.spawn().expect("start supervisord");
        let pid = child.id() as i32;
        Sup {
            dir,
            child: Some(child),
            pid,
            status: None,
        }
    }

    pub fn start(tag: &str, programs: &str) -> Sup {
        Sup::start_with(tag, programs, &[])
    }

    pub fn log(&self) -> String {
        read(&self.dir.path("sd.log"))
    }

    pub fn wait_log(&self, needle: &str, secs: f64) -> bool {
        wait_for(secs, || self.log().contains(needle))
    }

    pub fn count(&self, needle: &str) -> usize {
        self.log().matches(needle).count()
    }

    pub fn signal(&self, sig: i32) {
        kill(self.pid, sig);
    }

    pub fn file(&self, name: &str) -> String {
        read(&self.dir.path(name))
    }

    /// Waits for supervisord to exit; its status once it did.
    pub fn wait_exit(&mut self, secs: f64) -> Option<ExitStatus> {
        let child = self.child.as_mut()?;
        let end = Instant::now() + Duration::from_secs_f64(secs);
        loop {
            if let Ok(Some(st)) = child.try_wait() {
                self.status = Some(st);
                return Some(st);
            }
            if Instant::now() > end {
                return None;
            }
            std::thread::sleep(Duration::from_millis(2));
        }
    }

    /// Millisecond timestamps of log lines containing `needle`.
    pub fn times_of(&self, needle: &str) -> Vec<f64> {
        self.log()
            .lines()
            .filter(|l| l.contains(needle))
            .filter_map(line_time)
            .collect()
    }
}

/// Seconds since midnight of a main-log line (`2024-01-01 12:00:00,123 ...`).
pub fn line_time(line: &str) -> Option<f64> {
    let t = line.get(11..23)?;
    let h: f64 = t.get(0..2)?.parse().ok()?;
    let m: f64 = t.get(3..5)?.parse().ok()?;
    let s: f64 = t.get(6..8)?.parse().ok()?;
    let ms: f64 = t.get(9..12)?.parse().ok()?;
    Some(h * 3600.0 + m * 60.0 + s + ms / 1000.0)
}

impl Drop for Sup {
    fn drop(&mut self) {
        let left = descendants(self.pid);
        if self.status.is_none() {
            kill(self.pid, libc::SIGKILL);
        }
        for p in left {
            kill(p, libc::SIGKILL);
        }
        if let Some(c) = self.child.as_mut() {
            let _ = c.wait();
        }
    }
}

/// The Python Supervisor 4.3.0 venv from scripts/pyenv.sh; `None` (with a note) when it cannot
/// be created, except under CI=true where that is a failure.
pub fn python_venv() -> Option<PathBuf> {
    let script = Path::new(env!("CARGO_MANIFEST_DIR")).join("scripts/pyenv.sh");
    let why = match Command::new(&script).output() {
        Ok(o) if o.status.success() => {
            let path = PathBuf::from(String::from_utf8_lossy(&o.stdout).trim());
            if path.join("bin/supervisord").exists() {
                return Some(path);
            }
            format!("{} has no bin/supervisord", path.display())
        }
        Ok(o) => format!(
            "{} failed: {}",
            script.display(),
            String::from_utf8_lossy(&o.stderr)
        ),
        Err(e) => format!("cannot run {}: {e}", script.display()),
    };
    if std::env::var("CI").as_deref() == Ok("true") {
        panic!("Python Supervisor is required under CI: {why}");
    }
    eprintln!("note: skipping the comparison with Python Supervisor: {why}");
    None
}
