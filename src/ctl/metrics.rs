//! `GET /metrics` (extension): every process's state, starts, uptime, last exit status, log
//! bytes and health, plus supervisord's own memory and open fds, in Prometheus' text
//! exposition format (version 0.0.4). Served by the same HTTP servers, behind the same auth.

use std::fmt::Write;

use super::backend::Backend;
use crate::state::ProcessInfo;
use crate::usage::Usage;

/// supervisord's own resource use.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct OwnStats {
    pub resident_bytes: u64,
    pub open_fds: u64,
}

/// Reads this process's RSS and open fd count from /proc (zero where unreadable).
pub fn own_stats() -> OwnStats {
    let statm = std::fs::read_to_string("/proc/self/statm").unwrap_or_default();
    let pages: u64 = statm
        .split_whitespace()
        .nth(1)
        .and_then(|p| p.parse().ok())
        .unwrap_or(0);
    let page = nix::unistd::sysconf(nix::unistd::SysconfVar::PAGE_SIZE)
        .ok()
        .flatten()
        .unwrap_or(0)
        .max(0) as u64;
    let open_fds = std::fs::read_dir("/proc/self/fd")
        .map(|d| d.count().saturating_sub(1) as u64) // the directory's own fd
        .unwrap_or(0);
    OwnStats {
        resident_bytes: pages * page,
        open_fds,
    }
}

/// The whole page for a running backend.
pub fn render_backend(backend: &dyn Backend) -> String {
    let state = backend.state();
    let procs = backend.all_process_info();
    let mut out = render(&procs, own_stats(), crate::util::unix_secs());
    let roots: Vec<i32> = procs.iter().map(|p| p.pid).collect();
    render_usage(&mut out, &procs, &crate::usage::trees(&roots));
    family(
        &mut out,
        "supervisord_state",
        "gauge",
        "supervisord's own state code (1 RUNNING, 0 RESTARTING, -1 SHUTDOWN, 2 FATAL).",
    );
    let _ = writeln!(
        out,
        "supervisord_state{{state=\"{}\"}} {}",
        state.name(),
        state.code()
    );
    out
}

/// Escapes a label value (backslash, double quote, newline).
fn escape(v: &str) -> String {
    let mut s = String::with_capacity(v.len());
    for c in v.chars() {
        match c {
            '\\' => s.push_str("\\\\"),
            '"' => s.push_str("\\\""),
            '\n' => s.push_str("\\n"),
            c => s.push(c),
        }
    }
    s
}

fn labels(p: &ProcessInfo) -> String {
    format!(
        "group=\"{}\",name=\"{}\"",
        escape(&p.group),
        escape(&p.name)
    )
}

fn family(out: &mut String, name: &str, kind: &str, help: &str) {
    let _ = writeln!(out, "# HELP {name} {help}");
    let _ = writeln!(out, "# TYPE {name} {kind}");
}

/// One metric family with a value per process (processes for which `value` is `None` are
/// left out).
fn per_process(
    out: &mut String,
    procs: &[ProcessInfo],
    (name, kind, help): (&str, &str, &str),
    value: impl Fn(&ProcessInfo) -> Option<String>,
) {
    let rows: Vec<(String, String)> = procs
        .iter()
        .filter_map(|p| value(p).map(|v| (labels(p), v)))
        .collect();
    if rows.is_empty() {
        return;
    }
    family(out, name, kind, help);
    for (l, v) in rows {
        let _ = writeln!(out, "{name}{{{l}}} {v}");
    }
}

/// A usage metric: name, type, help, and its value for one tree (if known).
type UsageFamily = (
    &'static str,
    &'static str,
    &'static str,
    fn(&Usage) -> Option<String>,
);

/// Resource usage of each running process tree (read from /proc for this scrape).
pub fn render_usage(out: &mut String, procs: &[ProcessInfo], usages: &[Option<Usage>]) {
    let running: Vec<(&ProcessInfo, &Usage)> = procs
        .iter()
        .zip(usages)
        .filter_map(|(p, u)| Some((p, u.as_ref()?)))
        .collect();
    let families: [UsageFamily; 6] = [
        (
            "supervisord_process_resident_memory_bytes",
            "gauge",
            "Resident memory (RSS) of the process and its descendants, in bytes.",
            |u| Some(u.rss_bytes.to_string()),
        ),
        (
            "supervisord_process_proportional_memory_bytes",
            "gauge",
            "Proportional set size (PSS) of the process and its descendants, in bytes.",
            |u| u.pss_bytes.map(|v| v.to_string()),
        ),
        (
            "supervisord_process_cpu_seconds_total",
            "counter",
            "User and system CPU time of the process and its live descendants, in seconds.",
            |u| Some(format!("{:.2}", u.cpu_seconds)),
        ),
        (
            "supervisord_process_threads",
            "gauge",
            "Threads of the process and its descendants.",
            |u| Some(u.threads.to_string()),
        ),
        (
            "supervisord_process_open_fds",
            "gauge",
            "Open file descriptors of the process and its descendants.",
            |u| u.fds.map(|v| v.to_string()),
        ),
        (
            "supervisord_process_tree_processes",
            "gauge",
            "Processes in the program's tree (1 = the program alone).",
            |u| Some(u.processes.to_string()),
        ),
    ];
    for (name, kind, help, read) in families {
        let rows: Vec<(String, String)> = running
            .iter()
            .filter_map(|(p, u)| Some((labels(p), read(u)?)))
            .collect();
        if rows.is_empty() {
            continue;
        }
        family(out, name, kind, help);
        for (l, v) in rows {
            let _ = writeln!(out, "{name}{{{l}}} {v}");
        }
    }
}

