//! getProcessInfo, getAllProcessInfo and getAllConfigInfo: the structs, keys in Supervisor's
//! order.

use super::super::describe;
use super::{capped, now, p_str, Rpc, RpcResult};
use crate::config::{GroupConfig, LogFile, ProcessConfig};
use crate::ctl::backend::Channel;
use crate::ctl::protocol::Value;
use crate::state::ProcessInfo;

impl Rpc {
    pub(super) fn get_process_info(&self, p: &[Value]) -> RpcResult {
        let info = self.resolve_process(p_str(&p[0])?)?;
        Ok(self.info_value(&info, now()))
    }

    pub(super) fn get_all_process_info(&self, _: &[Value]) -> RpcResult {
        Ok(self.all_process_info_value())
    }

    /// getAllProcessInfo's answer (the web page renders it too).
    pub fn all_process_info_value(&self) -> Value {
        let now = now();
        let infos = self.backend.all_process_info();
        Value::Array(infos.iter().map(|i| self.info_value(i, now)).collect())
    }

    /// The getProcessInfo struct; a stopped process whose start is held for its `depends_on`
    /// programs says so in its description (extension), so `status` does not call it idle.
    fn info_value(&self, info: &ProcessInfo, now: i64) -> Value {
        let mut v = process_info_value(info, now);
        if info.state.is_stopped() && self.backend.start_pending(&info.namespec()) {
            if let Value::Struct(fields) = &mut v {
                for (k, val) in fields.iter_mut() {
                    if k == "description" {
                        *val = Value::str("waiting for its dependencies (depends_on)");
                    }
                }
            }
        }
        v
    }

    pub(super) fn get_all_config_info(&self, _: &[Value]) -> RpcResult {
        let active = self.backend.active_groups();
        let mut rows: Vec<(String, Value)> = Vec::new();
        for group in self.backend.pending_groups() {
            let inuse = active.contains(&group.name);
            for process in &group.processes {
                let auto_paths = if inuse && self.backend.auto_logs_resolved(&group.name) {
                    let ns = process.namespec();
                    let path = |c| {
                        self.backend
                            .log_path(&ns, c)
                            .ok()
                            .flatten()
                            .map(|p| p.display().to_string())
                    };
                    (path(Channel::Stdout), path(Channel::Stderr))
                } else {
                    (None, None)
                };
                rows.push((
                    process.name.clone(),
                    config_info_value(&group, process, inuse, auto_paths),
                ));
            }
        }
        // Stable sort by process name, like Python's list.sort(key=...).
        rows.sort_by(|a, b| a.0.cmp(&b.0));
        Ok(Value::Array(rows.into_iter().map(|(_, v)| v).collect()))
    }
}

/// The getProcessInfo struct, keys in Supervisor's order.
pub fn process_info_value(info: &ProcessInfo, now: i64) -> Value {
    let mut fields = vec![
        ("name".into(), Value::str(&info.name)),
        ("group".into(), Value::str(&info.group)),
        ("start".into(), capped(info.start)),
        ("stop".into(), capped(info.stop)),
        ("now".into(), capped(now)),
        ("state".into(), Value::Int(i64::from(info.state.code()))),
        ("statename".into(), Value::str(info.state.name())),
        ("spawnerr".into(), Value::str(&info.spawnerr)),
        ("exitstatus".into(), Value::Int(i64::from(info.exitstatus))),
        ("logfile".into(), Value::str(&info.stdout_logfile)),
        ("stdout_logfile".into(), Value::str(&info.stdout_logfile)),
        ("stderr_logfile".into(), Value::str(&info.stderr_logfile)),
        ("pid".into(), Value::Int(i64::from(info.pid))),
        (
            "description".into(),
            Value::str(describe::description(info, now)),
        ),
    ];
    // Extension: only programs with a health check carry the key, so plain configs answer
    // exactly Supervisor's struct.
    if let Some(h) = &info.health {
        fields.push(("health".into(), Value::str(h)));
    }
    // Extension: service types, a notify service's STATUS= text, the next automatic start.
    let svc = &info.service;
    if let Some(kind) = svc.kind {
        fields.push(("type".into(), Value::str(kind)));
    }
    if let Some(text) = &svc.status_text {
        fields.push(("status_text".into(), Value::str(text)));
    }
    if svc.next_start > 0 {
        fields.push(("next_start".into(), capped(svc.next_start)));
    }
    Value::Struct(fields)
}

