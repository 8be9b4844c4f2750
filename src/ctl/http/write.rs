//! Writing responses: complete bodies with Content-Length, Medusa's error pages, chunked
//! streams, and the HTTP date format.

use std::io::{self, Write};

use super::Version;

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
