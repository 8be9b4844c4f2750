//! `tail`, `maintail`, `fg` and the `tail -f` stream, with Ctrl-C handling.

use std::io::{BufRead, IsTerminal, Write};
use std::os::fd::{AsFd, AsRawFd, OwnedFd};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Mutex, Once, OnceLock};

use nix::errno::Errno;
use nix::poll::{PollFd, PollFlags, PollTimeout};

use super::daemon::help_for;
use super::status::field_int;
use super::transport::{read_chunk, CallError, Stream};
use super::{exit, fault, CmdResult, Ctl};
use crate::ctl::protocol::xmlrpc::Value;

/// A second handle on the socket of a running stream: Ctrl-C shuts it down to end the
/// stream. Holding our own descriptor (not a number copied from the reader's) means the
/// shutdown can never hit a descriptor that was closed and reused meanwhile.
static STREAM: Mutex<Option<Stream>> = Mutex::new(None);

fn stream_slot() -> std::sync::MutexGuard<'static, Option<Stream>> {
    STREAM.lock().unwrap_or_else(|p| p.into_inner())
}
static INTERRUPTED: AtomicBool = AtomicBool::new(false);
static INTERACTIVE: AtomicBool = AtomicBool::new(false);
/// Set while `fg` reads stdin: Ctrl-C then ends the program like leaving foreground mode.
static FOREGROUND: AtomicBool = AtomicBool::new(false);
static INSTALL: Once = Once::new();
/// A pipe (read end, write end) the Ctrl-C thread signals on while `fg` waits for a terminal
/// line.
static FG_WAKE: OnceLock<(OwnedFd, OwnedFd)> = OnceLock::new();

/// The one-shot handler while it is in place (the full one below replaces it).
static QUICK_EXIT: Mutex<Option<signal_hook::SigId>> = Mutex::new(None);

/// For a one-shot command: Ctrl-C ends the program with a newline and status 1, what the
/// full handler does outside a stream, but from the signal handler itself, so a command such
/// as `status` starts no thread. Commands that stream install the full handler.
pub fn exit_on_interrupt() {
    // SAFETY: the action calls only write(2) and _exit(2), both async-signal-safe; the byte
    // written is a static.
    let id = unsafe {
        signal_hook::low_level::register(libc::SIGINT, || {
            libc::write(1, b"\n".as_ptr().cast(), 1);
            libc::_exit(1);
        })
    };
    if let Ok(id) = id {
        *QUICK_EXIT.lock().unwrap_or_else(|p| p.into_inner()) = Some(id);
    }
}

/// Ctrl-C ends a running stream (the command then returns); elsewhere it ends the program
/// (status 0 in the shell, as Supervisor's shell does).
pub fn install_interrupt_handler(interactive: bool) {
    if let Some(id) = QUICK_EXIT.lock().unwrap_or_else(|p| p.into_inner()).take() {
        signal_hook::low_level::unregister(id);
    }
    INTERACTIVE.store(interactive, Ordering::SeqCst);
    INSTALL.call_once(|| {
        let Ok(mut signals) = signal_hook::iterator::Signals::new([libc::SIGINT]) else {
            return;
        };
        if let Ok((r, w)) =
            nix::unistd::pipe2(nix::fcntl::OFlag::O_CLOEXEC | nix::fcntl::OFlag::O_NONBLOCK)
        {
            let _ = FG_WAKE.set((r, w));
        }
        let _ = std::thread::Builder::new()
            .name("ctl-sigint".into())
            .stack_size(64 * 1024)
            .spawn(move || {
                for _ in signals.forever() {
                    if let Some(stream) = stream_slot().as_ref() {
                        INTERRUPTED.store(true, Ordering::SeqCst);
                        stream.shutdown();
                    } else if let (true, Some((_, wake)), true) = (
                        FOREGROUND.load(Ordering::SeqCst),
                        FG_WAKE.get(),
                        stdin_is_tty(),
                    ) {
                        INTERRUPTED.store(true, Ordering::SeqCst);
                        let _ = nix::unistd::write(wake, b"x");
                    } else if FOREGROUND.load(Ordering::SeqCst) {
                        let _ = std::io::stdout().write_all(b"Exiting foreground\n");
                        let _ = std::io::stdout().flush();
                        std::process::exit(0);
                    } else {
                        super::lineedit::restore_terminal();
                        let _ = std::io::stdout().write_all(b"\n");
                        let _ = std::io::stdout().flush();
                        std::process::exit(if INTERACTIVE.load(Ordering::SeqCst) {
                            0
                        } else {
                            1
                        });
                    }
                }
            });
    });
}

