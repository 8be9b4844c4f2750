//! Lines to the local syslog daemon over its datagram socket (`/dev/log`), RFC 3164 style as
//! Python's `syslog.syslog` sends them: `<PRI>Mmm dd HH:MM:SS supervisord: <text>`.

use std::io;
use std::os::unix::net::UnixDatagram;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Mutex;
use std::time::SystemTime;

use super::timefmt::syslog_stamp;

pub const DEFAULT_SOCKET: &str = "/dev/log";
/// LOG_USER facility.
const FACILITY_USER: u8 = 1;
pub const INFO: u8 = 6;

pub struct SyslogOut {
    path: PathBuf,
    sock: Mutex<Option<UnixDatagram>>,
    /// A failure has been reported and not yet followed by a success.
    failing: AtomicBool,
}

fn connect(path: &Path) -> io::Result<UnixDatagram> {
    let s = UnixDatagram::unbound()?;
    s.connect(path)?;
    // Our own socket: a busy syslog daemon must cost dropped lines, not a stalled pump.
    s.set_nonblocking(true)?;
    Ok(s)
}

/// `<PRI>stamp supervisord: text` for one line.
pub fn format_line(severity: u8, text: &[u8], now: SystemTime) -> Vec<u8> {
    let pri = FACILITY_USER * 8 + severity;
    let mut m = format!("<{pri}>{} supervisord: ", syslog_stamp(now)).into_bytes();
    m.extend_from_slice(text);
    m
}

impl SyslogOut {
    pub fn new(path: &Path) -> SyslogOut {
        SyslogOut {
            path: path.to_path_buf(),
            sock: Mutex::new(connect(path).ok()),
            failing: AtomicBool::new(false),
        }
    }

    /// Sends every line of `data` (split on newlines, empty tail dropped) with `tag` in front.
    /// Returns the number of bytes of `data` that could not be sent.
    pub fn send_lines(&self, severity: u8, tag: &[u8], data: &[u8]) -> u64 {
        let mut dropped = 0;
        let now = SystemTime::now();
        let body = data.strip_suffix(b"\n").unwrap_or(data);
        for line in body.split(|&c| c == b'\n') {
            let mut text = tag.to_vec();
            text.extend_from_slice(line);
            if let Err(e) = self.send(&format_line(severity, &text, now)) {
                dropped += line.len() as u64 + 1;
                self.report(Some(e));
            } else {
                self.report(None);
            }
        }
        dropped
    }

    fn send(&self, msg: &[u8]) -> io::Result<()> {
        let mut guard = self.sock.lock().unwrap_or_else(|p| p.into_inner());
        if guard.is_none() {
            *guard = Some(connect(&self.path)?);
        }
        let res = guard.as_ref().map(|s| s.send(msg)).unwrap_or(Ok(0));
        if res.is_err() {
            // The daemon may have restarted: connect again next time.
            *guard = None;
        }
        res.map(|_| ())
    }

    fn report(&self, err: Option<io::Error>) {
        match err {
            Some(e) => {
                if !self.failing.swap(true, Ordering::Relaxed) {
                    eprintln_once(&self.path, &e);
                }
            }
            None => self.failing.store(false, Ordering::Relaxed),
        }
    }
}

/// Syslog failures go to stderr, not the main log: the main log may itself be syslog.
fn eprintln_once(path: &Path, e: &io::Error) {
    crate::util::write_stderr(&format!(
        "supervisord: sending to syslog at {} failed: {e}; dropping syslog lines until it works\n",
        path.display()
    ));
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn lines_arrive_with_header_and_tag() {
        let dir = std::env::temp_dir().join(format!("sv-syslog-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        std::fs::create_dir_all(&dir).unwrap();
        struct Cleanup<'a>(&'a Path);
        impl Drop for Cleanup<'_> {
            fn drop(&mut self) {
                let _ = std::fs::remove_dir_all(self.0);
            }
        }
        let _cleanup = Cleanup(&dir);
        let sock_path = dir.join("log.sock");
        let server = UnixDatagram::bind(&sock_path).unwrap();
        let out = SyslogOut::new(&sock_path);
        assert_eq!(out.send_lines(INFO, b"web ", b"one\ntwo\n"), 0);
        let mut buf = [0u8; 512];
        let n = server.recv(&mut buf).unwrap();
        let m = String::from_utf8_lossy(&buf[..n]).into_owned();
        assert!(m.starts_with("<14>"), "{m}");
        assert!(m.ends_with(" supervisord: web one"), "{m}");
        let n = server.recv(&mut buf).unwrap();
        assert!(String::from_utf8_lossy(&buf[..n]).ends_with("web two"));
    }

    #[test]
    fn a_missing_socket_drops_without_blocking() {
        let out = SyslogOut::new(Path::new("/nonexistent/dev-log"));
        assert_eq!(out.send_lines(INFO, b"x ", b"abc\n"), 4);
    }
}
