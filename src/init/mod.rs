//! Process-wide duties: command line, signals, PID 1 / subreaper, daemonizing, main loop,
//! startup and shutdown ordering, reload, exit status.

pub mod cli;

/// Runs supervisord with the given arguments (without argv[0]); returns the exit status.
pub fn supervisord_main(argv0: &str, args: Vec<std::ffi::OsString>) -> i32 {
    let opts = match cli::main_prelude(argv0, args) {
        Ok(opts) => opts,
        Err(status) => return status,
    };
    // engine starts here
    let _ = opts;
    eprintln!("supervisord: not implemented yet");
    1
}
