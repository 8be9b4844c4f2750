//! Log capture benchmark: a child writes N MiB (1 MiB writes, `dd`) through the output pump
//! into a log file; compared with `dd | cat > file`. Reports MB/s, the CPU time of the draining
//! side (cat, or the pump thread: steadier than MB/s on a busy machine), bytes lost, then the
//! resident memory of 200 programs (400 pipes) drained by the pump, against one thread per pipe.
//!
//!     cargo run --release --example logbench -- [MIB] [DIR] [REPS] [ONLY]
//!
//! MIB defaults to 1024, DIR to the temp dir (the files are removed afterwards), REPS to 3
//! (scenarios run round-robin, the median is reported: page-cache writeback makes single runs
//! noisy). ONLY keeps the scenarios whose label contains it.

use std::os::fd::OwnedFd;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::Arc;
use std::time::{Duration, Instant};

use supervisor_rs::config::{LogConfig, LogFile};
use supervisor_rs::logs::{OutputPump, Sink, SinkSpec};

const MB: f64 = 1e6;

fn producer(mib: u64) -> String {
    format!("dd if=/dev/zero bs=1M count={mib} status=none")
}

fn spawn_sh(script: &str) -> (Child, OwnedFd) {
    let mut child = Command::new("sh")
        .args(["-c", script])
        .stdout(Stdio::piped())
        .spawn()
        .expect("spawning the producer");
    let out = child.stdout.take().expect("stdout pipe");
    (child, OwnedFd::from(out))
}

fn spec(path: &Path, maxbytes: u64, backups: u32) -> SinkSpec {
    SinkSpec {
        config: LogConfig {
            file: LogFile::Path(path.to_path_buf()),
            maxbytes,
            backups,
            capture_maxbytes: 0,
            events_enabled: false,
            syslog: false,
            prefix: None,
        },
        process_name: "producer".into(),
        group_name: "producer".into(),
        channel: "stdout",
        childlogdir: path.parent().unwrap_or(Path::new("/tmp")).to_path_buf(),
        identifier: "supervisor".into(),
        strip_ansi: false,
    }
}

/// Sizes of `path` and `path.1` … `path.backups`.
fn held(path: &Path, backups: u32) -> u64 {
    let mut total = std::fs::metadata(path).map(|m| m.len()).unwrap_or(0);
    for n in 1..=backups {
        total += std::fs::metadata(format!("{}.{n}", path.display()))
            .map(|m| m.len())
            .unwrap_or(0);
    }
    total
}

fn remove_logs(path: &Path, backups: u32) {
    let _ = std::fs::remove_file(path);
    for n in 1..=backups.max(200) {
        let _ = std::fs::remove_file(format!("{}.{n}", path.display()));
    }
}

fn cpu_secs(ru: &libc::rusage) -> f64 {
    let t = |tv: libc::timeval| tv.tv_sec as f64 + tv.tv_usec as f64 / 1e6;
    t(ru.ru_utime) + t(ru.ru_stime)
}

/// CPU seconds used by this process so far (the pump thread, in the pump scenarios).
fn self_cpu() -> f64 {
    // SAFETY: getrusage fills the zeroed struct.
    let mut ru: libc::rusage = unsafe { std::mem::zeroed() };
    // SAFETY: as above.
    unsafe { libc::getrusage(libc::RUSAGE_SELF, &mut ru) };
    cpu_secs(&ru)
}

/// `dd | cat > file`, with cat's own CPU time taken from wait4.
#[allow(clippy::zombie_processes)] // cat is reaped by wait4, which also reports its CPU time
fn cat_reference(dir: &Path, mib: u64) -> Run {
    let out = dir.join("cat.out");
    let start = Instant::now();
    let (mut dd, pipe) = spawn_sh(&format!("exec {}", producer(mib)));
    let cat = Command::new("cat")
        .stdin(Stdio::from(pipe))
        .stdout(std::fs::File::create(&out).expect("creating the cat output"))
        .spawn()
        .expect("spawning cat");
    // SAFETY: wait4 on our own child with valid pointers.
    let mut ru: libc::rusage = unsafe { std::mem::zeroed() };
    let mut status = 0;
    // SAFETY: as above.
    unsafe { libc::wait4(cat.id() as libc::pid_t, &mut status, 0, &mut ru) };
    let secs = start.elapsed().as_secs_f64();
    let _ = dd.wait();
    let held = std::fs::metadata(&out).map(|m| m.len()).unwrap_or(0);
    let _ = std::fs::remove_file(&out);
    Run {
        mbps: (mib << 20) as f64 / MB / secs,
        cpu: cpu_secs(&ru),
        written: held,
        dropped: 0,
        held,
    }
}

