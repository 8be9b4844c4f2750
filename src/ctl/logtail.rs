//! `/logtail/...` and `/mainlogtail`: send the last 1024 bytes of a log file, then follow it
//! as it grows (inotify on its directory, no polling), across rotation and truncation, until
//! the client goes away.

use std::fs::File;
use std::io::{self, Read, Seek, SeekFrom, Write};
use std::os::fd::{AsFd, AsRawFd, BorrowedFd, RawFd};
use std::os::unix::fs::MetadataExt;
use std::path::{Path, PathBuf};

use nix::errno::Errno;
use nix::poll::{PollFd, PollFlags, PollTimeout};
use nix::sys::inotify::{AddWatchFlags, InitFlags, Inotify};
use nix::sys::socket::MsgFlags;

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
    inotify: Inotify,
}

impl Watch {
    fn new(path: &Path) -> io::Result<Watch> {
        let inotify = Inotify::init(InitFlags::IN_CLOEXEC | InitFlags::IN_NONBLOCK)?;
        let dir = path
            .parent()
            .filter(|p| !p.as_os_str().is_empty())
            .unwrap_or(Path::new("."));
        let mask = AddWatchFlags::IN_MODIFY
            | AddWatchFlags::IN_CREATE
            | AddWatchFlags::IN_MOVED_TO
            | AddWatchFlags::IN_MOVED_FROM
            | AddWatchFlags::IN_DELETE
            | AddWatchFlags::IN_CLOSE_WRITE
            | AddWatchFlags::IN_ATTRIB;
        for target in [dir, path] {
            let added = inotify.add_watch(target, mask);
            if target == dir {
                added?;
            }
        }
        Ok(Watch { inotify })
    }

    /// Discards queued events (we re-check the file after every wakeup anyway).
    fn drain(&self) {
        let mut buf = [0u8; 4096];
        let fd = self.inotify.as_fd().as_raw_fd();
        while nix::unistd::read(fd, &mut buf).is_ok_and(|n| n > 0) {}
    }
}

/// Blocks until the watch fires or the client socket becomes readable/hung up. Returns false
/// when the client is gone.
fn wait(watch: &Watch, client: BorrowedFd<'_>) -> bool {
    // POLLRDHUP is not asked for: nix's PollFlags cannot name it (revents() would then be
    // None). A client that closed its side is readable, and the read returns 0.
    let mut fds = [
        PollFd::new(watch.inotify.as_fd(), PollFlags::POLLIN),
        PollFd::new(client, PollFlags::POLLIN),
    ];
    let gone = PollFlags::POLLHUP | PollFlags::POLLERR | PollFlags::POLLNVAL;
    loop {
        match nix::poll::poll(&mut fds, PollTimeout::NONE) {
            Err(Errno::EINTR) => continue,
            Err(_) => return false,
            Ok(_) => {}
        }
        // Events nix cannot name end the stream rather than spin.
        let Some(client_events) = fds[1].revents() else {
            return false;
        };
        if client_events.intersects(gone) {
            return false;
        }
        if client_events.contains(PollFlags::POLLIN) && !discard_client_bytes(client.as_raw_fd()) {
            return false;
        }
        if fds[0].any() == Some(true) {
            watch.drain();
            return true;
        }
    }
}

/// Reads and drops what a streaming client sends (Supervisor's client ends its request with an
/// extra CRLF); false once it has closed its side.
fn discard_client_bytes(client: RawFd) -> bool {
    let mut buf = [0u8; 512];
    match nix::sys::socket::recv(client, &mut buf, MsgFlags::MSG_DONTWAIT) {
        Ok(n) => n > 0,
        Err(e) => e == Errno::EAGAIN,
    }
}

/// Streams `path` to the client until it disconnects or a write fails.
pub fn stream<W: Write>(path: &Path, mut body: BodyStream<W>, client_fd: RawFd) -> io::Result<()> {
    let mut followed = Followed::open(path)?;
    let size = followed.file.metadata()?.len();
    followed.sent = size.saturating_sub(HEAD_BYTES);
    let watch = Watch::new(path)?;
    // SAFETY: `client_fd` is the connection this stream answers; the server keeps it open
    // until this function returns, so the borrow never outlives the descriptor.
    let client = unsafe { BorrowedFd::borrow_raw(client_fd) };
    loop {
        let data = followed.more()?;
        if !data.is_empty() {
            body.send(&data)?;
            continue;
        }
        if !wait(&watch, client) {
            return body.finish();
        }
    }
}

/// Last-Modified value for the response head.
pub fn mtime(path: &Path) -> i64 {
    std::fs::metadata(path).map(|m| m.mtime()).unwrap_or(0)
}