fn stdin_is_tty() -> bool {
    std::io::stdin().is_terminal()
}

/// Waits until a terminal line can be read or Ctrl-C was pressed (then false). Only for a
/// terminal: its reads return whole lines, so nothing is left in stdin's buffer.
fn wait_for_terminal_line() -> bool {
    let Some((wake, _)) = FG_WAKE.get() else {
        return true;
    };
    let stdin = std::io::stdin();
    let mut fds = [
        PollFd::new(stdin.as_fd(), PollFlags::POLLIN),
        PollFd::new(wake.as_fd(), PollFlags::POLLIN),
    ];
    loop {
        if let Err(Errno::EINTR) = nix::poll::poll(&mut fds, PollTimeout::NONE) {
            continue;
        }
        if fds[1].any() == Some(true) || INTERRUPTED.load(Ordering::SeqCst) {
            let mut buf = [0u8; 16];
            let _ = nix::unistd::read(wake.as_raw_fd(), &mut buf);
            return false;
        }
        return true;
    }
}

/// Streams `path` to stdout until the server closes or Ctrl-C.
fn tailf(ctl: &mut Ctl, path: &str) -> CmdResult {
    ctl.output("==> Press Ctrl-C to exit <==");
    ctl.flush();
    install_interrupt_handler(ctl.interactive);
    INTERRUPTED.store(false, Ordering::SeqCst);
    let url = format!("{}{}", ctl.endpoint.serverurl, path);
    let (mut reader, chunked) = match ctl.endpoint.get_stream(path) {
        Ok(r) => r,
        Err(CallError::Http { status, .. }) => {
            eprintln!("{url} Cannot read, status code {status}");
            return Ok(());
        }
        Err(CallError::Io(e)) | Err(CallError::TcpConnect(e)) => {
            eprintln!("{url} Cannot connect, error: {e}");
            return Ok(());
        }
        Err(e) => return Err(e.into()),
    };
    *stream_slot() = reader.get_ref().try_clone().ok();
    let mut stdout = std::io::stdout();
    while let Some(data) = next_piece(&mut reader, chunked) {
        if stdout
            .write_all(&data)
            .and_then(|()| stdout.flush())
            .is_err()
        {
            break;
        }
    }
    *stream_slot() = None;
    if INTERRUPTED.swap(false, Ordering::SeqCst) {
        ctl.output("");
    }
    Ok(())
}

fn log_fault_message(ctl: &mut Ctl, who: &str, e: CallError, bad_name: bool) -> CmdResult {
    ctl.exitstatus = exit::GENERIC;
    let code = match &e {
        CallError::Fault { code, .. } => *code as i32,
        _ => return Err(e.into()),
    };
    let reason = match code {
        fault::NO_FILE => "no log file",
        fault::FAILED => "unknown error reading log",
        fault::BAD_NAME if bad_name => "no such process name",
        _ => return Err(e.into()),
    };
    ctl.output(&format!("{who}: ERROR ({reason})"));
    Ok(())
}

