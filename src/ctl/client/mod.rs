//! `supervisorctl`: options and config, the command dispatcher (one file per command group),
//! the interactive shell, and Supervisor's error and exit-status conventions.

mod config_cmds;
mod daemon;
mod errors;
pub(crate) mod lineedit;
mod logs;
mod options;
mod process;
mod status;
mod top;
pub mod transport;

use std::io::{self, Write};

pub use self::errors::python_str_repr;
use self::errors::CmdError;
use self::transport::{CallError, Endpoint, Pending};
use crate::ctl::protocol::xmlrpc::Value;

/// LSB init-script exit statuses used by supervisorctl.
pub mod exit {
    pub const SUCCESS: i32 = 0;
    pub const GENERIC: i32 = 1;
    pub const INVALID_ARGS: i32 = 2;
    pub const UNIMPLEMENTED_FEATURE: i32 = 3;
    pub const INSUFFICIENT_PRIVILEGES: i32 = 4;
    pub const NOT_INSTALLED: i32 = 5;
    pub const NOT_RUNNING: i32 = 7;
    /// LSB status: program is not running.
    pub const STATUS_NOT_RUNNING: i32 = 3;
    /// LSB status: program or service status is unknown.
    pub const STATUS_UNKNOWN: i32 = 4;
}

/// Fault codes the client interprets.
pub mod fault {
    pub use crate::ctl::protocol::faults::*;
}

/// The shell state: where to connect, the exit status being built, how to print.
pub struct Ctl {
    pub endpoint: Endpoint,
    pub interactive: bool,
    pub prompt: String,
    pub exitstatus: i32,
    /// Where the shell keeps the lines typed (`-r` / `history_file`).
    pub history_file: Option<std::path::PathBuf>,
    out: io::BufWriter<io::Stdout>,
}

type CmdResult = Result<(), CmdError>;

impl Ctl {
    pub fn output(&mut self, line: &str) {
        let _ = self.out.write_all(line.as_bytes());
        let _ = self.out.write_all(b"\n");
    }

    /// Writes `text` as it is (lines already ended).
    pub fn output_raw(&mut self, text: &str) {
        let _ = self.out.write_all(text.as_bytes());
    }

    pub fn flush(&mut self) {
        let _ = self.out.flush();
    }

    /// Lets go of a large answer. A one-shot command is about to exit and the system takes
    /// its memory back at once; freeing a decoded answer string by string first only costs
    /// time (at 200 processes, about a sixth of `status`). The shell frees as usual.
    pub fn discard<T>(&self, value: T) {
        match self.interactive {
            true => drop(value),
            false => std::mem::forget(value),
        }
    }

    pub fn call(&self, method: &str, params: &[Value]) -> Result<Value, CallError> {
        self.endpoint.call(method, params)
    }

    /// Supervisor's `set_exitstatus_from_xmlrpc_fault`.
    pub fn set_exit_from_fault(&mut self, code: i64, ignored: Option<i32>) {
        let code = code as i32;
        if Some(code) == ignored || code == fault::SUCCESS {
            return;
        }
        if matches!(
            code,
            fault::SPAWN_ERROR | fault::ABNORMAL_TERMINATION | fault::NOT_RUNNING
        ) {
            self.exitstatus = exit::NOT_RUNNING;
        } else {
            self.exitstatus = exit::GENERIC;
        }
    }

    /// Checks that the server answers and speaks API 3.0; prints why not and sets the status.
    pub fn upcheck(&mut self) -> Result<bool, CmdError> {
        let version = self.call("supervisor.getVersion", &[]);
        self.upcheck_answer(version)
    }

    /// `upcheck` with the read-only calls `methods` (no parameters) sent meanwhile, so their
    /// answers do not wait for its round trip. Their answers when the server passed the check.
    pub fn upcheck_then(&mut self, methods: &[&str]) -> Result<Option<Vec<Pending>>, CmdError> {
        let version = self.endpoint.send("supervisor.getVersion", &[]);
        let pending = methods.iter().map(|m| self.endpoint.send(m, &[])).collect();
        match self.upcheck_answer(version.answer())? {
            true => Ok(Some(pending)),
            false => Ok(None),
        }
    }

    fn upcheck_answer(&mut self, version: Result<Value, CallError>) -> Result<bool, CmdError> {
        match version {
            Ok(v) => {
                let api = v.as_str().unwrap_or("").to_string();
                if api != crate::ctl::protocol::API_VERSION {
                    self.output(&format!(
                        "Sorry, this version of supervisorctl expects to talk to a server with API version {}, but the remote version is {}.",
                        crate::ctl::protocol::API_VERSION,
                        api
                    ));
                    self.exitstatus = exit::NOT_INSTALLED;
                    return Ok(false);
                }
                Ok(true)
            }
            Err(CallError::Fault { code, .. }) if code == i64::from(fault::UNKNOWN_METHOD) => {
                self.output("Sorry, supervisord responded but did not recognize the supervisor namespace commands that supervisorctl uses to control it.  Please check that the [rpcinterface:supervisor] section is enabled in the configuration file (see sample.conf).");
                self.exitstatus = exit::UNIMPLEMENTED_FEATURE;
                Ok(false)
            }
            Err(e) if e.errno() == Some(libc::ECONNREFUSED) => {
                let url = self.endpoint.serverurl.clone();
                self.output(&format!("{url} refused connection"));
                self.exitstatus = exit::INSUFFICIENT_PRIVILEGES;
                Ok(false)
            }
            Err(e) if e.errno() == Some(libc::ENOENT) => {
                let url = self.endpoint.serverurl.clone();
                self.output(&format!("{url} no such file"));
                self.exitstatus = exit::NOT_RUNNING;
                Ok(false)
            }
            Err(e) => {
                self.exitstatus = exit::GENERIC;
                Err(CmdError::Call(e))
            }
        }
    }

