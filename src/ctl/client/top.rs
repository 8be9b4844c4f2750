//! `top` (extension): a table of every process's resource use (its whole process tree), read
//! from `supervisor.getAllProcessUsage`, redrawn in place every few seconds like top(1).
//! Keys: `c` sort by CPU, `m` by memory, `n` by name, `q` (or Ctrl-C) quits. `-b`/`--once`
//! prints the table once (for scripts), as does a stdout that is not a terminal.

use std::io::{IsTerminal, Read, Write};
use std::os::fd::AsFd;
use std::time::Duration;

use nix::poll::{poll, PollFd, PollFlags, PollTimeout};
use nix::sys::termios::{self, LocalFlags, SetArg, Termios};

use super::status::{field_int, field_str};
use super::transport::CallError;
use super::{exit, fault, CmdResult, Ctl};
use crate::ctl::protocol::Value;
use crate::ctl::protocol::{make_namespec, split_namespec};

pub const HELP: &str = "top [-b|--once] [-d SECONDS] [-s cpu|mem|name] [<name>...]\n\
\t\t\tResource use of each process and its descendants, refreshed in place\n\
\t\t\t(keys: c sort by CPU, m by memory, n by name, q quit)\n\
top -b\t\t\tPrint the table once (for scripts)";

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Sort {
    Cpu,
    Memory,
    Name,
}

struct Options {
    once: bool,
    delay: Duration,
    sort: Sort,
    names: Vec<String>,
}

fn parse(arg: &str) -> Result<Options, String> {
    let mut o = Options {
        once: false,
        delay: Duration::from_secs(2),
        sort: Sort::Cpu,
        names: Vec::new(),
    };
    let mut words = arg.split_whitespace();
    while let Some(w) = words.next() {
        match w {
            "-b" | "--once" => o.once = true,
            "-d" => {
                let v = words.next().ok_or("Error: -d needs a number of seconds")?;
                let secs: f64 = v.parse().map_err(|_| format!("Error: bad delay {v:?}"))?;
                if !(0.2..=3600.0).contains(&secs) {
                    return Err(format!("Error: delay {v} is outside 0.2..3600 seconds"));
                }
                o.delay = Duration::from_secs_f64(secs);
            }
            "-s" => {
                o.sort = match words.next() {
                    Some("cpu") => Sort::Cpu,
                    Some("mem") | Some("memory") => Sort::Memory,
                    Some("name") => Sort::Name,
                    other => return Err(format!("Error: bad sort key {:?}", other.unwrap_or(""))),
                }
            }
            w if w.starts_with('-') => return Err(format!("Error: unknown option {w}")),
            name => o.names.push(name.to_string()),
        }
    }
    Ok(o)
}

pub fn do_top(ctl: &mut Ctl, arg: &str) -> CmdResult {
    let mut opts = match parse(arg) {
        Ok(o) => o,
        Err(why) => {
            ctl.output(&why);
            ctl.output(HELP);
            ctl.exitstatus = exit::GENERIC;
            return Ok(());
        }
    };
    let interactive =
        !opts.once && std::io::stdout().is_terminal() && std::io::stdin().is_terminal();
    // One table: its call goes out with the version check.
    let ahead: &[&str] = if interactive { &[] } else { &[USAGE] };
    let Some(mut first) = ctl.upcheck_then(ahead)? else {
        return Ok(());
    };
    if !interactive {
        let Some(rows) = rows_of(ctl, first.remove(0).answer(), &opts.names)? else {
            return Ok(());
        };
        for line in render(&rows, opts.sort, None) {
            ctl.output(&line);
        }
        ctl.discard(rows);
        return Ok(());
    }
    ctl.flush();
    let _raw = RawMode::enter();
    while let Some(rows) = fetch(ctl, &opts.names)? {
        let (width, height) = terminal_size();
        let mut screen = String::from("\x1b[H\x1b[2J");
        for line in render(&rows, opts.sort, Some(width))
            .iter()
            .take(height.saturating_sub(1))
        {
            screen.push_str(line);
            screen.push_str("\r\n");
        }
        let mut out = std::io::stdout();
        let _ = out.write_all(screen.as_bytes());
        let _ = out.flush();
        match wait_key(opts.delay) {
            Some(b'q') | Some(b'Q') | Some(3) | Some(4) => break,
            Some(b'c') | Some(b'C') | Some(b'P') => opts.sort = Sort::Cpu,
            Some(b'm') | Some(b'M') => opts.sort = Sort::Memory,
            Some(b'n') | Some(b'N') => opts.sort = Sort::Name,
            _ => {}
        }
    }
    print!("\r\n");
    Ok(())
}

