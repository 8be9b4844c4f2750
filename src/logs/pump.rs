//! The output pump: one thread, one epoll set over every child pipe, draining each as soon as
//! it is readable so a child never blocks on a full pipe. Plain files take the data by
//! splice(2) (pipe → file inside the kernel); everything else goes through one shared buffer.

use std::collections::HashMap;
use std::io;
use std::os::fd::{AsRawFd, FromRawFd, OwnedFd, RawFd};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;

use crossbeam_channel::{Receiver, Sender};

use super::fdio;
use super::sink::Sink;
use super::transform::{PipeState, Scratch};

/// Read buffer of the pump (one for all pipes).
const READ_CHUNK: usize = 256 * 1024;
/// Most bytes moved by one splice call.
const SPLICE_CHUNK: usize = 1 << 20;
/// Chunks taken from one pipe before the others get their turn.
const CHUNKS_PER_TURN: usize = 4;
/// Kernel buffer given to a pipe once it proves busy (a full default pipe in one go): fewer
/// wakeups per megabyte (about 10% less pump CPU at 1 GiB). Idle pipes keep the default.
const BUSY_PIPE_SIZE: usize = 1 << 20;
const DEFAULT_PIPE_SIZE: usize = 64 * 1024;
/// Most pipes grown at once: without CAP_SYS_RESOURCE (Docker's default) the kernel charges pipe
/// capacity to the user (`pipe-user-pages-soft`, 64 MiB) and past it shrinks new pipes.
const MAX_GROWN_PIPES: usize = 8;

const WAKE_TOKEN: u64 = u64::MAX;
/// Tokens with this bit watch a stream sink for writability; the others are pipe slots.
const OUT_BIT: u64 = 1 << 62;

type OnEof = Box<dyn FnOnce() + Send>;

enum Cmd {
    Attach {
        pipe: OwnedFd,
        sink: Arc<Sink>,
        on_eof: Option<OnEof>,
    },
    Stop,
}

/// Drains child pipes into sinks.
pub struct OutputPump {
    tx: Sender<Cmd>,
    wake: Arc<OwnedFd>,
    active: Arc<AtomicUsize>,
}

impl OutputPump {
    /// Starts the pump thread.
    pub fn new() -> io::Result<Arc<OutputPump>> {
        // SAFETY: plain syscalls returning new descriptors we own.
        let epfd = unsafe { libc::epoll_create1(libc::EPOLL_CLOEXEC) };
        if epfd < 0 {
            return Err(io::Error::last_os_error());
        }
        // SAFETY: epfd was just created.
        let epfd = unsafe { OwnedFd::from_raw_fd(epfd) };
        // SAFETY: as above.
        let wake = unsafe { libc::eventfd(0, libc::EFD_CLOEXEC | libc::EFD_NONBLOCK) };
        if wake < 0 {
            return Err(io::Error::last_os_error());
        }
        // SAFETY: wake was just created.
        let wake = Arc::new(unsafe { OwnedFd::from_raw_fd(wake) });
        epoll_add(
            epfd.as_raw_fd(),
            wake.as_raw_fd(),
            libc::EPOLLIN as u32,
            WAKE_TOKEN,
        )?;
        let (tx, rx) = crossbeam_channel::unbounded();
        let active = Arc::new(AtomicUsize::new(0));
        let worker = Worker {
            epfd,
            wake: wake.clone(),
            rx,
            pipes: Vec::new(),
            free: Vec::new(),
            outs: HashMap::new(),
            buf: Vec::new(),
            scratch: Scratch::default(),
            active: active.clone(),
            grown: 0,
        };
        std::thread::Builder::new()
            .name("output-pump".into())
            .stack_size(256 * 1024)
            .spawn(move || worker.run())?;
        Ok(Arc::new(OutputPump { tx, wake, active }))
    }

    /// Drains `pipe` into `sink` until EOF.
    pub fn attach(&self, pipe: OwnedFd, sink: Arc<Sink>) {
        self.send(Cmd::Attach {
            pipe,
            sink,
            on_eof: None,
        });
    }

    /// Like [`attach`](Self::attach); `on_eof` runs on the pump thread once the pipe is closed
    /// and everything read from it has been handed to the sink (written, or for a full stdout
    /// pipe queued in its backlog). Keep it short: send on a channel.
    pub fn attach_with_eof(
        &self,
        pipe: OwnedFd,
        sink: Arc<Sink>,
        on_eof: impl FnOnce() + Send + 'static,
    ) {
        self.send(Cmd::Attach {
            pipe,
            sink,
            on_eof: Some(Box::new(on_eof)),
        });
    }

    /// Pipes currently being drained.
    pub fn active_pipes(&self) -> usize {
        self.active.load(Ordering::Relaxed)
    }

    fn send(&self, cmd: Cmd) {
        if self.tx.send(cmd).is_err() {
            log::error!("output pump thread is gone: child output cannot be drained");
            return;
        }
        wake(self.wake.as_raw_fd());
    }
}

