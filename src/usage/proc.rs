//! Reading one process's numbers from /proc: its `stat` line, `smaps_rollup` and `fd` directory.
//! Every reader returns `None` when the process is gone or the file is unreadable: processes
//! exit while we look, and that is not an error.

use nix::unistd::{sysconf, SysconfVar};
use std::path::PathBuf;

/// The fields of `/proc/PID/stat` that usage needs.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Stat {
    pub pid: i32,
    pub ppid: i32,
    /// utime + stime, in clock ticks.
    pub cpu_ticks: u64,
    pub threads: u64,
    /// Start time since boot, in clock ticks (tells a reused pid from the old process).
    pub start_ticks: u64,
    pub rss_pages: u64,
}

fn proc_path(pid: i32, file: &str) -> PathBuf {
    PathBuf::from(format!("/proc/{pid}/{file}"))
}

/// Parses a `stat` line. The command name sits in parentheses and may itself hold spaces and
/// parentheses, so the fields are counted from the last `)`.
pub fn parse_stat(pid: i32, line: &str) -> Option<Stat> {
    let rest = &line[line.rfind(')')? + 1..];
    let fields: Vec<&str> = rest.split_whitespace().collect();
    // fields[0] is field 3 of proc(5) (state); field N is fields[N - 3].
    let field = |n: usize| fields.get(n - 3).and_then(|f| f.parse::<u64>().ok());
    Some(Stat {
        pid,
        ppid: fields.get(1)?.parse().ok()?,
        cpu_ticks: field(14)? + field(15)?,
        threads: field(20)?,
        start_ticks: field(22)?,
        rss_pages: field(24)?,
    })
}

pub fn read_stat(pid: i32) -> Option<Stat> {
    let line = std::fs::read_to_string(proc_path(pid, "stat")).ok()?;
    parse_stat(pid, &line)
}

/// Proportional set size in bytes from `smaps_rollup` (Linux 4.14+): the kernel sums it in one
/// read, which is what makes PSS cheap enough to ask for on every query.
pub fn read_pss(pid: i32) -> Option<u64> {
    let text = std::fs::read_to_string(proc_path(pid, "smaps_rollup")).ok()?;
    parse_pss(&text)
}

pub fn parse_pss(text: &str) -> Option<u64> {
    let line = text.lines().find(|l| l.starts_with("Pss:"))?;
    let kb: u64 = line.split_whitespace().nth(1)?.parse().ok()?;
    Some(kb * 1024)
}

/// Open file descriptors (entries of `/proc/PID/fd`).
pub fn count_fds(pid: i32) -> Option<u64> {
    let dir = std::fs::read_dir(proc_path(pid, "fd")).ok()?;
    Some(dir.count() as u64)
}

/// Every pid in /proc with its parent, at most `limit` of them (bounded work per query).
pub fn all_stats(limit: usize) -> Vec<Stat> {
    let Ok(dir) = std::fs::read_dir("/proc") else {
        return Vec::new();
    };
    dir.filter_map(|e| e.ok()?.file_name().to_str()?.parse::<i32>().ok())
        .take(limit)
        .filter_map(read_stat)
        .collect()
}

pub fn page_size() -> u64 {
    sysconf(SysconfVar::PAGE_SIZE)
        .ok()
        .flatten()
        .unwrap_or(1)
        .max(1) as u64
}

pub fn clock_ticks() -> u64 {
    sysconf(SysconfVar::CLK_TCK)
        .ok()
        .flatten()
        .unwrap_or(1)
        .max(1) as u64
}

/// Seconds since boot (for uptimes computed from start ticks).
pub fn uptime_seconds() -> Option<f64> {
    let text = std::fs::read_to_string("/proc/uptime").ok()?;
    text.split_whitespace().next()?.parse().ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn stat_fields_counted_from_the_last_parenthesis() {
        let line = "42 (a (b) c) S 7 42 42 0 -1 4194560 100 0 0 0 30 12 0 0 20 0 3 0 5000 1000000 250 18446744073709551615";
        let s = parse_stat(42, line).unwrap();
        assert_eq!(s.ppid, 7);
        assert_eq!(s.cpu_ticks, 42);
        assert_eq!(s.threads, 3);
        assert_eq!(s.start_ticks, 5000);
        assert_eq!(s.rss_pages, 250);
        assert_eq!(parse_stat(1, "1 (x) S"), None);
    }

    #[test]
    fn pss_in_bytes() {
        let text = "55d0-7ff [rollup]\nRss:                1000 kB\nPss:                 612 kB\n";
        assert_eq!(parse_pss(text), Some(612 * 1024));
        assert_eq!(parse_pss("Rss: 1 kB\n"), None);
    }

    #[test]
    fn reads_this_process() {
        let me = std::process::id() as i32;
        let s = read_stat(me).unwrap();
        assert!(s.rss_pages > 0 && s.threads >= 1);
        assert!(count_fds(me).unwrap() >= 3);
        assert!(all_stats(100_000).iter().any(|s| s.pid == me));
    }
}
