//! The epoll set and the eventfd that wakes it: the two kernel objects the pump thread waits on.

use std::io;
use std::os::fd::{AsRawFd, FromRawFd, OwnedFd, RawFd};

use super::fdio;

pub type Event = libc::epoll_event;

pub struct Epoll(OwnedFd);

fn owned(fd: libc::c_int) -> io::Result<OwnedFd> {
    if fd < 0 {
        return Err(io::Error::last_os_error());
    }
    // SAFETY: fd was just returned by the kernel and belongs to nobody else.
    Ok(unsafe { OwnedFd::from_raw_fd(fd) })
}

impl Epoll {
    pub fn new() -> io::Result<Epoll> {
        // SAFETY: no pointer arguments.
        owned(unsafe { libc::epoll_create1(libc::EPOLL_CLOEXEC) }).map(Epoll)
    }

    /// Watches `fd` for `events`, reported with `token`. Closing every descriptor of the open
    /// file removes it again.
    pub fn add(&self, fd: RawFd, events: u32, token: u64) -> io::Result<()> {
        let mut ev = Event { events, u64: token };
        // SAFETY: ev is valid for the call.
        if unsafe { libc::epoll_ctl(self.0.as_raw_fd(), libc::EPOLL_CTL_ADD, fd, &mut ev) } < 0 {
            return Err(io::Error::last_os_error());
        }
        Ok(())
    }

    /// Blocks until something is ready; returns how many entries of `events` are filled.
    pub fn wait(&self, events: &mut [Event]) -> io::Result<usize> {
        loop {
            // SAFETY: events has room for events.len() entries.
            let n = unsafe {
                libc::epoll_wait(
                    self.0.as_raw_fd(),
                    events.as_mut_ptr(),
                    events.len() as libc::c_int,
                    -1,
                )
            };
            if n >= 0 {
                return Ok(n as usize);
            }
            let e = io::Error::last_os_error();
            if e.kind() != io::ErrorKind::Interrupted {
                return Err(e);
            }
        }
    }
}

/// A counter another thread bumps to wake the epoll wait.
pub struct Waker(OwnedFd);

impl Waker {
    pub fn new() -> io::Result<Waker> {
        // SAFETY: no pointer arguments.
        owned(unsafe { libc::eventfd(0, libc::EFD_CLOEXEC | libc::EFD_NONBLOCK) }).map(Waker)
    }

    pub fn fd(&self) -> RawFd {
        self.0.as_raw_fd()
    }

    pub fn wake(&self) {
        let _ = fdio::write(self.fd(), &1u64.to_ne_bytes());
    }

    /// Resets the counter (before taking the queued requests).
    pub fn reset(&self) {
        let mut counter = [0u8; 8];
        let _ = fdio::read(self.fd(), &mut counter);
    }
}
