//! The epoll set and the eventfd that wakes it: the two kernel objects the pump thread waits on.

use std::io;
use std::os::fd::{AsFd, BorrowedFd};

use nix::errno::Errno;
use nix::sys::epoll::{EpollCreateFlags, EpollEvent, EpollFlags, EpollTimeout};
use nix::sys::eventfd::{EfdFlags, EventFd};

pub type Event = EpollEvent;

pub struct Epoll(nix::sys::epoll::Epoll);

impl Epoll {
    pub fn new() -> io::Result<Epoll> {
        Ok(Epoll(nix::sys::epoll::Epoll::new(
            EpollCreateFlags::EPOLL_CLOEXEC,
        )?))
    }

    /// Watches `fd` for `events`, reported with `token`. Closing every descriptor of the open
    /// file removes it again.
    pub fn add(&self, fd: BorrowedFd<'_>, events: EpollFlags, token: u64) -> io::Result<()> {
        Ok(self.0.add(fd, EpollEvent::new(events, token))?)
    }

    /// Blocks until something is ready; returns how many entries of `events` are filled.
    pub fn wait(&self, events: &mut [Event]) -> io::Result<usize> {
        loop {
            match self.0.wait(events, EpollTimeout::NONE) {
                Ok(n) => return Ok(n),
                Err(Errno::EINTR) => continue,
                Err(e) => return Err(e.into()),
            }
        }
    }
}

/// A counter another thread bumps to wake the epoll wait.
pub struct Waker(EventFd);

impl Waker {
    pub fn new() -> io::Result<Waker> {
        let flags = EfdFlags::EFD_CLOEXEC | EfdFlags::EFD_NONBLOCK;
        Ok(Waker(EventFd::from_value_and_flags(0, flags)?))
    }

    pub fn fd(&self) -> BorrowedFd<'_> {
        self.0.as_fd()
    }

    pub fn wake(&self) {
        let _ = self.0.write(1);
    }

    /// Resets the counter (before taking the queued requests).
    pub fn reset(&self) {
        let _ = self.0.read();
    }
}
