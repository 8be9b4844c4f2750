//! `/logtail/...` and `/mainlogtail`: send the last 1024 bytes of a log file, then follow it
//! as it grows (inotify on its directory, no polling), across rotation and truncation, until
//! the client goes away.

use std::ffi::CString;
use std::fs::File;
use std::io::{self, Read, Seek, SeekFrom, Write};
use std::os::fd::{AsRawFd, FromRawFd, OwnedFd, RawFd};
use std::os::unix::ffi::OsStrExt;
use std::os::unix::fs::MetadataExt;
use std::path::{Path, PathBuf};

use super::http::BodyStream;

/// How much of the existing file is sent first (Supervisor's `tail_f_producer` head).
pub const HEAD_BYTES: u64 = 1024;
const TRUNCATED: &[u8] = b"==> File truncated <==\n";

/// The open file being followed and how much of it was sent.
struct Followed {
    path: PathBuf,
    file: File,
    ino: u64,
    sent: u64,
}

impl Followed {
    fn open(path: &Path) -> io::Result<Followed> {
        let file = super::readfile::open_regular(path)?;
        let ino = file.metadata()?.ino();
        Ok(Followed {
            path: path.to_path_buf(),
            file,
            ino,
            sent: 0,
        })
    }

    /// Reopens when the path now names another file (rotation); the new file is sent whole.
    fn follow_rotation(&mut self) {
        if let Ok(meta) = std::fs::metadata(&self.path) {
            if meta.ino() != self.ino {
                if let Ok(f) = Followed::open(&self.path) {
                    *self = f;
                }
            }
        }
    }

    /// What to send now: new bytes, the truncation notice, or nothing.
    fn more(&mut self) -> io::Result<Vec<u8>> {
        self.follow_rotation();
        let size = self.file.metadata()?.len();
        if size < self.sent {
            self.sent = 0;
            return Ok(TRUNCATED.to_vec());
        }
        if size == self.sent {
            return Ok(Vec::new());
        }
        self.file.seek(SeekFrom::Start(self.sent))?;
        let mut data = Vec::with_capacity((size - self.sent).min(1 << 20) as usize);
        (&mut self.file)
            .take((size - self.sent).min(1 << 20))
            .read_to_end(&mut data)?;
        self.sent += data.len() as u64;
        Ok(data)
    }
}

/// An inotify instance watching the directory of the followed file.
struct Watch {
    fd: OwnedFd,
}

impl Watch {
    fn new(path: &Path) -> io::Result<Watch> {
        // SAFETY: inotify_init1 has no pointer arguments; the result is checked.
        let raw = unsafe { libc::inotify_init1(libc::IN_CLOEXEC | libc::IN_NONBLOCK) };
        if raw < 0 {
            return Err(io::Error::last_os_error());
        }
        // SAFETY: raw is a fresh descriptor we own.
        let fd = unsafe { OwnedFd::from_raw_fd(raw) };
        let dir = path
            .parent()
            .filter(|p| !p.as_os_str().is_empty())
            .unwrap_or(Path::new("."));
        let mask = libc::IN_MODIFY
            | libc::IN_CREATE
            | libc::IN_MOVED_TO
            | libc::IN_MOVED_FROM
            | libc::IN_DELETE
            | libc::IN_CLOSE_WRITE
            | libc::IN_ATTRIB;
        for target in [dir, path] {
            let c = CString::new(target.as_os_str().as_bytes())
                .map_err(|_| io::ErrorKind::InvalidInput)?;
            // SAFETY: fd is valid and c is a NUL-terminated path.
            let wd = unsafe { libc::inotify_add_watch(fd.as_raw_fd(), c.as_ptr(), mask) };
            if wd < 0 && target == dir {
                return Err(io::Error::last_os_error());
            }
        }
        Ok(Watch { fd })
    }

    /// Discards queued events (we re-check the file after every wakeup anyway).
    fn drain(&self) {
        let mut buf = [0u8; 4096];
        loop {
            // SAFETY: buf is a valid writable buffer of the given length.
            let n = unsafe { libc::read(self.fd.as_raw_fd(), buf.as_mut_ptr().cast(), buf.len()) };
            if n <= 0 {
                break;
            }
        }
    }
}

/// Blocks until the watch fires or the client socket becomes readable/hung up. Returns false
/// when the client is gone.
fn wait(watch: &Watch, client: RawFd) -> bool {
    let mut fds = [
        libc::pollfd {
            fd: watch.fd.as_raw_fd(),
            events: libc::POLLIN,
            revents: 0,
        },
        libc::pollfd {
            fd: client,
            events: libc::POLLIN | libc::POLLRDHUP,
            revents: 0,
        },
    ];
    loop {
        // SAFETY: fds is a valid array of two pollfd structs.
        let n = unsafe { libc::poll(fds.as_mut_ptr(), 2, -1) };
        if n < 0 {
            if io::Error::last_os_error().kind() == io::ErrorKind::Interrupted {
                continue;
            }
            return false;
        }
        let client_events = fds[1].revents;
        if client_events & (libc::POLLHUP | libc::POLLERR | libc::POLLRDHUP | libc::POLLNVAL) != 0 {
            return false;
        }
        if client_events & libc::POLLIN != 0 && !discard_client_bytes(client) {
            return false;
        }
        if fds[0].revents != 0 {
            watch.drain();
            return true;
        }
        fds[1].revents = 0;
    }
}

/// Reads and drops what a streaming client sends (Supervisor's client ends its request with an
/// extra CRLF); false once it has closed its side.
fn discard_client_bytes(client: RawFd) -> bool {
    let mut buf = [0u8; 512];
    // SAFETY: buf is a valid writable buffer of the given length.
    let n = unsafe {
        libc::recv(
            client,
            buf.as_mut_ptr().cast(),
            buf.len(),
            libc::MSG_DONTWAIT,
        )
    };
    if n == 0 {
        return false;
    }
    n > 0 || io::Error::last_os_error().kind() == io::ErrorKind::WouldBlock
}

/// Streams `path` to the client until it disconnects or a write fails.
pub fn stream<W: Write>(path: &Path, mut body: BodyStream<W>, client_fd: RawFd) -> io::Result<()> {
    let mut followed = Followed::open(path)?;
    let size = followed.file.metadata()?.len();
    followed.sent = size.saturating_sub(HEAD_BYTES);
    let watch = Watch::new(path)?;
    loop {
        let data = followed.more()?;
        if !data.is_empty() {
            body.send(&data)?;
            continue;
        }
        if !wait(&watch, client_fd) {
            return body.finish();
        }
    }
}

/// Last-Modified value for the response head.
pub fn mtime(path: &Path) -> i64 {
    std::fs::metadata(path).map(|m| m.mtime()).unwrap_or(0)
}
