//! The output pump drains child pipes into sinks: volume, rotation, prefixes, ANSI stripping,
//! NONE, many pipes at once, the observer hook.

use std::sync::{Arc, Mutex};

use crate::support::logs::*;
use crate::support::temp::TempDir;
use crate::support::wait::wait_for;
use supervisor_rs::config::LogFile;
use supervisor_rs::logs::{OutputPump, Sink};

#[test]
fn drains_a_large_output_completely_into_a_file() {
    let dir = TempDir::new("pump-large");
    let path = dir.join("out.log");
    let sink = Sink::open(&spec(log_config(LogFile::Path(path.clone()), 0, 0), &dir)).unwrap();
    let pump = OutputPump::new().unwrap();
    let (mut child, pipe) = sh_with_stdout_pipe("head -c 20000000 /dev/zero");
    let (on_eof, eof) = eof_signal();
    pump.attach_with_eof(pipe, sink.clone(), on_eof);
    assert!(child.exits_within(LONG), "child blocked");
    eof.recv_timeout(LONG).expect("EOF callback");
    assert_eq!(file_len(&path), 20_000_000);
    assert_eq!(sink.bytes_written(), 20_000_000);
    assert_eq!(sink.bytes_dropped(), 0);
    assert!(wait_for(LONG.as_secs_f64(), || pump.active_pipes() == 0));
}

#[test]
fn rotation_keeps_every_byte_when_backups_hold_it() {
    let dir = TempDir::new("pump-rotate");
    let path = dir.join("out.log");
    let sink = Sink::open(&spec(
        log_config(LogFile::Path(path.clone()), 1_000_000, 5),
        &dir,
    ))
    .unwrap();
    let pump = OutputPump::new().unwrap();
    let (mut child, pipe) = sh_with_stdout_pipe("head -c 3500000 /dev/zero");
    let (on_eof, eof) = eof_signal();
    pump.attach_with_eof(pipe, sink.clone(), on_eof);
    assert!(child.exits_within(LONG));
    eof.recv_timeout(LONG).expect("EOF callback");
    let mut total = file_len(&path);
    for n in 1..=5 {
        total += file_len(&numbered(&path, n));
    }
    assert_eq!(total, 3_500_000);
    assert!(numbered(&path, 1).exists() && numbered(&path, 2).exists());
    assert!(!numbered(&path, 6).exists());
    // Each rotated file reached maxbytes, and by at most one chunk more.
    for n in 1..=2 {
        let len = file_len(&numbered(&path, n));
        assert!(
            (1_000_000..1_000_000 + (2 << 20)).contains(&len),
            "{n}: {len}"
        );
    }
}

#[test]
fn zero_backups_truncate_and_keep_only_the_tail() {
    let dir = TempDir::new("pump-trunc");
    let path = dir.join("out.log");
    let sink = Sink::open(&spec(
        log_config(LogFile::Path(path.clone()), 100_000, 0),
        &dir,
    ))
    .unwrap();
    let pump = OutputPump::new().unwrap();
    let (mut child, pipe) = sh_with_stdout_pipe("head -c 1000000 /dev/zero");
    let (on_eof, eof) = eof_signal();
    pump.attach_with_eof(pipe, sink.clone(), on_eof);
    assert!(child.exits_within(LONG));
    eof.recv_timeout(LONG).unwrap();
    assert!(file_len(&path) < 1_000_000);
    assert!(!numbered(&path, 1).exists());
}

#[test]
fn prefixes_lines_split_across_reads_and_the_final_partial_line() {
    let dir = TempDir::new("pump-prefix");
    let path = dir.join("out.log");
    let mut cfg = log_config(LogFile::Path(path.clone()), 0, 0);
    cfg.prefix = Some("[web]".into());
    let sink = Sink::open(&spec(cfg, &dir)).unwrap();
    let pump = OutputPump::new().unwrap();
    let script = "printf 'hel'; sleep 0.2; printf 'lo\\nwor'; sleep 0.2; printf 'ld\\n\\nlast'";
    let (mut child, pipe) = sh_with_stdout_pipe(script);
    let (on_eof, eof) = eof_signal();
    pump.attach_with_eof(pipe, sink, on_eof);
    assert!(child.exits_within(LONG));
    eof.recv_timeout(LONG).unwrap();
    assert_eq!(
        std::fs::read_to_string(&path).unwrap(),
        "[web] hello\n[web] world\n[web] \n[web] last"
    );
}

#[test]
fn strips_ansi_escapes_when_asked() {
    let dir = TempDir::new("pump-ansi");
    let path = dir.join("out.log");
    let mut s = spec(log_config(LogFile::Path(path.clone()), 0, 0), &dir);
    s.strip_ansi = true;
    let sink = Sink::open(&s).unwrap();
    let pump = OutputPump::new().unwrap();
    let (mut child, pipe) = sh_with_stdout_pipe("printf '\\033[1;31mred\\033[0m plain\\n'");
    let (on_eof, eof) = eof_signal();
    pump.attach_with_eof(pipe, sink, on_eof);
    assert!(child.exits_within(LONG));
    eof.recv_timeout(LONG).unwrap();
    assert_eq!(std::fs::read_to_string(&path).unwrap(), "red plain\n");
}

#[test]
fn none_drains_and_discards() {
    let dir = TempDir::new("pump-none");
    let sink = Sink::open(&spec(log_config(LogFile::None, 0, 0), &dir)).unwrap();
    assert!(sink.path().is_none());
    let pump = OutputPump::new().unwrap();
    let (mut child, pipe) = sh_with_stdout_pipe("head -c 5000000 /dev/zero");
    pump.attach(pipe, sink);
    assert!(child.exits_within(LONG), "child blocked on a NONE log");
    assert_eq!(std::fs::read_dir(&dir).unwrap().count(), 0);
}

