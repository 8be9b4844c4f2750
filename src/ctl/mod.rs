//! The control plane: XML-RPC over HTTP (unix socket and TCP), the web page, `/logtail` and
//! `/metrics` on the server side, and the supervisorctl client.
//!
//! `protocol` is what both sides share (XML-RPC values, faults, namespecs). The server:
//! `server` (listening, connections, routes) over `http`, `rpc` (the method table and its
//! handlers) over `backend` (the trait the engine is reached through; `engine_backend`
//! implements it and maps the engine's errors to faults), `describe`, `readfile`, `logtail`,
//! `metrics`, `webui`. The client is `client`.

pub mod backend;
pub mod client;
pub mod describe;
pub mod engine_backend;
pub mod http;
pub mod logtail;
pub mod metrics;
pub mod protocol;
pub mod readfile;
pub mod rpc;
pub mod server;
pub mod sha1;
pub mod usage;
pub mod web;
pub mod webui;

pub use protocol::Fault;
pub use server::{start, start_with, ServerHandle, ServerOptions};

/// Runs supervisorctl with the given arguments (without argv[0]); returns the exit status.
pub fn supervisorctl_main(argv0: &str, args: Vec<std::ffi::OsString>) -> i32 {
    client::main(argv0, args)
}
