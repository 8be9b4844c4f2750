//! The connection slots of one listener. When they run out, a connection that has not sent
//! a complete request head yet (or sits idle between kept-alive requests) gives its slot to
//! the newcomer, oldest first: silent or trickling connections cannot lock real clients
//! out. Connections busy with a request, or streaming a log, keep theirs; when all slots are
//! busy the newcomer gets 503.

use std::sync::{Arc, Mutex, MutexGuard};
use std::time::{Duration, Instant};

use super::conn::Conn;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Phase {
    /// Waiting for (or reading) a request head: may be evicted.
    Waiting,
    /// Answering a request.
    Busy,
    /// Streaming a log tail.
    Stream,
}

/// A connection gets this long to send its head before it can lose its slot: clients that
/// connect in a burst and send at once never push each other out.
const EVICTABLE_AFTER: Duration = Duration::from_millis(250);

struct Entry {
    id: u64,
    phase: Phase,
    /// When the current phase began (eviction takes the longest waiting first).
    since: Instant,
    /// A second handle on the socket: shutting it down ends the owner's blocking read. It is
    /// a descriptor of its own, so it can never name a socket that was closed and reused.
    socket: Conn,
}

struct Table {
    entries: Vec<Entry>,
    next_id: u64,
}

pub struct Slots {
    table: Mutex<Table>,
    max: usize,
}

/// A connection's slot; dropping it frees the slot.
pub struct Slot {
    slots: Arc<Slots>,
    id: u64,
}

impl Slots {
    pub fn new(max: usize) -> Arc<Slots> {
        Arc::new(Slots {
            table: Mutex::new(Table {
                entries: Vec::new(),
                next_id: 0,
            }),
            max: max.max(1),
        })
    }

    fn lock(&self) -> MutexGuard<'_, Table> {
        self.table.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// A slot for a new connection, evicting the longest-waiting idle one if all are taken;
    /// `None` when every slot is busy (or the socket cannot be duplicated).
    pub fn admit(self: &Arc<Self>, conn: &Conn) -> Option<Slot> {
        let socket = conn.try_clone().ok()?;
        let mut table = self.lock();
        if table.entries.len() >= self.max {
            let victim = table
                .entries
                .iter()
                .enumerate()
                .filter(|(_, e)| e.phase == Phase::Waiting && e.since.elapsed() >= EVICTABLE_AFTER)
                .min_by_key(|(_, e)| e.since)
                .map(|(i, _)| i)?;
            let evicted = table.entries.swap_remove(victim);
            log::debug!("closing a connection that sent no request to make room");
            // A 503 tells a client that was about to send why its connection ends.
            super::conn::refuse(evicted.socket);
        }
        let id = table.next_id;
        table.next_id += 1;
        table.entries.push(Entry {
            id,
            phase: Phase::Waiting,
            since: Instant::now(),
            socket,
        });
        Some(Slot {
            slots: self.clone(),
            id,
        })
    }

    /// Moves slot `id` to `phase`; false when it was evicted meanwhile.
    fn set(&self, id: u64, phase: Phase, limit: Option<usize>) -> bool {
        let mut table = self.lock();
        if let Some(limit) = limit {
            let n = table.entries.iter().filter(|e| e.phase == phase).count();
            if n >= limit {
                return false;
            }
        }
        match table.entries.iter_mut().find(|e| e.id == id) {
            Some(e) => {
                e.phase = phase;
                e.since = Instant::now();
                true
            }
            None => false,
        }
    }
}

impl Slot {
    /// Waiting for the next request head: the slot may be taken by a newcomer.
    pub fn waiting(&self) {
        self.slots.set(self.id, Phase::Waiting, None);
    }

    /// A complete head is in: keeps the slot; false when it was already given away.
    pub fn busy(&self) -> bool {
        self.slots.set(self.id, Phase::Busy, None)
    }

    /// Starts a log stream; streams may hold at most half of the slots, so RPC calls always
    /// find room. False when that share is used up.
    pub fn stream(&self) -> bool {
        let share = (self.slots.max / 2).max(1);
        self.slots.set(self.id, Phase::Stream, Some(share))
    }
}

impl Drop for Slot {
    fn drop(&mut self) {
        let mut table = self.slots.lock();
        if let Some(i) = table.entries.iter().position(|e| e.id == self.id) {
            table.entries.swap_remove(i);
        }
    }
}
