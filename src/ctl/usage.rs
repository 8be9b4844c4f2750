//! The resource-usage extension methods `supervisor.getProcessUsage(name)` and
//! `supervisor.getAllProcessUsage()`: one struct per process, read from /proc for the process
//! and its descendants at the time of the call. They are not listed by `system.listMethods`
//! (its answer stays Supervisor's), and Python clients never call them.

use std::sync::LazyLock;

use super::protocol::Value;
use crate::state::ProcessInfo;
use crate::usage::{Sampler, Usage};

/// Remembers the previous query's CPU seconds, so CPU% covers the time between queries.
static SAMPLER: LazyLock<Sampler> = LazyLock::new(Sampler::new);

/// Usage of each process's tree (`None` when it is not running), from one /proc walk.
pub fn sample(infos: &[ProcessInfo]) -> Vec<Option<Usage>> {
    let roots: Vec<i32> = infos.iter().map(|i| i.pid).collect();
    SAMPLER.sample(&roots)
}

/// Seconds the process has been up (0 when not running).
pub fn uptime(info: &ProcessInfo, now: i64) -> i64 {
    if info.pid > 0 && info.start > 0 {
        (now - info.start).max(0)
    } else {
        0
    }
}

/// Spawns after the first.
pub fn restarts(info: &ProcessInfo) -> u64 {
    info.spawns.saturating_sub(1)
}

fn int(v: u64) -> Value {
    Value::Int(i64::try_from(v).unwrap_or(i64::MAX))
}

/// The usage struct of one process. Sizes are bytes; unknown values (PSS or fds unreadable)
/// are -1 so the struct always has the same keys.
pub fn value(info: &ProcessInfo, usage: Option<&Usage>, now: i64) -> Value {
    let empty = Usage::default();
    let u = usage.unwrap_or(&empty);
    let known = |v: Option<u64>| v.map(int).unwrap_or(Value::Int(-1));
    Value::Struct(vec![
        ("name".into(), Value::str(&info.name)),
        ("group".into(), Value::str(&info.group)),
        ("pid".into(), Value::Int(i64::from(info.pid))),
        ("statename".into(), Value::str(info.state.name())),
        ("processes".into(), int(u.processes)),
        ("rss".into(), int(u.rss_bytes)),
        (
            "pss".into(),
            if usage.is_some() {
                known(u.pss_bytes)
            } else {
                Value::Int(0)
            },
        ),
        ("cpu_seconds".into(), Value::Double(u.cpu_seconds)),
        (
            "cpu_percent".into(),
            Value::Double(u.cpu_percent.unwrap_or(0.0)),
        ),
        ("threads".into(), int(u.threads)),
        (
            "fds".into(),
            if usage.is_some() {
                known(u.fds)
            } else {
                Value::Int(0)
            },
        ),
        ("uptime".into(), Value::Int(uptime(info, now))),
        ("restarts".into(), int(restarts(info))),
    ])
}

/// The usage structs of these processes, in their order.
pub fn values(infos: &[ProcessInfo], now: i64) -> Value {
    let usages = sample(infos);
    Value::Array(
        infos
            .iter()
            .zip(&usages)
            .map(|(i, u)| value(i, u.as_ref(), now))
            .collect(),
    )
}
