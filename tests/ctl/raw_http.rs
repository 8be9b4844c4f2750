//! Raw HTTP on the server's socket, below any client: requests as bytes, answers as bytes.

use std::path::Path;
use std::time::Duration;

/// Sends raw bytes on a new connection and returns everything the server answers until it
/// closes (or `timeout`).
pub fn raw_request(socket: &Path, request: &[u8], timeout: Duration) -> Vec<u8> {
    use std::io::{Read, Write};
    let mut s = std::os::unix::net::UnixStream::connect(socket).expect("connect");
    s.set_read_timeout(Some(timeout)).unwrap();
    let _ = s.write_all(request);
    let mut out = Vec::new();
    let _ = s.read_to_end(&mut out);
    out
}

pub fn rpc_body(method: &str, params: &[supervisor_rs::ctl::protocol::xmlrpc::Value]) -> String {
    supervisor_rs::ctl::protocol::xmlrpc::dumps_call(method, params)
}

pub fn post(socket: &Path, body: &str) -> Vec<u8> {
    let req = format!(
        "POST /RPC2 HTTP/1.0\r\nContent-Length: {}\r\n\r\n{}",
        body.len(),
        body
    );
    raw_request(socket, req.as_bytes(), Duration::from_secs(10))
}

/// Number of open descriptors of this process.
pub fn fd_count() -> usize {
    std::fs::read_dir("/proc/self/fd")
        .map(|d| d.count())
        .unwrap_or(0)
}
