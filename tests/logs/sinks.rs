//! Sink behaviour that does not need a pump: AUTO naming and cleanup, reopen after an external
//! rename, clear, counters, non-seekable targets.

use std::os::unix::fs::PermissionsExt;
use std::path::Path;

use crate::support::logs::*;
use crate::support::temp::TempDir;
use supervisor_rs::config::LogFile;
use supervisor_rs::logs::{cleanup_auto_logs, Sink};

fn auto_sink(dir: &Path, channel: &'static str) -> std::sync::Arc<Sink> {
    let mut s = spec(log_config(LogFile::Auto, 1_000_000, 2), dir);
    s.process_name = "web_01".into();
    s.channel = channel;
    Sink::open(&s).unwrap()
}

#[test]
fn auto_logs_are_named_created_0600_and_distinct() {
    let dir = TempDir::new("auto-name");
    let out = auto_sink(&dir, "stdout");
    let err = auto_sink(&dir, "stderr");
    let p = out.path().unwrap();
    assert_eq!(p.parent().unwrap(), &*dir);
    let name = p.file_name().unwrap().to_str().unwrap().to_owned();
    let rand = name
        .strip_prefix("web_01-stdout---supervisor-")
        .and_then(|r| r.strip_suffix(".log"))
        .unwrap_or_else(|| panic!("bad AUTO name {name}"));
    assert_eq!(rand.len(), 8, "{name}");
    let meta = std::fs::metadata(&p).unwrap();
    assert_eq!(meta.len(), 0, "created empty at open");
    assert_eq!(meta.permissions().mode() & 0o777, 0o600);
    assert!(err
        .path()
        .unwrap()
        .file_name()
        .unwrap()
        .to_str()
        .unwrap()
        .starts_with("web_01-stderr---supervisor-"));
    assert_ne!(out.path(), err.path());
    assert_eq!(out.readable_path(), out.path());
}

#[test]
fn cleanup_removes_auto_logs_of_this_identifier_only() {
    let dir = TempDir::new("auto-clean");
    let keep = [
        "other.log",
        "x---othersup-abcdefgh.log",
        "supervisord.log",
        "a---supervisor-has space.log",
    ];
    let gone = [
        "web-stdout---supervisor-abcd1234.log",
        "web-stdout---supervisor-abcd1234.log.1",
        "web-stderr---supervisor-zz_9zz9z.log.10",
    ];
    for n in keep.iter().chain(gone.iter()) {
        std::fs::write(dir.join(n), b"x").unwrap();
    }
    let live = auto_sink(&dir, "stdout");
    cleanup_auto_logs(&dir, "supervisor");
    for n in keep {
        assert!(dir.join(n).exists(), "{n} must stay");
    }
    for n in gone {
        assert!(!dir.join(n).exists(), "{n} must be removed");
    }
    assert!(
        !live.path().unwrap().exists(),
        "cleanup runs before sinks are opened"
    );
}

#[test]
fn reopen_after_an_external_rename_starts_a_new_file() {
    let dir = TempDir::new("reopen");
    let path = dir.join("app.log");
    let sink = Sink::open(&spec(log_config(LogFile::Path(path.clone()), 0, 0), &dir)).unwrap();
    sink.write(b"before\n");
    let rotated = dir.join("app.log.rotated");
    std::fs::rename(&path, &rotated).unwrap();
    sink.write(b"still old\n");
    sink.reopen();
    sink.write(b"after\n");
    assert_eq!(
        std::fs::read_to_string(&rotated).unwrap(),
        "before\nstill old\n"
    );
    assert_eq!(std::fs::read_to_string(&path).unwrap(), "after\n");
    assert_eq!(sink.bytes_written(), 23);
}

#[test]
fn clear_empties_the_file_and_writing_continues() {
    let dir = TempDir::new("clear");
    let path = dir.join("app.log");
    let sink = Sink::open(&spec(log_config(LogFile::Path(path.clone()), 0, 0), &dir)).unwrap();
    sink.write(b"0123456789");
    sink.clear().unwrap();
    assert_eq!(file_len(&path), 0);
    sink.write(b"ab");
    assert_eq!(std::fs::read(&path).unwrap(), b"ab");
}

#[test]
fn dev_null_is_a_stream_never_rotated_nor_readable() {
    let dir = TempDir::new("devnull");
    let sink = Sink::open(&spec(
        log_config(LogFile::Path("/dev/null".into()), 10, 3),
        &dir,
    ))
    .unwrap();
    for _ in 0..10 {
        sink.write(b"0123456789abcdef");
    }
    assert_eq!(sink.bytes_written(), 160);
    assert_eq!(sink.path(), Some("/dev/null".into()));
    assert_eq!(sink.readable_path(), None);
    assert!(!Path::new("/dev/null.1").exists());
}

#[test]
fn a_missing_directory_is_an_error_naming_the_path() {
    let dir = TempDir::new("missing");
    let bad = dir.join("no/such/dir/app.log");
    let err = Sink::open(&spec(log_config(LogFile::Path(bad), 0, 0), &dir))
        .err()
        .expect("must fail");
    assert!(err.to_string().contains("no/such/dir/app.log"), "{err}");
    assert!(err.to_string().contains("stdout_logfile"), "{err}");
}
