//! Thin, errno-preserving wrappers over the raw syscalls the log code needs (non-blocking
//! reads, pipe sizes, file positions). Kept in one place so the rest reads as plain Rust.

use std::io;
use std::os::fd::RawFd;

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
    // SAFETY: fcntl on a caller-owned descriptor with plain integer arguments.
    let flags = unsafe { libc::fcntl(fd, libc::F_GETFL) };
    if flags < 0 {
        return Err(io::Error::last_os_error());
    }
    // SAFETY: as above.
    if unsafe { libc::fcntl(fd, libc::F_SETFL, flags | libc::O_NONBLOCK) } < 0 {
        return Err(io::Error::last_os_error());
    }
    Ok(())
}

/// `read(2)` retrying on EINTR.
pub fn read(fd: RawFd, buf: &mut [u8]) -> io::Result<usize> {
    loop {
        // SAFETY: buf is a valid writable slice of buf.len() bytes.
        let r = unsafe { libc::read(fd, buf.as_mut_ptr().cast(), buf.len()) };
        match check(r) {
            Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
            other => return other,
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
    loop {
        // SAFETY: buf is a valid readable slice of buf.len() bytes.
        let r = unsafe {
            libc::send(
                fd,
                buf.as_ptr().cast(),
                buf.len(),
                libc::MSG_DONTWAIT | libc::MSG_NOSIGNAL,
            )
        };
        match check(r) {
            Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
            other => return other,
        }
    }
}

/// The current file position (after an append: the file size).
pub fn position(fd: RawFd) -> io::Result<u64> {
    // SAFETY: lseek on a caller-owned descriptor.
    let r = unsafe { libc::lseek(fd, 0, libc::SEEK_CUR) };
    if r < 0 {
        Err(io::Error::last_os_error())
    } else {
        Ok(r as u64)
    }
}

/// Grows a pipe's kernel buffer (best effort; the limit for unprivileged users may refuse).
pub fn grow_pipe(fd: RawFd, size: usize) -> bool {
    // SAFETY: fcntl with an integer argument.
    unsafe { libc::fcntl(fd, libc::F_SETPIPE_SZ, size as libc::c_int) >= 0 }
}

/// The capacity of the pipe `fd` belongs to; `None` when it is not a pipe.
pub fn pipe_capacity(fd: RawFd) -> Option<usize> {
    // SAFETY: fcntl with no pointer argument.
    let r = unsafe { libc::fcntl(fd, libc::F_GETPIPE_SZ) };
    (r > 0).then_some(r as usize)
}

/// Bytes waiting in the pipe (or socket) `fd` belongs to.
pub fn bytes_queued(fd: RawFd) -> Option<usize> {
    let mut n: libc::c_int = 0;
    // SAFETY: FIONREAD writes one int.
    let r = unsafe { libc::ioctl(fd, libc::FIONREAD, &mut n) };
    (r == 0 && n >= 0).then_some(n as usize)
}

/// Whether `fd` refers to a socket.
pub fn is_socket(fd: RawFd) -> bool {
    // SAFETY: fstat fills a zeroed stat struct.
    let mut st: libc::stat = unsafe { std::mem::zeroed() };
    // SAFETY: as above.
    let ok = unsafe { libc::fstat(fd, &mut st) } == 0;
    ok && (st.st_mode & libc::S_IFMT) == libc::S_IFSOCK
}

/// Fills `buf` with random bytes from the kernel.
pub fn random_bytes(buf: &mut [u8]) -> io::Result<()> {
    let mut filled = 0;
    while filled < buf.len() {
        // SAFETY: writes at most buf.len()-filled bytes into buf.
        let r =
            unsafe { libc::getrandom(buf[filled..].as_mut_ptr().cast(), buf.len() - filled, 0) };
        filled += check(r)?;
    }
    Ok(())
}