pub fn do_tail(ctl: &mut Ctl, arg: &str) -> CmdResult {
    if !ctl.upcheck()? {
        return Ok(());
    }
    let mut args: Vec<&str> = arg.split_whitespace().collect();
    if args.is_empty() {
        ctl.output("Error: too few arguments");
        ctl.exitstatus = exit::GENERIC;
        help_for(ctl, "tail");
        return Ok(());
    }
    if args.len() > 3 {
        ctl.output("Error: too many arguments");
        ctl.exitstatus = exit::GENERIC;
        help_for(ctl, "tail");
        return Ok(());
    }
    let modifier = if args[0].starts_with('-') {
        Some(args.remove(0))
    } else {
        None
    };
    let (name, channel) = match args.len() {
        1 => (args[0], "stdout".to_string()),
        0 => {
            ctl.output("Error: tail requires process name");
            ctl.exitstatus = exit::GENERIC;
            return Ok(());
        }
        _ => {
            let channel = args[args.len() - 1].to_lowercase();
            if channel != "stdout" && channel != "stderr" {
                ctl.output(&format!("Error: bad channel '{channel}'"));
                ctl.exitstatus = exit::GENERIC;
                return Ok(());
            }
            (args[0], channel)
        }
    };
    let mut bytes: i64 = 1600;
    if let Some(m) = modifier {
        let what = &m[1..];
        if what == "f" {
            return tailf(ctl, &format!("/logtail/{name}/{channel}"));
        }
        match python_int(what) {
            Some(n) => bytes = n,
            None => {
                ctl.output(&format!("Error: bad argument {m}"));
                ctl.exitstatus = exit::GENERIC;
                return Ok(());
            }
        }
    }
    let method = if channel == "stdout" {
        "supervisor.readProcessStdoutLog"
    } else {
        "supervisor.readProcessStderrLog"
    };
    match ctl.call(
        method,
        &[Value::str(name), Value::Int(-bytes), Value::Int(0)],
    ) {
        Ok(v) => {
            let text = v.as_str().unwrap_or("").to_string();
            ctl.output(&text);
            Ok(())
        }
        Err(e) => log_fault_message(ctl, name, e, true),
    }
}

/// Python's `int()` on a word: optional sign, digits, underscores between digits.
fn python_int(s: &str) -> Option<i64> {
    let t = s.trim();
    let digits = t.strip_prefix(['+', '-']).unwrap_or(t);
    if digits.is_empty()
        || digits.starts_with('_')
        || digits.ends_with('_')
        || digits.contains("__")
    {
        return None;
    }
    t.replace('_', "").parse().ok()
}

pub fn do_maintail(ctl: &mut Ctl, arg: &str) -> CmdResult {
    if !ctl.upcheck()? {
        return Ok(());
    }
    let args: Vec<&str> = arg.split_whitespace().collect();
    let mut bytes: i64 = 1600;
    if args.len() > 1 {
        ctl.output("Error: too many arguments");
        ctl.exitstatus = exit::GENERIC;
        help_for(ctl, "maintail");
        return Ok(());
    }
    if let Some(a) = args.first() {
        let Some(what) = a.strip_prefix('-') else {
            ctl.output(&format!("Error: bad argument {a}"));
            ctl.exitstatus = exit::GENERIC;
            return Ok(());
        };
        if what == "f" {
            return tailf(ctl, "/mainlogtail");
        }
        match python_int(what) {
            Some(n) => bytes = n,
            None => {
                ctl.output(&format!("Error: bad argument {a}"));
                ctl.exitstatus = exit::GENERIC;
                return Ok(());
            }
        }
    }
    match ctl.call("supervisor.readLog", &[Value::Int(-bytes), Value::Int(0)]) {
        Ok(v) => {
            let text = v.as_str().unwrap_or("").to_string();
            ctl.output(&text);
            Ok(())
        }
        Err(e) => log_fault_message(ctl, "supervisord", e, false),
    }
}

