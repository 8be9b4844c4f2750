//! Output to a non-seekable target (`/dev/stdout`, `/dev/stderr`, `/proc/self/fd/N`, a FIFO, a
//! tty, `/dev/null`): never sought, never rotated, never allowed to block. A full pipe keeps a
//! small backlog that is flushed when the target becomes writable; beyond it output is dropped.

use std::ffi::CString;
use std::io;
use std::os::fd::{AsRawFd, FromRawFd, OwnedFd, RawFd};
use std::os::unix::ffi::OsStrExt;
use std::path::Path;

use super::fdio;

/// Bytes held back while the target is full, per sink (kept small: 200 programs may share one
/// stalled stdout).
pub const MAX_BACKLOG: usize = 64 * 1024;

/// What one write did, in bytes.
#[derive(Debug, Default)]
pub struct Outcome {
    pub written: u64,
    pub dropped: u64,
    pub error: Option<io::Error>,
    /// Bytes are waiting for the target to become writable.
    pub pending: bool,
}

pub struct StreamOut {
    fd: OwnedFd,
    /// A socket inherited as stdout: written with MSG_DONTWAIT instead of O_NONBLOCK, which
    /// would change the flags of a description other processes share.
    socket: bool,
    backlog: Vec<u8>,
}

/// The descriptor number named by `/dev/stdout`, `/dev/stderr`, `/dev/fd/N`, `/proc/self/fd/N`.
pub fn own_fd_number(path: &Path) -> Option<RawFd> {
    let s = path.to_str()?;
    match s {
        "/dev/stdin" => Some(0),
        "/dev/stdout" => Some(1),
        "/dev/stderr" => Some(2),
        _ => s
            .strip_prefix("/proc/self/fd/")
            .or_else(|| s.strip_prefix("/dev/fd/"))
            .and_then(|n| n.parse().ok()),
    }
}

fn open_nonblocking(path: &Path) -> io::Result<OwnedFd> {
    let c = CString::new(path.as_os_str().as_bytes())
        .map_err(|_| io::Error::new(io::ErrorKind::InvalidInput, "path contains a NUL byte"))?;
    // SAFETY: c is a valid C string; flags are plain integers.
    let fd = unsafe {
        libc::open(
            c.as_ptr(),
            libc::O_WRONLY | libc::O_NONBLOCK | libc::O_CLOEXEC | libc::O_APPEND | libc::O_NOCTTY,
        )
    };
    if fd < 0 {
        return Err(io::Error::last_os_error());
    }
    // SAFETY: fd was just returned by open and is owned by nobody else.
    Ok(unsafe { OwnedFd::from_raw_fd(fd) })
}

fn dup_cloexec(fd: RawFd) -> io::Result<OwnedFd> {
    // SAFETY: F_DUPFD_CLOEXEC duplicates fd into a new descriptor we own.
    let new = unsafe { libc::fcntl(fd, libc::F_DUPFD_CLOEXEC, 3) };
    if new < 0 {
        return Err(io::Error::last_os_error());
    }
    // SAFETY: new is a fresh descriptor owned by nobody else.
    Ok(unsafe { OwnedFd::from_raw_fd(new) })
}

impl StreamOut {
    /// Opens `path` as a new, non-blocking description of the same pipe/tty/device. A socket
    /// cannot be reopened through /proc (ENXIO): it is duplicated instead.
    pub fn open(path: &Path) -> io::Result<StreamOut> {
        match open_nonblocking(path) {
            Ok(fd) => Ok(StreamOut::from_fd(fd)),
            Err(e) if e.raw_os_error() == Some(libc::ENXIO) => {
                let n = own_fd_number(path).ok_or(e)?;
                Ok(StreamOut::from_fd(dup_cloexec(n)?))
            }
            Err(e) => Err(e),
        }
    }

    /// Wraps an already open descriptor (made non-blocking unless it is a socket).
    pub fn from_fd(fd: OwnedFd) -> StreamOut {
        let socket = fdio::is_socket(fd.as_raw_fd());
        if !socket {
            let _ = fdio::set_nonblocking(fd.as_raw_fd());
        }
        StreamOut {
            fd,
            socket,
            backlog: Vec::new(),
        }
    }

    pub fn fd(&self) -> RawFd {
        self.fd.as_raw_fd()
    }

