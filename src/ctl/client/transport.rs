//! A minimal HTTP/1.1 client for XML-RPC over a unix socket or TCP, opening a new connection
//! for every call like Python's `SupervisorTransport`, plus the streaming GET of `tail -f`.

use std::io::{self, BufRead, BufReader, Read, Write};
use std::net::TcpStream;
use std::os::unix::net::UnixStream;

use crate::ctl::protocol::base64;
use crate::ctl::protocol::xmlrpc::{self, Response, Value};

/// Why a call did not produce a value.
#[derive(Debug)]
pub enum CallError {
    Fault {
        code: i64,
        string: String,
    },
    /// A non-200 HTTP answer.
    Http {
        status: u16,
        reason: String,
    },
    Io(io::Error),
    /// Connecting over TCP failed (Python reports these from socket.py, not xmlrpc.py).
    TcpConnect(io::Error),
    /// The answer could not be understood.
    Protocol(String),
    /// The server URL has an unsupported scheme.
    BadUrl(String),
}

impl CallError {
    /// The OS error number of a transport failure.
    pub fn errno(&self) -> Option<i32> {
        match self {
            CallError::Io(e) | CallError::TcpConnect(e) => e.raw_os_error(),
            _ => None,
        }
    }
}

impl From<io::Error> for CallError {
    fn from(e: io::Error) -> Self {
        CallError::Io(e)
    }
}

/// Where and as whom to connect.
#[derive(Debug, Clone)]
pub struct Endpoint {
    pub serverurl: String,
    pub username: Option<String>,
    pub password: Option<String>,
}

pub enum Stream {
    Unix(UnixStream),
    Tcp(TcpStream),
}

impl Stream {
    /// A second handle on the same socket (its own descriptor).
    pub fn try_clone(&self) -> io::Result<Stream> {
        Ok(match self {
            Stream::Unix(s) => Stream::Unix(s.try_clone()?),
            Stream::Tcp(s) => Stream::Tcp(s.try_clone()?),
        })
    }

    /// Ends both directions, waking a reader blocked on another handle.
    pub fn shutdown(&self) {
        let _ = match self {
            Stream::Unix(s) => s.shutdown(std::net::Shutdown::Both),
            Stream::Tcp(s) => s.shutdown(std::net::Shutdown::Both),
        };
    }
}

impl Read for Stream {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        match self {
            Stream::Unix(s) => s.read(buf),
            Stream::Tcp(s) => s.read(buf),
        }
    }
}

impl Write for Stream {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        match self {
            Stream::Unix(s) => s.write(buf),
            Stream::Tcp(s) => s.write(buf),
        }
    }

    fn flush(&mut self) -> io::Result<()> {
        Ok(())
    }
}

impl Endpoint {
    fn connect(&self) -> Result<(Stream, String), CallError> {
        if let Some(path) = self.serverurl.strip_prefix("unix://") {
            return Ok((Stream::Unix(UnixStream::connect(path)?), "localhost".into()));
        }
        if let Some(rest) = self.serverurl.strip_prefix("http://") {
            let hostport = rest.split('/').next().unwrap_or("");
            let hostport = hostport.rsplit('@').next().unwrap_or(hostport);
            let (host, port) = split_host_port(hostport);
            let stream =
                TcpStream::connect((host.as_str(), port)).map_err(CallError::TcpConnect)?;
            let _ = stream.set_nodelay(true);
            let host_header = if port == 80 {
                host
            } else {
                format!("{host}:{port}")
            };
            return Ok((Stream::Tcp(stream), host_header));
        }
        Err(CallError::BadUrl(self.serverurl.clone()))
    }

    fn auth_header(&self) -> Option<String> {
        match (&self.username, &self.password) {
            (Some(u), Some(p)) => Some(format!(
                "Basic {}",
                base64::encode(format!("{u}:{p}").as_bytes())
            )),
            _ => None,
        }
    }

    /// One XML-RPC call on a fresh connection.
    pub fn call(&self, method: &str, params: &[Value]) -> Result<Value, CallError> {
        self.send(method, params).answer()
    }

