//! Text Supervisor derives from process state: `getProcessInfo`'s description, and signal names.

use crate::state::ProcessInfo;
use crate::state::ProcessState;

/// The `description` field of getProcessInfo, as of `now` (seconds since the epoch): Supervisor's
/// text, plus what the service extensions know (a notify service's `STATUS=`, a oneshot's
/// result, when the next automatic start comes).
pub fn description(info: &ProcessInfo, now: i64) -> String {
    let base = supervisor_description(info, now);
    let svc = &info.service;
    let mut parts: Vec<String> = Vec::new();
    if info.service.kind == Some("oneshot") && info.state == ProcessState::Exited {
        parts.push(format!(
            "finished {} (exit status {})",
            local_stop_time(info.stop),
            info.exitstatus
        ));
    } else if !base.is_empty() {
        parts.push(base);
    }
    let live = matches!(info.state, ProcessState::Starting | ProcessState::Running);
    if let (true, Some(text)) = (live, &svc.status_text) {
        parts.push(text.clone());
    }
    if svc.shows_next_start && svc.next_start > 0 {
        parts.push(format!("next try in {} s", (svc.next_start - now).max(0)));
    }
    parts.join(", ")
}

/// Supervisor's own description.
fn supervisor_description(info: &ProcessInfo, now: i64) -> String {
    match info.state {
        ProcessState::Running => format!("pid {}, uptime {}", info.pid, uptime(now - info.start)),
        ProcessState::Fatal | ProcessState::Backoff => {
            if info.spawnerr.is_empty() {
                format!("unknown error (try \"tail {}\")", info.name)
            } else {
                info.spawnerr.clone()
            }
        }
        ProcessState::Stopped | ProcessState::Exited => {
            if info.start != 0 {
                local_stop_time(info.stop)
            } else {
                "Not started".to_string()
            }
        }
        // UNKNOWN: why the process got there (its worker died), when that is known.
        ProcessState::Unknown => info.spawnerr.clone(),
        ProcessState::Starting | ProcessState::Stopping => String::new(),
    }
}

/// Python's `str(timedelta(seconds=n))` for whole seconds; negative (clock went back) → 0.
pub fn uptime(secs: i64) -> String {
    let secs = secs.max(0);
    let days = secs / 86400;
    let rest = secs % 86400;
    let hms = format!("{}:{:02}:{:02}", rest / 3600, rest % 3600 / 60, rest % 60);
    match days {
        0 => hms,
        1 => format!("1 day, {hms}"),
        n => format!("{n} days, {hms}"),
    }
}

/// `%b %d %I:%M %p` in local time (C locale), e.g. `Nov 25 11:19 AM`.
pub fn local_stop_time(epoch: i64) -> String {
    local_strftime(epoch, c"%b %d %I:%M %p")
}

/// Python's `time.ctime()`: `Wed Nov 25 13:06:38 2026` in local time.
pub fn local_ctime(epoch: i64) -> String {
    local_strftime(epoch, c"%a %b %e %H:%M:%S %Y")
}

fn local_strftime(epoch: i64, format: &std::ffi::CStr) -> String {
    let tm = crate::util::local_tm(epoch);
    let mut buf = [0u8; 64];
    // SAFETY: all pointers are valid for the call; the buffer's length is passed and strftime
    // never writes past it.
    let n = unsafe { libc::strftime(buf.as_mut_ptr().cast(), buf.len(), format.as_ptr(), &tm) };
    String::from_utf8_lossy(&buf[..n]).into_owned()
}

/// Signal names Python's `signal` module knows on Linux (`SIGIOT`, `SIGCLD`, `SIGPOLL` aliases
/// included), for `signal_number`.
const SIGNALS: &[(&str, i32)] = &[
    ("SIGHUP", libc::SIGHUP),
    ("SIGINT", libc::SIGINT),
    ("SIGQUIT", libc::SIGQUIT),
    ("SIGILL", libc::SIGILL),
    ("SIGTRAP", libc::SIGTRAP),
    ("SIGABRT", libc::SIGABRT),
    ("SIGIOT", libc::SIGIOT),
    ("SIGBUS", libc::SIGBUS),
    ("SIGFPE", libc::SIGFPE),
    ("SIGKILL", libc::SIGKILL),
    ("SIGUSR1", libc::SIGUSR1),
    ("SIGSEGV", libc::SIGSEGV),
    ("SIGUSR2", libc::SIGUSR2),
    ("SIGPIPE", libc::SIGPIPE),
    ("SIGALRM", libc::SIGALRM),
    ("SIGTERM", libc::SIGTERM),
    ("SIGSTKFLT", libc::SIGSTKFLT),
    ("SIGCHLD", libc::SIGCHLD),
    ("SIGCLD", libc::SIGCHLD),
    ("SIGCONT", libc::SIGCONT),
    ("SIGSTOP", libc::SIGSTOP),
    ("SIGTSTP", libc::SIGTSTP),
    ("SIGTTIN", libc::SIGTTIN),
    ("SIGTTOU", libc::SIGTTOU),
    ("SIGURG", libc::SIGURG),
    ("SIGXCPU", libc::SIGXCPU),
    ("SIGXFSZ", libc::SIGXFSZ),
    ("SIGVTALRM", libc::SIGVTALRM),
    ("SIGPROF", libc::SIGPROF),
    ("SIGWINCH", libc::SIGWINCH),
    ("SIGIO", libc::SIGIO),
    ("SIGPOLL", libc::SIGPOLL),
    ("SIGPWR", libc::SIGPWR),
    ("SIGSYS", libc::SIGSYS),
    ("SIGRTMIN", 34),
    ("SIGRTMAX", 64),
];

