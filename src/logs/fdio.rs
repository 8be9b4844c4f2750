//! Thin, errno-preserving wrappers over the raw syscalls the log code needs (non-blocking
//! reads, pipe sizes, file positions). Kept in one place so the rest reads as plain Rust.

use std::io;
use std::os::fd::{FromRawFd, OwnedFd, RawFd};

use nix::fcntl::{fcntl, FcntlArg, OFlag};
use nix::sys::socket::MsgFlags;
use nix::unistd::Whence;

/// Converts a `-1` syscall result into the current errno.
fn check(ret: isize) -> io::Result<usize> {
    if ret < 0 {
        Err(io::Error::last_os_error())
    } else {
        Ok(ret as usize)
    }
}

/// Puts `fd` in non-blocking mode so a read on an empty pipe returns EAGAIN instead of waiting.
pub fn set_nonblocking(fd: RawFd) -> io::Result<()> {
    let flags = OFlag::from_bits_retain(fcntl(fd, FcntlArg::F_GETFL)?);
    fcntl(fd, FcntlArg::F_SETFL(flags | OFlag::O_NONBLOCK))?;
    Ok(())
}

/// A new descriptor (number 3 or above, close-on-exec) for the open file behind `fd`.
pub fn dup_cloexec(fd: RawFd) -> io::Result<OwnedFd> {
    let new = fcntl(fd, FcntlArg::F_DUPFD_CLOEXEC(3))?;
    // SAFETY: fcntl just returned `new` as a fresh descriptor that nothing else owns.
    Ok(unsafe { OwnedFd::from_raw_fd(new) })
}

/// `read(2)` retrying on EINTR.
pub fn read(fd: RawFd, buf: &mut [u8]) -> io::Result<usize> {
    loop {
        match nix::unistd::read(fd, buf) {
            Err(nix::errno::Errno::EINTR) => continue,
            other => return Ok(other?),
        }
    }
}

/// `write(2)` retrying on EINTR (one call: may write less than asked).
pub fn write(fd: RawFd, buf: &[u8]) -> io::Result<usize> {
    loop {
        // SAFETY: buf is a valid readable slice of buf.len() bytes.
        let r = unsafe { libc::write(fd, buf.as_ptr().cast(), buf.len()) };
        match check(r) {
            Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
            other => return other,
        }
    }
}

/// `send(2)` with MSG_DONTWAIT|MSG_NOSIGNAL: non-blocking without touching the shared file
/// status flags of a socket that other processes also hold.
pub fn send_nonblocking(fd: RawFd, buf: &[u8]) -> io::Result<usize> {
    let flags = MsgFlags::MSG_DONTWAIT | MsgFlags::MSG_NOSIGNAL;
    loop {
        match nix::sys::socket::send(fd, buf, flags) {
            Err(nix::errno::Errno::EINTR) => continue,
            other => return Ok(other?),
        }
    }
}

/// The current file position (after an append: the file size).
pub fn position(fd: RawFd) -> io::Result<u64> {
    Ok(nix::unistd::lseek(fd, 0, Whence::SeekCur)? as u64)
}

/// Grows a pipe's kernel buffer (best effort; the limit for unprivileged users may refuse).
pub fn grow_pipe(fd: RawFd, size: usize) -> bool {
    let size = libc::c_int::try_from(size).unwrap_or(libc::c_int::MAX);
    fcntl(fd, FcntlArg::F_SETPIPE_SZ(size)).is_ok()
}

/// The capacity of the pipe `fd` belongs to; `None` when it is not a pipe.
pub fn pipe_capacity(fd: RawFd) -> Option<usize> {
    let r = fcntl(fd, FcntlArg::F_GETPIPE_SZ).ok()?;
    (r > 0).then_some(r as usize)
}

/// Bytes waiting in the pipe (or socket) `fd` belongs to.
pub fn bytes_queued(fd: RawFd) -> Option<usize> {
    let mut n: libc::c_int = 0;
    // SAFETY: FIONREAD writes one int into `n`, which lives for the call; an fd that is not
    // open or not a pipe/socket only makes the call fail.
    let r = unsafe { libc::ioctl(fd, libc::FIONREAD, &mut n) };
    (r == 0 && n >= 0).then_some(n as usize)
}

/// Whether `fd` refers to a socket.
pub fn is_socket(fd: RawFd) -> bool {
    nix::sys::stat::fstat(fd).is_ok_and(|st| (st.st_mode & libc::S_IFMT) == libc::S_IFSOCK)
}

/// Fills `buf` with random bytes from the kernel.
pub fn random_bytes(buf: &mut [u8]) -> io::Result<()> {
    let mut filled = 0;
    while filled < buf.len() {
        // SAFETY: getrandom writes at most buf.len()-filled bytes, all inside buf (no safe
        // wrapper in nix or std).
        let r =
            unsafe { libc::getrandom(buf[filled..].as_mut_ptr().cast(), buf.len() - filled, 0) };
        filled += check(r)?;
    }
    Ok(())
}
