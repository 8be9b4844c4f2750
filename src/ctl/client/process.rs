//! `start`, `stop`, `restart`, `signal`, `clear`: Supervisor's messages and per-result exit
//! status rule.

use super::daemon::help_for;
use super::errors::CmdError;
use super::status::{field_int, field_str};
use super::transport::CallError;
use super::{exit, fault, CmdResult, Ctl};
use crate::ctl::protocol::xmlrpc::Value;
use crate::ctl::protocol::{make_namespec, split_namespec};

/// A per-process outcome: (namespec, status code, fault string).
struct Outcome {
    name: String,
    code: i64,
    description: String,
}

impl Outcome {
    fn from_struct(v: &Value) -> Outcome {
        Outcome {
            name: make_namespec(field_str(v, "group"), field_str(v, "name")),
            code: field_int(v, "status"),
            description: field_str(v, "description").to_string(),
        }
    }

    /// The outcome of a single-process call named `name` as typed.
    fn from_call(name: &str, result: &Result<Value, CallError>) -> Option<Outcome> {
        let (group, process) = split_namespec(name);
        let full = make_namespec(group, process.unwrap_or(""));
        match result {
            Ok(_) => Some(Outcome {
                name: full,
                code: i64::from(fault::SUCCESS),
                description: "OK".into(),
            }),
            Err(CallError::Fault { code, string }) => Some(Outcome {
                name: full,
                code: *code,
                description: string.clone(),
            }),
            Err(_) => None,
        }
    }
}

/// Supervisor's lines raising "Unknown result code" in `_startresult`, `_signalresult`,
/// `_clearresult`.
const START_RAISE: u32 = 761;
const SIGNAL_RAISE: u32 = 835;
const CLEAR_RAISE: u32 = 1260;

fn unknown(o: &Outcome, line: u32) -> CmdError {
    CmdError::UnknownResult {
        code: o.code,
        name: o.name.clone(),
        line,
    }
}

fn start_message(o: &Outcome) -> Result<String, CmdError> {
    let reason = match o.code as i32 {
        fault::BAD_NAME => "no such process",
        fault::NO_FILE => "no such file",
        fault::NOT_EXECUTABLE => "file is not executable",
        fault::ALREADY_STARTED => "already started",
        fault::SPAWN_ERROR => "spawn error",
        fault::ABNORMAL_TERMINATION => "abnormal termination",
        fault::SUCCESS => return Ok(format!("{}: started", o.name)),
        _ => return Err(unknown(o, START_RAISE)),
    };
    Ok(format!("{}: ERROR ({reason})", o.name))
}

fn signal_message(o: &Outcome, success: &str) -> Result<String, CmdError> {
    let reason = match o.code as i32 {
        fault::BAD_NAME => "no such process",
        fault::BAD_SIGNAL => "bad signal name",
        fault::NOT_RUNNING => "not running",
        fault::SUCCESS => return Ok(format!("{}: {success}", o.name)),
        fault::FAILED => return Ok(o.description.clone()),
        _ => return Err(unknown(o, SIGNAL_RAISE)),
    };
    Ok(format!("{}: ERROR ({reason})", o.name))
}

fn clear_message(o: &Outcome) -> Result<String, CmdError> {
    match o.code as i32 {
        fault::BAD_NAME => Ok(format!("{}: ERROR (no such process)", o.name)),
        fault::FAILED => Ok(format!("{}: ERROR (failed)", o.name)),
        fault::SUCCESS => Ok(format!("{}: cleared", o.name)),
        _ => Err(unknown(o, CLEAR_RAISE)),
    }
}

type Formatter = fn(&Outcome) -> Result<String, CmdError>;

/// Prints each result struct of a multi-process call and folds it into the exit status.
fn report_all(ctl: &mut Ctl, results: &Value, fmt: Formatter, ignored: Option<i32>) -> CmdResult {
    for r in results.as_array().unwrap_or(&[]) {
        let o = Outcome::from_struct(r);
        let line = fmt(&o)?;
        ctl.output(&line);
        ctl.set_exit_from_fault(o.code, ignored);
    }
    Ok(())
}

/// Prints the outcome of a single-process call; non-fault errors propagate.
fn report_one(
    ctl: &mut Ctl,
    name: &str,
    result: Result<Value, CallError>,
    fmt: Formatter,
    ignored: Option<i32>,
) -> CmdResult {
    match Outcome::from_call(name, &result) {
        Some(o) => {
            let line = fmt(&o)?;
            ctl.output(&line);
            ctl.set_exit_from_fault(o.code, ignored);
            Ok(())
        }
        None => Err(result
            .err()
            .map(CmdError::Call)
            .unwrap_or(CmdError::UnknownResult {
                code: 0,
                name: name.into(),
                line: 0,
            })),
    }
}

fn is_fault(e: &CallError, code: i32) -> bool {
    matches!(e, CallError::Fault { code: c, .. } if *c == i64::from(code))
}