pub fn do_fg(ctl: &mut Ctl, arg: &str) -> CmdResult {
    if !ctl.upcheck()? {
        return Ok(());
    }
    let names: Vec<&str> = arg.split_whitespace().collect();
    if names.is_empty() {
        ctl.output("ERROR: no process name supplied");
        ctl.exitstatus = exit::GENERIC;
        help_for(ctl, "fg");
        return Ok(());
    }
    if names.len() > 1 {
        ctl.output("ERROR: too many process names supplied");
        ctl.exitstatus = exit::GENERIC;
        return Ok(());
    }
    let name = names[0].to_string();
    let info = match ctl.call("supervisor.getProcessInfo", &[Value::str(&name)]) {
        Ok(i) => i,
        Err(CallError::Fault { code, .. }) if code == i64::from(fault::BAD_NAME) => {
            ctl.output("ERROR: bad process name supplied");
            ctl.exitstatus = exit::GENERIC;
            return Ok(());
        }
        Err(CallError::Fault { code, string }) => {
            ctl.output(&format!(
                "ERROR: <Fault {code}: {}>",
                super::errors::python_str_repr(&string)
            ));
            return Ok(());
        }
        Err(e) => return Err(e.into()),
    };
    if field_int(&info, "state") != 20 {
        ctl.output("ERROR: process not running");
        ctl.exitstatus = exit::GENERIC;
        return Ok(());
    }
    ctl.output("==> Press Ctrl-C to exit <==");
    ctl.flush();
    install_interrupt_handler(ctl.interactive);
    // Output of both channels streams on background threads while stdin lines go to the process.
    let mut streams = Vec::new();
    for channel in ["stdout", "stderr"] {
        if let Ok((mut reader, chunked)) = ctl
            .endpoint
            .get_stream(&format!("/logtail/{name}/{channel}"))
        {
            if let Ok(handle) = reader.get_ref().try_clone() {
                streams.push(handle);
            }
            let _ = std::thread::Builder::new()
                .stack_size(128 * 1024)
                .spawn(move || {
                    let mut out = std::io::stdout();
                    while let Some(data) = next_piece(&mut reader, chunked) {
                        let _ = out.write_all(&data);
                        let _ = out.flush();
                    }
                });
        }
    }
    FOREGROUND.store(true, Ordering::SeqCst);
    let stdin = std::io::stdin();
    let mut line = String::new();
    let by_terminal = stdin_is_tty() && FG_WAKE.get().is_some();
    INTERRUPTED.store(false, Ordering::SeqCst);
    let result = loop {
        line.clear();
        if by_terminal && !wait_for_terminal_line() {
            break None;
        }
        match stdin.lock().read_line(&mut line) {
            Ok(0) | Err(_) => break None,
            Ok(_) => {}
        }
        let text = if line.ends_with('\n') {
            line.clone()
        } else {
            format!("{line}\n")
        };
        match ctl.call(
            "supervisor.sendProcessStdin",
            &[Value::str(&name), Value::str(text)],
        ) {
            Ok(_) => {}
            Err(CallError::Fault { code, .. }) if code == i64::from(fault::NOT_RUNNING) => {
                break Some("Process got killed".to_string());
            }
            Err(CallError::Fault { code, string }) => {
                break Some(format!(
                    "ERROR: <Fault {code}: {}>",
                    super::errors::python_str_repr(&string)
                ));
            }
            Err(e) => break Some(super::errors::python_error_line(&e.into())),
        }
        match ctl.call("supervisor.getProcessInfo", &[Value::str(&name)]) {
            Ok(i) if field_int(&i, "state") == 20 => {}
            _ => break Some("Process got killed".to_string()),
        }
    };
    FOREGROUND.store(false, Ordering::SeqCst);
    INTERRUPTED.store(false, Ordering::SeqCst);
    // Our own handles on the stream sockets: shutting them down ends the output threads.
    for stream in streams {
        stream.shutdown();
    }
    if let Some(msg) = result {
        ctl.output(&msg);
    }
    ctl.output("Exiting foreground");
    Ok(())
}

/// The next piece of a log stream: one chunk of a chunked body, else what one read returns;
/// `None` at the end of the stream or on an error.
fn next_piece<R: std::io::BufRead>(reader: &mut R, chunked: bool) -> Option<Vec<u8>> {
    if chunked {
        return read_chunk(reader).ok().flatten();
    }
    let mut buf = vec![0u8; 8192];
    match reader.read(&mut buf) {
        Ok(0) | Err(_) => None,
        Ok(n) => {
            buf.truncate(n);
            Some(buf)
        }
    }
}