    /// Runs one command line; returns true when the shell should stop.
    pub fn onecmd(&mut self, line: &str) -> bool {
        let line = line.trim();
        if line.is_empty() {
            return false;
        }
        let line = match line.strip_prefix('?') {
            Some(rest) => format!("help {rest}"),
            None => line.to_string(),
        };
        let split = line
            .find(|c: char| !(c.is_ascii_alphanumeric() || c == '_'))
            .unwrap_or(line.len());
        let (cmd, arg) = (&line[..split], line[split..].trim());
        if cmd.is_empty() || !is_command(cmd) {
            self.output(&format!("*** Unknown syntax: {line}"));
            self.exitstatus = exit::GENERIC;
            return false;
        }
        match self.dispatch(cmd, arg) {
            Ok(stop) => stop,
            Err(CmdError::Call(CallError::Http { status: 401, .. })) => {
                self.output("Server requires authentication");
                if self.interactive {
                    if self.ask_credentials() {
                        return self.onecmd(&line);
                    }
                    return false;
                }
                self.exitstatus = exit::GENERIC;
                // Supervisor runs the command a second time here; it fails the same way.
                match self.dispatch(cmd, arg) {
                    Ok(stop) => stop,
                    Err(e) => {
                        self.report(&e);
                        false
                    }
                }
            }
            Err(e) => {
                self.report(&e);
                false
            }
        }
    }

    fn report(&mut self, e: &CmdError) {
        let line = errors::python_error_line(e);
        self.output(&line);
        self.exitstatus = exit::GENERIC;
    }

    fn ask_credentials(&mut self) -> bool {
        self.flush();
        let Some(username) = read_prompted("Username:", false) else {
            return false;
        };
        let Some(password) = read_prompted("Password:", true) else {
            return false;
        };
        self.output("");
        self.endpoint.username = Some(username);
        self.endpoint.password = Some(password);
        true
    }

    fn dispatch(&mut self, cmd: &str, arg: &str) -> Result<bool, CmdError> {
        match cmd {
            "status" => status::do_status(self, arg)?,
            "pid" => status::do_pid(self, arg)?,
            "top" => top::do_top(self, arg)?,
            "start" => process::do_start(self, arg)?,
            "stop" => process::do_stop(self, arg)?,
            "restart" => process::do_restart(self, arg)?,
            "signal" => process::do_signal(self, arg)?,
            "clear" => process::do_clear(self, arg)?,
            "tail" => logs::do_tail(self, arg)?,
            "maintail" => logs::do_maintail(self, arg)?,
            "fg" => logs::do_fg(self, arg)?,
            "avail" => config_cmds::do_avail(self, arg)?,
            "reread" => config_cmds::do_reread(self, arg)?,
            "update" => config_cmds::do_update(self, arg)?,
            "add" => config_cmds::do_add(self, arg)?,
            "remove" => config_cmds::do_remove(self, arg)?,
            "shutdown" => daemon::do_shutdown(self, arg)?,
            "reload" => daemon::do_reload(self, arg)?,
            "version" => daemon::do_version(self, arg)?,
            "open" => daemon::do_open(self, arg)?,
            "help" => daemon::do_help(self, arg),
            "quit" | "exit" | "EOF" => {
                self.output("");
                return Ok(true);
            }
            _ => unreachable_command(self, cmd),
        }
        Ok(false)
    }

    /// The interactive shell: `status` first, then prompt/read/run until EOF or quit.
    fn cmdloop(&mut self) {
        logs::install_interrupt_handler(true);
        self.onecmd("status");
        let mut editor = lineedit::usable().then(|| lineedit::Editor::new(self.load_history()));
        loop {
            let prompt = format!("{}> ", self.prompt);
            self.flush();
            let input = match editor.as_mut() {
                Some(ed) => {
                    let endpoint = self.endpoint.clone();
                    ed.read_line(&prompt, &mut |before| completions(&endpoint, before))
                }
                None => {
                    let _ = self.out.write_all(prompt.as_bytes());
                    self.flush();
                    let mut line = String::new();
                    // No lock is held across commands: confirmations read stdin too.
                    match io::stdin().read_line(&mut line) {
                        Ok(0) | Err(_) => lineedit::Input::Eof,
                        Ok(_) => lineedit::Input::Line(line),
                    }
                }
            };
            let stop = match input {
                lineedit::Input::Eof => self.onecmd("EOF"),
                lineedit::Input::Line(line) => {
                    self.remember(&line);
                    self.onecmd(&line)
                }
            };
            self.flush();
            if stop {
                break;
            }
        }
    }

