//! Resource usage of a process and all its descendants, read from /proc when someone asks
//! (an RPC call, `/metrics`, the dashboard, a memory-limit check) and never in the background:
//! an idle supervisord samples nothing.
//!
//! A shared bottom module: it imports no other part of the crate, so `programs` (memory limits)
//! and `ctl` (RPC, metrics, dashboard) can both use it.

mod cpu;
pub mod proc;

use std::collections::HashMap;

pub use cpu::Sampler;

/// Most pids looked at per query: the /proc walk is bounded even on a crowded host.
pub const SCAN_LIMIT: usize = 65_536;
/// Most processes counted in one tree (a fork bomb under one program must not make a query
/// unbounded).
pub const TREE_LIMIT: usize = 4_096;

/// What a process tree (a program's process and its descendants) uses right now.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct Usage {
    /// Processes in the tree (1 = the program alone).
    pub processes: u64,
    /// Resident memory, summed over the tree (shared pages count once per process).
    pub rss_bytes: u64,
    /// Proportional set size, summed over the tree; `None` when smaps_rollup is unreadable.
    pub pss_bytes: Option<u64>,
    /// User + system CPU time of the live processes of the tree.
    pub cpu_seconds: f64,
    /// CPU use over the last window, 100 = one core; filled by [`Sampler`].
    pub cpu_percent: Option<f64>,
    pub threads: u64,
    /// Open file descriptors over the tree; `None` when some fd directory is unreadable.
    pub fds: Option<u64>,
    /// Start of the root process, in clock ticks since boot.
    pub start_ticks: u64,
}

/// Children of every process, from one walk of /proc.
struct Tree {
    stats: HashMap<i32, proc::Stat>,
    children: HashMap<i32, Vec<i32>>,
}

impl Tree {
    fn read() -> Tree {
        let all = proc::all_stats(SCAN_LIMIT);
        let mut children: HashMap<i32, Vec<i32>> = HashMap::new();
        for s in &all {
            children.entry(s.ppid).or_default().push(s.pid);
        }
        let stats = all.into_iter().map(|s| (s.pid, s)).collect();
        Tree { stats, children }
    }

    /// `root` and its descendants, breadth first, at most TREE_LIMIT.
    fn descendants(&self, root: i32) -> Vec<i32> {
        let mut out = vec![root];
        let mut i = 0;
        while i < out.len() && out.len() < TREE_LIMIT {
            if let Some(kids) = self.children.get(&out[i]) {
                let room = TREE_LIMIT - out.len();
                out.extend(kids.iter().take(room));
            }
            i += 1;
        }
        out
    }

    fn usage(&self, root: i32, with_details: bool) -> Option<Usage> {
        let root_stat = self.stats.get(&root)?;
        let page = proc::page_size();
        let ticks = proc::clock_ticks() as f64;
        let mut u = Usage {
            start_ticks: root_stat.start_ticks,
            pss_bytes: Some(0),
            fds: Some(0),
            ..Usage::default()
        };
        let mut cpu_ticks = 0;
        for pid in self.descendants(root) {
            let Some(s) = self.stats.get(&pid) else {
                continue;
            };
            u.processes += 1;
            u.rss_bytes += s.rss_pages * page;
            u.threads += s.threads;
            cpu_ticks += s.cpu_ticks;
            if with_details {
                u.pss_bytes = add(u.pss_bytes, proc::read_pss(pid));
                u.fds = add(u.fds, proc::count_fds(pid));
            }
        }
        if !with_details {
            u.pss_bytes = None;
            u.fds = None;
        }
        u.cpu_seconds = cpu_ticks as f64 / ticks;
        Some(u)
    }
}

fn add(total: Option<u64>, one: Option<u64>) -> Option<u64> {
    Some(total? + one?)
}

/// Usage of each root's tree (`None` for a root that is 0 or gone), from one /proc walk.
pub fn trees(roots: &[i32]) -> Vec<Option<Usage>> {
    read_trees(roots, true)
}

/// Resident memory of one tree, without the PSS and fd reads (for memory-limit checks).
pub fn tree_rss(root: i32) -> Option<u64> {
    read_trees(&[root], false)
        .pop()
        .flatten()
        .map(|u| u.rss_bytes)
}

fn read_trees(roots: &[i32], with_details: bool) -> Vec<Option<Usage>> {
    if roots.iter().all(|&r| r <= 0) {
        return vec![None; roots.len()];
    }
    let tree = Tree::read();
    roots
        .iter()
        .map(|&r| (r > 0).then(|| tree.usage(r, with_details)).flatten())
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_tree_counts_its_descendants() {
        use std::os::unix::process::CommandExt;
        let mut child = std::process::Command::new("sh")
            .args(["-c", "sleep 30 & sleep 30 & wait"])
            .process_group(0)
            .spawn()
            .unwrap();
        let pid = child.id() as i32;
        let deadline = std::time::Instant::now() + std::time::Duration::from_secs(5);
        let mut seen = 0;
        while std::time::Instant::now() < deadline {
            seen = trees(&[pid])[0].as_ref().map_or(0, |u| u.processes);
            if seen == 3 {
                break;
            }
            std::thread::sleep(std::time::Duration::from_millis(20));
        }
        let u = trees(&[pid, 0])[0].clone().unwrap();
        let _ = nix::sys::signal::killpg(
            nix::unistd::Pid::from_raw(pid),
            nix::sys::signal::Signal::SIGKILL,
        );
        let _ = child.kill();
        let _ = child.wait();
        assert_eq!(seen, 3);
        assert!(u.rss_bytes > 0 && u.threads >= 3);
        assert!(u.fds.is_some_and(|f| f >= 3));
    }

    #[test]
    fn missing_roots_are_none() {
        assert_eq!(trees(&[0, -1]), vec![None, None]);
        let me = std::process::id() as i32;
        assert!(tree_rss(me).is_some_and(|r| r > 0));
    }
}
