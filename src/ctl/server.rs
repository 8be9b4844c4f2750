//! The HTTP servers of `[unix_http_server]` and `[inet_http_server]`: binding (with
//! Supervisor's stale-socket rules), one thread per connection up to a bound, routing to the
//! XML-RPC handler and the log tails.

use std::io::{self, BufReader, Read, Write};
use std::net::{Shutdown, TcpListener, TcpStream};
use std::os::fd::{AsRawFd, RawFd};
use std::os::unix::fs::{MetadataExt, PermissionsExt};
use std::os::unix::net::{UnixListener, UnixStream};
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::{Arc, Condvar, Mutex};
use std::thread::JoinHandle;
use std::time::Duration;

use super::backend::{Backend, Channel};
use super::http::{self, Limits, ReadError, Request, Version};
use super::protocol::split_namespec;
use super::protocol::xmlrpc;
use super::rpc::Rpc;
use super::{logtail, webui};
use crate::config::{Auth, Config};
use crate::util::lock;

pub const ADDRESS_IN_USE: &str = "Another program is already listening on a port that one of our HTTP servers is configured to use.  Shut this program down first before starting supervisord.";

/// Produces the body of `GET /metrics`; `None` serves [`super::metrics::render_backend`].
pub type MetricsHook = Arc<dyn Fn() -> String + Send + Sync>;

/// Tunables of the servers (defaults suit production; tests shorten the timeouts).
#[derive(Clone)]
pub struct ServerOptions {
    pub limits: Limits,
    /// Connections served at once per server; more are answered 503 and closed.
    pub max_connections: usize,
    pub metrics: Option<MetricsHook>,
}

impl Default for ServerOptions {
    fn default() -> Self {
        ServerOptions {
            limits: Limits::default(),
            max_connections: 64,
            metrics: None,
        }
    }
}

struct Shared {
    rpc: Rpc,
    options: ServerOptions,
    /// Live log-tail streams: they last as long as their clients, so they may use only half
    /// of the connection slots and RPC calls always find room.
    streams: AtomicUsize,
}

enum Conn {
    Unix(UnixStream),
    Tcp(TcpStream),
}

impl Conn {
    fn try_clone(&self) -> io::Result<Conn> {
        Ok(match self {
            Conn::Unix(s) => Conn::Unix(s.try_clone()?),
            Conn::Tcp(s) => Conn::Tcp(s.try_clone()?),
        })
    }

    fn set_read_timeout(&self, d: Option<Duration>) -> io::Result<()> {
        match self {
            Conn::Unix(s) => s.set_read_timeout(d),
            Conn::Tcp(s) => s.set_read_timeout(d),
        }
    }

    fn set_write_timeout(&self, d: Option<Duration>) -> io::Result<()> {
        match self {
            Conn::Unix(s) => s.set_write_timeout(d),
            Conn::Tcp(s) => s.set_write_timeout(d),
        }
    }

    fn raw_fd(&self) -> RawFd {
        match self {
            Conn::Unix(s) => s.as_raw_fd(),
            Conn::Tcp(s) => s.as_raw_fd(),
        }
    }

    fn shutdown(&self) {
        let _ = match self {
            Conn::Unix(s) => s.shutdown(Shutdown::Both),
            Conn::Tcp(s) => s.shutdown(Shutdown::Both),
        };
    }
}

impl Read for Conn {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        match self {
            Conn::Unix(s) => s.read(buf),
            Conn::Tcp(s) => s.read(buf),
        }
    }
}

impl Write for Conn {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        match self {
            Conn::Unix(s) => s.write(buf),
            Conn::Tcp(s) => s.write(buf),
        }
    }

    fn flush(&mut self) -> io::Result<()> {
        Ok(())
    }
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
        options,
        streams: AtomicUsize::new(0),
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

fn announce(section: &str, has_auth: bool, supervisor_ns: bool) {
    if supervisor_ns {
        log::info!("RPC interface 'supervisor' initialized");
    }
    if !has_auth {
        log::error!(target: "crit", "Server '{section}' running without any HTTP authentication checking");
    }
}

fn bind_error(e: io::Error) -> io::Error {
    if e.raw_os_error() == Some(libc::EADDRINUSE) {
        return io::Error::new(io::ErrorKind::AddrInUse, ADDRESS_IN_USE);
    }
    let code = e.raw_os_error().unwrap_or(0);
    let name = match code {
        libc::EACCES => "EACCES",
        libc::EADDRNOTAVAIL => "EADDRNOTAVAIL",
        libc::ENOENT => "ENOENT",
        libc::ENOTDIR => "ENOTDIR",
        libc::EROFS => "EROFS",
        libc::EPERM => "EPERM",
        libc::ENAMETOOLONG => "ENAMETOOLONG",
        _ => "",
    };
    let msg = if name.is_empty() {
        format!("Cannot open an HTTP server: socket.error reported {code}")
    } else {
        format!("Cannot open an HTTP server: socket.error reported errno.{name} ({code})")
    };
    io::Error::new(e.kind(), msg)
}

