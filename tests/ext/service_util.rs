//! Shared by the service tests: a supervisord with a control socket, `supervisorctl` runs
//! against it, and reading a process's CPU time from /proc.
use std::process::Command;

use crate::support::daemon::Sup;
use crate::support::temp::TempDir;

pub const SUPERVISORCTL: &str = env!("CARGO_BIN_EXE_supervisorctl");

/// The control sections (socket in the temp dir).
pub fn ctl_sections() -> &'static str {
    "[unix_http_server]\nfile={dir}/sv.sock\n\n\
     [supervisorctl]\nserverurl=unix://{dir}/sv.sock\n\n\
     [rpcinterface:supervisor]\n\
     supervisor.rpcinterface_factory=supervisor.rpcinterface:make_main_rpcinterface\n\n"
}

/// supervisord with the control sections plus `programs`, in `dir`.
pub fn launch(dir: TempDir, programs: &str) -> Sup {
    Sup::launch(dir, &format!("{}{programs}", ctl_sections()), &[])
}

/// Runs supervisorctl against `sup`: (exit code, stdout).
pub fn ctl(sup: &Sup, args: &[&str]) -> (i32, String) {
    let out = Command::new(SUPERVISORCTL)
        .arg("-c")
        .arg(sup.dir.join("sd.conf"))
        .args(args)
        .output()
        .expect("run supervisorctl");
    let text = String::from_utf8_lossy(&out.stdout).into_owned();
    (out.status.code().unwrap_or(-1), text)
}

/// utime + stime of `pid`, in clock ticks.
pub fn cpu_ticks(pid: i32) -> u64 {
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).unwrap_or_default();
    let Some(close) = stat.rfind(')') else {
        return 0;
    };
    let f: Vec<&str> = stat[close + 1..].split_whitespace().collect();
    // Fields after the command: state is index 0, so utime (14th) is 11 and stime 12.
    let n = |i: usize| f.get(i).and_then(|v| v.parse::<u64>().ok()).unwrap_or(0);
    n(11) + n(12)
}

pub fn clock_ticks() -> f64 {
    // SAFETY: sysconf has no preconditions.
    unsafe { libc::sysconf(libc::_SC_CLK_TCK) as f64 }
}

/// Gaps between consecutive times.
pub fn gaps(times: &[f64]) -> Vec<f64> {
    times.windows(2).map(|w| w[1] - w[0]).collect()
}
