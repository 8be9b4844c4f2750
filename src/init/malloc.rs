//! glibc's allocator set up for a daemon of many mostly idle threads.
//!
//! glibc keeps a cache of freed blocks in every thread (tcache: up to 7 blocks of each of 64
//! sizes). A worker frees what it allocated to spawn its program and then sleeps for hours, and
//! its cache keeps those blocks from every other thread: about 3.6 KiB per program, 20% of the
//! daemon's memory at 200 programs. The cache can only be turned off by the `GLIBC_TUNABLES`
//! variable, which glibc reads when the process starts; so supervisord, on its first start,
//! executes itself again with the variable set, and once started puts the environment back as
//! it was given (programs inherit that environment). A user's own
//! `glibc.malloc.tcache_count` setting is left alone. If the new start fails (no
//! /proc/self/exe, the binary gone), supervisord goes on with the cache.

use std::ffi::OsString;

/// Carries the original `GLIBC_TUNABLES` across the second start: `-` when it was unset,
/// `=VALUE` when it was set.
const MARKER: &str = "SUPERVISORD_RS_GLIBC_TUNABLES";
const TUNABLES: &str = "GLIBC_TUNABLES";
const NO_THREAD_CACHE: &str = "glibc.malloc.tcache_count=0";

/// Called first thing in supervisord's main, while it is the only thread. Returns only when
/// this is the process to go on with.
pub fn start_without_thread_caches(argv0: &str, args: &[OsString]) {
    if !cfg!(target_env = "gnu") {
        return;
    }
    if let Some(original) = std::env::var_os(MARKER) {
        restore(&original);
        return;
    }
    let current = match std::env::var(TUNABLES) {
        Ok(v) if v.contains("glibc.malloc.tcache_count") => return,
        Ok(v) => Some(v),
        Err(std::env::VarError::NotPresent) => None,
        // Not text: left exactly as it is.
        Err(std::env::VarError::NotUnicode(_)) => return,
    };
    let (tunables, marker) = match current.as_deref() {
        Some("") => (NO_THREAD_CACHE.to_string(), "=".to_string()),
        Some(v) => (format!("{v}:{NO_THREAD_CACHE}"), format!("={v}")),
        None => (NO_THREAD_CACHE.to_string(), "-".to_string()),
    };
    // The real path, so the process keeps its name (comm) rather than "exe".
    let Ok(exe) = std::fs::read_link("/proc/self/exe") else {
        return;
    };
    use std::os::unix::process::CommandExt;
    // exec returns only when the second start failed: go on as we are.
    let _ = std::process::Command::new(exe)
        .arg0(argv0)
        .args(args)
        .env(TUNABLES, tunables)
        .env(MARKER, marker)
        .exec();
}

/// Puts `GLIBC_TUNABLES` back as it was before the second start.
fn restore(original: &std::ffi::OsStr) {
    let text = original.to_string_lossy();
    match text.strip_prefix('=') {
        Some(value) => std::env::set_var(TUNABLES, value),
        None => std::env::remove_var(TUNABLES),
    }
    std::env::remove_var(MARKER);
}
