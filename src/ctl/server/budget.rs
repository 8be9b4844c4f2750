//! The memory budget of requests in flight, shared by all servers of one supervisord: a
//! request reserves what its body and its decoded form may cost before the body is read, and
//! waits briefly when the budget is spent (then gets 503). Small requests never wait on
//! big ones for long, and many big ones at once cannot exhaust the daemon's memory.

use std::sync::{Arc, Condvar, Mutex};
use std::time::{Duration, Instant};

/// What a body of `len` bytes is charged: the bytes themselves plus what the XML-RPC decoder
/// may build from them (it refuses to build more than `DECODE_FACTOR` × `len`).
pub fn request_cost(len: usize) -> usize {
    len.saturating_mul(1 + crate::ctl::protocol::xmlrpc::DECODE_FACTOR)
}

pub struct Budget {
    used: Mutex<usize>,
    freed: Condvar,
    total: usize,
}

/// Bytes held until dropped.
pub struct Reservation {
    budget: Arc<Budget>,
    bytes: usize,
}

impl Budget {
    pub fn new(total: usize) -> Arc<Budget> {
        Arc::new(Budget {
            used: Mutex::new(0),
            freed: Condvar::new(),
            total,
        })
    }

    /// Reserves `bytes`, waiting up to `wait` for others to finish; `None` if they do not.
    /// A request larger than the whole budget gets it alone once everything else is done.
    pub fn reserve(self: &Arc<Self>, bytes: usize, wait: Duration) -> Option<Reservation> {
        let deadline = Instant::now() + wait;
        let mut used = self.used.lock().unwrap_or_else(|p| p.into_inner());
        loop {
            if bytes == 0 || *used == 0 || used.saturating_add(bytes) <= self.total {
                *used = used.saturating_add(bytes);
                return Some(Reservation {
                    budget: self.clone(),
                    bytes,
                });
            }
            let left = deadline.saturating_duration_since(Instant::now());
            if left.is_zero() {
                return None;
            }
            used = self
                .freed
                .wait_timeout(used, left)
                .unwrap_or_else(|p| p.into_inner())
                .0;
        }
    }
}

impl Drop for Reservation {
    fn drop(&mut self) {
        if self.bytes == 0 {
            return;
        }
        let mut used = self.budget.used.lock().unwrap_or_else(|p| p.into_inner());
        *used = used.saturating_sub(self.bytes);
        self.budget.freed.notify_all();
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reservations_wait_then_fail_and_free_on_drop() {
        let b = Budget::new(100);
        let a = b.reserve(60, Duration::ZERO).unwrap();
        assert!(b.reserve(50, Duration::from_millis(20)).is_none());
        let c = b.reserve(40, Duration::ZERO).unwrap();
        drop(a);
        let d = b.reserve(50, Duration::from_millis(20)).unwrap();
        drop((c, d));
        // Larger than the whole budget: allowed alone.
        let big = b.reserve(500, Duration::ZERO).unwrap();
        assert!(b.reserve(1, Duration::from_millis(10)).is_none());
        drop(big);
        let b2 = b.clone();
        let hold = b.reserve(100, Duration::ZERO).unwrap();
        let t = std::thread::spawn(move || b2.reserve(100, Duration::from_secs(5)).is_some());
        std::thread::sleep(Duration::from_millis(30));
        drop(hold);
        assert!(t.join().unwrap());
    }
}
