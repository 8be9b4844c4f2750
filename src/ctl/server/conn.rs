//! One connection's life: read a head by its deadline, check the credentials, reserve memory
//! for the body, read the body at a minimum rate, answer, and again while kept alive.

use std::io::{self, BufReader, Read, Write};
use std::net::{Shutdown, TcpStream};
use std::os::fd::{AsRawFd, RawFd};
use std::os::unix::net::UnixStream;
use std::time::{Duration, Instant};

use super::slots::Slot;
use super::{budget, routes, Shared};
use crate::config::Auth;
use crate::ctl::http::{self, ReadError, Request, Version};

/// How long a request waits for the memory budget before it gets 503.
const BUDGET_WAIT: Duration = Duration::from_secs(2);

/// After an early answer, unread input is discarded for at most this long and this much.
const LINGER: Duration = Duration::from_millis(500);
const LINGER_BYTES: usize = 1024 * 1024;

pub enum Conn {
    Unix(UnixStream),
    Tcp(TcpStream),
}

impl Conn {
    pub fn try_clone(&self) -> io::Result<Conn> {
        Ok(match self {
            Conn::Unix(s) => Conn::Unix(s.try_clone()?),
            Conn::Tcp(s) => Conn::Tcp(s.try_clone()?),
        })
    }

    pub fn set_read_timeout(&self, d: Option<Duration>) -> io::Result<()> {
        match self {
            Conn::Unix(s) => s.set_read_timeout(d),
            Conn::Tcp(s) => s.set_read_timeout(d),
        }
    }

    pub fn set_write_timeout(&self, d: Option<Duration>) -> io::Result<()> {
        match self {
            Conn::Unix(s) => s.set_write_timeout(d),
            Conn::Tcp(s) => s.set_write_timeout(d),
        }
    }

    pub fn raw_fd(&self) -> RawFd {
        match self {
            Conn::Unix(s) => s.as_raw_fd(),
            Conn::Tcp(s) => s.as_raw_fd(),
        }
    }

    pub fn shutdown(&self) {
        self.shutdown_how(Shutdown::Both);
    }

    fn shutdown_how(&self, how: Shutdown) {
        let _ = match self {
            Conn::Unix(s) => s.shutdown(how),
            Conn::Tcp(s) => s.shutdown(how),
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

/// Answers 503 to a connection that found no slot (or lost it) and shuts it down.
pub fn refuse(mut conn: Conn) {
    // Never blocks the accept loop for long: an empty send buffer takes this at once.
    let _ = conn.set_write_timeout(Some(Duration::from_millis(50)));
    let _ = http::write_error(&mut conn, Version::Http10, 503);
    conn.shutdown();
}

/// What ended a request before it could be answered.
enum Early {
    /// Close without a word (peer gone, idle, slot given away).
    Quiet,
    /// Answer this status, then close.
    Status(Version, u16),
}

impl From<ReadError> for Early {
    fn from(e: ReadError) -> Early {
        match e {
            ReadError::Closed | ReadError::Io(_) => Early::Quiet,
            ReadError::Timeout => Early::Status(Version::Http11, 408),
            ReadError::Reject(status) => Early::Status(Version::Http11, status),
        }
    }
}

/// Serves requests on `conn` until it closes, times out or is evicted.
pub fn serve(conn: Conn, slot: Slot, accepted: Instant, auth: Option<&Auth>, shared: &Shared) {
    let Ok(read_half) = conn.try_clone() else {
        return;
    };
    let mut reader = BufReader::with_capacity(8192, read_half);
    let mut out = conn;
    let _ = out.set_write_timeout(Some(Duration::from_secs(60)));
    let limits = shared.options.limits;
    // The first head is due `header_timeout` after the accept, whether bytes came or not.
    let mut head_deadline = Some(accepted + limits.header_timeout);
    loop {
        slot.waiting();
        let request = match read_one(&mut reader, &mut out, &slot, head_deadline, auth, shared) {
            Ok(r) => r,
            Err(Early::Quiet) => return,
            Err(Early::Status(version, status)) => {
                let _ = http::write_error(&mut out, version, status);
                linger_close(&mut reader, &out);
                return;
            }
        };
        head_deadline = None;
        let (request, _reservation) = request;
        if !routes::answer(&request, &mut out, &slot, shared) {
            out.shutdown();
            return;
        }
    }
}

/// Closes after an early answer (401, 413, …) whose request body was not read. Closing a
/// socket with unread input sends a reset, which can destroy the answer before the client
/// reads it; so stop sending, then discard what still arrives for a moment.
fn linger_close(reader: &mut BufReader<Conn>, out: &Conn) {
    out.shutdown_how(Shutdown::Write);
    let until = Instant::now() + LINGER;
    let mut sink = [0u8; 8192];
    let mut left = LINGER_BYTES;
    while left > 0 {
        let wait = until.saturating_duration_since(Instant::now());
        if wait.is_zero() || out.set_read_timeout(Some(wait)).is_err() {
            break;
        }
        match reader.get_mut().read(&mut sink) {
            Ok(0) | Err(_) => break,
            Ok(n) => left = left.saturating_sub(n),
        }
    }
    out.shutdown();
}

type Admitted = (Request, Option<budget::Reservation>);

/// Reads one request whose client may be answered: authenticated, within the memory budget.
fn read_one(
    reader: &mut BufReader<Conn>,
    out: &mut Conn,
    slot: &Slot,
    head_deadline: Option<Instant>,
    auth: Option<&Auth>,
    shared: &Shared,
) -> Result<Admitted, Early> {
    let limits = &shared.options.limits;
    let timeouts = out.try_clone().map_err(|_| Early::Quiet)?;
    let mut set_timeout = |d: Duration| timeouts.set_read_timeout(Some(d));
    let first_byte_by = head_deadline.unwrap_or_else(|| Instant::now() + limits.idle_timeout);
    http::wait_for_request(reader, first_byte_by, &mut set_timeout)?;
    let deadline = head_deadline.unwrap_or_else(|| Instant::now() + limits.header_timeout);
    let request = http::read_head(reader, limits, deadline, &mut set_timeout)?;
    if !slot.busy() {
        return Err(Early::Quiet);
    }
    // Credentials before any body byte: an anonymous client costs a head, nothing more.
    if !http::authorized(&request, auth) {
        return Err(Early::Status(request.version, 401));
    }
    let cost = budget::request_cost(request.content_length);
    let reservation = shared.budget.reserve(cost, BUDGET_WAIT);
    if reservation.is_none() {
        log::warn!(
            "refusing a {} byte request: requests in flight use the memory budget",
            request.content_length
        );
        return Err(Early::Status(request.version, 503));
    }
    let mut request = request;
    if request.expects_continue() {
        let mut w = out.try_clone().map_err(|_| Early::Quiet)?;
        w.write_all(b"HTTP/1.1 100 Continue\r\n\r\n")
            .map_err(|_| Early::Quiet)?;
    }
    request.body = http::read_body(reader, request.content_length, limits, &mut set_timeout)
        .map_err(|e| match Early::from(e) {
            Early::Status(_, s) => Early::Status(request.version, s),
            quiet => quiet,
        })?;
    Ok((request, reservation))
}
