//! The control plane: XML-RPC over HTTP (unix socket and TCP) and the supervisorctl client.

pub mod backend;
pub mod metrics;

/// Runs supervisorctl with the given arguments (without argv[0]); returns the exit status.
pub fn supervisorctl_main(argv0: &str, args: Vec<std::ffi::OsString>) -> i32 {
    let _ = (argv0, args);
    eprintln!("supervisorctl: not implemented yet");
    1
}
