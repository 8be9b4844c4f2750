//! The supervised set: one worker thread per process instance (the state machine as a table,
//! spawning through the reaper, stopping, backoff, health checks), the engine that holds the
//! processes and groups, and dependency order. It answers with its own [`ProcessError`]; the
//! control plane maps that to Supervisor's faults.

pub mod capacity;
pub mod command;
pub mod container;
pub mod dep_order;
pub mod deps;
pub mod dispatch;
pub mod engine;
pub mod error;
pub mod fcgi_socket;
pub mod health;
pub mod machine;
pub mod notify;
mod pid_slot;
pub mod spawn;
pub mod stdin;
mod waiting;
pub mod worker;

pub use container::CommandSpec;
pub use engine::{Engine, Request};
pub use error::{ErrorKind, Outcome, ProcessError, ProcessResult};
pub use worker::{Command, Failure, ProcessHandle, Reply, Role, Shared, StateChange};