#[test]
fn many_children_at_once_are_all_drained() {
    let dir = TempDir::new("pump-many");
    let pump = OutputPump::new().unwrap();
    let mut kids = Vec::new();
    for i in 0..40 {
        let path = dir.join(format!("p{i}.log"));
        let sink = Sink::open(&spec(log_config(LogFile::Path(path.clone()), 0, 0), &dir)).unwrap();
        let (child, pipe) = sh_with_stdout_pipe("head -c 300000 /dev/urandom");
        let (on_eof, eof) = eof_signal();
        pump.attach_with_eof(pipe, sink, on_eof);
        kids.push((child, eof, path));
    }
    for (mut child, eof, path) in kids {
        assert!(child.exits_within(LONG));
        eof.recv_timeout(LONG).unwrap();
        assert_eq!(file_len(&path), 300_000);
    }
}

#[test]
fn the_observer_sees_every_byte_and_disables_nothing() {
    let dir = TempDir::new("pump-observer");
    let path = dir.join("out.log");
    let sink = Sink::open(&spec(log_config(LogFile::Path(path.clone()), 0, 0), &dir)).unwrap();
    let seen = Arc::new(Mutex::new(Vec::new()));
    let s2 = seen.clone();
    sink.set_observer(Some(Arc::new(move |d: &[u8]| {
        s2.lock().unwrap().extend_from_slice(d)
    })));
    let pump = OutputPump::new().unwrap();
    let (mut child, pipe) = sh_with_stdout_pipe("seq 1 20000");
    let (on_eof, eof) = eof_signal();
    pump.attach_with_eof(pipe, sink, on_eof);
    assert!(child.exits_within(LONG));
    eof.recv_timeout(LONG).unwrap();
    let file = std::fs::read(&path).unwrap();
    assert_eq!(*seen.lock().unwrap(), file);
    assert!(file.ends_with(b"20000\n"));
}

#[test]
fn a_pipe_kept_open_by_a_quiet_child_costs_nothing_until_it_writes() {
    let dir = TempDir::new("pump-quiet");
    let path = dir.join("out.log");
    let sink = Sink::open(&spec(log_config(LogFile::Path(path.clone()), 0, 0), &dir)).unwrap();
    let pump = OutputPump::new().unwrap();
    let (mut child, pipe) = sh_with_stdout_pipe("sleep 0.3; echo late");
    pump.attach(pipe, sink);
    assert!(child.exits_within(LONG));
    assert!(wait_for(LONG.as_secs_f64(), || file_len(&path) == 5));
    assert!(wait_for(5.0, || pump.active_pipes() == 0));
}

#[test]
fn a_panicking_observer_or_eof_callback_does_not_stop_the_pump() {
    let dir = TempDir::new("pump-panic");
    let path = dir.join("out.log");
    let sink = Sink::open(&spec(log_config(LogFile::Path(path.clone()), 0, 0), &dir)).unwrap();
    sink.set_observer(Some(Arc::new(|_: &[u8]| panic!("observer bug"))));
    let pump = OutputPump::new().unwrap();
    let (mut child, pipe) = sh_with_stdout_pipe("seq 1 1000; sleep 0.2; seq 1001 2000");
    pump.attach_with_eof(pipe, sink.clone(), || panic!("callback bug"));
    assert!(child.exits_within(LONG));
    assert!(wait_for(LONG.as_secs_f64(), || pump.active_pipes() == 0));
    let text = std::fs::read_to_string(&path).unwrap();
    assert!(
        text.ends_with("2000\n"),
        "output after the panic is still written"
    );
    // The pump still serves new pipes.
    let (mut child, pipe) = sh_with_stdout_pipe("echo again");
    let (on_eof, eof) = eof_signal();
    pump.attach_with_eof(pipe, sink, on_eof);
    assert!(child.exits_within(LONG));
    eof.recv_timeout(LONG).expect("pump alive");
    assert!(std::fs::read_to_string(&path).unwrap().ends_with("again\n"));
}

#[test]
fn a_filter_decides_what_reaches_the_log_across_chunks() {
    // Keeps everything outside <!--X--> … <!--Y--> (capture mode's shape), state across chunks.
    let dir = TempDir::new("pump-filter");
    let path = dir.join("out.log");
    let mut cfg = log_config(LogFile::Path(path.clone()), 0, 0);
    cfg.prefix = Some("> ".into());
    let sink = Sink::open(&spec(cfg, &dir)).unwrap();
    let capturing = Arc::new(Mutex::new(false));
    sink.set_filter(Some(Arc::new(move |data: &[u8], out: &mut Vec<u8>| {
        let mut on = capturing.lock().unwrap();
        for line in data.split_inclusive(|&c| c == b'\n') {
            match line {
                b"BEGIN\n" => *on = true,
                b"END\n" => *on = false,
                l if !*on => out.extend_from_slice(l),
                _ => {}
            }
        }
    })));
    let pump = OutputPump::new().unwrap();
    let script = "echo a; echo BEGIN; sleep 0.1; echo secret; sleep 0.1; echo END; echo b";
    let (mut child, pipe) = sh_with_stdout_pipe(script);
    let (on_eof, eof) = eof_signal();
    pump.attach_with_eof(pipe, sink, on_eof);
    assert!(child.exits_within(LONG));
    eof.recv_timeout(LONG).unwrap();
    assert_eq!(std::fs::read_to_string(&path).unwrap(), "> a\n> b\n");
}