fn bind_tcp(host: &str, port: u16) -> io::Result<TcpListener> {
    let host = if host.is_empty() || host == "*" {
        "0.0.0.0"
    } else {
        host
    };
    TcpListener::bind((host, port)).map_err(bind_error)
}

/// Whether something accepts connections on the socket at `path`.
fn socket_in_use(path: &Path) -> bool {
    UnixStream::connect(path).is_ok()
}

/// Binds `<file>.<pid>`, sets its mode and owner, then hard-links it to `<file>` (so a live
/// server's socket is never replaced); a stale `<file>` is unlinked with a note on stderr.
fn bind_unix(
    file: &Path,
    chmod: u32,
    chown: Option<(u32, u32)>,
) -> io::Result<(UnixListener, u64)> {
    let mut temp = file.as_os_str().to_owned();
    temp.push(format!(".{}", std::process::id()));
    let temp = PathBuf::from(temp);
    let _ = std::fs::remove_file(&temp);
    let mut attempts = 0;
    loop {
        attempts += 1;
        let listener = UnixListener::bind(&temp).map_err(bind_error)?;
        let outcome = (|| -> io::Result<u64> {
            std::fs::set_permissions(&temp, std::fs::Permissions::from_mode(chmod))?;
            match std::fs::hard_link(&temp, file) {
                Ok(()) => {}
                Err(e) if e.kind() == io::ErrorKind::AlreadyExists => {
                    return Err(e);
                }
                Err(e) => return Err(bind_error(e)),
            }
            if let Some((uid, gid)) = chown {
                nix::unistd::chown(file, Some(uid.into()), Some(gid.into())).map_err(|e| {
                    io::Error::other(format!(
                        "Not permitted to chown {} to uid/gid ({uid}, {gid}): {e}",
                        file.display()
                    ))
                })?;
            }
            Ok(std::fs::metadata(file)?.ino())
        })();
        let _ = std::fs::remove_file(&temp);
        match outcome {
            Ok(ino) => return Ok((listener, ino)),
            Err(e) if e.kind() == io::ErrorKind::AlreadyExists && attempts < 5 => {
                drop(listener);
                if socket_in_use(file) {
                    return Err(io::Error::new(io::ErrorKind::AddrInUse, ADDRESS_IN_USE));
                }
                if file.symlink_metadata().is_ok_and(|m| m.is_dir()) {
                    return Err(io::Error::new(
                        io::ErrorKind::AlreadyExists,
                        format!(
                            "Cannot open an HTTP server: {} is a directory, not a socket",
                            file.display()
                        ),
                    ));
                }
                crate::util::write_stderr(&format!("Unlinking stale socket {}\n", file.display()));
                match std::fs::remove_file(file) {
                    Err(e) if e.kind() != io::ErrorKind::NotFound => {
                        return Err(io::Error::new(
                            e.kind(),
                            format!(
                                "Cannot open an HTTP server: cannot remove the stale socket {}: {e}",
                                file.display()
                            ),
                        ));
                    }
                    _ => {}
                }
            }
            Err(e) if e.kind() == io::ErrorKind::AlreadyExists => {
                return Err(io::Error::new(io::ErrorKind::AddrInUse, ADDRESS_IN_USE));
            }
            Err(e) => return Err(e),
        }
    }
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
    let active = Arc::new(AtomicUsize::new(0));
    loop {
        let conn = bound.accept();
        if stop.load(Ordering::SeqCst) {
            return;
        }
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
        if active.load(Ordering::SeqCst) >= shared.options.max_connections {
            refuse(conn);
            continue;
        }
        active.fetch_add(1, Ordering::SeqCst);
        let guard = ActiveGuard(active.clone());
        let shared = shared.clone();
        let auth = auth.clone();
        let spawned = std::thread::Builder::new()
            .name("ctl-conn".into())
            .stack_size(512 * 1024)
            .spawn(move || {
                let _guard = guard;
                serve(conn, auth.as_deref(), &shared);
            });
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

/// Decrements a live count when dropped (even by a panic unwinding).
struct ActiveGuard<C: std::ops::Deref<Target = AtomicUsize>>(C);

impl<C: std::ops::Deref<Target = AtomicUsize>> Drop for ActiveGuard<C> {
    fn drop(&mut self) {
        self.0.fetch_sub(1, Ordering::SeqCst);
    }
}

fn refuse(mut conn: Conn) {
    let _ = conn.set_write_timeout(Some(Duration::from_millis(200)));
    let body = http::error_body(503);
    let _ = http::write_response(
        &mut conn,
        Version::Http10,
        503,
        &[("Content-Type", "text/html")],
        body.as_bytes(),
        false,
    );
    conn.shutdown();
}

fn serve(conn: Conn, auth: Option<&Auth>, shared: &Shared) {
    let Ok(read_half) = conn.try_clone() else {
        return;
    };
    let mut reader = BufReader::with_capacity(8192, read_half);
    let mut out = conn;
    let _ = out.set_write_timeout(Some(Duration::from_secs(60)));
    loop {
        let request = {
            let timeouts = &out;
            let mut set_timeout = |d: Duration| timeouts.set_read_timeout(Some(d));
            let mut send_continue = || {
                let mut w = timeouts.try_clone()?;
                w.write_all(b"HTTP/1.1 100 Continue\r\n\r\n")
            };
            http::read_request(
                &mut reader,
                &shared.options.limits,
                &mut set_timeout,
                &mut send_continue,
            )
        };
        let request = match request {
            Ok(r) => r,
            Err(ReadError::Closed) | Err(ReadError::Io(_)) => return,
            Err(ReadError::Timeout) => {
                let _ = http::write_error(&mut out, Version::Http11, 408);
                out.shutdown();
                return;
            }
            Err(ReadError::Reject(status)) => {
                let _ = http::write_error(&mut out, Version::Http11, status);
                out.shutdown();
                return;
            }
        };
        // RPC calls are POSTs; log streams (GET) may last forever and are not waited for.
        let _in_flight = (request.method == "POST").then(InFlight::enter);
        let outcome = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
            handle(&request, &mut out, auth, shared)
        }));
        match outcome {
            Ok(Ok(true)) => continue,
            Ok(Ok(false)) | Ok(Err(_)) => {
                out.shutdown();
                return;
            }
            Err(_) => {
                log::error!(
                    "handling a {} {} request panicked",
                    request.method,
                    request.target
                );
                let _ = http::write_error(&mut out, request.version, 500);
                out.shutdown();
                return;
            }
        }
    }
}