/// The usage rows (filtered by names); `None` (with a message and status) when the server
/// does not offer them.
fn fetch(ctl: &mut Ctl, names: &[String]) -> Result<Option<Vec<Value>>, CallError> {
    let answer = ctl.call(USAGE, &[]);
    rows_of(ctl, answer, names)
}

const USAGE: &str = "supervisor.getAllProcessUsage";

/// The rows of a `getAllProcessUsage` answer, as `fetch` returns them.
fn rows_of(
    ctl: &mut Ctl,
    answer: Result<Value, CallError>,
    names: &[String],
) -> Result<Option<Vec<Value>>, CallError> {
    let all = match answer {
        Ok(v) => v,
        Err(CallError::Fault { code, .. }) if code == i64::from(fault::UNKNOWN_METHOD) => {
            ctl.output("supervisord does not report resource usage (supervisor.getAllProcessUsage is an extension of supervisord-rs)");
            ctl.exitstatus = exit::GENERIC;
            return Ok(None);
        }
        Err(e) => return Err(e),
    };
    let Value::Array(rows) = all else {
        return Ok(Some(Vec::new()));
    };
    Ok(Some(
        rows.into_iter().filter(|r| wanted(r, names)).collect(),
    ))
}

fn wanted(row: &Value, names: &[String]) -> bool {
    names.is_empty()
        || names.iter().any(|n| {
            let (group, process) = split_namespec(n);
            field_str(row, "group") == group && process.is_none_or(|p| field_str(row, "name") == p)
        })
}

fn float(v: &Value, key: &str) -> f64 {
    match v.get(key) {
        Some(Value::Double(d)) => *d,
        Some(Value::Int(i)) => *i as f64,
        _ => 0.0,
    }
}

/// 1536 → `1.5K`, 3 GiB → `3.0G` (binary units, like top).
pub fn human_bytes(n: i64) -> String {
    if n < 0 {
        return "-".into();
    }
    let mut v = n as f64;
    for unit in ["B", "K", "M", "G", "T"] {
        if v < 1024.0 || unit == "T" {
            return if unit == "B" {
                format!("{n}B")
            } else {
                format!("{v:.1}{unit}")
            };
        }
        v /= 1024.0;
    }
    unreachable!()
}

/// `h:mm:ss`, or `Nd hh:mm` past a day.
pub fn human_duration(secs: i64) -> String {
    let secs = secs.max(0);
    let (d, h, m, s) = (secs / 86400, secs / 3600 % 24, secs / 60 % 60, secs % 60);
    if d > 0 {
        format!("{d}d {h:02}:{m:02}")
    } else {
        format!("{h}:{m:02}:{s:02}")
    }
}

/// CPU time as top shows it: `m:ss.hh` (`h:mm:ss` past an hour).
pub fn cpu_time(secs: f64) -> String {
    if secs >= 3600.0 {
        return human_duration(secs as i64);
    }
    let m = (secs / 60.0).floor();
    format!("{}:{:05.2}", m as i64, secs - m * 60.0)
}