/// The page for these processes and stats at time `now` (seconds since the epoch).
pub fn render(procs: &[ProcessInfo], own: OwnStats, now: i64) -> String {
    let mut out = String::new();
    per_process(
        &mut out,
        procs,
        (
            "supervisord_process_state",
            "gauge",
            "Process state code as Supervisor numbers it (20 RUNNING, 100 EXITED, 200 FATAL...).",
        ),
        |p| Some(p.state.code().to_string()),
    );
    info_family(&mut out, procs);
    per_process(
        &mut out,
        procs,
        (
            "supervisord_process_up",
            "gauge",
            "1 while the process is RUNNING, else 0.",
        ),
        |p| Some(u8::from(p.state == crate::state::ProcessState::Running).to_string()),
    );
    per_process(
        &mut out,
        procs,
        (
            "supervisord_process_starts_total",
            "counter",
            "How many times the process was spawned.",
        ),
        |p| Some(p.spawns.to_string()),
    );
    per_process(
        &mut out,
        procs,
        (
            "supervisord_process_uptime_seconds",
            "gauge",
            "Seconds since the running process was spawned (0 when not running).",
        ),
        |p| {
            let up = p.pid > 0 && p.start > 0;
            Some(if up { (now - p.start).max(0) } else { 0 }.to_string())
        },
    );
    per_process(
        &mut out,
        procs,
        (
            "supervisord_process_exit_status",
            "gauge",
            "Exit code of the last exit (-1 for a death by signal, 0 before any exit).",
        ),
        |p| Some(p.exitstatus.to_string()),
    );
    per_process(
        &mut out,
        procs,
        (
            "supervisord_process_log_bytes_written_total",
            "counter",
            "Bytes of process output written to its logs.",
        ),
        |p| Some(p.log_bytes_written.to_string()),
    );
    per_process(
        &mut out,
        procs,
        (
            "supervisord_process_log_bytes_dropped_total",
            "counter",
            "Bytes of process output dropped because a log could not keep up or failed.",
        ),
        |p| Some(p.log_bytes_dropped.to_string()),
    );
    per_process(
        &mut out,
        procs,
        (
            "supervisord_process_healthy",
            "gauge",
            "1 when the health check passes, 0 otherwise (processes with a health check).",
        ),
        |p| {
            p.health
                .as_deref()
                .map(|h| u8::from(h == "healthy").to_string())
        },
    );
    service_families(&mut out, procs);
    family(
        &mut out,
        "process_resident_memory_bytes",
        "gauge",
        "Resident memory of supervisord itself.",
    );
    let _ = writeln!(out, "process_resident_memory_bytes {}", own.resident_bytes);
    family(
        &mut out,
        "process_open_fds",
        "gauge",
        "Open file descriptors of supervisord itself.",
    );
    let _ = writeln!(out, "process_open_fds {}", own.open_fds);
    out
}

/// The service extensions: type and STATUS= text of oneshot and notify programs, and when
/// the next automatic start is due.
fn service_families(out: &mut String, procs: &[ProcessInfo]) {
    per_process(
        out,
        procs,
        (
            "supervisord_process_next_start_timestamp_seconds",
            "gauge",
            "When the next automatic start is due (processes waiting for a restart delay).",
        ),
        |p| (p.service.next_start > 0).then(|| p.service.next_start.to_string()),
    );
    let typed: Vec<&ProcessInfo> = procs.iter().filter(|p| p.service.kind.is_some()).collect();
    if typed.is_empty() {
        return;
    }
    family(
        out,
        "supervisord_process_service_info",
        "gauge",
        "Always 1; labels carry the service type and the last STATUS= text (oneshot, notify).",
    );
    for p in typed {
        let _ = writeln!(
            out,
            "supervisord_process_service_info{{{},type=\"{}\",status=\"{}\"}} 1",
            labels(p),
            p.service.kind.unwrap_or(""),
            escape(p.service.status_text.as_deref().unwrap_or(""))
        );
    }
}

