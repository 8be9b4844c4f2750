//! Failures of a command and the one-line report Supervisor's shell prints for uncaught ones:
//! `error: <class 'X'>, <message>: file: <file> line: <n>`.

use super::transport::CallError;

#[derive(Debug)]
pub enum CmdError {
    Call(CallError),
    /// A result code the command does not know (Supervisor raises ValueError).
    UnknownResult {
        code: i64,
        name: String,
        /// Where Supervisor's supervisorctl.py raises it (start, stop/signal, clear differ).
        line: u32,
    },
}

impl From<CallError> for CmdError {
    fn from(e: CallError) -> Self {
        CmdError::Call(e)
    }
}

/// Python's exception class and `str()` for an errno.
fn os_error(code: i32, text: &str) -> (String, String) {
    let class = match code {
        libc::ENOENT => "FileNotFoundError",
        libc::ECONNREFUSED => "ConnectionRefusedError",
        libc::ECONNRESET => "ConnectionResetError",
        libc::ECONNABORTED => "ConnectionAbortedError",
        libc::EPIPE => "BrokenPipeError",
        libc::EACCES | libc::EPERM => "PermissionError",
        libc::ETIMEDOUT => "TimeoutError",
        _ => "OSError",
    };
    (
        format!("<class '{class}'>"),
        format!("[Errno {code}] {text}"),
    )
}

fn strerror(code: i32) -> String {
    let text = std::io::Error::from_raw_os_error(code).to_string();
    // Rust appends " (os error N)"; Python prints the bare C message.
    match text.rfind(" (os error") {
        Some(i) => text[..i].to_string(),
        None => text,
    }
}

pub fn python_error_line(e: &CmdError) -> String {
    let (class, message, file, line) = match e {
        CmdError::Call(CallError::Io(io)) => match io.raw_os_error() {
            Some(code) => {
                let (class, msg) = os_error(code, &strerror(code));
                (class, msg, "supervisor/xmlrpc.py", 557)
            }
            None => (
                "<class 'OSError'>".to_string(),
                io.to_string(),
                "supervisor/xmlrpc.py",
                557,
            ),
        },
        CmdError::Call(CallError::TcpConnect(io)) => {
            let code = io.raw_os_error().unwrap_or(0);
            let (class, msg) = os_error(code, &strerror(code));
            (class, msg, "socket.py", 836)
        }
        CmdError::Call(CallError::Http { status, reason }) => (
            "<class 'xmlrpc.client.ProtocolError'>".to_string(),
            format!("<ProtocolError for 127.0.0.1/RPC2: {status} {reason}>"),
            "supervisor/xmlrpc.py",
            539,
        ),
        CmdError::Call(CallError::Fault { code, string }) => (
            "<class 'xmlrpc.client.Fault'>".to_string(),
            format!("<Fault {code}: {}>", python_str_repr(string)),
            "xmlrpc/client.py",
            668,
        ),
        CmdError::Call(CallError::Protocol(why)) => (
            "<class 'xml.parsers.expat.ExpatError'>".to_string(),
            why.clone(),
            "xmlrpc/client.py",
            0,
        ),
        CmdError::Call(CallError::BadUrl(url)) => (
            "<class 'ValueError'>".to_string(),
            format!("Unknown protocol for serverurl {url}"),
            "supervisor/xmlrpc.py",
            505,
        ),
        CmdError::UnknownResult { code, name, line } => (
            "<class 'ValueError'>".to_string(),
            format!("Unknown result code {code} for {name}"),
            "supervisor/supervisorctl.py",
            *line,
        ),
    };
    format!("error: {class}, {message}: file: {file} line: {line}")
}

/// Python's `repr()` of a str (single quotes unless the text contains one and no double quote).
pub fn python_str_repr(s: &str) -> String {
    crate::config::pystr::repr(s)
}

/// Turns terminal echo off while alive (password prompts); `None` when stdin is no terminal.
pub struct EchoOff {
    saved: nix::sys::termios::Termios,
}

impl EchoOff {
    pub fn new() -> Option<EchoOff> {
        use nix::sys::termios::{tcgetattr, tcsetattr, LocalFlags, SetArg};
        let stdin = std::io::stdin();
        let saved = tcgetattr(&stdin).ok()?;
        let mut quiet = saved.clone();
        quiet.local_flags.remove(LocalFlags::ECHO);
        tcsetattr(&stdin, SetArg::TCSANOW, &quiet).ok()?;
        Some(EchoOff { saved })
    }
}

impl Drop for EchoOff {
    fn drop(&mut self) {
        let _ = nix::sys::termios::tcsetattr(
            std::io::stdin(),
            nix::sys::termios::SetArg::TCSANOW,
            &self.saved,
        );
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn error_lines() {
        let e = CmdError::Call(CallError::Io(std::io::Error::from_raw_os_error(
            libc::ENOENT,
        )));
        assert_eq!(
            python_error_line(&e),
            "error: <class 'FileNotFoundError'>, [Errno 2] No such file or directory: file: supervisor/xmlrpc.py line: 557"
        );
        let e = CmdError::Call(CallError::Http {
            status: 401,
            reason: "Unauthorized".into(),
        });
        assert_eq!(
            python_error_line(&e),
            "error: <class 'xmlrpc.client.ProtocolError'>, <ProtocolError for 127.0.0.1/RPC2: 401 Unauthorized>: file: supervisor/xmlrpc.py line: 539"
        );
    }

    #[test]
    fn reprs() {
        assert_eq!(python_str_repr("abc"), "'abc'");
        assert_eq!(python_str_repr("it's"), "\"it's\"");
        assert_eq!(python_str_repr("a\nb"), "'a\\nb'");
    }
}
