//! The HTTP servers of `[unix_http_server]` and `[inet_http_server]`: listening, and one
//! thread per connection within each listener's own slots (`slots`), so a flood on TCP never
//! locks out the unix socket. `conn` serves one connection, `routes` answers a request,
//! `budget` bounds the memory of requests in flight, `bind` opens the sockets.

mod bind;
mod budget;
mod conn;
mod routes;
mod slots;

use std::io;
use std::net::TcpListener;
use std::os::fd::{AsRawFd, RawFd};
use std::os::unix::fs::MetadataExt;
use std::os::unix::net::UnixListener;
use std::path::PathBuf;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Condvar, Mutex};
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

pub use bind::ADDRESS_IN_USE;
use bind::{announce, bind_tcp, bind_unix};
use budget::Budget;
use conn::Conn;
use slots::Slots;

use super::backend::Backend;
use super::http::Limits;
use super::rpc::Rpc;
use crate::config::{Auth, Config};
use crate::util::lock;

/// Produces the body of `GET /metrics`; `None` serves [`super::metrics::render_backend`].
pub type MetricsHook = Arc<dyn Fn() -> String + Send + Sync>;

/// Tunables of the servers (defaults suit production; tests shorten the timeouts).
#[derive(Clone)]
pub struct ServerOptions {
    pub limits: Limits,
    /// Connection slots of each server (TCP and unix socket have their own). When all are
    /// taken, a connection that has not sent a request head yet gives way to a newcomer;
    /// when all are busy answering, the newcomer gets 503.
    pub max_connections: usize,
    /// Memory that request bodies being read and decoded may use at once, all servers
    /// together; a request beyond it waits briefly, then gets 503.
    pub request_memory: usize,
    pub metrics: Option<MetricsHook>,
}

impl Default for ServerOptions {
    fn default() -> Self {
        ServerOptions {
            limits: Limits::default(),
            max_connections: 64,
            request_memory: 64 * 1024 * 1024,
            metrics: None,
        }
    }
}

struct Shared {
    rpc: Rpc,
    options: ServerOptions,
    budget: Arc<Budget>,
}

enum Bound {
    Unix(UnixListener),
    Tcp(TcpListener),
}

impl Bound {
    fn accept(&self) -> io::Result<Conn> {
        Ok(match self {
            Bound::Unix(l) => Conn::Unix(l.accept()?.0),
            Bound::Tcp(l) => Conn::Tcp(l.accept()?.0),
        })
    }

    fn raw_fd(&self) -> RawFd {
        match self {
            Bound::Unix(l) => l.as_raw_fd(),
            Bound::Tcp(l) => l.as_raw_fd(),
        }
    }
}

struct Running {
    stop: Arc<AtomicBool>,
    listen_fd: RawFd,
    thread: Option<JoinHandle<()>>,
    /// The socket file and its inode, removed at close if still ours.
    socket_file: Option<(PathBuf, u64)>,
}

/// The running servers; `close` stops listening and removes the socket file.
pub struct ServerHandle {
    running: Mutex<Vec<Running>>,
    /// Local address of the TCP server, when there is one (useful with port 0).
    pub tcp_addr: Option<std::net::SocketAddr>,
}

impl ServerHandle {
    pub fn close(&self) {
        let mut running = match self.running.lock() {
            Ok(r) => r,
            Err(poisoned) => poisoned.into_inner(),
        };
        for r in running.iter_mut() {
            r.stop.store(true, Ordering::SeqCst);
            // Wakes the blocked accept(): on Linux shutdown() of a listening socket makes it
            // return EINVAL.
            // listen_fd stays open until the thread (which owns it) is joined below.
            let _ = nix::sys::socket::shutdown(r.listen_fd, nix::sys::socket::Shutdown::Both);
            if let Some(t) = r.thread.take() {
                let _ = t.join();
            }
            if let Some((path, ino)) = r.socket_file.take() {
                if std::fs::metadata(&path)
                    .map(|m| m.ino() == ino)
                    .unwrap_or(false)
                {
                    let _ = std::fs::remove_file(&path);
                }
            }
        }
        running.clear();
    }
}

impl Drop for ServerHandle {
    fn drop(&mut self) {
        self.close();
    }
}

/// Binds every configured server and starts serving.
pub fn start(config: Arc<Config>, backend: Arc<dyn Backend>) -> io::Result<ServerHandle> {
    start_with(config, backend, ServerOptions::default())
}