    fn write_some(&self, data: &[u8]) -> io::Result<usize> {
        if self.socket {
            fdio::send_nonblocking(self.fd(), data)
        } else {
            fdio::write(self.fd(), data)
        }
    }

    /// Writes as much of `data` as the target takes now; returns (written, error if not EAGAIN).
    fn push(&self, data: &[u8]) -> (usize, Option<io::Error>) {
        let mut done = 0;
        while done < data.len() {
            match self.write_some(&data[done..]) {
                Ok(0) => return (done, Some(io::ErrorKind::WriteZero.into())),
                Ok(n) => done += n,
                Err(e) if e.kind() == io::ErrorKind::WouldBlock => return (done, None),
                Err(e) => return (done, Some(e)),
            }
        }
        (done, None)
    }

    /// Writes the backlog first, then `data`; whatever the target does not take now is kept
    /// up to [`MAX_BACKLOG`] and the rest dropped.
    pub fn write(&mut self, data: &[u8]) -> Outcome {
        let mut out = self.flush();
        if out.error.is_some() {
            out.dropped += data.len() as u64;
            return out;
        }
        let rest = if self.backlog.is_empty() {
            let (n, err) = self.push(data);
            out.written += n as u64;
            if let Some(e) = err {
                out.dropped += (data.len() - n) as u64;
                out.error = Some(e);
                return out;
            }
            &data[n..]
        } else {
            data
        };
        let room = MAX_BACKLOG
            .saturating_sub(self.backlog.len())
            .min(rest.len());
        self.backlog.extend_from_slice(&rest[..room]);
        out.dropped += (rest.len() - room) as u64;
        out.pending = !self.backlog.is_empty();
        out
    }

    /// Writes what the backlog holds (called when the target is writable again).
    pub fn flush(&mut self) -> Outcome {
        let mut out = Outcome::default();
        if self.backlog.is_empty() {
            return out;
        }
        let (n, err) = self.push(&self.backlog);
        out.written = n as u64;
        self.backlog.drain(..n);
        if let Some(e) = err {
            out.dropped = self.backlog.len() as u64;
            self.backlog.clear();
            out.error = Some(e);
        }
        out.pending = !self.backlog.is_empty();
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_of_own_descriptors() {
        assert_eq!(own_fd_number(Path::new("/dev/stdout")), Some(1));
        assert_eq!(own_fd_number(Path::new("/dev/stderr")), Some(2));
        assert_eq!(own_fd_number(Path::new("/proc/self/fd/7")), Some(7));
        assert_eq!(own_fd_number(Path::new("/dev/fd/3")), Some(3));
        assert_eq!(own_fd_number(Path::new("/var/log/x")), None);
    }

    #[test]
    fn a_full_pipe_keeps_a_bounded_backlog_and_drops_the_rest() {
        let (r, w) = nix::unistd::pipe().unwrap();
        let mut s = StreamOut::from_fd(w);
        let chunk = vec![b'x'; 1 << 20];
        let o = s.write(&chunk);
        assert!(o.pending);
        assert!(o.written > 0);
        assert_eq!(
            o.written + o.dropped + MAX_BACKLOG as u64,
            chunk.len() as u64
        );
        // Drain the reader, then the backlog goes out.
        let mut buf = vec![0u8; 1 << 20];
        fdio::set_nonblocking(r.as_raw_fd()).unwrap();
        while fdio::read(r.as_raw_fd(), &mut buf).is_ok() {}
        let f = s.flush();
        assert_eq!(f.written, MAX_BACKLOG as u64);
        assert!(!f.pending);
    }

    #[test]
    fn a_closed_reader_is_an_error_not_a_stall() {
        let (r, w) = nix::unistd::pipe().unwrap();
        drop(r);
        // SIGPIPE is ignored by the test harness? Make sure it cannot kill us.
        // SAFETY: setting a signal disposition to SIG_IGN.
        unsafe { libc::signal(libc::SIGPIPE, libc::SIG_IGN) };
        let mut s = StreamOut::from_fd(w);
        let o = s.write(b"hello");
        assert_eq!(o.dropped, 5);
        assert_eq!(o.error.unwrap().raw_os_error(), Some(libc::EPIPE));
    }
}
