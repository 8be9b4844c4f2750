//! The systemd-style extension keys of a program section: `type`, `start_timeout`,
//! `restart_delay`, `restart_delay_max`, `retry_forever`, `watchdog_secs`, `notify_fd`,
//! `environment_file` (see docs/extensions.md). Every number is range-checked here so the
//! worker's arithmetic on it cannot overflow.

use super::datatypes::{boolean, integer};
use super::envfile;
use super::expand::Names;
use super::model::{ServiceConfig, ServiceType};
use super::section::View;
use super::ConfigError;

pub const KEYS: &[&str] = &[
    "type",
    "start_timeout",
    "restart_delay",
    "restart_delay_max",
    "retry_forever",
    "watchdog_secs",
    "notify_fd",
    "environment_file",
];

/// Longest delay or timeout accepted: a year.
const MAX_SECS: u64 = 365 * 24 * 3600;
/// Default bound on the wait for `READY=1` (systemd's TimeoutStartSec).
const NOTIFY_START_TIMEOUT_MS: u64 = 90_000;

/// Reads the service keys; `here` resolves relative env-file paths. Returns the settings and
/// the env files' variables (in file order, later files winning).
pub fn read(
    v: &View,
    names: &Names,
    here: &std::path::Path,
) -> Result<(ServiceConfig, Vec<(String, String)>), ConfigError> {
    let kind = v.conv("type", "simple", names, service_type)?;
    let timeout = v.conv_opt("start_timeout", names, seconds_ms)?;
    let start_timeout_ms = match (kind, timeout) {
        (_, Some(0)) => None,
        (ServiceType::Simple, Some(_)) => {
            return Err(v.err(
                "start_timeout",
                "applies to type=oneshot or type=notify only",
            ))
        }
        (ServiceType::Notify, None) => Some(NOTIFY_START_TIMEOUT_MS),
        (_, t) => t,
    };
    let watchdog_ms = v.conv_opt("watchdog_secs", names, seconds_ms)?;
    let notify_fd = v.conv_opt("notify_fd", names, fd_number)?;
    for (key, set) in [
        ("watchdog_secs", watchdog_ms.is_some()),
        ("notify_fd", notify_fd.is_some()),
    ] {
        if set && kind != ServiceType::Notify {
            return Err(v.err(key, "requires type=notify"));
        }
    }
    if watchdog_ms == Some(0) {
        return Err(v.err("watchdog_secs", "must be above 0"));
    }
    if watchdog_ms.is_some() && notify_fd.is_some() {
        return Err(v.err(
            "watchdog_secs",
            "needs the notify socket (WATCHDOG=1), not notify_fd",
        ));
    }
    let files_raw = v.get_or("environment_file", "", names)?;
    let files = envfile::parse_list(&files_raw, here).map_err(|m| v.err("environment_file", m))?;
    let file_env = envfile::read_all(&files).map_err(|mut e| {
        e.section = Some(v.name().to_string());
        e.option = Some("environment_file".into());
        e
    })?;
    let config = ServiceConfig {
        kind,
        start_timeout_ms,
        restart_delay_ms: v.conv("restart_delay", "0", names, seconds_ms)?,
        restart_delay_max_ms: v.conv("restart_delay_max", "0", names, seconds_ms)?,
        retry_forever: v.conv("retry_forever", "false", names, boolean)?,
        watchdog_ms,
        notify_fd,
        environment_files: files.iter().map(|f| f.path.display().to_string()).collect(),
    };
    Ok((config, file_env))
}

fn service_type(s: &str) -> Result<ServiceType, String> {
    match s.trim().to_lowercase().as_str() {
        "simple" => Ok(ServiceType::Simple),
        "oneshot" => Ok(ServiceType::Oneshot),
        "notify" => Ok(ServiceType::Notify),
        _ => Err(format!(
            "invalid value {} (simple, oneshot or notify)",
            super::pystr::repr(s)
        )),
    }
}

/// Seconds, whole or with up to three decimals (`2`, `0.5`), at most a year, as milliseconds.
pub fn seconds_ms(s: &str) -> Result<u64, String> {
    let t = s.trim();
    let bad = || {
        format!(
            "invalid number of seconds {} (0 to {MAX_SECS}, up to 3 decimals)",
            super::pystr::repr(s)
        )
    };
    let (whole, frac) = t.split_once('.').unwrap_or((t, ""));
    let digits = |d: &str| d.bytes().all(|b| b.is_ascii_digit());
    if whole.is_empty() || !digits(whole) || !digits(frac) || frac.len() > 3 || whole.len() > 9 {
        return Err(bad());
    }
    let secs: u64 = whole.parse().map_err(|_| bad())?;
    if secs > MAX_SECS || (secs == MAX_SECS && frac.bytes().any(|b| b != b'0')) {
        return Err(bad());
    }
    let ms: u64 = format!("{frac:0<3}").parse().map_err(|_| bad())?;
    Ok(secs * 1000 + ms)
}

/// A file descriptor number for `notify_fd`: 3 to 1023 (0–2 are the standard streams).
fn fd_number(s: &str) -> Result<i32, String> {
    let n = integer(s)?;
    if !(3..=1023).contains(&n) {
        return Err(format!("{n} is not a usable fd number (3 to 1023)"));
    }
    Ok(n as i32)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn seconds_accept_decimals_and_bounds() {
        assert_eq!(seconds_ms("2"), Ok(2000));
        assert_eq!(seconds_ms(" 0.5 "), Ok(500));
        assert_eq!(seconds_ms("1.25"), Ok(1250));
        assert_eq!(seconds_ms("0"), Ok(0));
        assert_eq!(seconds_ms("31536000"), Ok(31_536_000_000));
        for bad in [
            "",
            "-1",
            "1.2345",
            "x",
            "1e3",
            "31536001",
            "99999999999999999999",
            ".5",
        ] {
            assert!(seconds_ms(bad).is_err(), "{bad:?}");
        }
    }

    #[test]
    fn types_and_fds() {
        assert_eq!(service_type("OneShot"), Ok(ServiceType::Oneshot));
        assert!(service_type("forking").is_err());
        assert_eq!(fd_number("3"), Ok(3));
        assert!(fd_number("2").is_err());
        assert!(fd_number("1024").is_err());
    }
}