/// Answers one request; Ok(true) when the connection may serve another.
fn handle(
    request: &Request,
    out: &mut Conn,
    auth: Option<&Auth>,
    shared: &Shared,
) -> io::Result<bool> {
    if !http::authorized(request, auth) {
        http::write_error(out, request.version, 401)?;
        return Ok(false);
    }
    let path = request.path();
    let method = request.method.as_str();
    if !matches!(method, "GET" | "POST") {
        let body = http::error_body(405);
        let headers = [("Content-Type", "text/html"), ("Allow", "GET, POST")];
        http::write_response(out, request.version, 405, &headers, body.as_bytes(), false)?;
        return Ok(false);
    }
    if path.starts_with("/RPC2") {
        if method != "POST" {
            http::write_error(out, request.version, 400)?;
            return Ok(false);
        }
        return handle_rpc(request, out, shared);
    }
    if let Some(rest) = path.strip_prefix("/logtail/") {
        if method != "GET" {
            http::write_error(out, request.version, 400)?;
            return Ok(false);
        }
        return handle_logtail(request, out, shared, Some(rest));
    }
    if path == "/mainlogtail" {
        if method != "GET" {
            http::write_error(out, request.version, 400)?;
            return Ok(false);
        }
        return handle_logtail(request, out, shared, None);
    }
    if path == "/metrics" && method == "GET" {
        let body = match &shared.options.metrics {
            Some(hook) => hook(),
            None => super::metrics::render_backend(shared.rpc.backend().as_ref()),
        };
        let headers = [("Content-Type", "text/plain; version=0.0.4")];
        http::write_response(
            out,
            request.version,
            200,
            &headers,
            body.as_bytes(),
            request.keep_alive(),
        )?;
        return Ok(request.keep_alive());
    }
    if let Some(reply) = super::web::route(&shared.rpc, request, &path) {
        let headers = [
            ("Content-Type", reply.content_type),
            ("Cache-Control", "no-store"),
        ];
        let keep = request.keep_alive();
        http::write_response(
            out,
            request.version,
            reply.status,
            &headers,
            &reply.body,
            keep,
        )?;
        return Ok(keep);
    }
    let query = request.target.split_once('?').map(|(_, q)| q).unwrap_or("");
    let body = if method == "POST" {
        request.body.as_slice()
    } else {
        &[]
    };
    let keep = request.keep_alive();
    match webui::handle(&shared.rpc, &path, query, body) {
        webui::Page::Html(html) => {
            let headers = [("Content-Type", "text/html")];
            http::write_response(out, request.version, 200, &headers, html.as_bytes(), keep)?;
            Ok(keep)
        }
        webui::Page::Text(text) => {
            let headers = [("Content-Type", "text/plain")];
            http::write_response(out, request.version, 200, &headers, text.as_bytes(), keep)?;
            Ok(keep)
        }
        webui::Page::Redirect(location) => {
            let headers = [
                ("Location", location.as_str()),
                ("Content-Type", "text/html"),
            ];
            http::write_response(out, request.version, 302, &headers, b"", keep)?;
            Ok(keep)
        }
        webui::Page::NotFound => {
            http::write_error(out, request.version, 404)?;
            Ok(false)
        }
    }
}

