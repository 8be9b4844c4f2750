//! Output to a non-seekable target (`/dev/stdout`, `/dev/stderr`, `/proc/self/fd/N`, a FIFO, a
//! tty, `/dev/null`): never sought, never rotated, never allowed to block. A full pipe keeps a
//! small backlog that is flushed when the target becomes writable; beyond it output is dropped.

use std::io;
use std::os::fd::{AsRawFd, OwnedFd, RawFd};
use std::os::unix::fs::OpenOptionsExt;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicUsize, Ordering};

use super::fdio;

/// Bytes held back per sink while the target is full: enough to ride out a burst while the
/// reader (a container runtime's log collector) is descheduled.
pub const MAX_BACKLOG: usize = 1 << 20;
/// Bytes held back by all sinks together (200 programs may share one stalled stdout).
const TOTAL_BACKLOG: usize = 8 << 20;
static BACKLOG_IN_USE: AtomicUsize = AtomicUsize::new(0);
/// Kernel buffer asked for a stdout pipe (best effort): bursts wait there, not in our memory.
const STREAM_PIPE_SIZE: usize = 1 << 20;
/// Writes to a pipe up to this size are atomic (all or nothing).
const PIPE_BUF: usize = libc::PIPE_BUF;

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
    /// The target is a pipe: writes are cut at line ends (see `next_piece`) so lines of
    /// several programs sharing one stdout pipe never interleave mid-line.
    is_pipe: bool,
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

/// `O_WRONLY | O_APPEND | O_NONBLOCK | O_NOCTTY` (and, as std always adds, `O_CLOEXEC`).
fn open_nonblocking(path: &Path) -> io::Result<OwnedFd> {
    let f = std::fs::OpenOptions::new()
        .append(true)
        .custom_flags(libc::O_NONBLOCK | libc::O_NOCTTY)
        .open(path)?;
    Ok(OwnedFd::from(f))
}

impl StreamOut {
    /// Opens `path` as a new, non-blocking description of the same pipe/tty/device. A socket
    /// cannot be reopened through /proc (ENXIO): it is duplicated instead. `/dev/stdout` and
    /// its kin are symlinks into /proc/self/fd that a minimal /dev may lack (ENOENT): the
    /// descriptor is then reopened through /proc directly, or duplicated without /proc.
    pub fn open(path: &Path) -> io::Result<StreamOut> {
        match open_nonblocking(path) {
            Ok(fd) => {
                let s = StreamOut::from_fd(fd);
                if s.is_pipe {
                    fdio::grow_pipe(s.fd(), STREAM_PIPE_SIZE);
                }
                Ok(s)
            }
            Err(e) if e.raw_os_error() == Some(libc::ENXIO) => {
                let n = own_fd_number(path).ok_or(e)?;
                Ok(StreamOut::from_fd(fdio::dup_cloexec(n)?))
            }
            Err(e) if e.raw_os_error() == Some(libc::ENOENT) => match own_fd_number(path) {
                Some(n) => StreamOut::reopen_own(path, n).ok_or(e),
                None => Err(e),
            },
            Err(e) => Err(e),
        }
    }

    /// Our descriptor `n`, named by `path`, which does not exist: reopened through
    /// /proc/self/fd, or duplicated when /proc is not there either.
    fn reopen_own(path: &Path, n: RawFd) -> Option<StreamOut> {
        let direct = PathBuf::from(format!("/proc/self/fd/{n}"));
        if path != direct {
            if let Ok(s) = StreamOut::open(&direct) {
                return Some(s);
            }
        }
        fdio::dup_cloexec(n).ok().map(StreamOut::from_fd)
    }

    /// Wraps an already open descriptor (made non-blocking unless it is a socket).
    pub fn from_fd(fd: OwnedFd) -> StreamOut {
        let socket = fdio::is_socket(fd.as_raw_fd());
        if !socket {
            let _ = fdio::set_nonblocking(fd.as_raw_fd());
        }
        let is_pipe = !socket && fdio::pipe_capacity(fd.as_raw_fd()).is_some();
        StreamOut {
            fd,
            socket,
            is_pipe,
            backlog: Vec::new(),
        }
    }

