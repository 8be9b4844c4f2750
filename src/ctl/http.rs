//! A small HTTP/1.0 + 1.1 server side: bounded request parsing, response writing, chunked
//! streaming and Basic auth. Only what the RPC endpoint and `/logtail` need.

use std::io::{self, BufRead, Read, Write};
use std::time::{Duration, Instant};

use crate::config::Auth;

/// Bounds applied to every request.
#[derive(Debug, Clone, Copy)]
pub struct Limits {
    /// Request line + headers.
    pub max_header_bytes: usize,
    pub max_body_bytes: usize,
    /// From the first byte of a request until its headers are complete.
    pub header_timeout: Duration,
    /// Idle time allowed between requests on a kept-alive connection.
    pub idle_timeout: Duration,
    /// Time allowed for the body once headers are in.
    pub body_timeout: Duration,
}

impl Default for Limits {
    fn default() -> Self {
        Limits {
            max_header_bytes: 16 * 1024,
            max_body_bytes: 8 * 1024 * 1024,
            header_timeout: Duration::from_secs(10),
            idle_timeout: Duration::from_secs(60),
            body_timeout: Duration::from_secs(30),
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Version {
    Http10,
    Http11,
}

impl Version {
    pub fn as_str(self) -> &'static str {
        match self {
            Version::Http10 => "HTTP/1.0",
            Version::Http11 => "HTTP/1.1",
        }
    }
}

#[derive(Debug, Clone)]
pub struct Request {
    pub method: String,
    /// The request target as sent (path + query).
    pub target: String,
    pub version: Version,
    pub headers: Vec<(String, String)>,
    pub body: Vec<u8>,
}

impl Request {
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(k, _)| k.eq_ignore_ascii_case(name))
            .map(|(_, v)| v.as_str())
    }

    /// Whether the connection stays open after the response (HTTP/1.1 default, 1.0 opt-in).
    pub fn keep_alive(&self) -> bool {
        let conn = self.header("connection").unwrap_or("").to_ascii_lowercase();
        match self.version {
            Version::Http10 => conn == "keep-alive",
            Version::Http11 => conn != "close",
        }
    }

    /// The path without query string, percent-decoded.
    pub fn path(&self) -> String {
        let raw = self.target.split(['?', '#']).next().unwrap_or("");
        percent_decode(raw)
    }
}

/// Why no request could be read.
#[derive(Debug)]
pub enum ReadError {
    /// The peer closed (or stayed idle past the idle timeout) between requests: just close.
    Closed,
    /// Headers or body did not arrive in time (408).
    Timeout,
    /// Status code and reason for a request that cannot be served.
    Reject(u16),
    Io(io::Error),
}

/// Reads one request. `stream` must be a buffered reader over a socket whose read timeout the
/// caller lets us change through `set_timeout`.
pub fn read_request<R: BufRead>(
    stream: &mut R,
    limits: &Limits,
    set_timeout: &mut dyn FnMut(Duration) -> io::Result<()>,
    send_continue: &mut dyn FnMut() -> io::Result<()>,
) -> Result<Request, ReadError> {
    // Wait for the first byte with the idle timeout; then the whole head has header_timeout.
    set_timeout(limits.idle_timeout).map_err(ReadError::Io)?;
    match stream.fill_buf() {
        Ok([]) => return Err(ReadError::Closed),
        Ok(_) => {}
        Err(e) if is_timeout(&e) => return Err(ReadError::Closed),
        Err(e) => return Err(ReadError::Io(e)),
    }
    let deadline = Instant::now() + limits.header_timeout;
    let head = read_head(stream, limits.max_header_bytes, deadline, set_timeout)?;
    let mut request = parse_head(&head)?;
    if request.header("transfer-encoding").is_some() {
        return Err(ReadError::Reject(411));
    }
    let length = match request.header("content-length") {
        None => 0,
        Some(v) => v
            .trim()
            .parse::<usize>()
            .map_err(|_| ReadError::Reject(400))?,
    };
    if length > limits.max_body_bytes {
        return Err(ReadError::Reject(413));
    }
    let expects_continue = request
        .header("expect")
        .is_some_and(|v| v.eq_ignore_ascii_case("100-continue"));
    if expects_continue && request.version == Version::Http11 && length > 0 {
        send_continue().map_err(ReadError::Io)?;
    }
    let deadline = Instant::now() + limits.body_timeout;
    request.body = read_exact_by(stream, length, deadline, set_timeout)?;
    Ok(request)
}

