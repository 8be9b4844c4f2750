//! Waiting on a condition with a deadline, never a bare sleep.

use std::time::{Duration, Instant};

/// Polls `cond` every 5 ms until it holds or `secs` seconds pass; whether it held.
pub fn wait_for(secs: f64, mut cond: impl FnMut() -> bool) -> bool {
    let end = Instant::now() + Duration::from_secs_f64(secs);
    loop {
        if cond() {
            return true;
        }
        if Instant::now() >= end {
            return false;
        }
        std::thread::sleep(Duration::from_millis(5));
    }
}
