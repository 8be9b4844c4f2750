//! Writing `sendProcessStdin` data to a program's stdin pipe. The worker hands out a
//! duplicate of the pipe's write end and the caller's thread (an RPC connection) writes,
//! so a program slow to read delays only that caller, never the worker. Everything is
//! delivered or the call fails: Supervisor buffers without limit and delivers all, and
//! silently dropping the rest would lose data.

use std::os::fd::{AsFd, AsRawFd, OwnedFd};

use nix::errno::Errno;
use nix::poll::{poll, PollFd, PollFlags, PollTimeout};
use std::sync::{Condvar, Mutex};
use std::time::{Duration, Instant};

use super::error::{ErrorKind, ProcessError};

/// A write fails when the program takes none of the data for this long.
pub const STALL_LIMIT: Duration = Duration::from_secs(10);

/// Pipes being written to, by inode: two calls for one program write one after the other,
/// so their data never interleaves.
static BUSY: (Mutex<Vec<u64>>, Condvar) = (Mutex::new(Vec::new()), Condvar::new());

struct Turn(u64);

impl Turn {
    fn take(ino: u64) -> Turn {
        let mut busy = BUSY.0.lock().unwrap_or_else(|p| p.into_inner());
        while busy.contains(&ino) {
            busy = BUSY.1.wait(busy).unwrap_or_else(|p| p.into_inner());
        }
        busy.push(ino);
        Turn(ino)
    }
}

impl Drop for Turn {
    fn drop(&mut self) {
        let mut busy = BUSY.0.lock().unwrap_or_else(|p| p.into_inner());
        busy.retain(|&i| i != self.0);
        BUSY.1.notify_all();
    }
}

/// Writes all of `data` to the (non-blocking) pipe `fd`, waiting for the reader as long as it
/// makes progress. `name` is for the fault text.
pub fn write_all(
    fd: &OwnedFd,
    data: &[u8],
    name: &str,
    stall: Duration,
) -> Result<(), ProcessError> {
    let ino = nix::sys::stat::fstat(fd.as_raw_fd())
        .map(|st| st.st_ino)
        .unwrap_or(0);
    let _turn = Turn::take(ino);
    let mut off = 0;
    let mut progress = Instant::now();
    while off < data.len() {
        match nix::unistd::write(fd, &data[off..]) {
            Ok(n) => {
                off += n;
                progress = Instant::now();
            }
            Err(Errno::EINTR) => {}
            Err(Errno::EAGAIN) => {
                let left = stall.saturating_sub(progress.elapsed());
                if left.is_zero() || !writable(fd, left) && progress.elapsed() >= stall {
                    let detail = format!(
                        "{name}: only {off} of {} bytes written; the program read nothing for {}s",
                        data.len(),
                        stall.as_secs()
                    );
                    return Err(ProcessError::new(ErrorKind::Failed, detail));
                }
            }
            Err(Errno::EPIPE) => return Err(ProcessError::new(ErrorKind::NoFile, "None")),
            Err(e) => {
                let detail = format!("{name}: writing to stdin failed: {e}");
                return Err(ProcessError::new(ErrorKind::Failed, detail));
            }
        }
    }
    Ok(())
}

/// Waits up to `limit` for `fd` to take more data.
fn writable(fd: &OwnedFd, limit: Duration) -> bool {
    let mut fds = [PollFd::new(fd.as_fd(), PollFlags::POLLOUT)];
    let ms = limit.as_millis().clamp(1, u128::from(u16::MAX)) as u16;
    matches!(poll(&mut fds, PollTimeout::from(ms)), Ok(n) if n > 0)
}