/// Python's repr of the request text, as Supervisor logs it (cut after 200 bytes).
fn body_repr(body: &[u8]) -> String {
    super::client::python_str_repr(&String::from_utf8_lossy(&body[..body.len().min(200)]))
}

fn handle_rpc(request: &Request, out: &mut Conn, shared: &Shared) -> io::Result<bool> {
    let call = match xmlrpc::parse_call(&request.body) {
        Ok(c) => c,
        Err(why) => {
            log::error!(
                "XML-RPC request data {} is invalid: unmarshallable",
                body_repr(&request.body)
            );
            log::debug!("XML-RPC parse error: {why}");
            http::write_error(out, request.version, 400)?;
            return Ok(false);
        }
    };
    if call.name.is_empty() {
        log::error!(
            "XML-RPC request data {} is invalid: no method name",
            body_repr(&request.body)
        );
        http::write_error(out, request.version, 400)?;
        return Ok(false);
    }
    log::trace!("XML-RPC method called: {}()", call.name);
    let body = match shared.rpc.call(&call.name, &call.params) {
        Ok(value) => {
            log::trace!("XML-RPC method {}() returned successfully", call.name);
            xmlrpc::dumps_response(&value)
        }
        Err(f) => {
            log::trace!(
                "XML-RPC method {}() returned fault: [{}] {}",
                call.name,
                f.code,
                f.string
            );
            xmlrpc::dumps_fault(i64::from(f.code), &f.string)
        }
    };
    let keep = request.keep_alive();
    http::write_response(
        out,
        request.version,
        200,
        &[("Content-Type", "text/xml")],
        body.as_bytes(),
        keep,
    )?;
    Ok(keep)
}

/// `rest` is `NAME[/CHANNEL]` for `/logtail/`, `None` for `/mainlogtail`.
fn handle_logtail(
    request: &Request,
    out: &mut Conn,
    shared: &Shared,
    rest: Option<&str>,
) -> io::Result<bool> {
    let backend = shared.rpc.backend();
    let path = match rest {
        None => backend.main_log_path(),
        Some(rest) => {
            let (name, channel) = match rest.split_once('/') {
                Some((n, c)) => (n, c),
                None => (rest, "stdout"),
            };
            let channel = match channel {
                "stdout" => Some(Channel::Stdout),
                "stderr" => Some(Channel::Stderr),
                _ => None,
            };
            resolve_log(backend.as_ref(), name, channel)
        }
    };
    // Only regular files are followed: a log going to /dev/stdout (a pipe or terminal) has
    // nothing to tail, and opening the pipe for reading would hold its read end.
    let Some(path) = path.filter(|p| std::fs::metadata(p).is_ok_and(|m| m.is_file())) else {
        http::write_error(out, request.version, 404)?;
        return Ok(false);
    };
    let last_modified = http::http_date(logtail::mtime(&path));
    let headers = [
        ("Content-Type", "text/plain;charset=utf-8"),
        ("X-Accel-Buffering", "no"),
        ("Last-Modified", last_modified.as_str()),
    ];
    let fd = out.raw_fd();
    let writer = out.try_clone()?;
    if shared.streams.fetch_add(1, Ordering::SeqCst) >= (shared.options.max_connections / 2).max(1)
    {
        shared.streams.fetch_sub(1, Ordering::SeqCst);
        http::write_error(out, request.version, 503)?;
        return Ok(false);
    }
    let _slot = ActiveGuard(&shared.streams);
    let body = http::BodyStream::start(writer, request.version, &headers)?;
    if let Err(e) = logtail::stream(&path, body, fd) {
        log::debug!("log tail of {} ended: {e}", path.display());
    }
    Ok(false)
}

fn resolve_log(backend: &dyn Backend, name: &str, channel: Option<Channel>) -> Option<PathBuf> {
    let channel = channel?;
    let (group, process) = split_namespec(name);
    let process = process?;
    let info = backend
        .all_process_info()
        .into_iter()
        .find(|i| i.group == group && i.name == process)?;
    backend.log_path(&info.namespec(), channel).ok().flatten()
}
