//! sd_notify (extension, `type=notify`): the unix datagram socket a notify program reports
//! on, and the parser of what it sends.
//!
//! Each notify program gets its own socket in the abstract namespace (no file to clean up, no
//! directory to pick; the name is passed as `NOTIFY_SOCKET=@…`, as systemd does). Anybody in
//! the network namespace can send to it, so every datagram carries its sender's credentials
//! (SO_PASSCRED) and the worker only believes messages from its process or a descendant.
//! One small thread per socket blocks in `recvmsg` and hands each datagram to the worker over
//! a channel the worker selects on: nothing polls. Messages are untrusted input: size-bounded,
//! parsed without panicking, fds passed along with them are closed.

use std::io::{self, IoSliceMut};
use std::os::fd::{AsRawFd, OwnedFd, RawFd};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::thread::JoinHandle;

use crossbeam_channel::Sender;
use nix::sys::socket::{
    bind, recvmsg, setsockopt, shutdown, socket, sockopt, AddressFamily, ControlMessageOwned,
    MsgFlags, RecvMsg, Shutdown, SockFlag, SockType, UnixAddr,
};
use nix::unistd::close;

/// Longest datagram read; longer ones are dropped whole (systemd's limit is about this).
const MAX_DATAGRAM: usize = 4096;
/// Longest `STATUS=` text kept.
const MAX_STATUS: usize = 256;

/// One thing a datagram says.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Notice {
    Ready,
    Reloading,
    Stopping,
    Status(String),
    Watchdog,
    WatchdogTrigger,
    MainPid(i32),
    Errno(i32),
    /// A known or unknown assignment we do not act on (kept for the debug log).
    Other(String),
}

/// A datagram from pid `pid` (per the kernel's credentials).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Datagram {
    pub pid: i32,
    pub notices: Vec<Notice>,
}

/// Parses one datagram: newline-separated `KEY=VALUE` assignments. Lines without `=`, empty
/// lines and invalid UTF-8 are skipped; nothing here can fail.
pub fn parse(buf: &[u8]) -> Vec<Notice> {
    let text = String::from_utf8_lossy(buf);
    text.split('\n')
        .filter_map(|line| {
            let (k, v) = line.split_once('=')?;
            Some(match (k, v) {
                ("READY", "1") => Notice::Ready,
                ("RELOADING", "1") => Notice::Reloading,
                ("STOPPING", "1") => Notice::Stopping,
                ("STATUS", s) => Notice::Status(clip(s)),
                ("WATCHDOG", "1") => Notice::Watchdog,
                ("WATCHDOG", "trigger") => Notice::WatchdogTrigger,
                ("MAINPID", n) => n.parse().map(Notice::MainPid).ok()?,
                ("ERRNO", n) => n.parse().map(Notice::Errno).ok()?,
                _ => Notice::Other(clip(line)),
            })
        })
        .collect()
}

/// At most MAX_STATUS bytes, cut at a character boundary, control characters replaced (the
/// text ends up in one-line status output and in log lines).
fn clip(s: &str) -> String {
    let mut end = s.len().min(MAX_STATUS);
    while !s.is_char_boundary(end) {
        end -= 1;
    }
    s[..end]
        .chars()
        .map(|c| if c.is_control() { ' ' } else { c })
        .collect()
}

/// Whether `sender` is `main` or one of its descendants: its parent chain reaches `main`, or
/// it is still in `main`'s process group (a child that was re-parented after its parent died).
pub fn belongs_to(sender: i32, main: i32) -> bool {
    if main <= 0 || sender <= 0 {
        return false;
    }
    if sender == main {
        return true;
    }
    let Some((_, pgid)) = parent_and_group(sender) else {
        return false;
    };
    if pgid == main {
        return true;
    }
    let mut pid = sender;
    for _ in 0..64 {
        match parent_and_group(pid) {
            Some((ppid, _)) if ppid == main => return true,
            Some((ppid, _)) if ppid > 1 => pid = ppid,
            _ => return false,
        }
    }
    false
}

/// (parent pid, process group) from /proc/PID/stat; the command name may hold spaces and
/// parentheses, so fields are counted after its last `)`.
fn parent_and_group(pid: i32) -> Option<(i32, i32)> {
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).ok()?;
    let rest = &stat[stat.rfind(')')? + 1..];
    let mut f = rest.split_whitespace().skip(1);
    let ppid = f.next()?.parse().ok()?;
    let pgid = f.next()?.parse().ok()?;
    Some((ppid, pgid))
}

/// A bound notify socket and the thread that reads it. Dropping it stops the thread.
pub struct NotifySocket {
    fd: Arc<OwnedFd>,
    address: String,
    thread: Option<JoinHandle<()>>,
}

