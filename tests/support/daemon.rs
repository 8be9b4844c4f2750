//! A real supervisord in a temp dir (`Sup`): its main log, its exit, and cleanup of everything
//! it spawned.

use std::process::{Child, Command, ExitStatus, Stdio};

use super::supervisord::{header, kill, read, testprog, SUPERVISORD};
use super::temp::TempDir;
use super::wait::wait_for;

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

/// A running supervisord; killed with everything it spawned on drop.
pub struct Sup {
    pub dir: TempDir,
    pub child: Option<Child>,
    pub pid: i32,
    pub status: Option<ExitStatus>,
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
        std::fs::write(dir.join("sd.conf"), conf).unwrap();
        let mut cmd = if prefix.is_empty() {
            Command::new(SUPERVISORD)
        } else {
            let mut c = Command::new(prefix[0]);
            c.args(&prefix[1..]).arg(SUPERVISORD);
            c
        };
        cmd.arg("-n").arg("-c").arg(dir.join("sd.conf"));
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
        read(&self.dir.join("sd.log"))
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
        read(&self.dir.join(name))
    }

    /// Waits for supervisord to exit; its status once it did.
    pub fn wait_exit(&mut self, secs: f64) -> Option<ExitStatus> {
        let child = self.child.as_mut()?;
        let mut status = None;
        wait_for(secs, || {
            status = child.try_wait().ok().flatten();
            status.is_some()
        });
        self.status = self.status.or(status);
        status
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
