//! The control plane: XML-RPC over HTTP (unix socket and TCP) and the supervisorctl client.

pub mod backend;
pub mod base64;
pub mod client;
pub mod describe;
pub mod engine_backend;
pub mod http;
pub mod json;
pub mod logtail;
pub mod method_docs;
pub mod metrics;
pub mod readfile;
pub mod rpc;
pub mod server;
pub mod sha1;
pub mod webui;
pub mod xmlrpc;

pub use server::{start, start_with, ServerHandle, ServerOptions};

/// Runs supervisorctl with the given arguments (without argv[0]); returns the exit status.
pub fn supervisorctl_main(argv0: &str, args: Vec<std::ffi::OsString>) -> i32 {
    client::main(argv0, args)
}