impl Drop for OutputPump {
    fn drop(&mut self) {
        let _ = self.tx.send(Cmd::Stop);
        wake(self.wake.as_raw_fd());
    }
}

fn wake(fd: RawFd) {
    let one: u64 = 1;
    let _ = fdio::write(fd, &one.to_ne_bytes());
}

fn epoll_ctl(epfd: RawFd, op: libc::c_int, fd: RawFd, events: u32, token: u64) -> io::Result<()> {
    let mut ev = libc::epoll_event { events, u64: token };
    // SAFETY: ev is valid for the call.
    if unsafe { libc::epoll_ctl(epfd, op, fd, &mut ev) } < 0 {
        return Err(io::Error::last_os_error());
    }
    Ok(())
}

fn epoll_add(epfd: RawFd, fd: RawFd, events: u32, token: u64) -> io::Result<()> {
    epoll_ctl(epfd, libc::EPOLL_CTL_ADD, fd, events, token)
}

struct PipeEntry {
    fd: OwnedFd,
    sink: Arc<Sink>,
    state: PipeState,
    on_eof: Option<OnEof>,
    grown: bool,
    grow_tried: bool,
}

/// A stream sink waiting to become writable, watched through our own duplicate of its fd (so a
/// reopen of the sink cannot leave a stale registration behind).
struct OutWatch {
    _fd: OwnedFd,
    sink: Arc<Sink>,
}

struct Worker {
    epfd: OwnedFd,
    wake: Arc<OwnedFd>,
    rx: Receiver<Cmd>,
    pipes: Vec<Option<PipeEntry>>,
    free: Vec<usize>,
    /// Keyed by the sink's address (one watch per sink).
    outs: HashMap<usize, OutWatch>,
    buf: Vec<u8>,
    scratch: Scratch,
    active: Arc<AtomicUsize>,
    /// Open pipes that were grown to BUSY_PIPE_SIZE.
    grown: usize,
}

enum Drain {
    More,
    Empty,
    Eof,
}

impl Worker {
    fn run(mut self) {
        let mut events = vec![libc::epoll_event { events: 0, u64: 0 }; 64];
        loop {
            // SAFETY: events has room for events.len() entries.
            let n = unsafe {
                libc::epoll_wait(
                    self.epfd.as_raw_fd(),
                    events.as_mut_ptr(),
                    events.len() as libc::c_int,
                    -1,
                )
            };
            if n < 0 {
                let e = io::Error::last_os_error();
                if e.kind() == io::ErrorKind::Interrupted {
                    continue;
                }
                log::error!("output pump: epoll_wait failed: {e}");
                return;
            }
            for ev in &events[..n as usize] {
                let token = ev.u64;
                if token == WAKE_TOKEN {
                    if !self.take_commands() {
                        return;
                    }
                } else if token & OUT_BIT != 0 {
                    self.flush_out((token & !OUT_BIT) as usize);
                } else {
                    self.service_pipe_guarded(token as usize);
                }
            }
        }
    }

    /// Handles attach/stop requests; false when the pump must end.
    fn take_commands(&mut self) -> bool {
        let mut counter = [0u8; 8];
        let _ = fdio::read(self.wake.as_raw_fd(), &mut counter);
        while let Ok(cmd) = self.rx.try_recv() {
            match cmd {
                Cmd::Attach { pipe, sink, on_eof } => self.add_pipe(pipe, sink, on_eof),
                Cmd::Stop => return false,
            }
        }
        true
    }

    fn add_pipe(&mut self, fd: OwnedFd, sink: Arc<Sink>, on_eof: Option<OnEof>) {
        if let Err(e) = fdio::set_nonblocking(fd.as_raw_fd()) {
            log::warn!(
                "output pump: cannot make pipe of '{}' non-blocking: {e}",
                sink.process_name
            );
        }
        let slot = self.free.pop().unwrap_or_else(|| {
            self.pipes.push(None);
            self.pipes.len() - 1
        });
        let events = (libc::EPOLLIN | libc::EPOLLRDHUP) as u32;
        if let Err(e) = epoll_add(self.epfd.as_raw_fd(), fd.as_raw_fd(), events, slot as u64) {
            log::error!(
                "output pump: cannot watch {} pipe of '{}': {e}",
                sink.channel,
                sink.process_name
            );
            self.free.push(slot);
            return;
        }
        self.active.fetch_add(1, Ordering::Relaxed);
        self.pipes[slot] = Some(PipeEntry {
            fd,
            state: PipeState::for_sink(&sink),
            sink,
            on_eof,
            grown: false,
            grow_tried: false,
        });
    }

