//! A small HTTP/1.0 + 1.1 server side: bounded request parsing (`read`), response writing
//! and chunked streaming (`write`), and Basic auth. Only what the control plane needs.

mod read;
mod write;

pub use read::{parse_head, read_body, read_head, read_request, wait_for_request, SetTimeout};
pub use write::*;

use std::io;
use std::time::Duration;

use crate::config::Auth;

/// Bounds applied to every request.
#[derive(Debug, Clone, Copy)]
pub struct Limits {
    /// Request line + headers.
    pub max_header_bytes: usize,
    pub max_body_bytes: usize,
    /// A new connection's first request head must be complete this long after the accept;
    /// on a kept-alive connection, this long after its first byte.
    pub header_timeout: Duration,
    /// Idle time allowed between requests on a kept-alive connection.
    pub idle_timeout: Duration,
    /// Grace for the body once the head is in; past it the body must keep up with
    /// `min_body_rate`.
    pub body_timeout: Duration,
    /// Bytes per second a body must average (after `body_timeout`).
    pub min_body_rate: usize,
}

impl Default for Limits {
    fn default() -> Self {
        Limits {
            max_header_bytes: 16 * 1024,
            max_body_bytes: 8 * 1024 * 1024,
            header_timeout: Duration::from_secs(10),
            idle_timeout: Duration::from_secs(60),
            body_timeout: Duration::from_secs(10),
            min_body_rate: 32 * 1024,
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
    /// The checked Content-Length (0 without one).
    pub content_length: usize,
    /// Empty until the body is read.
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

    /// Whether the client waits for `100 Continue` before it sends the body.
    pub fn expects_continue(&self) -> bool {
        self.version == Version::Http11
            && self.content_length > 0
            && self
                .header("expect")
                .is_some_and(|v| v.eq_ignore_ascii_case("100-continue"))
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
    fn content_length_must_be_digits_and_agree() {
        let limits = Limits::default();
        let status = |raw: &str| match read(raw.as_bytes(), &limits) {
            Ok(r) => (200, r.body.len()),
            Err(ReadError::Reject(s)) => (s, 0),
            Err(e) => panic!("{raw:?}: {e:?}"),
        };
        let two = "POST /RPC2 HTTP/1.1\r\nContent-Length: 3\r\nContent-Length: 5\r\n\r\nabcde";
        assert_eq!(status(two), (400, 0));
        let same = "POST /RPC2 HTTP/1.1\r\nContent-Length: 3\r\ncontent-length: 3\r\n\r\nabc";
        assert_eq!(status(same), (200, 3));
        for bad in ["+3", "-3", "3,3", "0x3", "3 3", "\u{0663}"] {
            let raw = format!("POST /RPC2 HTTP/1.1\r\nContent-Length: {bad}\r\n\r\nabc");
            assert_eq!(status(&raw), (400, 0), "{bad:?}");
        }
        let huge = "POST /RPC2 HTTP/1.1\r\nContent-Length: 99999999999999999999999\r\n\r\n";
        assert_eq!(status(huge), (413, 0));
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
            content_length: 0,
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
        let mut next = crate::util::xorshift(0x2545_F491_4F6C_DD1D);
        for _ in 0..5000 {
            let mut raw = base.clone();
            for _ in 0..(next() % 4 + 1) {
                let i = (next() as usize) % raw.len();
                if next().is_multiple_of(2) {
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