    /// How much of `data` to hand to one write so a pipe never receives part of a line:
    /// into an empty pipe, the whole lines that fit its capacity; otherwise whole lines up to
    /// PIPE_BUF, which the kernel writes all-or-nothing (free space counted in bytes says
    /// little: a pipe's capacity is in page slots). Only a line longer than that is cut.
    fn next_piece(&self, data: &[u8]) -> usize {
        if !self.is_pipe {
            return data.len();
        }
        let limit = match fdio::bytes_queued(self.fd()) {
            Some(0) => fdio::pipe_capacity(self.fd()).unwrap_or(PIPE_BUF),
            _ => PIPE_BUF,
        };
        if data.len() <= limit {
            return data.len();
        }
        data[..limit]
            .iter()
            .rposition(|&c| c == b'\n')
            .map_or(limit, |i| i + 1)
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
            let piece = self.next_piece(&data[done..]);
            if piece == 0 {
                return (done, None);
            }
            match self.write_some(&data[done..done + piece]) {
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
        let global_room = TOTAL_BACKLOG.saturating_sub(BACKLOG_IN_USE.load(Ordering::Relaxed));
        let mut room = MAX_BACKLOG
            .saturating_sub(self.backlog.len())
            .min(global_room)
            .min(rest.len());
        if room < rest.len() {
            let whole_lines = rest[..room].iter().rposition(|&c| c == b'\n');
            // Only a line longer than the whole backlog is kept in part.
            let partial = if self.backlog.is_empty() { room } else { 0 };
            room = whole_lines.map_or(partial, |i| i + 1);
        }
        BACKLOG_IN_USE.fetch_add(room, Ordering::Relaxed);
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
        let mut released = n;
        if let Some(e) = err {
            out.dropped = self.backlog.len() as u64;
            released += self.backlog.len();
            self.backlog.clear();
            out.error = Some(e);
        }
        BACKLOG_IN_USE.fetch_sub(released, Ordering::Relaxed);
        if self.backlog.is_empty() {
            // Give a burst's memory back.
            self.backlog = Vec::new();
        }
        out.pending = !self.backlog.is_empty();
        out
    }
}

impl Drop for StreamOut {
    fn drop(&mut self) {
        BACKLOG_IN_USE.fetch_sub(self.backlog.len(), Ordering::Relaxed);
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

    /// A /dev without the stdout symlink: the descriptor is reached through /proc instead.
    #[test]
    fn an_own_descriptor_whose_name_is_missing_is_reopened() {
        let (r, w) = nix::unistd::pipe().unwrap();
        let missing = Path::new("/nonexistent-dev/stdout");
        let mut s = StreamOut::reopen_own(missing, w.as_raw_fd()).expect("reopened");
        assert_ne!(s.fd(), w.as_raw_fd());
        assert_eq!(s.write(b"line\n").written, 5);
        let mut buf = [0u8; 16];
        let n = nix::unistd::read(r.as_raw_fd(), &mut buf).unwrap();
        assert_eq!(&buf[..n], b"line\n");
    }

    #[test]
    fn a_full_pipe_keeps_a_bounded_backlog_and_drops_the_rest() {
        let (r, w) = nix::unistd::pipe().unwrap();
        let mut s = StreamOut::from_fd(w);
        let chunk = vec![b'x'; 4 << 20];
        let o = s.write(&chunk);
        assert!(o.pending);
        assert!(o.written > 0);
        assert_eq!(
            o.written + o.dropped + MAX_BACKLOG as u64,
            chunk.len() as u64
        );
        // As the reader drains the pipe, the backlog goes out, all of it.
        let mut buf = vec![0u8; 1 << 20];
        fdio::set_nonblocking(r.as_raw_fd()).unwrap();
        let mut flushed = 0;
        loop {
            while fdio::read(r.as_raw_fd(), &mut buf).is_ok() {}
            let f = s.flush();
            flushed += f.written;
            if !f.pending {
                break;
            }
        }
        assert_eq!(flushed, MAX_BACKLOG as u64);
    }

    #[test]
    fn a_busy_pipe_gets_whole_lines_only() {
        let (r, w) = nix::unistd::pipe().unwrap();
        let mut s = StreamOut::from_fd(w);
        let cap = fdio::pipe_capacity(s.fd()).unwrap();
        // Leave one free page slot, then offer more lines than fit in it.
        let o = s.write(&vec![b'.'; cap - PIPE_BUF]);
        assert_eq!(o.written as usize, cap - PIPE_BUF);
        let line =
            b"0123456789abcdefghijklmnopqrstuvwxyz0123456789abcdefghijklmnopqrstuvwxyz012345\n";
        let lines: Vec<u8> = line
            .iter()
            .copied()
            .cycle()
            .take(line.len() * 200)
            .collect();
        let o = s.write(&lines);
        assert_eq!(o.written as usize % line.len(), 0, "whole lines only");
        assert!(o.written > 0 && o.pending);
        let mut buf = vec![0u8; cap];
        fdio::set_nonblocking(r.as_raw_fd()).unwrap();
        while fdio::read(r.as_raw_fd(), &mut buf).is_ok() {}
        let f = s.flush();
        assert_eq!((o.written + f.written) as usize, lines.len());
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
