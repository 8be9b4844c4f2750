//! Small helpers every part uses: locks that survive a panicked holder, the wall clock in
//! Unix seconds, local broken-down time, and `kill` with a signal number. Imports no other
//! part of the crate.

use std::sync::{Mutex, MutexGuard, RwLock, RwLockReadGuard, RwLockWriteGuard};
use std::time::{SystemTime, UNIX_EPOCH};

/// Locks `m` even if a thread panicked while holding it: the data behind our locks stays
/// consistent between statements, and a supervisor must keep going after a contained panic.
pub fn lock<T>(m: &Mutex<T>) -> MutexGuard<'_, T> {
    m.lock().unwrap_or_else(|e| e.into_inner())
}

/// [`lock`] for the read side of a `RwLock`.
pub fn read<T>(l: &RwLock<T>) -> RwLockReadGuard<'_, T> {
    l.read().unwrap_or_else(|e| e.into_inner())
}

/// [`lock`] for the write side of a `RwLock`.
pub fn write<T>(l: &RwLock<T>) -> RwLockWriteGuard<'_, T> {
    l.write().unwrap_or_else(|e| e.into_inner())
}

/// Seconds since the Unix epoch (0 if the clock is before it).
pub fn unix_secs() -> i64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| d.as_secs() as i64)
        .unwrap_or(0)
}

/// Seconds since the Unix epoch with fractions, as Python's `time.time()`.
pub fn unix_secs_f64() -> f64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| d.as_secs_f64())
        .unwrap_or(0.0)
}

/// `kill(2)` with a signal given by number: nix's safe `kill` for the signals its `Signal`
/// names, libc for the real-time ones it does not (`signalProcess` accepts SIGRTMIN..SIGRTMAX).
/// A negative `pid` is a process group.
pub fn kill(pid: i32, sig: i32) -> std::io::Result<()> {
    use nix::sys::signal::Signal;
    if let Ok(named) = Signal::try_from(sig) {
        return Ok(nix::sys::signal::kill(
            nix::unistd::Pid::from_raw(pid),
            named,
        )?);
    }
    // SAFETY: kill takes only integers and touches no memory of ours.
    if unsafe { libc::kill(pid, sig) } == 0 {
        Ok(())
    } else {
        Err(std::io::Error::last_os_error())
    }
}

extern "C" {
    /// POSIX tzset(3) (not exported by the libc crate): reads TZ and /etc/localtime.
    fn tzset();
}

static TZ_INIT: std::sync::Once = std::sync::Once::new();

/// Broken-down local time of `secs` since the epoch.
pub fn local_tm(secs: i64) -> libc::tm {
    // SAFETY: tzset takes no arguments; `Once` keeps it from racing with itself. POSIX does
    // not require localtime_r to read the zone, so it is read once here.
    TZ_INIT.call_once(|| unsafe { tzset() });
    let t = secs as libc::time_t;
    // SAFETY: an all-zero `tm` is a valid value of this plain C struct.
    let mut tm: libc::tm = unsafe { std::mem::zeroed() };
    // SAFETY: both pointers are valid for the call; localtime_r is the thread-safe variant.
    unsafe { libc::localtime_r(&t, &mut tm) };
    tm
}

/// Writes `text` to stderr. A closed or broken stderr is ignored: `eprintln!` would panic
/// there (SIGPIPE is ignored, so a write to a closed pipe fails instead of killing us).
pub fn write_stderr(text: &str) {
    use std::io::Write;
    let _ = std::io::stderr().write_all(text.as_bytes());
}

/// Writes `text` to stdout, ignoring a closed or broken stdout (see [`write_stderr`]).
pub fn write_stdout(text: &str) {
    use std::io::Write;
    let mut out = std::io::stdout();
    let _ = out.write_all(text.as_bytes());
    let _ = out.flush();
}

/// A small deterministic generator (xorshift64) for the unit tests that mangle inputs.
#[cfg(test)]
pub fn xorshift(mut seed: u64) -> impl FnMut() -> u64 {
    move || {
        seed ^= seed << 13;
        seed ^= seed >> 7;
        seed ^= seed << 17;
        seed
    }
}
