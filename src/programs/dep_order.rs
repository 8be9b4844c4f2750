//! `depends_on` for control requests (extension): `start x` first starts the programs x
//! depends on that are not running and starts x once they are RUNNING (and healthy, when they
//! have a health check); `stop` of several processes stops dependents before their
//! dependencies. Requests that involve no `depends_on` take the plain path unchanged.

use std::collections::HashSet;
use std::sync::Arc;

use crossbeam_channel::bounded;

use super::deps;
use super::dispatch::{collect, lookup, Pending};
use super::engine::Engine;
use super::error::{Outcome, ProcessError, ProcessResult};
use super::{Command, ProcessHandle};

/// Every process the requested ones depend on, directly or not.
fn dependency_closure(
    requested: &[Arc<ProcessHandle>],
    all: &[Arc<ProcessHandle>],
) -> Vec<Arc<ProcessHandle>> {
    let mut seen: HashSet<String> = HashSet::new();
    let mut todo: Vec<String> = requested
        .iter()
        .flat_map(|h| h.config.depends_on.iter().cloned())
        .collect();
    let mut out = Vec::new();
    while let Some(program) = todo.pop() {
        if !seen.insert(program.clone()) {
            continue;
        }
        for q in all.iter().filter(|q| q.config.program_name == program) {
            todo.extend(q.config.depends_on.iter().cloned());
            out.push(q.clone());
        }
    }
    out
}

/// `startProcess` for several processes when `depends_on` is involved (`None`: it is not).
pub fn start(engine: &Engine, namespecs: &[String], wait: bool) -> Option<Vec<ProcessResult>> {
    let found: Vec<(String, Result<Arc<ProcessHandle>, ProcessError>)> = namespecs
        .iter()
        .map(|n| (n.clone(), lookup(engine, n)))
        .collect();
    let requested: Vec<Arc<ProcessHandle>> = found
        .iter()
        .filter_map(|(_, h)| h.as_ref().ok().cloned())
        .collect();
    if requested.iter().all(|h| h.config.depends_on.is_empty()) {
        return None;
    }
    let all = engine.all();
    for dep in dependency_closure(&requested, &all) {
        let wanted = requested.iter().any(|h| Arc::ptr_eq(h, &dep));
        if !wanted && dep.state().is_stopped() {
            log::info!(
                "starting {} first: a requested program depends on it",
                dep.namespec()
            );
            engine.waiting.hold(dep, None, false, &all);
        }
    }
    let pending: Vec<(String, Pending)> = found
        .into_iter()
        .map(|(n, h)| {
            let rx = h.map(|h| {
                let (tx, rx) = bounded(1);
                engine.waiting.hold(h.clone(), Some(tx), wait, &all);
                (rx, h)
            });
            (n, rx)
        })
        .collect();
    engine.waiting.release(&all);
    Some(collect(pending))
}

/// `stopProcess` for several processes when some depend on others among them (`None`: none
/// do): dependents stop first, each wave waiting for the previous one to be stopped.
pub fn stop(engine: &Engine, namespecs: &[String], wait: bool) -> Option<Vec<ProcessResult>> {
    let found: Vec<(String, Result<Arc<ProcessHandle>, ProcessError>)> = namespecs
        .iter()
        .map(|n| (n.clone(), lookup(engine, n)))
        .collect();
    let handles: Vec<Arc<ProcessHandle>> = found
        .iter()
        .filter_map(|(_, h)| h.as_ref().ok().cloned())
        .collect();
    let ranks = deps::stop_ranks(&handles, &vec![0; handles.len()]);
    let mut levels: Vec<i64> = ranks.clone();
    levels.sort_unstable();
    levels.dedup();
    if levels.len() < 2 {
        return None;
    }
    let rank_of = |h: &Arc<ProcessHandle>| {
        handles
            .iter()
            .position(|x| Arc::ptr_eq(x, h))
            .map(|i| ranks[i])
            .unwrap_or(0)
    };
    let mut results: Vec<Outcome> = found
        .iter()
        .map(|(_, h)| h.as_ref().map(|_| ()).map_err(Clone::clone))
        .collect();
    let lowest = levels[0];
    for level in levels.iter().rev() {
        // Every wave but the last must be stopped before the next one gets its signal.
        let wave_wait = wait || *level != lowest;
        let mut wave = Vec::new();
        for (i, (_, h)) in found.iter().enumerate() {
            let Ok(h) = h else { continue };
            if rank_of(h) != *level {
                continue;
            }
            let (tx, rx) = bounded(1);
            h.send(Command::Stop {
                reply: Some(tx),
                wait: wave_wait,
            });
            wave.push((i, rx));
        }
        for (i, rx) in wave {
            let Ok(h) = &found[i].1 else { continue };
            results[i] = rx.recv().unwrap_or_else(|_| Err(h.lost_answer()));
        }
    }
    Some(found.into_iter().map(|(n, _)| n).zip(results).collect())
}