fn is_timeout(e: &io::Error) -> bool {
    matches!(
        e.kind(),
        io::ErrorKind::WouldBlock | io::ErrorKind::TimedOut
    )
}

fn remaining(deadline: Instant) -> Result<Duration, ReadError> {
    let left = deadline.saturating_duration_since(Instant::now());
    if left.is_zero() {
        Err(ReadError::Timeout)
    } else {
        Ok(left)
    }
}

/// Reads up to and including the blank line that ends the head.
fn read_head<R: BufRead>(
    stream: &mut R,
    max: usize,
    deadline: Instant,
    set_timeout: &mut dyn FnMut(Duration) -> io::Result<()>,
) -> Result<Vec<u8>, ReadError> {
    let mut head = Vec::with_capacity(512);
    loop {
        set_timeout(remaining(deadline)?).map_err(ReadError::Io)?;
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
        // Consume byte by byte up to the end of the head so the body stays buffered.
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

fn read_exact_by<R: Read>(
    stream: &mut R,
    len: usize,
    deadline: Instant,
    set_timeout: &mut dyn FnMut(Duration) -> io::Result<()>,
) -> Result<Vec<u8>, ReadError> {
    let mut body = vec![0u8; len];
    let mut got = 0;
    while got < len {
        set_timeout(remaining(deadline)?).map_err(ReadError::Io)?;
        match stream.read(&mut body[got..]) {
            Ok(0) => return Err(ReadError::Closed),
            Ok(n) => got += n,
            Err(e) if is_timeout(&e) => return Err(ReadError::Timeout),
            Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
            Err(e) => return Err(ReadError::Io(e)),
        }
    }
    Ok(body)
}

fn parse_head(head: &[u8]) -> Result<Request, ReadError> {
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
    Ok(Request {
        method: method.to_string(),
        target: target.to_string(),
        version,
        headers,
        body: Vec::new(),
    })
}

fn percent_decode(s: &str) -> String {
    let bytes = s.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        if bytes[i] == b'%' && i + 2 < bytes.len() {
            let hex = std::str::from_utf8(&bytes[i + 1..i + 3])
                .ok()
                .and_then(|h| u8::from_str_radix(h, 16).ok());
            if let Some(b) = hex {
                out.push(b);
                i += 3;
                continue;
            }
        }
        out.push(bytes[i]);
        i += 1;
    }
    String::from_utf8_lossy(&out).into_owned()
}

pub fn reason(status: u16) -> &'static str {
    match status {
        100 => "Continue",
        200 => "OK",
        302 => "Found",
        400 => "Bad Request",
        401 => "Unauthorized",
        404 => "Not Found",
        405 => "Method Not Allowed",
        408 => "Request Timeout",
        411 => "Length Required",
        413 => "Request Entity Too Large",
        431 => "Request Header Fields Too Large",
        500 => "Internal Server Error",
        503 => "Service Unavailable",
        505 => "HTTP Version Not Supported",
        _ => "Error",
    }
}