/// Supervisor's `signal_number`: a number, or a name with or without `SIG`, any case.
pub fn signal_number(value: &str) -> Option<i32> {
    let num = match value.trim().parse::<i64>() {
        Ok(n) => n,
        Err(_) => {
            let upper = value.trim().to_ascii_uppercase();
            let name = if upper.starts_with("SIG") {
                upper
            } else {
                format!("SIG{upper}")
            };
            i64::from(SIGNALS.iter().find(|(n, _)| *n == name)?.1)
        }
    };
    // Like Python, only numbers of named signals are valid.
    if SIGNALS.iter().any(|(_, n)| i64::from(*n) == num) {
        i32::try_from(num).ok()
    } else {
        None
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn info(state: ProcessState) -> ProcessInfo {
        ProcessInfo {
            name: "foo".into(),
            group: "foo".into(),
            state,
            pid: 42,
            start: 1000,
            stop: 0,
            exitstatus: 0,
            spawnerr: String::new(),
            stdout_logfile: String::new(),
            stderr_logfile: String::new(),
            health: None,
            spawns: 0,
            log_bytes_written: 0,
            log_bytes_dropped: 0,
            service: Default::default(),
        }
    }

    #[test]
    fn uptimes() {
        assert_eq!(uptime(7), "0:00:07");
        assert_eq!(uptime(86400 + 3600), "1 day, 1:00:00");
        assert_eq!(uptime(3 * 86400 + 61), "3 days, 0:01:01");
        assert_eq!(uptime(-5), "0:00:00");
    }

    #[test]
    fn descriptions_by_state() {
        assert_eq!(
            description(&info(ProcessState::Running), 1007),
            "pid 42, uptime 0:00:07"
        );
        assert_eq!(
            description(&info(ProcessState::Backoff), 0),
            "unknown error (try \"tail foo\")"
        );
        let mut fatal = info(ProcessState::Fatal);
        fatal.spawnerr = "can't find command 'x'".into();
        assert_eq!(description(&fatal, 0), "can't find command 'x'");
        let mut never = info(ProcessState::Stopped);
        never.start = 0;
        assert_eq!(description(&never, 0), "Not started");
        assert_eq!(description(&info(ProcessState::Starting), 0), "");
        let stopped = description(&info(ProcessState::Exited), 0);
        assert!(
            stopped.ends_with("AM") || stopped.ends_with("PM"),
            "{stopped}"
        );
    }

    #[test]
    fn service_descriptions() {
        let mut api = info(ProcessState::Running);
        api.service.status_text = Some("Serving".into());
        assert_eq!(description(&api, 1007), "pid 42, uptime 0:00:07, Serving");
        api.state = ProcessState::Starting;
        assert_eq!(description(&api, 1007), "Serving");
        api.state = ProcessState::Fatal;
        assert!(!description(&api, 0).contains("Serving"));
        let mut job = info(ProcessState::Exited);
        job.service.kind = Some("oneshot");
        job.exitstatus = 0;
        let d = description(&job, 0);
        assert!(
            d.starts_with("finished ") && d.ends_with(" (exit status 0)"),
            "{d}"
        );
        let mut crash = info(ProcessState::Backoff);
        crash.spawnerr = "Exited too quickly (process log may have details)".into();
        crash.service.next_start = 1010;
        assert_eq!(
            description(&crash, 1007),
            crash.spawnerr,
            "floor only: Supervisor's text"
        );
        crash.service.shows_next_start = true;
        assert_eq!(
            description(&crash, 1007),
            "Exited too quickly (process log may have details), next try in 3 s"
        );
    }

    #[test]
    fn signals() {
        assert_eq!(signal_number("HUP"), Some(1));
        assert_eq!(signal_number("sigterm"), Some(15));
        assert_eq!(signal_number("9"), Some(9));
        assert_eq!(signal_number("BOGUS"), None);
        assert_eq!(signal_number("0"), None);
        assert_eq!(signal_number("65"), None);
        assert_eq!(signal_number("40"), None);
        assert_eq!(signal_number("64"), Some(64));
    }
}