    fn load_history(&self) -> Vec<String> {
        self.history_file
            .as_ref()
            .and_then(|p| std::fs::read_to_string(p).ok())
            .map(|t| t.lines().map(String::from).collect())
            .unwrap_or_default()
    }
}

/// Tab completion like Supervisor's shell: command names first, then group names for
/// add/remove/update and process names (`name`, `group:name`, `group:*`) for process commands.
fn completions(endpoint: &Endpoint, before: &str) -> Vec<String> {
    let words: Vec<&str> = before.split_whitespace().collect();
    let at_first_word = words.is_empty() || (words.len() == 1 && !before.ends_with(' '));
    if at_first_word || words[0] == "help" {
        return COMMANDS
            .iter()
            .filter(|c| **c != "EOF")
            .map(|c| c.to_string())
            .collect();
    }
    let wants_groups = matches!(words[0], "add" | "remove" | "update");
    let wants_processes = matches!(
        words[0],
        "clear"
            | "fg"
            | "pid"
            | "restart"
            | "signal"
            | "start"
            | "status"
            | "stop"
            | "tail"
            | "top"
    );
    if !wants_groups && !wants_processes {
        return Vec::new();
    }
    let Ok(infos) = endpoint.call("supervisor.getAllProcessInfo", &[]) else {
        return Vec::new();
    };
    let mut out: Vec<String> = Vec::new();
    for info in infos.as_array().unwrap_or(&[]) {
        let field = |k: &str| {
            info.get(k)
                .and_then(Value::as_str)
                .unwrap_or("")
                .to_string()
        };
        let (group, name) = (field("group"), field("name"));
        let candidates = if wants_groups {
            vec![group]
        } else if group == name {
            vec![name]
        } else {
            vec![format!("{group}:{name}"), format!("{group}:*")]
        };
        for c in candidates {
            if !out.contains(&c) {
                out.push(c);
            }
        }
    }
    out
}

impl Ctl {
    /// Appends a typed line to the history file (one line per entry, like readline's).
    fn remember(&self, line: &str) {
        let line = line.trim_end();
        let Some(path) = &self.history_file else {
            return;
        };
        if line.trim().is_empty() {
            return;
        }
        let file = std::fs::OpenOptions::new()
            .create(true)
            .append(true)
            .open(path);
        if let Ok(mut f) = file {
            let _ = writeln!(f, "{line}");
        }
    }
}

const COMMANDS: &[&str] = &[
    "add", "avail", "clear", "exit", "fg", "help", "maintail", "open", "pid", "quit", "reload",
    "remove", "reread", "restart", "shutdown", "signal", "start", "status", "stop", "tail", "top",
    "update", "version", "EOF",
];

fn is_command(cmd: &str) -> bool {
    COMMANDS.contains(&cmd)
}

fn unreachable_command(ctl: &mut Ctl, cmd: &str) {
    ctl.output(&format!("*** Unknown syntax: {cmd}"));
    ctl.exitstatus = exit::GENERIC;
}

/// Prints a prompt and reads a line from stdin. A `secret` is read without echo from a
/// terminal; without one its prompt goes to stderr, as Python's getpass does.
fn read_prompted(prompt: &str, secret: bool) -> Option<String> {
    let echo_guard = if secret { errors::EchoOff::new() } else { None };
    if secret && echo_guard.is_none() {
        eprint!("{prompt}");
    } else {
        print!("{prompt}");
        let _ = io::stdout().flush();
    }
    let mut line = String::new();
    let n = io::stdin().read_line(&mut line).ok()?;
    drop(echo_guard);
    if n == 0 {
        return None;
    }
    Some(line.trim_end_matches(['\r', '\n']).to_string())
}

/// Entry point: parses options, then runs one command or the shell.
pub fn main(argv0: &str, args: Vec<std::ffi::OsString>) -> i32 {
    let opts = match options::parse(argv0, args) {
        Ok(o) => o,
        Err(options::Exit(code)) => return code,
    };
    let mut ctl = Ctl {
        endpoint: Endpoint {
            serverurl: opts.serverurl,
            username: opts.username,
            password: opts.password,
        },
        interactive: opts.interactive,
        prompt: opts.prompt,
        exitstatus: exit::SUCCESS,
        history_file: opts.history_file,
        out: io::BufWriter::with_capacity(16 * 1024, io::stdout()),
    };
    if !opts.action.is_empty() {
        logs::exit_on_interrupt();
        ctl.onecmd(&opts.action.join(" "));
        ctl.flush();
        return ctl.exitstatus;
    }
    ctl.interactive = true;
    ctl.cmdloop();
    ctl.flush();
    0
}