    /// Sends a call and leaves its answer to be read later, so that two calls can be under
    /// way at once (each on its own connection, as every call is).
    pub fn send(&self, method: &str, params: &[Value]) -> Pending {
        Pending(self.send_request(method, params))
    }

    fn send_request(&self, method: &str, params: &[Value]) -> Result<BufReader<Stream>, CallError> {
        let body = xmlrpc::dumps_call(method, params);
        let (mut stream, host) = self.connect()?;
        let mut head = format!(
            "POST /RPC2 HTTP/1.1\r\nHost: {host}\r\nAccept-Encoding: identity\r\nUser-Agent: Python-xmlrpc/3.11\r\nContent-Type: text/xml\r\nAccept: text/xml\r\n"
        );
        if let Some(auth) = self.auth_header() {
            head.push_str(&format!("Authorization: {auth}\r\n"));
        }
        head.push_str(&format!("Content-Length: {}\r\n\r\n", body.len()));
        let mut request = head.into_bytes();
        request.extend_from_slice(body.as_bytes());
        stream.write_all(&request)?;
        Ok(BufReader::new(stream))
    }

    /// Starts `GET path` and returns the reader positioned at the body, with whether the body
    /// is chunked. Non-200 answers are errors.
    pub fn get_stream(&self, path: &str) -> Result<(BufReader<Stream>, bool), CallError> {
        let (mut stream, _) = self.connect()?;
        let mut head = format!("GET {path} HTTP/1.1\r\nHost: \r\nAccept-Encoding: chunked\r\nAccept: */*\r\nUser-agent: Supervisor HTTP Client\r\n");
        if let Some(auth) = self.auth_header() {
            head.push_str(&format!("Authorization: {auth}\r\n"));
        }
        head.push_str("\r\n");
        stream.write_all(head.as_bytes())?;
        let mut reader = BufReader::new(stream);
        let (status, reason, headers) = read_head(&mut reader)?;
        if status != 200 {
            return Err(CallError::Http { status, reason });
        }
        let chunked = header(&headers, "transfer-encoding")
            .is_some_and(|v| v.eq_ignore_ascii_case("chunked"));
        Ok((reader, chunked))
    }
}

/// A call sent, its answer not read yet (or why it could not be sent).
pub struct Pending(Result<BufReader<Stream>, CallError>);

impl Pending {
    /// Reads the answer.
    pub fn answer(self) -> Result<Value, CallError> {
        answer(&mut self.0?)
    }
}

fn split_host_port(hostport: &str) -> (String, u16) {
    if let Some(rest) = hostport.strip_prefix('[') {
        if let Some((h, p)) = rest.split_once(']') {
            let port = p
                .strip_prefix(':')
                .and_then(|p| p.parse().ok())
                .unwrap_or(80);
            return (h.to_string(), port);
        }
    }
    match hostport.rsplit_once(':') {
        Some((h, p)) => (h.to_string(), p.parse().unwrap_or(80)),
        None => (hostport.to_string(), 80),
    }
}

type Headers = Vec<(String, String)>;

fn header<'a>(headers: &'a Headers, name: &str) -> Option<&'a str> {
    headers
        .iter()
        .find(|(k, _)| k.eq_ignore_ascii_case(name))
        .map(|(_, v)| v.as_str())
}

fn read_line<R: BufRead>(r: &mut R) -> Result<String, CallError> {
    let mut line = Vec::new();
    r.take(64 * 1024).read_until(b'\n', &mut line)?;
    if line.is_empty() {
        return Err(CallError::Io(io::Error::new(
            io::ErrorKind::UnexpectedEof,
            "connection closed",
        )));
    }
    Ok(String::from_utf8_lossy(&line)
        .trim_end_matches(['\r', '\n'])
        .to_string())
}