/// `supervisord_process_info`: the state name and health as labels, so the value series
/// keep stable label sets.
fn info_family(out: &mut String, procs: &[ProcessInfo]) {
    if procs.is_empty() {
        return;
    }
    family(
        out,
        "supervisord_process_info",
        "gauge",
        "Always 1; labels carry the process state name and health (none without a check).",
    );
    for p in procs {
        let _ = writeln!(
            out,
            "supervisord_process_info{{{},state=\"{}\",health=\"{}\"}} 1",
            labels(p),
            p.state.name(),
            escape(p.health.as_deref().unwrap_or("none"))
        );
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::state::ProcessState;

    fn info(name: &str, state: ProcessState) -> ProcessInfo {
        ProcessInfo {
            name: name.into(),
            group: "grp".into(),
            state,
            pid: if state == ProcessState::Running {
                42
            } else {
                0
            },
            start: 1000,
            stop: 0,
            exitstatus: 3,
            spawnerr: String::new(),
            stdout_logfile: String::new(),
            stderr_logfile: String::new(),
            health: None,
            spawns: 2,
            log_bytes_written: 10,
            log_bytes_dropped: 1,
            service: Default::default(),
        }
    }

    #[test]
    fn renders_each_family_once_with_labels() {
        let mut web = info("web", ProcessState::Running);
        web.health = Some("healthy".into());
        let db = info("d\"b", ProcessState::Exited);
        let own = OwnStats {
            resident_bytes: 4096,
            open_fds: 7,
        };
        let page = render(&[web, db], own, 1060);
        for l in [
            "supervisord_process_state{group=\"grp\",name=\"web\"} 20",
            "supervisord_process_state{group=\"grp\",name=\"d\\\"b\"} 100",
            "supervisord_process_info{group=\"grp\",name=\"web\",state=\"RUNNING\",health=\"healthy\"} 1",
            "supervisord_process_info{group=\"grp\",name=\"d\\\"b\",state=\"EXITED\",health=\"none\"} 1",
            "supervisord_process_up{group=\"grp\",name=\"web\"} 1",
            "supervisord_process_starts_total{group=\"grp\",name=\"web\"} 2",
            "supervisord_process_uptime_seconds{group=\"grp\",name=\"web\"} 60",
            "supervisord_process_uptime_seconds{group=\"grp\",name=\"d\\\"b\"} 0",
            "supervisord_process_exit_status{group=\"grp\",name=\"web\"} 3",
            "supervisord_process_log_bytes_written_total{group=\"grp\",name=\"web\"} 10",
            "supervisord_process_log_bytes_dropped_total{group=\"grp\",name=\"web\"} 1",
            "supervisord_process_healthy{group=\"grp\",name=\"web\"} 1",
            "process_resident_memory_bytes 4096",
            "process_open_fds 7",
        ] {
            assert!(page.lines().any(|x| x == l), "missing {l}\n{page}");
        }
        assert!(!page.contains("supervisord_process_healthy{group=\"grp\",name=\"d"));
        assert_eq!(page.matches("# TYPE supervisord_process_state ").count(), 1);
        assert!(page.ends_with('\n'));
    }

    #[test]
    fn service_families_only_for_service_programs() {
        let mut api = info("api", ProcessState::Running);
        api.service.kind = Some("notify");
        api.service.status_text = Some("Serving \"3\"".into());
        let mut crash = info("crash", ProcessState::Exited);
        crash.service.next_start = 1234;
        let page = render(&[api, crash], OwnStats::default(), 1060);
        for l in [
            "supervisord_process_service_info{group=\"grp\",name=\"api\",type=\"notify\",status=\"Serving \\\"3\\\"\"} 1",
            "supervisord_process_next_start_timestamp_seconds{group=\"grp\",name=\"crash\"} 1234",
        ] {
            assert!(page.lines().any(|x| x == l), "missing {l}\n{page}");
        }
        assert!(!page.contains("service_info{group=\"grp\",name=\"crash\""));
        assert!(!page.contains("next_start_timestamp_seconds{group=\"grp\",name=\"api\""));
        let plain = render(
            &[info("web", ProcessState::Running)],
            OwnStats::default(),
            0,
        );
        assert!(!plain.contains("service_info") && !plain.contains("next_start"));
    }

    #[test]
    fn no_process_families_without_processes() {
        let page = render(&[], OwnStats::default(), 0);
        assert!(!page.contains("supervisord_process_"));
        assert!(page.contains("process_open_fds 0"));
    }

    #[test]
    fn own_stats_are_read_from_proc() {
        let s = own_stats();
        assert!(s.resident_bytes > 0);
        assert!(s.open_fds >= 3);
    }
}
