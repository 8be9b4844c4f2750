//! supervisord's own log: Supervisor's line format, level filtering, CRIT/BLAT, rotation,
//! reopen, clear, re-initialisation on reload. One test: the logger is process-global.

// Own test binary: the logger is process-global.

#[path = "../support"]
mod support {
    pub mod logs;
    pub mod temp;
    pub mod wait;
}

use std::path::{Path, PathBuf};

use supervisor_rs::config::{LogLevel, MainLogFile, SupervisordConfig};
use supervisor_rs::logs;
use support::logs::*;
use support::temp::TempDir;

fn config(logfile: &Path, level: LogLevel, maxbytes: u64, backups: u32) -> SupervisordConfig {
    SupervisordConfig {
        logfile: MainLogFile::Path(logfile.to_path_buf()),
        logfile_maxbytes: maxbytes,
        logfile_backups: backups,
        loglevel: level,
        pidfile: PathBuf::from("/nonexistent/supervisord.pid"),
        umask: 0o22,
        nodaemon: false,
        silent: false,
        minfds: 1024,
        minprocs: 200,
        nocleanup: false,
        childlogdir: std::env::temp_dir(),
        user: None,
        directory: None,
        strip_ansi: false,
        environment: Vec::new(),
        identifier: "supervisor".into(),
        shutdown_grace_secs: 5,
    }
}

fn lines(p: &Path) -> Vec<String> {
    std::fs::read_to_string(p)
        .unwrap_or_default()
        .lines()
        .map(str::to_owned)
        .collect()
}

/// `YYYY-MM-DD HH:MM:SS,mmm LEVL message`
fn assert_supervisor_format(line: &str, level: &str, message: &str) {
    let b = line.as_bytes();
    assert!(line.len() > 29, "{line}");
    assert!(b[..4].iter().all(u8::is_ascii_digit), "{line}");
    assert_eq!(
        (b[4], b[7], b[10], b[13], b[16], b[19]),
        (b'-', b'-', b' ', b':', b':', b','),
        "{line}"
    );
    assert!(b[20..23].iter().all(u8::is_ascii_digit), "{line}");
    assert_eq!(&line[23..], format!(" {level} {message}"), "{line}");
}

#[test]
fn main_log_format_levels_rotation_reopen_clear_and_reload() {
    let dir = TempDir::new("mainlog");
    let path = dir.join("supervisord.log");

    // Info level: DEBG and below are filtered out; CRIT comes through.
    logs::init_main_log(&config(&path, LogLevel::Info, 0, 0), false).unwrap();
    assert_eq!(logs::main_log_path(), Some(path.clone()));
    log::info!("supervisord started with pid 42");
    log::warn!("exited: foo (exit status 1; not expected)");
    log::error!("an error");
    supervisor_rs::crit!(
        "Server 'unix_http_server' running without any HTTP authentication checking"
    );
    log::debug!("hidden debug");
    supervisor_rs::blather!("hidden blather");
    let l = lines(&path);
    assert_eq!(l.len(), 4, "{l:?}");
    assert_supervisor_format(&l[0], "INFO", "supervisord started with pid 42");
    assert_supervisor_format(&l[1], "WARN", "exited: foo (exit status 1; not expected)");
    assert_supervisor_format(&l[2], "ERRO", "an error");
    assert_supervisor_format(
        &l[3],
        "CRIT",
        "Server 'unix_http_server' running without any HTTP authentication checking",
    );

    // Reload with blather: every level appears, the file is appended to.
    logs::init_main_log(&config(&path, LogLevel::Blather, 0, 0), false).unwrap();
    log::debug!("dbg");
    log::trace!("trc");
    supervisor_rs::blather!("blt");
    let l = lines(&path);
    assert_eq!(l.len(), 7, "{l:?}");
    assert_supervisor_format(&l[4], "DEBG", "dbg");
    assert_supervisor_format(&l[5], "TRAC", "trc");
    assert_supervisor_format(&l[6], "BLAT", "blt");

    // At debug and below, child output is copied into the main log, Supervisor style.
    let sink = supervisor_rs::logs::Sink::open(&spec(
        log_config(supervisor_rs::config::LogFile::None, 0, 0),
        &dir,
    ))
    .unwrap();
    let pump = supervisor_rs::logs::OutputPump::new().unwrap();
    let (mut child, pipe) = sh_with_stdout_pipe("echo hello from the child");
    let (on_eof, eof) = eof_signal();
    pump.attach_with_eof(pipe, sink, on_eof);
    assert!(child.exits_within(LONG));
    eof.recv_timeout(LONG).unwrap();
    let text = std::fs::read_to_string(&path).unwrap();
    assert!(
        text.contains(" DEBG 'prog' stdout output:\nhello from the child\n"),
        "{text}"
    );
    let l = lines(&path);
    assert_eq!(l.len(), 10, "{l:?}");

    // Error level keeps only ERRO and CRIT.
    logs::init_main_log(&config(&path, LogLevel::Error, 0, 0), false).unwrap();
    log::warn!("not shown");
    supervisor_rs::crit!("shown");
    assert_eq!(lines(&path).len(), 11);

    // External rename (logrotate), then reopen: a new file at the path.
    let moved = dir.join("supervisord.log.old");
    std::fs::rename(&path, &moved).unwrap();
    log::error!("still to the renamed file");
    logs::reopen_main_log();
    log::error!("to the new file");
    assert_eq!(lines(&moved).len(), 12);
    let l = lines(&path);
    assert_eq!(l.len(), 1);
    assert_supervisor_format(&l[0], "ERRO", "to the new file");

    // clearLog empties it.
    logs::clear_main_log().unwrap();
    assert_eq!(file_len(&path), 0);
    log::error!("after clear");
    assert_eq!(lines(&path).len(), 1);

    // Rotation by size.
    logs::init_main_log(&config(&path, LogLevel::Info, 1000, 2), false).unwrap();
    for i in 0..100 {
        log::info!("line {i} with some padding to fill the file quickly");
    }
    assert!(numbered(&path, 1).exists() && numbered(&path, 2).exists());
    assert!(!numbered(&path, 3).exists());
    assert!(file_len(&numbered(&path, 1)) >= 1000);

    // A non-seekable log file works and is never sought (no error, nothing to read back).
    logs::init_main_log(
        &config(Path::new("/dev/null"), LogLevel::Info, 1000, 2),
        false,
    )
    .unwrap();
    log::info!("into /dev/null");
    assert_eq!(logs::main_log_path(), None);

    // A log file in a missing directory is an error that keeps the previous setup.
    let bad = config(&dir.join("missing/dir/x.log"), LogLevel::Info, 0, 0);
    let err = logs::init_main_log(&bad, false).unwrap_err();
    assert!(err.to_string().contains("missing/dir/x.log"), "{err}");
}