fn read_head<R: BufRead>(r: &mut R) -> Result<(u16, String, Headers), CallError> {
    loop {
        let status_line = read_line(r)?;
        let mut parts = status_line.splitn(3, ' ');
        let _version = parts.next();
        let status: u16 = parts
            .next()
            .and_then(|s| s.parse().ok())
            .ok_or_else(|| CallError::Protocol(format!("bad status line {status_line:?}")))?;
        let reason = parts.next().unwrap_or("").to_string();
        let mut headers = Vec::new();
        loop {
            let line = read_line(r)?;
            if line.is_empty() {
                break;
            }
            if let Some((k, v)) = line.split_once(':') {
                headers.push((k.trim().to_string(), v.trim().to_string()));
            }
        }
        if status == 100 {
            continue;
        }
        return Ok((status, reason, headers));
    }
}

/// Largest answer body accepted (a Python supervisord has no answer limit, so this is more
/// generous than ours); memory grows with what arrives, never with what a header claims.
pub const MAX_BODY: u64 = 256 * 1024 * 1024;

/// Largest chunk of a chunked body accepted.
const MAX_CHUNK: u64 = 16 * 1024 * 1024;

fn too_large(what: &str) -> CallError {
    CallError::Protocol(format!("{what} larger than {MAX_BODY} bytes"))
}

fn read_body<R: BufRead>(r: &mut R, headers: &Headers) -> Result<Vec<u8>, CallError> {
    let mut body = Vec::new();
    if header(headers, "transfer-encoding").is_some_and(|v| v.eq_ignore_ascii_case("chunked")) {
        while let Some(chunk) = read_chunk(r)? {
            body.extend_from_slice(&chunk);
            if body.len() as u64 > MAX_BODY {
                return Err(too_large("answer"));
            }
        }
        return Ok(body);
    }
    let length = header(headers, "content-length");
    // Room for what the header announces (up to a bound: memory still follows what arrives).
    let announced = length.and_then(|v| v.parse::<usize>().ok()).unwrap_or(0);
    body.reserve(announced.min(4 << 20));
    let limit = match length {
        Some(v) => {
            let n = v
                .parse::<u64>()
                .map_err(|_| CallError::Protocol(format!("bad Content-Length {v:?}")))?;
            if n > MAX_BODY {
                return Err(too_large("answer"));
            }
            n
        }
        None => MAX_BODY + 1,
    };
    r.take(limit).read_to_end(&mut body)?;
    if body.len() as u64 > MAX_BODY {
        return Err(too_large("answer"));
    }
    Ok(body)
}

fn answer<R: BufRead>(r: &mut R) -> Result<Value, CallError> {
    let (status, reason, headers) = read_head(r)?;
    if status != 200 {
        return Err(CallError::Http { status, reason });
    }
    let data = read_body(r, &headers)?;
    match xmlrpc::parse_response(&data).map_err(CallError::Protocol)? {
        Response::Value(v) => Ok(v),
        Response::Fault { code, string } => Err(CallError::Fault { code, string }),
    }
}

/// Parses an XML-RPC answer as `call` reads it: status line, headers, body, document. For
/// the fuzz targets (the input is a whole answer as bytes).
pub fn parse_answer(raw: &[u8]) -> Result<Value, CallError> {
    answer(&mut io::BufReader::new(raw))
}

/// One chunk of a chunked body; `None` at the terminating zero-size chunk.
pub fn read_chunk<R: BufRead>(r: &mut R) -> Result<Option<Vec<u8>>, CallError> {
    let line = read_line(r)?;
    let size_text = line.split(';').next().unwrap_or("").trim();
    let size = usize::from_str_radix(size_text, 16)
        .map_err(|_| CallError::Protocol(format!("bad chunk size {line:?}")))?;
    if size == 0 {
        // Trailers until the blank line.
        while !read_line(r)?.is_empty() {}
        return Ok(None);
    }
    if size as u64 > MAX_CHUNK {
        return Err(CallError::Protocol(format!(
            "chunk of {size} bytes is too large"
        )));
    }
    // Grows with what arrives: a size line alone never makes us allocate.
    let mut data = Vec::new();
    r.take(size as u64).read_to_end(&mut data)?;
    if data.len() != size {
        return Err(CallError::Io(io::Error::new(
            io::ErrorKind::UnexpectedEof,
            "connection closed inside a chunk",
        )));
    }
    let _ = read_line(r)?;
    Ok(Some(data))
}
