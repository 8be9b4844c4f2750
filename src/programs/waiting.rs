//! Start requests held until the processes they depend on (`depends_on`) are ready: the main
//! loop releases them on every state change, and fails those whose dependency ended.

use std::sync::{Arc, Mutex};

use crate::util::lock;

use super::deps;
use super::error::{ErrorKind, ProcessError};
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
        (state.is_stopped() && count != *seen && !d.restart_pending())
            .then(|| (d.namespec(), format!("is {}", state.name())))
    })
}

impl Waiting {
    /// Starts the held requests whose dependencies are ready; fails those with a dependency
    /// that entered a stopped state while they were held (a plain start would not wait for
    /// it either), and then those that were waiting for a failed one.
    pub fn release(&self, all: &[Arc<ProcessHandle>]) {
        let mut entries = lock(&self.entries);
        if entries.is_empty() {
            return;
        }
        let mut failed: Vec<Arc<ProcessHandle>> = Vec::new();
        loop {
            let before = failed.len();
            entries.retain_mut(|e| {
                if deps::ready(&e.handle, all) {
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

    /// Forgets every held request (shutdown, reload); their requesters get
    /// ABNORMAL_TERMINATION (a dropped answer channel would read as a dead worker).
    pub fn clear(&self) {
        for e in lock(&self.entries).drain(..) {
            if let Some(r) = e.reply {
                let name = e.handle.namespec();
                let _ = r.send(Err(ProcessError::new(ErrorKind::AbnormalTermination, name)));
            }
        }
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

    pub(super) fn hold(
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