const HELPER_ENV: &str = "SVRS_LOGS_MAIN_HELPER";

/// Helper process: `SVRS_LOGS_MAIN_HELPER=<logfile>|<nodaemon>|<silent>`; logs two lines.
#[test]
fn helper_entry() {
    let Ok(arg) = std::env::var(HELPER_ENV) else {
        return;
    };
    let f: Vec<&str> = arg.split('|').collect();
    let mut cfg = config(Path::new(f[0]), LogLevel::Info, 0, 0);
    cfg.silent = f[2] == "true";
    logs::init_stderr_log();
    log::info!("before the config: to stderr");
    logs::init_main_log(&cfg, f[1] == "true").unwrap();
    log::info!("marker-line one");
    log::warn!("marker-line two");
}

/// Runs the helper; returns (stdout, stderr).
fn run_helper(logfile: &Path, nodaemon: bool, silent: bool) -> (String, String) {
    let out = std::process::Command::new(std::env::current_exe().unwrap())
        .args(["--exact", "helper_entry", "--nocapture", "--test-threads=1"])
        .env(
            HELPER_ENV,
            format!("{}|{nodaemon}|{silent}", logfile.display()),
        )
        .output()
        .unwrap();
    assert!(out.status.success());
    (
        String::from_utf8_lossy(&out.stdout).into_owned(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

#[test]
fn nodaemon_copies_the_main_log_to_stdout_unless_silent() {
    let dir = TempDir::new("mainlog-echo");
    let path = dir.join("supervisord.log");
    let (out, err) = run_helper(&path, true, false);
    assert_eq!(out.matches("marker-line").count(), 2, "{out}");
    assert_eq!(
        std::fs::read_to_string(&path)
            .unwrap()
            .matches("marker-line")
            .count(),
        2
    );
    assert!(err.contains(" INFO before the config: to stderr"), "{err}");

    let (out, _) = run_helper(&path, true, true);
    assert_eq!(out.matches("marker-line").count(), 0, "silent: {out}");
    let (out, _) = run_helper(&path, false, false);
    assert_eq!(out.matches("marker-line").count(), 0, "daemon mode: {out}");
}

#[test]
fn logfile_dev_stdout_in_nodaemon_mode_prints_each_line_once() {
    let (out, _) = run_helper(Path::new("/dev/stdout"), true, false);
    assert_eq!(out.matches("marker-line one").count(), 1, "{out}");
    assert!(out.contains(" WARN marker-line two"), "{out}");
}