pub fn do_start(ctl: &mut Ctl, arg: &str) -> CmdResult {
    if !ctl.upcheck()? {
        return Ok(());
    }
    let names: Vec<&str> = arg.split_whitespace().collect();
    if names.is_empty() {
        ctl.output("Error: start requires a process name");
        ctl.exitstatus = exit::INVALID_ARGS;
        help_for(ctl, "start");
        return Ok(());
    }
    let ignored = Some(fault::ALREADY_STARTED);
    if names.contains(&"all") {
        let results = ctl.call("supervisor.startAllProcesses", &[])?;
        return report_all(ctl, &results, start_message, ignored);
    }
    for name in names {
        let (group, process) = split_namespec(name);
        if process.is_none() {
            match ctl.call("supervisor.startProcessGroup", &[Value::str(group)]) {
                Ok(results) => report_all(ctl, &results, start_message, ignored)?,
                Err(e) if is_fault(&e, fault::BAD_NAME) => {
                    ctl.output(&format!("{group}: ERROR (no such group)"));
                    ctl.exitstatus = exit::INVALID_ARGS;
                }
                Err(e) => {
                    ctl.exitstatus = exit::GENERIC;
                    return Err(e.into());
                }
            }
        } else {
            let result = ctl.call("supervisor.startProcess", &[Value::str(name)]);
            report_one(ctl, name, result, start_message, ignored)?;
        }
    }
    Ok(())
}

pub fn do_stop(ctl: &mut Ctl, arg: &str) -> CmdResult {
    if !ctl.upcheck()? {
        return Ok(());
    }
    let names: Vec<&str> = arg.split_whitespace().collect();
    if names.is_empty() {
        ctl.output("Error: stop requires a process name");
        ctl.exitstatus = exit::GENERIC;
        help_for(ctl, "stop");
        return Ok(());
    }
    let ignored = Some(fault::NOT_RUNNING);
    let stopped: Formatter = |o| signal_message(o, "stopped");
    if names.contains(&"all") {
        let results = ctl.call("supervisor.stopAllProcesses", &[])?;
        return report_all(ctl, &results, stopped, ignored);
    }
    for name in names {
        let (group, process) = split_namespec(name);
        if process.is_none() {
            match ctl.call("supervisor.stopProcessGroup", &[Value::str(group)]) {
                Ok(results) => report_all(ctl, &results, stopped, ignored)?,
                Err(e) if is_fault(&e, fault::BAD_NAME) => {
                    ctl.exitstatus = exit::GENERIC;
                    ctl.output(&format!("{group}: ERROR (no such group)"));
                }
                Err(e) => {
                    ctl.exitstatus = exit::GENERIC;
                    return Err(e.into());
                }
            }
        } else {
            let result = ctl.call("supervisor.stopProcess", &[Value::str(name)]);
            report_one(ctl, name, result, stopped, ignored)?;
        }
    }
    Ok(())
}

pub fn do_restart(ctl: &mut Ctl, arg: &str) -> CmdResult {
    if !ctl.upcheck()? {
        return Ok(());
    }
    if arg.split_whitespace().next().is_none() {
        ctl.output("Error: restart requires a process name");
        ctl.exitstatus = exit::GENERIC;
        help_for(ctl, "restart");
        return Ok(());
    }
    do_stop(ctl, arg)?;
    do_start(ctl, arg)
}

pub fn do_signal(ctl: &mut Ctl, arg: &str) -> CmdResult {
    if !ctl.upcheck()? {
        return Ok(());
    }
    let args: Vec<&str> = arg.split_whitespace().collect();
    if args.len() < 2 {
        ctl.output("Error: signal requires a signal name and a process name");
        help_for(ctl, "signal");
        ctl.exitstatus = exit::GENERIC;
        return Ok(());
    }
    let sig = args[0];
    let names = &args[1..];
    let signalled: Formatter = |o| signal_message(o, "signalled");
    if names.contains(&"all") {
        let results = ctl.call("supervisor.signalAllProcesses", &[Value::str(sig)])?;
        return report_all(ctl, &results, signalled, None);
    }
    for name in names {
        let (group, process) = split_namespec(name);
        if process.is_none() {
            match ctl.call(
                "supervisor.signalProcessGroup",
                &[Value::str(group), Value::str(sig)],
            ) {
                Ok(results) => report_all(ctl, &results, signalled, None)?,
                Err(e) if is_fault(&e, fault::BAD_NAME) => {
                    ctl.output(&format!("{group}: ERROR (no such group)"));
                    ctl.exitstatus = exit::GENERIC;
                }
                Err(e) => return Err(e.into()),
            }
        } else {
            let result = ctl.call(
                "supervisor.signalProcess",
                &[Value::str(*name), Value::str(sig)],
            );
            report_one(ctl, name, result, signalled, None)?;
        }
    }
    Ok(())
}

pub fn do_clear(ctl: &mut Ctl, arg: &str) -> CmdResult {
    if !ctl.upcheck()? {
        return Ok(());
    }
    let names: Vec<&str> = arg.split_whitespace().collect();
    if names.is_empty() {
        ctl.output("Error: clear requires a process name");
        ctl.exitstatus = exit::GENERIC;
        help_for(ctl, "clear");
        return Ok(());
    }
    if names.contains(&"all") {
        let results = ctl.call("supervisor.clearAllProcessLogs", &[])?;
        return report_all(ctl, &results, clear_message, None);
    }
    for name in names {
        let result = ctl.call("supervisor.clearProcessLogs", &[Value::str(name)]);
        report_one(ctl, name, result, clear_message, None)?;
    }
    Ok(())
}