    /// Services a pipe; should that panic, the pipe is closed (its slot stays empty) and the
    /// pump keeps draining every other child.
    fn service_pipe_guarded(&mut self, slot: usize) {
        let call = std::panic::AssertUnwindSafe(|| self.service_pipe(slot));
        if std::panic::catch_unwind(call).is_err() {
            log::error!("output pump: draining a pipe panicked; that pipe is closed");
            // The entry was out of its slot while being serviced: unwinding closed it. Free the
            // slot unless the panic came after `close_pipe` already did.
            if !self.free.contains(&slot) {
                self.free.push(slot);
                self.active.fetch_sub(1, Ordering::Relaxed);
            }
        }
    }

    fn service_pipe(&mut self, slot: usize) {
        let Some(Some(mut entry)) = self.pipes.get_mut(slot).map(Option::take) else {
            return;
        };
        let mut pending = false;
        let mut outcome = Drain::More;
        for _ in 0..CHUNKS_PER_TURN {
            outcome = self.drain_once(&mut entry, &mut pending);
            if !matches!(outcome, Drain::More) {
                break;
            }
        }
        if pending {
            self.watch_out(&entry.sink);
        }
        if matches!(outcome, Drain::Eof) {
            self.close_pipe(slot, entry);
        } else {
            self.pipes[slot] = Some(entry);
        }
    }

    /// Moves one chunk from the pipe to its sink.
    fn drain_once(&mut self, entry: &mut PipeEntry, pending: &mut bool) -> Drain {
        let fd = entry.fd.as_raw_fd();
        if entry.state.is_passthrough() && entry.sink.can_splice() {
            match entry.sink.splice_from(fd, SPLICE_CHUNK) {
                Ok(0) => return Drain::Eof,
                Ok(n) => {
                    self.maybe_grow(entry, n);
                    return Drain::More;
                }
                Err(e) if e.kind() == io::ErrorKind::WouldBlock => return Drain::Empty,
                // The bytes are still in the pipe: read them the ordinary way below.
                Err(_) => {}
            }
        }
        if self.buf.is_empty() {
            self.buf = vec![0u8; READ_CHUNK];
        }
        match fdio::read(fd, &mut self.buf) {
            Ok(0) => Drain::Eof,
            Ok(n) => {
                self.maybe_grow(entry, n);
                *pending |= entry
                    .state
                    .consume(&entry.sink, &self.buf[..n], &mut self.scratch);
                // A short read emptied the pipe: skip the read that would only say EAGAIN
                // (epoll reports the pipe again when more arrives or it closes).
                if n < self.buf.len() {
                    Drain::Empty
                } else {
                    Drain::More
                }
            }
            Err(e) if e.kind() == io::ErrorKind::WouldBlock => Drain::Empty,
            Err(e) => {
                log::warn!(
                    "output pump: reading {} of '{}' failed: {e}",
                    entry.sink.channel,
                    entry.sink.process_name
                );
                Drain::Eof
            }
        }
    }

    fn maybe_grow(&mut self, entry: &mut PipeEntry, moved: usize) {
        if !entry.grow_tried && moved >= DEFAULT_PIPE_SIZE && self.grown < MAX_GROWN_PIPES {
            entry.grow_tried = true;
            entry.grown = fdio::grow_pipe(entry.fd.as_raw_fd(), BUSY_PIPE_SIZE);
            self.grown += usize::from(entry.grown);
        }
    }

    fn close_pipe(&mut self, slot: usize, mut entry: PipeEntry) {
        if entry.state.finish(&entry.sink, &mut self.scratch) {
            self.watch_out(&entry.sink);
        }
        self.grown -= usize::from(entry.grown);
        // Closing the descriptor removes it from the epoll set.
        drop(entry.fd);
        self.free.push(slot);
        self.active.fetch_sub(1, Ordering::Relaxed);
        if let Some(cb) = entry.on_eof.take() {
            cb();
        }
    }

    /// Starts waiting for a stream sink with a backlog to become writable.
    fn watch_out(&mut self, sink: &Arc<Sink>) {
        let key = Arc::as_ptr(sink) as usize;
        if self.outs.contains_key(&key) {
            return;
        }
        let Some(fd) = sink.stream_fd() else { return };
        // SAFETY: duplicating a descriptor the sink keeps open during this call.
        let dup = unsafe { libc::fcntl(fd, libc::F_DUPFD_CLOEXEC, 3) };
        if dup < 0 {
            return;
        }
        // SAFETY: dup is a fresh descriptor we own.
        let dup = unsafe { OwnedFd::from_raw_fd(dup) };
        let token = OUT_BIT | key as u64;
        if epoll_add(
            self.epfd.as_raw_fd(),
            dup.as_raw_fd(),
            libc::EPOLLOUT as u32,
            token,
        )
        .is_ok()
        {
            self.outs.insert(
                key,
                OutWatch {
                    _fd: dup,
                    sink: sink.clone(),
                },
            );
        }
    }

    fn flush_out(&mut self, key: usize) {
        let Some(w) = self.outs.get(&key) else { return };
        if !w.sink.flush_backlog() {
            // Dropping the duplicate removes it from the epoll set.
            self.outs.remove(&key);
        }
    }
}
