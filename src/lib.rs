//! supervisord-rs: a Supervisor-compatible process supervisor built to be a container's PID 1.

pub mod config;
pub mod ctl;
pub mod events;
pub mod faults;
pub mod init;
pub mod logs;
pub mod programs;
pub mod reaper;
pub mod state;
pub mod usage;
pub mod util;