struct Run {
    mbps: f64,
    /// CPU seconds spent draining (cat itself, or the pump thread).
    cpu: f64,
    written: u64,
    dropped: u64,
    held: u64,
}

/// The alternative design for comparison: a dedicated thread doing blocking splice(2) from the
/// pipe into the file (no epoll, no rotation, no accounting).
fn thread_per_pipe(dir: &Path, mib: u64) -> Run {
    use std::os::fd::AsRawFd;
    let path = dir.join("out.log");
    let _ = std::fs::remove_file(&path);
    let file = std::fs::File::create(&path).expect("creating the output");
    let cpu0 = self_cpu();
    let start = Instant::now();
    let (mut child, pipe) = spawn_sh(&producer(mib));
    let worker = std::thread::spawn(move || {
        // SAFETY: grows the pipe like the pump does for busy pipes.
        unsafe { libc::fcntl(pipe.as_raw_fd(), libc::F_SETPIPE_SZ, 1 << 20) };
        let mut total = 0u64;
        loop {
            // SAFETY: both descriptors are open for the whole loop; null offsets.
            let n = unsafe {
                libc::splice(
                    pipe.as_raw_fd(),
                    std::ptr::null_mut(),
                    file.as_raw_fd(),
                    std::ptr::null_mut(),
                    1 << 20,
                    libc::SPLICE_F_MOVE,
                )
            };
            if n <= 0 {
                return total;
            }
            total += n as u64;
        }
    });
    let written = worker.join().expect("splice thread");
    let secs = start.elapsed().as_secs_f64();
    let cpu = self_cpu() - cpu0;
    let _ = child.wait();
    let held = held(&path, 0);
    let _ = std::fs::remove_file(&path);
    Run {
        mbps: (mib << 20) as f64 / MB / secs,
        cpu,
        written,
        dropped: 0,
        held,
    }
}

/// One producer through the pump; `observed` adds a (no-op) output observer, as events do.
fn through_pump(dir: &Path, mib: u64, maxbytes: u64, backups: u32, observed: bool) -> Run {
    let path = dir.join("out.log");
    remove_logs(&path, backups);
    let sink = Sink::open(&spec(&path, maxbytes, backups)).expect("opening the sink");
    if observed {
        sink.set_observer(Some(Arc::new(|_: &[u8]| {})));
    }
    let pump = OutputPump::new().expect("starting the pump");
    let (tx, rx) = crossbeam_channel::bounded(1);
    let cpu0 = self_cpu();
    let start = Instant::now();
    let (mut child, pipe) = spawn_sh(&producer(mib));
    pump.attach_with_eof(pipe, sink.clone(), move || {
        let _ = tx.send(());
    });
    rx.recv_timeout(Duration::from_secs(600)).expect("EOF");
    let secs = start.elapsed().as_secs_f64();
    let cpu = self_cpu() - cpu0;
    let _ = child.wait();
    let run = Run {
        mbps: (mib << 20) as f64 / MB / secs,
        cpu,
        written: sink.bytes_written(),
        dropped: sink.bytes_dropped(),
        held: held(&path, backups),
    };
    remove_logs(&path, backups);
    run
}

fn report(label: &str, mib: u64, r: &Run) {
    let total = mib << 20;
    println!(
        "{label:<44} {:>7.0} MB/s  cpu {:>5.2} s  written {:>11}  dropped {}  held {:>11}  not held {}",
        r.mbps,
        r.cpu,
        r.written,
        r.dropped,
        r.held,
        total - r.held.min(total)
    );
}

fn vm_rss_kib() -> u64 {
    std::fs::read_to_string("/proc/self/status")
        .ok()
        .and_then(|s| {
            s.lines()
                .find(|l| l.starts_with("VmRSS:"))
                .and_then(|l| l.split_whitespace().nth(1)?.parse().ok())
        })
        .unwrap_or(0)
}

