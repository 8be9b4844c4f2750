//! XML-RPC faults: Supervisor's fault codes, their names, and the fault value both the server
//! and supervisorctl use.

/// An XML-RPC fault: Supervisor's code and its full fault string (`BAD_NAME: foo`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Fault {
    pub code: i32,
    pub string: String,
}

// Supervisor's fault codes.
pub const UNKNOWN_METHOD: i32 = 1;
pub const INCORRECT_PARAMETERS: i32 = 2;
pub const BAD_ARGUMENTS: i32 = 3;
pub const SIGNATURE_UNSUPPORTED: i32 = 4;
pub const SHUTDOWN_STATE: i32 = 6;
pub const BAD_NAME: i32 = 10;
pub const BAD_SIGNAL: i32 = 11;
pub const NO_FILE: i32 = 20;
pub const NOT_EXECUTABLE: i32 = 21;
pub const FAILED: i32 = 30;
pub const ABNORMAL_TERMINATION: i32 = 40;
pub const SPAWN_ERROR: i32 = 50;
pub const ALREADY_STARTED: i32 = 60;
pub const NOT_RUNNING: i32 = 70;
pub const SUCCESS: i32 = 80;
pub const ALREADY_ADDED: i32 = 90;
pub const STILL_RUNNING: i32 = 91;
pub const CANT_REREAD: i32 = 92;

/// The symbolic name Supervisor uses as the fault string prefix.
pub fn name(code: i32) -> &'static str {
    match code {
        UNKNOWN_METHOD => "UNKNOWN_METHOD",
        INCORRECT_PARAMETERS => "INCORRECT_PARAMETERS",
        BAD_ARGUMENTS => "BAD_ARGUMENTS",
        SIGNATURE_UNSUPPORTED => "SIGNATURE_UNSUPPORTED",
        SHUTDOWN_STATE => "SHUTDOWN_STATE",
        BAD_NAME => "BAD_NAME",
        BAD_SIGNAL => "BAD_SIGNAL",
        NO_FILE => "NO_FILE",
        NOT_EXECUTABLE => "NOT_EXECUTABLE",
        FAILED => "FAILED",
        ABNORMAL_TERMINATION => "ABNORMAL_TERMINATION",
        SPAWN_ERROR => "SPAWN_ERROR",
        ALREADY_STARTED => "ALREADY_STARTED",
        NOT_RUNNING => "NOT_RUNNING",
        SUCCESS => "SUCCESS",
        ALREADY_ADDED => "ALREADY_ADDED",
        STILL_RUNNING => "STILL_RUNNING",
        CANT_REREAD => "CANT_REREAD",
        _ => "UNKNOWN",
    }
}

impl Fault {
    /// `Fault::new(BAD_NAME, Some("foo"))` → `BAD_NAME: foo`; `None` → `BAD_NAME`.
    pub fn new(code: i32, detail: Option<&str>) -> Fault {
        let name = name(code);
        let string = match detail {
            Some(d) => format!("{name}: {d}"),
            None => name.to_string(),
        };
        Fault { code, string }
    }
}