fn log_file_value(f: &LogFile, resolved: Option<String>) -> Value {
    match f {
        LogFile::None => Value::str("none"),
        LogFile::Auto => Value::str(resolved.unwrap_or_else(|| "auto".into())),
        LogFile::Syslog => Value::str("syslog"),
        LogFile::Path(p) => Value::str(p.display().to_string()),
    }
}

/// `auto_paths`: the files AUTO logs were given when the group was created (in use only);
/// Supervisor reports those paths, and `'auto'` for groups not created yet or whose config a
/// `reloadConfig` re-read (until the group is added again).
fn config_info_value(
    group: &GroupConfig,
    p: &ProcessConfig,
    inuse: bool,
    auto_paths: (Option<String>, Option<String>),
) -> Value {
    let int = |i: u64| capped(i64::try_from(i).unwrap_or(i64::MAX));
    let opt_str = |s: Option<String>| s.map(Value::Str).unwrap_or_else(|| Value::str("none"));
    let mut fields = vec![
        ("autostart".into(), Value::Bool(p.autostart)),
        (
            "directory".into(),
            opt_str(p.directory.as_ref().map(|d| d.display().to_string())),
        ),
        (
            "uid".into(),
            p.user
                .as_ref()
                .map(|u| Value::Int(i64::from(u.uid)))
                .unwrap_or_else(|| Value::str("none")),
        ),
        ("command".into(), Value::str(&p.command)),
        (
            "exitcodes".into(),
            Value::Array(
                p.exitcodes
                    .iter()
                    .map(|c| Value::Int(i64::from(*c)))
                    .collect(),
            ),
        ),
        ("group".into(), Value::str(&group.name)),
        ("group_prio".into(), capped(group.priority)),
        ("inuse".into(), Value::Bool(inuse)),
        ("killasgroup".into(), Value::Bool(p.killasgroup)),
        ("name".into(), Value::str(&p.name)),
        ("process_prio".into(), capped(p.priority)),
        ("redirect_stderr".into(), Value::Bool(p.redirect_stderr)),
        ("startretries".into(), Value::Int(i64::from(p.startretries))),
        ("startsecs".into(), int(p.startsecs)),
        (
            "stdout_capture_maxbytes".into(),
            int(p.stdout.capture_maxbytes),
        ),
        (
            "stdout_events_enabled".into(),
            Value::Bool(p.stdout.events_enabled),
        ),
        (
            "stdout_logfile".into(),
            log_file_value(&p.stdout.file, auto_paths.0),
        ),
        (
            "stdout_logfile_backups".into(),
            Value::Int(i64::from(p.stdout.backups)),
        ),
        ("stdout_logfile_maxbytes".into(), int(p.stdout.maxbytes)),
        ("stdout_syslog".into(), Value::Bool(p.stdout.syslog)),
        ("stopsignal".into(), Value::Int(i64::from(p.stopsignal))),
        ("stopwaitsecs".into(), int(p.stopwaitsecs)),
        (
            "stderr_capture_maxbytes".into(),
            int(p.stderr.capture_maxbytes),
        ),
        (
            "stderr_events_enabled".into(),
            Value::Bool(p.stderr.events_enabled),
        ),
        (
            "stderr_logfile".into(),
            if p.redirect_stderr {
                Value::str("none")
            } else {
                log_file_value(&p.stderr.file, auto_paths.1)
            },
        ),
        (
            "stderr_logfile_backups".into(),
            Value::Int(i64::from(p.stderr.backups)),
        ),
        ("stderr_logfile_maxbytes".into(), int(p.stderr.maxbytes)),
        ("stderr_syslog".into(), Value::Bool(p.stderr.syslog)),
        // Supervisor turns both the default and `serverurl=AUTO` into None → 'none'.
        (
            "serverurl".into(),
            Value::str(p.serverurl.clone().unwrap_or_else(|| "none".into())),
        ),
    ];
    // Extension: the service type of oneshot and notify programs (`avail` shows it).
    if p.service.kind != crate::config::ServiceType::Simple {
        fields.push(("type".into(), Value::str(p.service.kind.name())));
    }
    Value::Struct(fields)
}
