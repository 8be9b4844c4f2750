//! Reading a request in the steps the server needs to stay in charge: wait for a first byte,
//! read and check the head (so credentials are checked before any body byte is read), then
//! read the body at no less than a minimum rate.

use std::io::{self, BufRead, Read};
use std::time::{Duration, Instant};

use super::{Limits, ReadError, Request, Version};

/// Sets the socket's read timeout (the server's connection owns the socket).
pub type SetTimeout<'a> = &'a mut dyn FnMut(Duration) -> io::Result<()>;

fn is_timeout(e: &io::Error) -> bool {
    matches!(
        e.kind(),
        io::ErrorKind::WouldBlock | io::ErrorKind::TimedOut
    )
}

fn remaining(deadline: Instant) -> Option<Duration> {
    let left = deadline.saturating_duration_since(Instant::now());
    (!left.is_zero()).then_some(left)
}

/// Waits until the first byte of a request is buffered. `Closed` when the peer closes or
/// nothing comes before `deadline` (a quiet close, as for an idle kept-alive connection).
pub fn wait_for_request<R: BufRead>(
    stream: &mut R,
    deadline: Instant,
    set_timeout: SetTimeout,
) -> Result<(), ReadError> {
    loop {
        let left = remaining(deadline).ok_or(ReadError::Closed)?;
        set_timeout(left).map_err(ReadError::Io)?;
        return match stream.fill_buf() {
            Ok([]) => Err(ReadError::Closed),
            Ok(_) => Ok(()),
            Err(e) if is_timeout(&e) => Err(ReadError::Closed),
            Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
            Err(e) => Err(ReadError::Io(e)),
        };
    }
}

/// Reads and checks a request head that must be complete by `deadline`; the body stays
/// unread (its length is in `content_length`).
pub fn read_head<R: BufRead>(
    stream: &mut R,
    limits: &Limits,
    deadline: Instant,
    set_timeout: SetTimeout,
) -> Result<Request, ReadError> {
    let head = read_head_bytes(stream, limits.max_header_bytes, deadline, set_timeout)?;
    let request = parse_head(&head)?;
    if request.content_length > limits.max_body_bytes {
        return Err(ReadError::Reject(413));
    }
    Ok(request)
}

/// Reads up to and including the blank line that ends the head.
fn read_head_bytes<R: BufRead>(
    stream: &mut R,
    max: usize,
    deadline: Instant,
    set_timeout: SetTimeout,
) -> Result<Vec<u8>, ReadError> {
    let mut head = Vec::with_capacity(512);
    loop {
        set_timeout(remaining(deadline).ok_or(ReadError::Timeout)?).map_err(ReadError::Io)?;
        let buf = match stream.fill_buf() {
            Ok(b) => b,
            Err(e) if is_timeout(&e) => return Err(ReadError::Timeout),
            Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
            Err(e) => return Err(ReadError::Io(e)),
        };
        if buf.is_empty() {
            return Err(if head.is_empty() {
                ReadError::Closed
            } else {
                ReadError::Reject(400)
            });
        }
        // Take bytes up to the end of the head only, so the body stays buffered.
        let mut used = 0;
        let mut done = false;
        for &b in buf {
            head.push(b);
            used += 1;
            if head.ends_with(b"\r\n\r\n") || head.ends_with(b"\n\n") {
                done = true;
                break;
            }
        }
        stream.consume(used);
        if head.len() > max {
            return Err(ReadError::Reject(431));
        }
        if done {
            return Ok(head);
        }
    }
}

/// Reads a body of `len` bytes. After a grace of `limits.body_timeout` the bytes received must
/// keep up with `limits.min_body_rate` (bytes per second on average since the head), so a
/// trickle cannot hold a connection for long while a slow but real client still gets through.
pub fn read_body<R: Read>(
    stream: &mut R,
    len: usize,
    limits: &Limits,
    set_timeout: SetTimeout,
) -> Result<Vec<u8>, ReadError> {
    let start = Instant::now();
    let rate = limits.min_body_rate.max(1) as f64;
    // Grows with what arrives, so a claimed length costs nothing until it is sent.
    let mut body = Vec::with_capacity(len.min(64 * 1024));
    let mut chunk = [0u8; 16 * 1024];
    while body.len() < len {
        let allowed = limits.body_timeout + Duration::from_secs_f64(body.len() as f64 / rate);
        let left = (start + allowed).saturating_duration_since(Instant::now());
        if left.is_zero() {
            return Err(ReadError::Timeout);
        }
        set_timeout(left).map_err(ReadError::Io)?;
        let want = (len - body.len()).min(chunk.len());
        match stream.read(&mut chunk[..want]) {
            Ok(0) => return Err(ReadError::Closed),
            Ok(n) => body.extend_from_slice(&chunk[..n]),
            Err(e) if is_timeout(&e) => return Err(ReadError::Timeout),
            Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
            Err(e) => return Err(ReadError::Io(e)),
        }
    }
    Ok(body)
}