/// The header and one line per process, sorted; lines cut at `width` when given.
pub fn render(rows: &[Value], sort: Sort, width: Option<usize>) -> Vec<String> {
    // Each row's namespec once (the sort by name, the column width and the line use it).
    let mut rows: Vec<(String, &Value)> = rows
        .iter()
        .map(|r| {
            (
                make_namespec(field_str(r, "group"), field_str(r, "name")),
                r,
            )
        })
        .collect();
    match sort {
        Sort::Cpu => rows
            .sort_by(|(_, a), (_, b)| float(b, "cpu_percent").total_cmp(&float(a, "cpu_percent"))),
        Sort::Memory => rows.sort_by_key(|(_, r)| std::cmp::Reverse(field_int(r, "rss"))),
        Sort::Name => rows.sort_by(|(a, _), (b, _)| a.cmp(b)),
    }
    let running = rows.iter().filter(|(_, r)| field_int(r, "pid") > 0).count();
    let rss: i64 = rows.iter().map(|(_, r)| field_int(r, "rss")).sum();
    let cpu: f64 = rows.iter().map(|(_, r)| float(r, "cpu_percent")).sum();
    let sort_name = match sort {
        Sort::Cpu => "cpu",
        Sort::Memory => "memory",
        Sort::Name => "name",
    };
    let w = rows
        .iter()
        .map(|(n, _)| n.chars().count())
        .max()
        .unwrap_or(4)
        .clamp(4, 40);
    let mut out = Vec::with_capacity(rows.len() + 3);
    out.push(format!(
        "{} processes, {running} running; CPU {cpu:.1}%, RSS {}; sorted by {sort_name} (c cpu, m memory, n name, q quit)",
        rows.len(),
        human_bytes(rss)
    ));
    out.push(String::new());
    out.push(format!(
        "{:<w$} {:<9} {:>7} {:>6} {:>9} {:>8} {:>8} {:>5} {:>5} {:>5} {:>11} {:>8}",
        "NAME",
        "STATE",
        "PID",
        "CPU%",
        "CPU TIME",
        "RSS",
        "PSS",
        "PROCS",
        "THR",
        "FDS",
        "UPTIME",
        "RESTARTS"
    ));
    for (name, r) in rows {
        out.push(row_line(&name, r, w));
    }
    if let Some(width) = width {
        for line in &mut out {
            if let Some((cut, _)) = line.char_indices().nth(width) {
                line.truncate(cut);
            }
        }
    }
    out
}

/// A cell shown only for a running process (`-` otherwise), padded like its value.
struct Live<T>(bool, T);

impl<T: std::fmt::Display> std::fmt::Display for Live<T> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self.0 {
            true => self.1.fmt(f),
            false => f.pad("-"),
        }
    }
}

/// A number with one decimal, padded as a whole (like the String it replaces).
struct Fixed1(f64);

impl std::fmt::Display for Fixed1 {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let mut buf = String::with_capacity(16);
        let _ = std::fmt::Write::write_fmt(&mut buf, format_args!("{:.1}", self.0));
        f.pad(&buf)
    }
}

/// One process's line of the table.
fn row_line(name: &str, r: &Value, w: usize) -> String {
    use std::fmt::Write as _;
    let live = field_int(r, "pid") > 0;
    let fds = field_int(r, "fds");
    let fds: &dyn std::fmt::Display = if fds < 0 { &"-" } else { &fds };
    let mut line = String::with_capacity(w + 100);
    let _ = write!(
        line,
        "{:<w$} {:<9} {:>7} {:>6} {:>9} {:>8} {:>8} {:>5} {:>5} {:>5} {:>11} {:>8}",
        name,
        field_str(r, "statename"),
        Live(live, field_int(r, "pid")),
        Live(live, Fixed1(float(r, "cpu_percent"))),
        Live(live, cpu_time(float(r, "cpu_seconds"))),
        Live(live, human_bytes(field_int(r, "rss"))),
        Live(live, human_bytes(field_int(r, "pss"))),
        Live(live, field_int(r, "processes")),
        Live(live, field_int(r, "threads")),
        Live(live, fds),
        Live(live, human_duration(field_int(r, "uptime"))),
        field_int(r, "restarts"),
    );
    line
}

/// The terminal without line buffering or echo while `top` runs; restored when dropped.
struct RawMode(Option<Termios>);

impl RawMode {
    fn enter() -> RawMode {
        let stdin = std::io::stdin();
        let Ok(saved) = termios::tcgetattr(stdin.as_fd()) else {
            return RawMode(None);
        };
        let mut raw = saved.clone();
        // ISIG off too: Ctrl-C arrives as a key and quits through the restoring path.
        raw.local_flags
            .remove(LocalFlags::ICANON | LocalFlags::ECHO | LocalFlags::ISIG);
        let _ = termios::tcsetattr(stdin.as_fd(), SetArg::TCSANOW, &raw);
        print!("\x1b[?25l");
        RawMode(Some(saved))
    }
}

