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

use std::io;
use std::mem::{size_of, zeroed};
use std::os::fd::{AsRawFd, FromRawFd, OwnedFd, RawFd};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::thread::JoinHandle;

use crossbeam_channel::Sender;

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
        // SAFETY: shutdown on a socket we own; it wakes the reader's recvmsg with 0 bytes.
        unsafe { libc::shutdown(self.fd.as_raw_fd(), libc::SHUT_RDWR) };
        if let Some(t) = self.thread.take() {
            let _ = t.join();
        }
    }
}

fn bind_abstract(name: &str) -> io::Result<OwnedFd> {
    // SAFETY: plain socket call; the fd is owned right after.
    let raw = unsafe { libc::socket(libc::AF_UNIX, libc::SOCK_DGRAM | libc::SOCK_CLOEXEC, 0) };
    if raw < 0 {
        return Err(io::Error::last_os_error());
    }
    // SAFETY: socket() just returned this fd.
    let fd = unsafe { OwnedFd::from_raw_fd(raw) };
    let on: libc::c_int = 1;
    // SAFETY: valid option pointer and length.
    let rc = unsafe {
        libc::setsockopt(
            raw,
            libc::SOL_SOCKET,
            libc::SO_PASSCRED,
            (&on as *const libc::c_int).cast(),
            size_of::<libc::c_int>() as libc::socklen_t,
        )
    };
    if rc != 0 {
        return Err(io::Error::last_os_error());
    }
    // SAFETY: sockaddr_un is plain data; all-zero is a valid value.
    let mut addr: libc::sockaddr_un = unsafe { zeroed() };
    addr.sun_family = libc::AF_UNIX as libc::sa_family_t;
    let bytes = name.as_bytes();
    if bytes.len() + 1 > addr.sun_path.len() {
        return Err(io::Error::new(io::ErrorKind::InvalidInput, "name too long"));
    }
    // Abstract: a leading NUL, then the name (not NUL-terminated; the length says where it
    // ends).
    for (dst, src) in addr.sun_path[1..].iter_mut().zip(bytes) {
        *dst = *src as libc::c_char;
    }
    let len = size_of::<libc::sa_family_t>() + 1 + bytes.len();
    // SAFETY: addr is a valid sockaddr_un and len covers only its initialised part.
    let rc = unsafe {
        libc::bind(
            raw,
            (&addr as *const libc::sockaddr_un).cast(),
            len as libc::socklen_t,
        )
    };
    if rc != 0 {
        return Err(io::Error::last_os_error());
    }
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

/// Room for the credentials and a few passed fds (which are closed).
const CMSG_ROOM: usize = 256;

/// One datagram: `None` when it is dropped (no credentials, truncated, empty).
fn receive(fd: RawFd, buf: &mut [u8]) -> io::Result<Option<Datagram>> {
    let mut cmsg = [0u64; CMSG_ROOM / 8];
    let mut iov = libc::iovec {
        iov_base: buf.as_mut_ptr().cast(),
        iov_len: buf.len(),
    };
    // SAFETY: msghdr is plain data; all-zero is valid, and the pointers set below live across
    // the call.
    let mut msg: libc::msghdr = unsafe { zeroed() };
    msg.msg_iov = &mut iov;
    msg.msg_iovlen = 1;
    msg.msg_control = cmsg.as_mut_ptr().cast();
    msg.msg_controllen = CMSG_ROOM as _;
    // SAFETY: msg points at live buffers of the stated sizes.
    let n = unsafe { libc::recvmsg(fd, &mut msg, libc::MSG_CMSG_CLOEXEC) };
    if n < 0 {
        return Err(io::Error::last_os_error());
    }
    let pid = control_pid(&msg);
    if n == 0 && msg.msg_controllen == 0 {
        // Shut down (an empty datagram would still carry credentials).
        return Err(io::ErrorKind::UnexpectedEof.into());
    }
    if msg.msg_flags & (libc::MSG_TRUNC | libc::MSG_CTRUNC) != 0 {
        log::debug!("notify socket: dropped an oversized message");
        return Ok(None);
    }
    let Some(pid) = pid else {
        return Ok(None);
    };
    let notices = parse(&buf[..n as usize]);
    Ok((!notices.is_empty()).then_some(Datagram { pid, notices }))
}

/// The sender pid from SCM_CREDENTIALS; fds passed with SCM_RIGHTS are closed.
fn control_pid(msg: &libc::msghdr) -> Option<i32> {
    let mut pid = None;
    // SAFETY: the CMSG_* macros walk the control buffer the kernel just filled, within
    // msg_controllen.
    unsafe {
        let mut c = libc::CMSG_FIRSTHDR(msg);
        while !c.is_null() {
            let data = libc::CMSG_DATA(c);
            let len = (*c).cmsg_len as usize - (data as usize - c as usize);
            match ((*c).cmsg_level, (*c).cmsg_type) {
                (libc::SOL_SOCKET, libc::SCM_CREDENTIALS) if len >= size_of::<libc::ucred>() => {
                    let cred = std::ptr::read_unaligned(data as *const libc::ucred);
                    pid = Some(cred.pid);
                }
                (libc::SOL_SOCKET, libc::SCM_RIGHTS) => {
                    for i in 0..len / size_of::<RawFd>() {
                        let f = std::ptr::read_unaligned((data as *const RawFd).add(i));
                        libc::close(f);
                    }
                }
                _ => {}
            }
            c = libc::CMSG_NXTHDR(msg, c);
        }
    }
    pid
}

#[cfg(test)]
mod tests;
