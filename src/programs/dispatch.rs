//! Sending one command to several processes and collecting their answers in order: every
//! request is sent before the first answer is awaited, so the waits overlap.

use std::sync::Arc;

use crossbeam_channel::{bounded, Receiver};

use crate::state::SupervisorState;

use super::engine::Engine;
use super::error::{ErrorKind, Outcome, ProcessError, ProcessResult};
use super::{Command, ProcessHandle, Reply};

/// The answer channel of one sent request and its process, or why it was not sent.
pub type Pending = Result<(Receiver<Outcome>, Arc<ProcessHandle>), ProcessError>;

/// Waits for each answer in order (the requests were all sent first, so the waits overlap).
pub fn collect(pending: Vec<(String, Pending)>) -> Vec<ProcessResult> {
    pending
        .into_iter()
        .map(|(n, rx)| {
            let r = rx.and_then(|(rx, h)| rx.recv().unwrap_or_else(|_| Err(h.lost_answer())));
            (n, r)
        })
        .collect()
}

pub fn lookup(engine: &Engine, namespec: &str) -> Result<Arc<ProcessHandle>, ProcessError> {
    if engine.state() != SupervisorState::Running {
        return Err(ProcessError::bare(ErrorKind::ShuttingDown));
    }
    engine
        .find(namespec)
        .ok_or_else(|| ProcessError::new(ErrorKind::BadName, namespec))
}

/// Sends `make(reply)` to each named process, then collects the answers in order.
pub fn each<F>(engine: &Engine, namespecs: &[String], make: F) -> Vec<ProcessResult>
where
    F: Fn(Reply) -> Command,
{
    let pending: Vec<(String, Pending)> = namespecs
        .iter()
        .map(|n| {
            let rx = lookup(engine, n).map(|h| {
                let (tx, rx) = bounded(1);
                h.send(make(tx));
                (rx, h)
            });
            (n.clone(), rx)
        })
        .collect();
    collect(pending)
}