impl Drop for RawMode {
    fn drop(&mut self) {
        print!("\x1b[?25h");
        let _ = std::io::stdout().flush();
        if let Some(saved) = &self.0 {
            let _ = termios::tcsetattr(std::io::stdin().as_fd(), SetArg::TCSANOW, saved);
        }
    }
}

/// The next key pressed within `delay`, if any.
fn wait_key(delay: Duration) -> Option<u8> {
    let stdin = std::io::stdin();
    let mut fds = [PollFd::new(stdin.as_fd(), PollFlags::POLLIN)];
    let ms = u16::try_from(delay.as_millis()).unwrap_or(u16::MAX);
    match poll(&mut fds, PollTimeout::from(ms)) {
        Ok(n) if n > 0 => {
            let mut b = [0u8; 1];
            match stdin.lock().read(&mut b) {
                Ok(1) => Some(b[0]),
                _ => Some(b'q'), // end of input: nothing more will come
            }
        }
        _ => None,
    }
}

fn terminal_size() -> (usize, usize) {
    let mut ws = libc::winsize {
        ws_row: 0,
        ws_col: 0,
        ws_xpixel: 0,
        ws_ypixel: 0,
    };
    // SAFETY: TIOCGWINSZ writes one winsize into the struct we own.
    let ok = unsafe { libc::ioctl(libc::STDOUT_FILENO, libc::TIOCGWINSZ, &mut ws) } == 0;
    if ok && ws.ws_col > 0 && ws.ws_row > 0 {
        (usize::from(ws.ws_col), usize::from(ws.ws_row))
    } else {
        (120, 40)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn row(name: &str, pid: i64, cpu: f64, rss: i64) -> Value {
        Value::Struct(vec![
            ("name".into(), Value::str(name)),
            ("group".into(), Value::str(name)),
            (
                "statename".into(),
                Value::str(if pid > 0 { "RUNNING" } else { "STOPPED" }),
            ),
            ("pid".into(), Value::Int(pid)),
            ("cpu_percent".into(), Value::Double(cpu)),
            ("cpu_seconds".into(), Value::Double(75.0)),
            ("rss".into(), Value::Int(rss)),
            ("pss".into(), Value::Int(rss / 2)),
            ("processes".into(), Value::Int(2)),
            ("threads".into(), Value::Int(3)),
            ("fds".into(), Value::Int(-1)),
            ("uptime".into(), Value::Int(90061)),
            ("restarts".into(), Value::Int(4)),
        ])
    }

    #[test]
    fn sorted_by_cpu_memory_or_name() {
        let rows = [
            row("a", 10, 1.0, 5 << 20),
            row("b", 11, 50.0, 1 << 20),
            row("c", 0, 0.0, 0),
        ];
        let first = |sort| {
            render(&rows, sort, None)[3]
                .split(' ')
                .next()
                .unwrap()
                .to_string()
        };
        assert_eq!(first(Sort::Cpu), "b");
        assert_eq!(first(Sort::Memory), "a");
        assert_eq!(first(Sort::Name), "a");
        let lines = render(&rows, Sort::Name, None);
        assert!(lines[0].starts_with("3 processes, 2 running; CPU 51.0%, RSS 6.0M"));
        assert!(
            lines[3].contains(" 5.0M ")
                && lines[3].contains("1d 01:01")
                && lines[3].contains(" 2.5M ")
        );
        assert!(
            lines[5].starts_with("c    STOPPED         -"),
            "{}",
            lines[5]
        );
        assert!(render(&rows, Sort::Name, Some(10))
            .iter()
            .all(|l| l.chars().count() <= 10));
    }

    #[test]
    fn units_and_options() {
        assert_eq!(human_bytes(512), "512B");
        assert_eq!(human_bytes(1536), "1.5K");
        assert_eq!(human_bytes(-1), "-");
        assert_eq!(human_duration(3725), "1:02:05");
        assert_eq!(cpu_time(75.5), "1:15.50");
        let o = parse("-b -s mem -d 0.5 web").unwrap();
        assert!(o.once && o.sort == Sort::Memory && o.names == ["web"]);
        assert_eq!(o.delay, Duration::from_millis(500));
        assert!(parse("-d 0").is_err() && parse("-s x").is_err() && parse("-x").is_err());
    }
}