/// Parses a complete head: request line, headers, and the framing rules (no
/// Transfer-Encoding; one Content-Length made of digits only).
pub fn parse_head(head: &[u8]) -> Result<Request, ReadError> {
    let text = std::str::from_utf8(head).map_err(|_| ReadError::Reject(400))?;
    let mut lines = text.split('\n').map(|l| l.strip_suffix('\r').unwrap_or(l));
    let request_line = lines.next().unwrap_or("");
    let mut parts = request_line.split_whitespace();
    let (Some(method), Some(target)) = (parts.next(), parts.next()) else {
        return Err(ReadError::Reject(400));
    };
    let version = match parts.next() {
        Some("HTTP/1.1") => Version::Http11,
        Some("HTTP/1.0") | None => Version::Http10,
        Some(v) if v.starts_with("HTTP/1.") => Version::Http11,
        Some(_) => return Err(ReadError::Reject(505)),
    };
    if parts.next().is_some() || !method.bytes().all(|b| b.is_ascii_alphabetic()) {
        return Err(ReadError::Reject(400));
    }
    let mut headers = Vec::new();
    for line in lines {
        if line.is_empty() {
            continue;
        }
        let (k, v) = line.split_once(':').ok_or(ReadError::Reject(400))?;
        if k.is_empty() || k.contains(char::is_whitespace) {
            return Err(ReadError::Reject(400));
        }
        headers.push((k.to_string(), v.trim().to_string()));
    }
    let mut request = Request {
        method: method.to_string(),
        target: target.to_string(),
        version,
        headers,
        content_length: 0,
        body: Vec::new(),
    };
    if request.header("transfer-encoding").is_some() {
        return Err(ReadError::Reject(411));
    }
    request.content_length = content_length(&request.headers)?;
    Ok(request)
}

/// The body length. Only ASCII digits count (no sign, no list); several Content-Length headers
/// must agree, since a proxy in front might frame the message by another one (smuggling).
fn content_length(headers: &[(String, String)]) -> Result<usize, ReadError> {
    let mut found: Option<usize> = None;
    for (_, v) in headers
        .iter()
        .filter(|(k, _)| k.eq_ignore_ascii_case("content-length"))
    {
        if v.is_empty() || !v.bytes().all(|b| b.is_ascii_digit()) {
            return Err(ReadError::Reject(400));
        }
        // Only digits: the one way to fail is a number too large for memory anyway.
        let n = v.parse::<usize>().map_err(|_| ReadError::Reject(413))?;
        if found.is_some_and(|f| f != n) {
            return Err(ReadError::Reject(400));
        }
        found = Some(n);
    }
    Ok(found.unwrap_or(0))
}

/// The whole request in one go, as a client that sends promptly would have it read: the head,
/// `100 Continue` when asked, the body. For tests and the fuzz targets; the server runs the
/// steps itself to check credentials between them.
pub fn read_request<R: BufRead>(
    stream: &mut R,
    limits: &Limits,
    set_timeout: SetTimeout,
    send_continue: &mut dyn FnMut() -> io::Result<()>,
) -> Result<Request, ReadError> {
    wait_for_request(stream, Instant::now() + limits.idle_timeout, set_timeout)?;
    let deadline = Instant::now() + limits.header_timeout;
    let mut request = read_head(stream, limits, deadline, set_timeout)?;
    if request.expects_continue() {
        send_continue().map_err(ReadError::Io)?;
    }
    request.body = read_body(stream, request.content_length, limits, set_timeout)?;
    Ok(request)
}
