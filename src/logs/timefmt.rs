//! Local-time stamps for the main log (`2024-01-31 12:34:56,789`) and syslog (`Jan 31 12:34:56`).

use std::time::{SystemTime, UNIX_EPOCH};

/// Broken-down local time of `now`, plus milliseconds.
fn local(now: SystemTime) -> (libc::tm, u32) {
    let d = now.duration_since(UNIX_EPOCH).unwrap_or_default();
    (crate::util::local_tm(d.as_secs() as i64), d.subsec_millis())
}

/// `YYYY-MM-DD HH:MM:SS,mmm` in local time (Supervisor's main log format).
pub fn main_log_stamp(now: SystemTime) -> String {
    let (tm, ms) = local(now);
    format!(
        "{:04}-{:02}-{:02} {:02}:{:02}:{:02},{:03}",
        tm.tm_year + 1900,
        tm.tm_mon + 1,
        tm.tm_mday,
        tm.tm_hour,
        tm.tm_min,
        tm.tm_sec,
        ms
    )
}

/// `Mmm dd HH:MM:SS` in local time (RFC 3164 syslog header).
pub fn syslog_stamp(now: SystemTime) -> String {
    const MONTHS: [&str; 12] = [
        "Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec",
    ];
    let (tm, _) = local(now);
    let month = MONTHS.get(tm.tm_mon as usize).copied().unwrap_or("Jan");
    format!(
        "{month} {:2} {:02}:{:02}:{:02}",
        tm.tm_mday, tm.tm_hour, tm.tm_min, tm.tm_sec
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn main_stamp_has_supervisor_shape() {
        let s = main_log_stamp(SystemTime::now());
        let b = s.as_bytes();
        assert_eq!(s.len(), 23, "{s}");
        assert_eq!(
            (b[4], b[7], b[10], b[13], b[16], b[19]),
            (b'-', b'-', b' ', b':', b':', b',')
        );
    }

    #[test]
    fn milliseconds_are_zero_padded() {
        let t = UNIX_EPOCH + std::time::Duration::from_millis(1_700_000_000_007);
        assert!(main_log_stamp(t).ends_with(",007"));
    }
}
