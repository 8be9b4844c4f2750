//! Supervisor's event system: event types and payloads, `[eventlistener:x]` pools, the
//! listener protocol, and the bus that carries events from the engine to listener processes.
//!
//! Layers, each usable without the next: [`types`] (names, subscriptions), [`event`]
//! (payloads, header), [`protocol`] (one listener's state machine), [`pool`] / [`router`]
//! (buffers, numbering, delivery choice, redelivery), [`capture`] (capture-mode markers),
//! [`tick`] (TICK_* timing), and [`bus`] (the thread and the pipes).
//!
//! Differences from Supervisor, on purpose: a rejected event is redelivered to its own pool
//! only (Supervisor also re-queues it into every pool of the same priority, duplicating it);
//! `len:` counts payload bytes; an over-long `RESULT` line is a protocol violation instead of
//! being buffered forever.

pub mod bus;
pub mod capture;
pub mod event;
pub mod observe;
pub mod pool;
pub mod protocol;
pub mod router;
#[cfg(test)]
mod testutil;
pub mod tick;
pub mod types;

pub use bus::EventBus;
pub use event::{Event, StateChange, Stream};
pub use protocol::ListenerState;
pub use types::{EventMask, EventType};
