//! Signal and errno names as Supervisor prints them, and wait-status decoding.
//!
//! The lookups return `&'static str` and never allocate, so the child side of a fork may use
//! `errno_name`.

/// Supervisor's name for a signal number (`SIGTERM`), or `signal N` for unknown numbers.
pub fn signal_name(sig: i32) -> String {
    match signal_name_static(sig) {
        Some(n) => n.to_string(),
        None => format!("signal {sig}"),
    }
}

fn signal_name_static(sig: i32) -> Option<&'static str> {
    Some(match sig {
        libc::SIGHUP => "SIGHUP",
        libc::SIGINT => "SIGINT",
        libc::SIGQUIT => "SIGQUIT",
        libc::SIGILL => "SIGILL",
        libc::SIGTRAP => "SIGTRAP",
        libc::SIGABRT => "SIGABRT",
        libc::SIGBUS => "SIGBUS",
        libc::SIGFPE => "SIGFPE",
        libc::SIGKILL => "SIGKILL",
        libc::SIGUSR1 => "SIGUSR1",
        libc::SIGSEGV => "SIGSEGV",
        libc::SIGUSR2 => "SIGUSR2",
        libc::SIGPIPE => "SIGPIPE",
        libc::SIGALRM => "SIGALRM",
        libc::SIGTERM => "SIGTERM",
        libc::SIGSTKFLT => "SIGSTKFLT",
        libc::SIGCHLD => "SIGCHLD",
        libc::SIGCONT => "SIGCONT",
        libc::SIGSTOP => "SIGSTOP",
        libc::SIGTSTP => "SIGTSTP",
        libc::SIGTTIN => "SIGTTIN",
        libc::SIGTTOU => "SIGTTOU",
        libc::SIGURG => "SIGURG",
        libc::SIGXCPU => "SIGXCPU",
        libc::SIGXFSZ => "SIGXFSZ",
        libc::SIGVTALRM => "SIGVTALRM",
        libc::SIGPROF => "SIGPROF",
        libc::SIGWINCH => "SIGWINCH",
        libc::SIGIO => "SIGIO",
        libc::SIGPWR => "SIGPWR",
        libc::SIGSYS => "SIGSYS",
        _ => return None,
    })
}

/// The symbolic errno name (`ENOENT`) Python's `errno.errorcode` gives; "UNKNOWN" otherwise.
pub fn errno_name(err: i32) -> &'static str {
    match err {
        libc::EPERM => "EPERM",
        libc::ENOENT => "ENOENT",
        libc::ESRCH => "ESRCH",
        libc::EINTR => "EINTR",
        libc::EIO => "EIO",
        libc::ENXIO => "ENXIO",
        libc::E2BIG => "E2BIG",
        libc::ENOEXEC => "ENOEXEC",
        libc::EBADF => "EBADF",
        libc::ECHILD => "ECHILD",
        libc::EAGAIN => "EAGAIN",
        libc::ENOMEM => "ENOMEM",
        libc::EACCES => "EACCES",
        libc::EFAULT => "EFAULT",
        libc::EBUSY => "EBUSY",
        libc::EEXIST => "EEXIST",
        libc::ENOTDIR => "ENOTDIR",
        libc::EISDIR => "EISDIR",
        libc::EINVAL => "EINVAL",
        libc::ENFILE => "ENFILE",
        libc::EMFILE => "EMFILE",
        libc::ETXTBSY => "ETXTBSY",
        libc::EFBIG => "EFBIG",
        libc::ENOSPC => "ENOSPC",
        libc::EROFS => "EROFS",
        libc::EMLINK => "EMLINK",
        libc::EPIPE => "EPIPE",
        libc::ENAMETOOLONG => "ENAMETOOLONG",
        libc::ELOOP => "ELOOP",
        libc::ELIBBAD => "ELIBBAD",
        libc::ENOSYS => "ENOSYS",
        _ => "UNKNOWN",
    }
}

/// How a child ended, decoded from its wait status.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ExitStatus {
    Exited(i32),
    Signaled { signal: i32, core: bool },
}

impl ExitStatus {
    pub fn from_raw(status: i32) -> ExitStatus {
        if libc::WIFEXITED(status) {
            ExitStatus::Exited(libc::WEXITSTATUS(status))
        } else {
            ExitStatus::Signaled {
                signal: libc::WTERMSIG(status),
                core: libc::WCOREDUMP(status),
            }
        }
    }

    /// Supervisor's `exitstatus`: the code, or -1 for a death by signal.
    pub fn code(self) -> i32 {
        match self {
            ExitStatus::Exited(c) => c,
            ExitStatus::Signaled { .. } => -1,
        }
    }

    /// Whether `exitcodes` lists this exit (a signal death never is expected).
    pub fn is_expected(self, exitcodes: &[i32]) -> bool {
        match self {
            ExitStatus::Exited(c) => exitcodes.contains(&c),
            ExitStatus::Signaled { .. } => false,
        }
    }

    /// `exit status 3` / `terminated by SIGKILL (core dumped)`.
    pub fn describe(self) -> String {
        match self {
            ExitStatus::Exited(c) => format!("exit status {c}"),
            ExitStatus::Signaled { signal, core } => {
                let core = if core { " (core dumped)" } else { "" };
                format!("terminated by {}{core}", signal_name(signal))
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn describes_exits_and_signals() {
        assert_eq!(ExitStatus::from_raw(3 << 8), ExitStatus::Exited(3));
        assert_eq!(ExitStatus::Exited(3).describe(), "exit status 3");
        let killed = ExitStatus::from_raw(libc::SIGKILL);
        assert_eq!(killed.describe(), "terminated by SIGKILL");
        assert_eq!(killed.code(), -1);
        assert!(!killed.is_expected(&[0, -1]));
        let core = ExitStatus::from_raw(libc::SIGSEGV | 0x80);
        assert_eq!(core.describe(), "terminated by SIGSEGV (core dumped)");
        assert_eq!(signal_name(64), "signal 64");
        assert_eq!(errno_name(libc::ENOENT), "ENOENT");
    }
}
