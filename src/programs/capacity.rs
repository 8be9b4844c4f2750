//! How many processes this system lets supervisord run. Each process costs a worker thread
//! and its child (two tasks), the thread's stack, guard page and signal stack (four memory
//! maps), and its pipes and log files (fds). Beyond the system's limits a thread cannot be
//! created and the runtime aborts, so a config beyond them is refused when it is loaded
//! (`--check-config` included) and a group is refused when it is added.
//!
//! The system's room is measured once, at the first check, before any program runs: later
//! checks (reload, `add`/`update`) compare the whole set of processes with that room.

use nix::sys::resource::{getrlimit, Resource};
use std::sync::OnceLock;

use crate::config::{LogFile, ProcessConfig, SupervisordConfig};

/// Memory maps per worker thread: stack, guard page, signal stack and its guard page.
const MAPS_PER_PROCESS: u64 = 4;
/// Kept free for the control server's connection threads, log streams and the like.
const RESERVE_TASKS: u64 = 128;
const RESERVE_MAPS: u64 = 1024;
const RESERVE_FDS: u64 = 256;

/// The system's limits and what was in use when they were measured.
#[derive(Debug, Clone, Copy)]
struct Room {
    /// Tasks (threads and processes) that can still be created under the system's limits,
    /// and the limit that says so.
    tasks: (u64, &'static str),
    /// Tasks in use on the whole system (an upper bound of our user's).
    tasks_used: u64,
    nproc_soft: u64,
    nproc_hard: u64,
    /// Memory maps supervisord can still add (`vm.max_map_count` minus its own).
    maps: u64,
    /// Open fds (besides the ones already open) under the soft and hard RLIMIT_NOFILE.
    fds_open: u64,
    nofile_soft: u64,
    nofile_hard: u64,
}

fn read_number(path: &str) -> Option<u64> {
    std::fs::read_to_string(path).ok()?.trim().parse().ok()
}

/// (soft, hard); unlimited when it cannot be read.
fn rlimit(resource: Resource) -> (u64, u64) {
    getrlimit(resource).unwrap_or((u64::MAX, u64::MAX))
}

/// Tasks running on the whole system (the 4th field of /proc/loadavg: `running/total`).
fn tasks_in_use() -> u64 {
    std::fs::read_to_string("/proc/loadavg")
        .ok()
        .and_then(|s| {
            let field = s.split_whitespace().nth(3)?;
            field.split_once('/')?.1.parse().ok()
        })
        .unwrap_or(0)
}

/// The cgroup v2 `pids.max` and `pids.current` of this process, if limited.
fn cgroup_pids() -> Option<(u64, u64)> {
    let cgroup = std::fs::read_to_string("/proc/self/cgroup").ok()?;
    let path = cgroup.lines().find_map(|l| l.strip_prefix("0::"))?;
    let dir = format!("/sys/fs/cgroup{}", path.trim_end_matches('/'));
    let max = read_number(&format!("{dir}/pids.max"))?;
    Some((
        max,
        read_number(&format!("{dir}/pids.current")).unwrap_or(0),
    ))
}

fn measure() -> Room {
    let used = tasks_in_use();
    let mut tasks = (u64::MAX, "");
    let mut limit = |free: u64, name: &'static str| {
        if free < tasks.0 {
            tasks = (free, name);
        }
    };
    if let Some(n) = read_number("/proc/sys/kernel/threads-max") {
        limit(n.saturating_sub(used), "kernel.threads-max");
    }
    if let Some(n) = read_number("/proc/sys/kernel/pid_max") {
        limit(n.saturating_sub(used), "kernel.pid_max");
    }
    if let Some((max, current)) = cgroup_pids() {
        limit(max.saturating_sub(current), "the cgroup's pids.max");
    }
    let own_maps = std::fs::read_to_string("/proc/self/maps")
        .map(|m| m.lines().count() as u64)
        .unwrap_or(0);
    let max_maps = read_number("/proc/sys/vm/max_map_count").unwrap_or(65530);
    let fds_open = std::fs::read_dir("/proc/self/fd")
        .map(|d| d.count() as u64)
        .unwrap_or(0);
    let (nofile_soft, nofile_hard) = rlimit(Resource::RLIMIT_NOFILE);
    let (nproc_soft, nproc_hard) = rlimit(Resource::RLIMIT_NPROC);
    Room {
        tasks,
        tasks_used: used,
        nproc_soft,
        nproc_hard,
        maps: max_maps.saturating_sub(own_maps),
        fds_open,
        nofile_soft,
        nofile_hard,
    }
}

fn room() -> Room {
    static ROOM: OnceLock<Room> = OnceLock::new();
    *ROOM.get_or_init(measure)
}

/// Measures the system's room now (the first call fixes it); call before spawning anything.
pub fn measure_now() {
    room();
}

/// fds one process keeps open in supervisord: its pipes and its log files.
fn fds_of(p: &ProcessConfig) -> u64 {
    let file = |f: &LogFile| u64::from(matches!(f, LogFile::Auto | LogFile::Path(_)));
    let pipes = if p.redirect_stderr { 2 } else { 3 };
    let stderr = if p.redirect_stderr {
        0
    } else {
        file(&p.stderr.file)
    };
    pipes + file(&p.stdout.file) + stderr
}

/// A soft limit as startup raises it: to `min` when the hard limit allows.
fn raised(soft: u64, hard: u64, min: u64) -> u64 {
    soft.max(min.min(hard))
}

/// Whether `processes` fit in this system, with the limits raised to `minfds` and
/// `minprocs` as startup does; the error says which limit they exceed and what to change.
pub fn check<'a>(
    processes: impl IntoIterator<Item = &'a ProcessConfig>,
    sd: &SupervisordConfig,
) -> Result<(), String> {
    let (mut n, mut fds) = (0u64, 0u64);
    for p in processes {
        n += 1;
        fds += fds_of(p);
    }
    let room = room();
    let too_many = |need: u64, what: &str, free: u64, limit: &str| {
        Err(format!(
            "{n} processes are more than this system can run: they need {need} {what} and \
             {limit} leaves room for {free}; raise {limit} or run fewer processes"
        ))
    };
    // RLIMIT_NPROC counts per user over the whole system: the system's total bounds ours.
    let nproc = raised(room.nproc_soft, room.nproc_hard, sd.minprocs);
    let (free_tasks, task_limit) = room.tasks.min((
        nproc.saturating_sub(room.tasks_used),
        "minprocs (RLIMIT_NPROC)",
    ));
    if 2 * n > free_tasks.saturating_sub(RESERVE_TASKS) {
        let free = free_tasks.saturating_sub(RESERVE_TASKS);
        return too_many(2 * n, "threads and child processes", free, task_limit);
    }
    let free_maps = room.maps.saturating_sub(RESERVE_MAPS);
    if MAPS_PER_PROCESS * n > free_maps {
        let need = MAPS_PER_PROCESS * n;
        return too_many(need, "memory maps", free_maps, "vm.max_map_count");
    }
    let nofile = raised(room.nofile_soft, room.nofile_hard, sd.minfds);
    let free_fds = nofile.saturating_sub(room.fds_open + RESERVE_FDS);
    if fds > free_fds {
        return too_many(fds, "file descriptors", free_fds, "minfds (RLIMIT_NOFILE)");
    }
    Ok(())
}
