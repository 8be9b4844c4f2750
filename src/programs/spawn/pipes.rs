//! The pipes between supervisord and a new child: both ends are created before the spawn.

use std::io;
use std::os::fd::{AsRawFd, BorrowedFd, OwnedFd, RawFd};

use nix::fcntl::{fcntl, FcntlArg, OFlag};

/// The parent's ends of a new child's pipes.
pub struct ChildPipes {
    pub stdin: OwnedFd,
    pub stdout: OwnedFd,
    pub stderr: Option<OwnedFd>,
    /// Readable end of the exec status pipe.
    pub status: OwnedFd,
    /// Readable end of the readiness pipe (`notify_fd`).
    pub notify: Option<OwnedFd>,
}

/// Both ends of the pipes, created before fork.
pub struct PipeSet {
    pub(super) parent: ChildPipes,
    pub(super) child_stdin: OwnedFd,
    pub(super) child_stdout: OwnedFd,
    pub(super) child_stderr: Option<OwnedFd>,
    pub(super) child_status: OwnedFd,
    /// The readiness pipe's write end and the fd number the child gets it on.
    pub(super) child_notify: Option<(OwnedFd, i32)>,
    /// The child takes the terminal on its stdin as its foreground process group.
    pub(super) take_tty: bool,
}

fn pipe() -> io::Result<(OwnedFd, OwnedFd)> {
    Ok(nix::unistd::pipe2(OFlag::O_CLOEXEC)?)
}

impl PipeSet {
    pub fn new(redirect_stderr: bool) -> io::Result<PipeSet> {
        let (child_stdin, stdin) = pipe()?;
        let (stdout, child_stdout) = pipe()?;
        let (stderr, child_stderr) = if redirect_stderr {
            (None, None)
        } else {
            let (r, w) = pipe()?;
            (Some(r), Some(w))
        };
        let (status, child_status) = pipe()?;
        set_nonblocking(stdin.as_raw_fd())?;
        Ok(PipeSet {
            parent: ChildPipes {
                stdin,
                stdout,
                stderr,
                status,
                notify: None,
            },
            child_stdin,
            child_stdout,
            child_stderr,
            child_status,
            child_notify: None,
            take_tty: false,
        })
    }

    /// Adds an s6-style readiness pipe: the child gets its write end on fd `at`.
    pub fn with_notify_fd(mut self, at: i32) -> io::Result<PipeSet> {
        let (r, w) = pipe()?;
        self.parent.notify = Some(r);
        self.child_notify = Some((w, at));
        Ok(self)
    }
}

impl PipeSet {
    /// Gives the child a duplicate of `fd` as its stdin instead of the pipe (an fcgi-program's
    /// listening socket); the parent keeps its end of the unused pipe, as Supervisor does.
    pub fn with_stdin(mut self, fd: BorrowedFd<'_>) -> io::Result<PipeSet> {
        self.child_stdin = fd.try_clone_to_owned()?;
        Ok(self)
    }

    /// Standard streams on /dev/null (for commands whose output nobody reads); the parent
    /// ends are /dev/null too.
    pub fn null() -> io::Result<PipeSet> {
        let open = |write: bool| -> io::Result<OwnedFd> {
            let f = std::fs::OpenOptions::new()
                .read(!write)
                .write(write)
                .open("/dev/null")?;
            Ok(OwnedFd::from(f))
        };
        let (status, child_status) = pipe()?;
        Ok(PipeSet {
            parent: ChildPipes {
                stdin: open(true)?,
                stdout: open(false)?,
                stderr: None,
                status,
                notify: None,
            },
            child_stdin: open(false)?,
            child_stdout: open(true)?,
            child_stderr: None,
            child_status,
            child_notify: None,
            take_tty: false,
        })
    }

    /// supervisord's own stdin, stdout and stderr for the child (the container's command);
    /// the parent ends are /dev/null. When stdin is a terminal the child makes its process
    /// group the terminal's foreground group, as tini's child does: that is what lets Ctrl-C
    /// and job control reach it.
    pub fn inherit() -> io::Result<PipeSet> {
        use std::io::IsTerminal;
        use std::os::fd::AsFd;
        let mut set = PipeSet::null()?;
        // Duplicates at fd 3 or above, close-on-exec (the child's dup2 onto 0-2 clears that).
        set.child_stdin = io::stdin().as_fd().try_clone_to_owned()?;
        set.child_stdout = io::stdout().as_fd().try_clone_to_owned()?;
        set.child_stderr = Some(io::stderr().as_fd().try_clone_to_owned()?);
        set.take_tty = io::stdin().is_terminal();
        Ok(set)
    }
}

fn set_nonblocking(fd: RawFd) -> io::Result<()> {
    let flags = OFlag::from_bits_retain(fcntl(fd, FcntlArg::F_GETFL)?);
    fcntl(fd, FcntlArg::F_SETFL(flags | OFlag::O_NONBLOCK))?;
    Ok(())
}