static SEQ: AtomicU64 = AtomicU64::new(0);

impl NotifySocket {
    /// Binds a new socket and starts its reader; datagrams go to `tx`.
    pub fn open(tx: Sender<Datagram>) -> io::Result<NotifySocket> {
        let name = format!(
            "supervisord/{}/notify/{}",
            std::process::id(),
            SEQ.fetch_add(1, Ordering::Relaxed)
        );
        let fd = Arc::new(bind_abstract(&name)?);
        let reader = fd.clone();
        let thread = std::thread::Builder::new()
            .name("notify".into())
            .stack_size(64 * 1024)
            .spawn(move || read_loop(&reader, &tx))?;
        Ok(NotifySocket {
            fd,
            address: format!("@{name}"),
            thread: Some(thread),
        })
    }

    /// The `NOTIFY_SOCKET` value.
    pub fn address(&self) -> &str {
        &self.address
    }
}

impl Drop for NotifySocket {
    fn drop(&mut self) {
        // Wakes the reader's recvmsg with 0 bytes.
        let _ = shutdown(self.fd.as_raw_fd(), Shutdown::Both);
        if let Some(t) = self.thread.take() {
            let _ = t.join();
        }
    }
}

fn bind_abstract(name: &str) -> io::Result<OwnedFd> {
    let fd = socket(
        AddressFamily::Unix,
        SockType::Datagram,
        SockFlag::SOCK_CLOEXEC,
        None,
    )?;
    setsockopt(&fd, sockopt::PassCred, &true)?;
    // Abstract: a leading NUL, then the name (not NUL-terminated; the length says where it
    // ends).
    let addr = UnixAddr::new_abstract(name.as_bytes())
        .map_err(|_| io::Error::new(io::ErrorKind::InvalidInput, "name too long"))?;
    bind(fd.as_raw_fd(), &addr)?;
    Ok(fd)
}

/// Reads datagrams until the socket is shut down or the worker is gone.
fn read_loop(fd: &OwnedFd, tx: &Sender<Datagram>) {
    let mut buf = vec![0u8; MAX_DATAGRAM];
    loop {
        match receive(fd.as_raw_fd(), &mut buf) {
            Ok(Some(d)) => {
                if tx.send(d).is_err() {
                    return;
                }
            }
            Ok(None) => {}
            Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
            Err(e) if e.kind() == io::ErrorKind::UnexpectedEof => return,
            Err(e) => {
                log::warn!("notify socket: {e}");
                return;
            }
        }
    }
}

/// Most fds one message can pass (the kernel's SCM_MAX_FD).
const MAX_PASSED_FDS: usize = 253;

/// One datagram: `None` when it is dropped (no credentials, truncated, empty).
fn receive(fd: RawFd, buf: &mut [u8]) -> io::Result<Option<Datagram>> {
    // Room for the credentials and as many fds as one message can pass, so the control data
    // is never truncated: every fd that arrives is seen, and closed.
    let mut cmsg = nix::cmsg_space!(libc::ucred, [RawFd; MAX_PASSED_FDS]);
    let mut iov = [IoSliceMut::new(buf)];
    let msg = recvmsg::<()>(fd, &mut iov, Some(&mut cmsg), MsgFlags::MSG_CMSG_CLOEXEC)?;
    let (n, flags) = (msg.bytes, msg.flags);
    let (pid, any_control) = control_pid(&msg);
    if n == 0 && !any_control {
        // Shut down (an empty datagram would still carry credentials).
        return Err(io::ErrorKind::UnexpectedEof.into());
    }
    if flags.intersects(MsgFlags::MSG_TRUNC | MsgFlags::MSG_CTRUNC) {
        log::debug!("notify socket: dropped an oversized message");
        return Ok(None);
    }
    let Some(pid) = pid else {
        return Ok(None);
    };
    let notices = parse(&buf[..n]);
    Ok((!notices.is_empty()).then_some(Datagram { pid, notices }))
}

/// The sender pid from SCM_CREDENTIALS, and whether any control message came; fds passed
/// with SCM_RIGHTS are closed.
fn control_pid(msg: &RecvMsg<'_, '_, ()>) -> (Option<i32>, bool) {
    let (mut pid, mut any) = (None, false);
    let Ok(cmsgs) = msg.cmsgs() else {
        return (None, true);
    };
    for c in cmsgs {
        any = true;
        match c {
            ControlMessageOwned::ScmCredentials(cred) => pid = Some(cred.pid()),
            ControlMessageOwned::ScmRights(fds) => {
                for f in fds {
                    let _ = close(f);
                }
            }
            _ => {}
        }
    }
    (pid, any)
}

#[cfg(test)]
mod tests;
