//! Signals blocked around the spawn.

use nix::sys::signal::{SigSet, SigmaskHow};

/// Blocks every signal in the calling thread until dropped (around fork).
/// [`spawn_child`](super::spawn_child) takes a reference to one, so it cannot be called without signals blocked.
pub struct SignalsBlocked {
    old: SigSet,
}

impl SignalsBlocked {
    pub fn new() -> SignalsBlocked {
        // pthread_sigmask with valid sets cannot fail.
        let old = SigSet::all()
            .thread_swap_mask(SigmaskHow::SIG_SETMASK)
            .unwrap_or_else(|_| SigSet::empty());
        SignalsBlocked { old }
    }
}

impl Default for SignalsBlocked {
    fn default() -> Self {
        SignalsBlocked::new()
    }
}

impl Drop for SignalsBlocked {
    fn drop(&mut self) {
        let _ = self.old.thread_set_mask();
    }
}
