//! `depends_on` for control requests (extension): `start x` first starts the programs x
//! depends on that are not running and starts x once they are RUNNING (and healthy, when they
//! have a health check); `stop` of several processes stops dependents before their
//! dependencies. Requests that involve no `depends_on` take the plain path unchanged.

use std::collections::HashSet;
use std::sync::{Arc, Mutex};

use crossbeam_channel::bounded;

use crate::util::lock;

use super::deps;
use super::dispatch::{collect, lookup, Pending};
use super::engine::Engine;
use super::error::{ErrorKind, Outcome, ProcessError, ProcessResult};
use super::{Command, ProcessHandle, Reply};

/// A start request held until the process's dependencies are ready.
struct Entry {
    handle: Arc<ProcessHandle>,
    /// The requester's answer channel (`None` for a dependency started on the way).
    reply: Option<Reply>,
    wait: bool,
    /// Each dependency process with its transition count when the request was held: a
    /// dependency found in a stopped state with a higher count has ended since (exited
    /// without restart, was stopped, went FATAL) and will not become RUNNING by itself.
    deps: Vec<(Arc<ProcessHandle>, u64)>,
}

/// Start requests waiting for dependencies; init releases them on every state change.
#[derive(Default)]
pub struct Waiting {
    entries: Mutex<Vec<Entry>>,
}

/// The processes of the programs `p` depends on.
fn dependencies(p: &ProcessHandle, all: &[Arc<ProcessHandle>]) -> Vec<Arc<ProcessHandle>> {
    all.iter()
        .filter(|q| p.config.depends_on.contains(&q.config.program_name))
        .cloned()
        .collect()
}

/// Why a held entry can no longer start: a dependency that ended since the request was
/// held (with its state), or one whose own held start failed.
fn ended_dependency(e: &Entry, failed: &[Arc<ProcessHandle>]) -> Option<(String, String)> {
    e.deps.iter().find_map(|(d, seen)| {
        if failed.iter().any(|f| Arc::ptr_eq(f, d)) {
            return Some((d.namespec(), "could not be started".to_string()));
        }
        let (state, count) = d.state_and_transitions();
        (state.is_stopped() && count != *seen)
            .then(|| (d.namespec(), format!("is {}", state.name())))
    })
}

impl Waiting {
    /// Starts the held requests whose dependencies are ready; fails those with a dependency
    /// that entered a stopped state while they were held (a plain start would not wait for
    /// it either), and then those that were waiting for a failed one.
    pub fn release(&self, engine: &Engine) {
        let mut entries = lock(&self.entries);
        if entries.is_empty() {
            return;
        }
        let all = engine.all();
        let mut failed: Vec<Arc<ProcessHandle>> = Vec::new();
        loop {
            let before = failed.len();
            entries.retain_mut(|e| {
                if deps::ready(&e.handle, &all) {
                    e.handle.send(Command::Start {
                        reply: e.reply.take(),
                        wait: e.wait,
                    });
                    return false;
                }
                let Some((dep, why)) = ended_dependency(e, &failed) else {
                    return true;
                };
                let name = e.handle.namespec();
                log::warn!("not starting {name}: its dependency {dep} {why}");
                if let Some(r) = e.reply.take() {
                    let _ = r.send(Err(ProcessError::new(
                        ErrorKind::AbnormalTermination,
                        &name,
                    )));
                }
                failed.push(e.handle.clone());
                false
            });
            if failed.len() == before || entries.is_empty() {
                return;
            }
        }
    }

    /// Forgets every held request (shutdown, reload); their requesters get a fault.
    pub fn clear(&self) {
        lock(&self.entries).clear();
    }

    pub fn holds(&self, handle: &Arc<ProcessHandle>) -> bool {
        lock(&self.entries)
            .iter()
            .any(|e| Arc::ptr_eq(&e.handle, handle))
    }

    /// Drops the held requests for `handle` (it is being stopped); true if there were any.
    /// Their requesters get ABNORMAL_TERMINATION: the process will not start.
    pub fn cancel(&self, handle: &Arc<ProcessHandle>) -> bool {
        let mut entries = lock(&self.entries);
        let before = entries.len();
        entries.retain(|e| !Arc::ptr_eq(&e.handle, handle));
        before != entries.len()
    }

    fn hold(
        &self,
        handle: Arc<ProcessHandle>,
        reply: Option<Reply>,
        wait: bool,
        all: &[Arc<ProcessHandle>],
    ) {
        let mut entries = lock(&self.entries);
        // A process already held for an earlier request keeps that request's place.
        if reply.is_none() && entries.iter().any(|e| Arc::ptr_eq(&e.handle, &handle)) {
            return;
        }
        let deps = dependencies(&handle, all)
            .into_iter()
            .map(|d| {
                let count = d.state_and_transitions().1;
                (d, count)
            })
            .collect();
        entries.push(Entry {
            handle,
            reply,
            wait,
            deps,
        });
    }
}

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
                engine.waiting.hold(h, Some(tx), wait, &all);
                rx
            });
            (n, rx)
        })
        .collect();
    engine.waiting.release(engine);
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
            let name = &found[i].0;
            results[i] = rx
                .recv()
                .unwrap_or_else(|_| Err(ProcessError::new(ErrorKind::AbnormalTermination, name)));
        }
    }
    Some(found.into_iter().map(|(n, _)| n).zip(results).collect())
}