/// 200 programs with stdout and stderr each writing 200 KB; returns the RSS growth in KiB.
fn rss_200(dir: &Path, per_pipe_threads: bool) -> u64 {
    let before = vm_rss_kib();
    let pump = OutputPump::new().expect("starting the pump");
    let mut kids = Vec::new();
    let mut sinks = Vec::new();
    let script = "head -c 200000 /dev/urandom; head -c 200000 /dev/urandom >&2; sleep 2";
    for i in 0..200 {
        let mut child = Command::new("sh")
            .args(["-c", script])
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .expect("spawning");
        for (chan, fd) in [
            ("stdout", OwnedFd::from(child.stdout.take().unwrap())),
            ("stderr", OwnedFd::from(child.stderr.take().unwrap())),
        ] {
            let mut s = spec(&dir.join(format!("p{i}-{chan}.log")), 50_000_000, 10);
            s.channel = chan;
            let sink = Sink::open(&s).expect("sink");
            if per_pipe_threads {
                let sink2 = sink.clone();
                std::thread::spawn(move || {
                    let mut buf = vec![0u8; 128 * 1024];
                    let f = std::fs::File::from(fd);
                    use std::io::Read;
                    let mut f = f;
                    while let Ok(n) = f.read(&mut buf) {
                        if n == 0 {
                            break;
                        }
                        sink2.write(&buf[..n]);
                    }
                });
            } else {
                pump.attach(fd, sink.clone());
            }
            sinks.push(sink);
        }
        kids.push(child);
    }
    // Measure while every child is alive and all output has been written.
    let expected = 200 * 2 * 200_000u64;
    let deadline = Instant::now() + Duration::from_secs(60);
    while sinks.iter().map(|s| s.bytes_written()).sum::<u64>() < expected
        && Instant::now() < deadline
    {
        std::thread::sleep(Duration::from_millis(20));
    }
    let grown = vm_rss_kib().saturating_sub(before);
    for mut k in kids {
        let _ = k.kill();
        let _ = k.wait();
    }
    for i in 0..200 {
        for chan in ["stdout", "stderr"] {
            let _ = std::fs::remove_file(dir.join(format!("p{i}-{chan}.log")));
        }
    }
    grown
}

type Scenario = (String, Box<dyn Fn() -> Run>);

fn median(mut v: Vec<f64>) -> f64 {
    v.sort_by(|a, b| a.total_cmp(b));
    v[v.len() / 2]
}

fn main() {
    let mut args = std::env::args().skip(1);
    let mib: u64 = args.next().and_then(|a| a.parse().ok()).unwrap_or(1024);
    let base: PathBuf = args
        .next()
        .map(PathBuf::from)
        .unwrap_or_else(std::env::temp_dir);
    let reps: usize = args.next().and_then(|a| a.parse().ok()).unwrap_or(3).max(1);
    let only: Option<String> = args.next();
    let dir = base.join(format!("logbench-{}", std::process::id()));
    std::fs::create_dir_all(&dir).expect("creating the bench dir");
    let total = mib << 20;
    let enough = (total / 50_000_000 + 2) as u32;
    println!(
        "log capture, {mib} MiB in 1 MiB writes, files in {}, median of {reps}",
        dir.display()
    );
    let d = dir.clone();
    let mut scenarios: Vec<Scenario> = vec![(
        "reference: dd | cat > file".into(),
        Box::new(move || cat_reference(&d, mib)),
    )];
    for (label, maxbytes, backups, observed) in [
        ("pump, no rotation".to_string(), 0, 0, false),
        (
            "pump, no rotation, with an output observer".to_string(),
            0,
            0,
            true,
        ),
        (
            "pump, 50MB x 10 rotation".to_string(),
            50_000_000,
            10,
            false,
        ),
        (
            format!("pump, 50MB x {enough} rotation (holds all)"),
            50_000_000,
            enough,
            false,
        ),
    ] {
        let d = dir.clone();
        scenarios.push((
            label,
            Box::new(move || through_pump(&d, mib, maxbytes, backups, observed)),
        ));
    }
    let d = dir.clone();
    scenarios.push((
        "alternative: thread per pipe, blocking splice(2)".into(),
        Box::new(move || thread_per_pipe(&d, mib)),
    ));
    if let Some(only) = &only {
        scenarios.retain(|(label, _)| label.contains(only.as_str()));
    }
    let mut runs: Vec<Vec<Run>> = scenarios.iter().map(|_| Vec::new()).collect();
    for _ in 0..reps {
        for (i, (_, f)) in scenarios.iter().enumerate() {
            runs[i].push(f());
        }
    }
    for ((label, _), rs) in scenarios.iter().zip(runs) {
        let all: Vec<String> = rs.iter().map(|r| format!("{:.0}", r.mbps)).collect();
        let worst = rs
            .iter()
            .max_by_key(|r| total - r.held.min(total))
            .expect("one run");
        let r = Run {
            mbps: median(rs.iter().map(|r| r.mbps).collect()),
            cpu: median(rs.iter().map(|r| r.cpu).collect()),
            written: worst.written,
            dropped: rs.iter().map(|r| r.dropped).max().unwrap_or(0),
            held: worst.held,
        };
        report(label, mib, &r);
        println!("{:<44} runs: {}", "", all.join(" "));
    }
    if only.is_some() {
        let _ = std::fs::remove_dir_all(&dir);
        return;
    }
    println!(
        "RSS growth, 200 programs (400 pipes, 80 MB), one pump thread: {} KiB",
        rss_200(&dir, false)
    );
    println!(
        "RSS growth, 200 programs (400 pipes, 80 MB), thread per pipe:  {} KiB",
        rss_200(&dir, true)
    );
    let _ = std::fs::remove_dir_all(&dir);
}
