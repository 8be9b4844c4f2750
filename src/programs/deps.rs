//! `depends_on` (extension): a program starts once every program it depends on is RUNNING,
//! and stops before them. Shutdown ranks put each program above everything it depends on.

use std::collections::HashMap;
use std::sync::Arc;

use crate::config::ServiceType;
use crate::programs::ProcessHandle;
use crate::state::ProcessState;

/// Whether every process of every program `p` depends on is RUNNING (and healthy, for
/// programs with a health check; ready, for notify services), or finished with success (for
/// oneshot jobs, which are EXITED only after a successful run).
pub fn ready(p: &ProcessHandle, all: &[Arc<ProcessHandle>]) -> bool {
    p.config.depends_on.iter().all(|dep| {
        all.iter()
            .filter(|q| q.config.program_name == *dep)
            .all(|q| match q.config.service.kind {
                ServiceType::Oneshot => q.state() == ProcessState::Exited,
                _ => q.state() == ProcessState::Running && q.healthy(),
            })
    })
}

/// Stop rank of each process (by index into `procs`, whose base ranks are given): its base
/// rank, raised above the rank of every program it depends on. Higher ranks stop first.
pub fn stop_ranks(procs: &[Arc<ProcessHandle>], base: &[i64]) -> Vec<i64> {
    let mut by_program: HashMap<&str, Vec<usize>> = HashMap::new();
    for (i, p) in procs.iter().enumerate() {
        by_program
            .entry(p.config.program_name.as_str())
            .or_default()
            .push(i);
    }
    let mut memo: HashMap<usize, i64> = HashMap::new();
    (0..procs.len())
        .map(|i| rank(i, procs, base, &by_program, &mut memo, 0))
        .collect()
}

fn rank(
    i: usize,
    procs: &[Arc<ProcessHandle>],
    base: &[i64],
    by_program: &HashMap<&str, Vec<usize>>,
    memo: &mut HashMap<usize, i64>,
    depth: usize,
) -> i64 {
    if let Some(r) = memo.get(&i) {
        return *r;
    }
    let mut r = base[i];
    // The config rejects cycles; the depth bound only guards against a model built elsewhere.
    if depth < procs.len() {
        for dep in &procs[i].config.depends_on {
            for &j in by_program
                .get(dep.as_str())
                .map(Vec::as_slice)
                .unwrap_or(&[])
            {
                r = r.max(rank(j, procs, base, by_program, memo, depth + 1).saturating_add(1));
            }
        }
    }
    memo.insert(i, r);
    r
}