/// Writes a complete response with a body and Content-Length.
pub fn write_response<W: Write>(
    out: &mut W,
    version: Version,
    status: u16,
    headers: &[(&str, &str)],
    body: &[u8],
    keep_alive: bool,
) -> io::Result<()> {
    let mut head = format!(
        "{} {} {}\r\nServer: Medusa/1.12\r\nDate: {}\r\n",
        version.as_str(),
        status,
        reason(status),
        http_date(crate::util::unix_secs())
    );
    for (k, v) in headers {
        head.push_str(&format!("{k}: {v}\r\n"));
    }
    head.push_str(&format!("Content-Length: {}\r\n", body.len()));
    if !keep_alive {
        head.push_str("Connection: close\r\n");
    } else if version == Version::Http10 {
        head.push_str("Connection: Keep-Alive\r\n");
    }
    head.push_str("\r\n");
    let mut all = head.into_bytes();
    all.extend_from_slice(body);
    out.write_all(&all)?;
    out.flush()
}

/// Medusa's HTML error page.
pub fn error_body(status: u16) -> String {
    format!(
        "<html>\r\n<head>\r\n<title>Error response</title>\r\n</head>\r\n<body>\r\n<h1>Error response</h1>\r\n<p>Error code {status}.\r\n<p>Message: {}.\r\n</body>\r\n</html>\r\n",
        reason(status)
    )
}

/// Writes an error response and asks the caller to close the connection.
pub fn write_error<W: Write>(out: &mut W, version: Version, status: u16) -> io::Result<()> {
    let body = error_body(status);
    let mut headers: Vec<(&str, &str)> = vec![("Content-Type", "text/html")];
    if status == 401 {
        headers.push(("WWW-Authenticate", "Basic realm=\"default\""));
    }
    write_response(out, version, status, &headers, body.as_bytes(), false)
}

/// A `Transfer-Encoding: chunked` body writer (raw bytes for HTTP/1.0 clients, which then see
/// the end of the stream as the end of the body).
pub struct BodyStream<W: Write> {
    out: W,
    chunked: bool,
}

impl<W: Write> BodyStream<W> {
    /// Writes the response head for a streamed body.
    pub fn start(
        mut out: W,
        version: Version,
        headers: &[(&str, &str)],
    ) -> io::Result<BodyStream<W>> {
        let chunked = version == Version::Http11;
        let mut head = format!(
            "{} 200 OK\r\nServer: Medusa/1.12\r\nDate: {}\r\n",
            version.as_str(),
            http_date(crate::util::unix_secs())
        );
        for (k, v) in headers {
            head.push_str(&format!("{k}: {v}\r\n"));
        }
        if chunked {
            head.push_str("Transfer-Encoding: chunked\r\n");
        } else {
            head.push_str("Connection: close\r\n");
        }
        head.push_str("\r\n");
        out.write_all(head.as_bytes())?;
        out.flush()?;
        Ok(BodyStream { out, chunked })
    }

    pub fn send(&mut self, data: &[u8]) -> io::Result<()> {
        if data.is_empty() {
            return Ok(());
        }
        if self.chunked {
            let mut frame = format!("{:X}\r\n", data.len()).into_bytes();
            frame.extend_from_slice(data);
            frame.extend_from_slice(b"\r\n");
            self.out.write_all(&frame)?;
        } else {
            self.out.write_all(data)?;
        }
        self.out.flush()
    }

    pub fn finish(mut self) -> io::Result<()> {
        if self.chunked {
            self.out.write_all(b"0\r\n\r\n")?;
        }
        self.out.flush()
    }
}

/// Checks a request's Basic credentials against a server's configured ones.
pub fn authorized(request: &Request, auth: Option<&Auth>) -> bool {
    let Some(auth) = auth else { return true };
    let Some(value) = request.header("authorization") else {
        return false;
    };
    let Some((scheme, encoded)) = value.split_once(' ') else {
        return false;
    };
    if !scheme.eq_ignore_ascii_case("basic") {
        return false;
    }
    let Some(decoded) = super::protocol::base64::decode(encoded.trim()) else {
        return false;
    };
    let decoded = String::from_utf8_lossy(&decoded);
    let Some((user, password)) = decoded.split_once(':') else {
        return false;
    };
    user == auth.username && password_matches(&auth.password, password)
}