pub fn start_with(
    config: Arc<Config>,
    backend: Arc<dyn Backend>,
    options: ServerOptions,
) -> io::Result<ServerHandle> {
    let shared = Arc::new(Shared {
        rpc: Rpc::new(backend),
        budget: Budget::new(options.request_memory),
        options,
    });
    let handle = ServerHandle {
        running: Mutex::new(Vec::new()),
        tcp_addr: None,
    };
    let mut handle = handle;
    // Supervisor opens the inet server first, then the unix one.
    if let Some(inet) = &config.inet_http_server {
        let listener = bind_tcp(&inet.host, inet.port)?;
        handle.tcp_addr = listener.local_addr().ok();
        announce(
            "inet_http_server",
            inet.auth.is_some(),
            config.rpcinterface_supervisor,
        );
        let running = spawn_listener(
            Bound::Tcp(listener),
            inet.auth.clone(),
            shared.clone(),
            None,
        )?;
        lock(&handle.running).push(running);
    }
    if let Some(unix) = &config.unix_http_server {
        let (listener, ino) = bind_unix(&unix.file, unix.chmod, unix.chown)?;
        announce(
            "unix_http_server",
            unix.auth.is_some(),
            config.rpcinterface_supervisor,
        );
        let running = spawn_listener(
            Bound::Unix(listener),
            unix.auth.clone(),
            shared.clone(),
            Some((unix.file.clone(), ino)),
        );
        match running {
            Ok(r) => lock(&handle.running).push(r),
            Err(e) => {
                let _ = std::fs::remove_file(&unix.file);
                return Err(e);
            }
        }
    }
    Ok(handle)
}

fn spawn_listener(
    bound: Bound,
    auth: Option<Auth>,
    shared: Arc<Shared>,
    socket_file: Option<(PathBuf, u64)>,
) -> io::Result<Running> {
    let stop = Arc::new(AtomicBool::new(false));
    let listen_fd = bound.raw_fd();
    let thread_stop = stop.clone();
    let thread = std::thread::Builder::new()
        .name("ctl-accept".into())
        .stack_size(128 * 1024)
        .spawn(move || accept_loop(bound, auth.map(Arc::new), shared, thread_stop))?;
    Ok(Running {
        stop,
        listen_fd,
        thread: Some(thread),
        socket_file,
    })
}

fn accept_loop(bound: Bound, auth: Option<Arc<Auth>>, shared: Arc<Shared>, stop: Arc<AtomicBool>) {
    let slots = Slots::new(shared.options.max_connections);
    loop {
        let conn = bound.accept();
        if stop.load(Ordering::SeqCst) {
            return;
        }
        let accepted = Instant::now();
        let conn = match conn {
            Ok(c) => c,
            Err(e) => {
                match e.raw_os_error() {
                    Some(libc::EMFILE) | Some(libc::ENFILE) | Some(libc::ENOBUFS)
                    | Some(libc::ENOMEM) => {
                        // Out of descriptors: back off briefly instead of spinning on accept.
                        log::warn!("accepting an RPC connection failed: {e}");
                        std::thread::sleep(Duration::from_millis(100));
                    }
                    _ => {}
                }
                continue;
            }
        };
        let Some(slot) = slots.admit(&conn) else {
            conn::refuse(conn);
            continue;
        };
        let shared = shared.clone();
        let auth = auth.clone();
        let spawned = std::thread::Builder::new()
            .name("ctl-conn".into())
            .stack_size(512 * 1024)
            .spawn(move || conn::serve(conn, slot, accepted, auth.as_deref(), &shared));
        if let Err(e) = spawned {
            log::warn!("could not start a thread for an RPC connection: {e}");
        }
    }
}

/// RPC requests being answered, process-wide: a shutdown asked for over RPC must let its own
/// reply (and any other answer under way) reach the client before the process exits.
static IN_FLIGHT: (Mutex<usize>, Condvar) = (Mutex::new(0), Condvar::new());

/// One request being answered; leaving (drop, also on unwind) wakes `wait_for_replies`.
struct InFlight;

impl InFlight {
    fn enter() -> InFlight {
        *IN_FLIGHT.0.lock().unwrap_or_else(|p| p.into_inner()) += 1;
        InFlight
    }
}

impl Drop for InFlight {
    fn drop(&mut self) {
        let mut n = IN_FLIGHT.0.lock().unwrap_or_else(|p| p.into_inner());
        *n = n.saturating_sub(1);
        IN_FLIGHT.1.notify_all();
    }
}

/// Waits until no RPC request is being answered, at most `limit`.
pub fn wait_for_replies(limit: Duration) {
    let n = IN_FLIGHT.0.lock().unwrap_or_else(|p| p.into_inner());
    let _ = IN_FLIGHT
        .1
        .wait_timeout_while(n, limit, |n| *n > 0)
        .map_err(|p| p.into_inner());
}
