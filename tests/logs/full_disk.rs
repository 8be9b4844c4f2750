//! A log directory on a full file system: the child is never blocked, lost bytes are counted,
//! one warning per episode, and writing resumes once there is space again. Needs root to mount
//! a small tmpfs; skipped (with a note) when the mount is refused.

use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::Mutex;

use crate::support::logs::*;
use crate::support::temp::TempDir;
use supervisor_rs::config::LogFile;
use supervisor_rs::logs::{OutputPump, Sink};

/// A tmpfs mounted for the test, unmounted and removed on drop.
struct SmallTmpfs(PathBuf);

impl SmallTmpfs {
    fn mount(dir: &Path, size: &str) -> Option<SmallTmpfs> {
        let ok = Command::new("mount")
            .args(["-t", "tmpfs", "-o", &format!("size={size}"), "tmpfs"])
            .arg(dir)
            .status()
            .map(|s| s.success())
            .unwrap_or(false);
        ok.then(|| SmallTmpfs(dir.to_path_buf()))
    }
}

impl Drop for SmallTmpfs {
    fn drop(&mut self) {
        let _ = Command::new("umount").arg("-l").arg(&self.0).status();
    }
}

/// Records warnings so the test can count them.
struct Capture(Mutex<Vec<String>>);

impl log::Log for Capture {
    fn enabled(&self, _: &log::Metadata) -> bool {
        true
    }
    fn log(&self, r: &log::Record) {
        if r.level() <= log::Level::Info {
            self.0
                .lock()
                .unwrap()
                .push(format!("{} {}", r.level(), r.args()));
        }
    }
    fn flush(&self) {}
}

static CAPTURE: Capture = Capture(Mutex::new(Vec::new()));

fn messages(prefix: &str) -> Vec<String> {
    CAPTURE
        .0
        .lock()
        .unwrap()
        .iter()
        .filter(|m| m.starts_with(prefix))
        .cloned()
        .collect()
}

fn run_child(pump: &OutputPump, sink: &std::sync::Arc<Sink>, script: &str) {
    let (mut child, pipe) = sh_with_stdout_pipe(script);
    let (on_eof, eof) = eof_signal();
    pump.attach_with_eof(pipe, sink.clone(), on_eof);
    assert!(child.exits_within(LONG), "child blocked by a full disk");
    eof.recv_timeout(LONG).expect("pipe drained to EOF");
}

#[test]
fn a_full_disk_drops_counts_warns_once_and_recovers() {
    let _ = log::set_logger(&CAPTURE);
    log::set_max_level(log::LevelFilter::Info);
    let base = TempDir::new("fulldisk");
    let mnt = base.join("mnt");
    std::fs::create_dir(&mnt).unwrap();
    let Some(_fs) = SmallTmpfs::mount(&mnt, "256k") else {
        eprintln!("skipped: cannot mount a tmpfs here (needs root)");
        return;
    };
    let path = mnt.join("app.log");
    let sink = Sink::open(&spec(log_config(LogFile::Path(path.clone()), 0, 0), &base)).unwrap();
    let pump = OutputPump::new().unwrap();

    run_child(&pump, &sink, "head -c 5000000 /dev/zero");
    let written = sink.bytes_written();
    assert!(written <= 256 * 1024, "{written}");
    assert_eq!(written + sink.bytes_dropped(), 5_000_000);
    assert_eq!(file_len(&path), written);
    let warnings = messages("WARN");
    assert_eq!(warnings.len(), 1, "{warnings:?}");
    assert!(warnings[0].contains("app.log"), "{warnings:?}");

    // A second child during the same episode: still no stall, no second warning.
    run_child(&pump, &sink, "head -c 1000000 /dev/zero");
    assert_eq!(messages("WARN").len(), 1);

    // Space again: writing resumes and says so.
    sink.clear().unwrap();
    let before = sink.bytes_written();
    run_child(&pump, &sink, "seq 1 1000");
    assert_eq!(
        std::fs::read_to_string(&path).unwrap().lines().count(),
        1000
    );
    assert_eq!(sink.bytes_written() - before, file_len(&path));
    assert!(messages("INFO").iter().any(|m| m.contains("works again")));
}