fn password_matches(stored: &str, supplied: &str) -> bool {
    match stored.strip_prefix("{SHA}") {
        Some(hex) => super::sha1::hex_digest(supplied.as_bytes()).eq_ignore_ascii_case(hex),
        None => stored == supplied,
    }
}

/// RFC 1123 date (`Tue, 25 Nov 2026 13:06:38 GMT`).
pub fn http_date(epoch: i64) -> String {
    const DAYS: [&str; 7] = ["Thu", "Fri", "Sat", "Sun", "Mon", "Tue", "Wed"];
    const MONTHS: [&str; 12] = [
        "Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec",
    ];
    let days = epoch.div_euclid(86400);
    let secs = epoch.rem_euclid(86400);
    let (y, m, d) = civil_from_days(days);
    format!(
        "{}, {:02} {} {} {:02}:{:02}:{:02} GMT",
        DAYS[days.rem_euclid(7) as usize],
        d,
        MONTHS[(m - 1) as usize],
        y,
        secs / 3600,
        secs % 3600 / 60,
        secs % 60
    )
}

/// Days since 1970-01-01 → (year, month 1..=12, day 1..=31) (Howard Hinnant's algorithm).
fn civil_from_days(z: i64) -> (i64, i64, i64) {
    let z = z + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z - era * 146_097;
    let yoe = (doe - doe / 1460 + doe / 36524 - doe / 146_096) / 365;
    let y = yoe + era * 400;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let d = doy - (153 * mp + 2) / 5 + 1;
    let m = if mp < 10 { mp + 3 } else { mp - 9 };
    (if m <= 2 { y + 1 } else { y }, m, d)
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::io::BufReader;

    fn read(raw: &[u8], limits: &Limits) -> Result<Request, ReadError> {
        let mut r = BufReader::new(raw);
        read_request(&mut r, limits, &mut |_| Ok(()), &mut || Ok(()))
    }

    #[test]
    fn parses_post_with_body() {
        let raw = b"POST /RPC2 HTTP/1.1\r\nHost: localhost\r\nContent-Length: 5\r\n\r\nhelloNEXT";
        let req = read(raw, &Limits::default()).unwrap();
        assert_eq!(req.method, "POST");
        assert_eq!(req.path(), "/RPC2");
        assert_eq!(req.body, b"hello");
        assert!(req.keep_alive());
        assert_eq!(req.header("HOST"), Some("localhost"));
    }

    #[test]
    fn http10_closes_unless_keep_alive() {
        let req = read(b"GET / HTTP/1.0\r\n\r\n", &Limits::default()).unwrap();
        assert!(!req.keep_alive());
        let req = read(
            b"GET / HTTP/1.0\r\nConnection: Keep-Alive\r\n\r\n",
            &Limits::default(),
        )
        .unwrap();
        assert!(req.keep_alive());
        let req = read(
            b"GET / HTTP/1.1\r\nConnection: close\r\n\r\n",
            &Limits::default(),
        )
        .unwrap();
        assert!(!req.keep_alive());
    }

    #[test]
    fn limits_are_enforced() {
        let limits = Limits {
            max_header_bytes: 64,
            max_body_bytes: 10,
            ..Limits::default()
        };
        let long = format!("GET / HTTP/1.1\r\nX: {}\r\n\r\n", "a".repeat(200));
        assert!(matches!(
            read(long.as_bytes(), &limits),
            Err(ReadError::Reject(431))
        ));
        let big = b"POST /RPC2 HTTP/1.1\r\nContent-Length: 11\r\n\r\n";
        assert!(matches!(read(big, &limits), Err(ReadError::Reject(413))));
        let bad = b"POST /RPC2 HTTP/1.1\r\nContent-Length: x\r\n\r\n";
        assert!(matches!(read(bad, &limits), Err(ReadError::Reject(400))));
        let truncated = b"POST /RPC2 HTTP/1.1\r\nContent-Length: 9\r\n\r\nabc";
        assert!(matches!(read(truncated, &limits), Err(ReadError::Closed)));
    }

    #[test]
    fn malformed_heads_are_rejected() {
        for raw in [
            &b"\r\n\r\n"[..],
            b"GET\r\n\r\n",
            b"GET / HTTP/1.1\r\nnocolon\r\n\r\n",
            b"G\x01T / HTTP/1.1\r\n\r\n",
        ] {
            assert!(
                matches!(read(raw, &Limits::default()), Err(ReadError::Reject(_))),
                "{raw:?}"
            );
        }
        assert!(matches!(
            read(b"GET / HTTP/2.0\r\n\r\n", &Limits::default()),
            Err(ReadError::Reject(505))
        ));
        assert!(matches!(
            read(b"", &Limits::default()),
            Err(ReadError::Closed)
        ));
        assert!(matches!(
            read(b"GET / HTT", &Limits::default()),
            Err(ReadError::Reject(400))
        ));
    }

    #[test]
    fn percent_decoding() {
        assert_eq!(
            percent_decode("/logtail/a%3Ab/stdout"),
            "/logtail/a:b/stdout"
        );
        assert_eq!(percent_decode("/x%"), "/x%");
        assert_eq!(percent_decode("/x%zz"), "/x%zz");
    }

    #[test]
    fn basic_auth_plain_and_sha() {
        let mk = |h: &str| Request {
            method: "POST".into(),
            target: "/RPC2".into(),
            version: Version::Http11,
            headers: vec![("Authorization".into(), h.into())],
            body: vec![],
        };
        let plain = Auth {
            username: "user".into(),
            password: "123".into(),
        };
        let sha = Auth {
            username: "user".into(),
            password: format!("{{SHA}}{}", crate::ctl::sha1::hex_digest(b"123")),
        };
        let good = format!(
            "Basic {}",
            crate::ctl::protocol::base64::encode(b"user:123")
        );
        let bad = format!(
            "Basic {}",
            crate::ctl::protocol::base64::encode(b"user:124")
        );
        assert!(authorized(&mk(&good), Some(&plain)));
        assert!(authorized(&mk(&good), Some(&sha)));
        assert!(!authorized(&mk(&bad), Some(&plain)));
        assert!(!authorized(&mk(&bad), Some(&sha)));
        assert!(!authorized(&mk("Basic !!!"), Some(&plain)));
        assert!(authorized(&mk("anything"), None));
        // The hash itself is not a valid password.
        let hash = format!(
            "Basic {}",
            crate::ctl::protocol::base64::encode(format!("user:{}", sha.password).as_bytes())
        );
        assert!(!authorized(&mk(&hash), Some(&sha)));
    }

    #[test]
    fn dates() {
        assert_eq!(http_date(0), "Thu, 01 Jan 1970 00:00:00 GMT");
        assert_eq!(http_date(1_795_605_819), "Wed, 25 Nov 2026 11:23:39 GMT");
    }

    /// Mangled requests never panic the reader.
    #[test]
    fn mangled_requests_never_panic() {
        let base = b"POST /RPC2 HTTP/1.1\r\nHost: x\r\nContent-Length: 5\r\nConnection: keep-alive\r\n\r\nhello".to_vec();
        let mut seed: u64 = 0x2545_F491_4F6C_DD1D;
        let mut next = || {
            seed ^= seed << 13;
            seed ^= seed >> 7;
            seed ^= seed << 17;
            seed
        };
        for _ in 0..5000 {
            let mut raw = base.clone();
            for _ in 0..(next() % 4 + 1) {
                let i = (next() as usize) % raw.len();
                if next() % 2 == 0 {
                    raw[i] = (next() % 256) as u8;
                } else {
                    raw.truncate(i);
                }
                if raw.is_empty() {
                    break;
                }
            }
            if let Ok(req) = read(&raw, &Limits::default()) {
                let _ = (req.path(), req.keep_alive());
            }
        }
    }
}
