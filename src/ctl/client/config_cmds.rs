//! `avail`, `reread`, `update`, `add`, `remove`: working with the re-read configuration.

use std::collections::BTreeMap;

use super::daemon::help_for;
use super::status::{field_int, field_str};
use super::transport::CallError;
use super::{exit, fault, CmdResult, Ctl};
use crate::ctl::protocol::make_namespec;
use crate::ctl::protocol::xmlrpc::Value;

fn is_fault(e: &CallError, code: i32) -> bool {
    matches!(e, CallError::Fault { code: c, .. } if *c == i64::from(code))
}

fn strings(v: Option<&Value>) -> Vec<String> {
    v.and_then(Value::as_array)
        .unwrap_or(&[])
        .iter()
        .filter_map(|s| s.as_str().map(String::from))
        .collect()
}

/// (added, changed, removed) from reloadConfig's `[[added, changed, removed]]`.
fn diff(result: &Value) -> (Vec<String>, Vec<String>, Vec<String>) {
    let inner = result
        .as_array()
        .and_then(|a| a.first())
        .and_then(Value::as_array)
        .unwrap_or(&[]);
    (
        strings(inner.first()),
        strings(inner.get(1)),
        strings(inner.get(2)),
    )
}

fn format_config_info(info: &Value) -> String {
    let name = make_namespec(field_str(info, "group"), field_str(info, "name"));
    let truthy = |k: &str| info.get(k).map(Value::truthy).unwrap_or(false);
    let inuse = if truthy("inuse") { "in use" } else { "avail" };
    let auto = if truthy("autostart") {
        "auto"
    } else {
        "manual"
    };
    let prio = format!(
        "{}:{}",
        field_int(info, "group_prio"),
        field_int(info, "process_prio")
    );
    let line = format!("{name:<32} {inuse:<9} {auto:<9} {prio}");
    // Extension: oneshot and notify programs say so; plain programs keep Supervisor's line.
    match info.get("type").and_then(Value::as_str) {
        Some(kind) => format!("{line} {kind}"),
        None => line,
    }
}

pub fn do_avail(ctl: &mut Ctl, arg: &str) -> CmdResult {
    if !arg.is_empty() {
        ctl.output("Error: avail accepts no arguments");
        ctl.exitstatus = exit::GENERIC;
        help_for(ctl, "avail");
        return Ok(());
    }
    match ctl.call("supervisor.getAllConfigInfo", &[]) {
        Ok(infos) => {
            for info in infos.as_array().unwrap_or(&[]) {
                let line = format_config_info(info);
                ctl.output(&line);
            }
            Ok(())
        }
        Err(e) if is_fault(&e, fault::SHUTDOWN_STATE) => {
            ctl.exitstatus = exit::GENERIC;
            ctl.output("ERROR: supervisor shutting down");
            Ok(())
        }
        Err(e) => {
            ctl.exitstatus = exit::GENERIC;
            Err(e.into())
        }
    }
}

pub fn do_reread(ctl: &mut Ctl, arg: &str) -> CmdResult {
    if !arg.is_empty() {
        ctl.output("Error: reread accepts no arguments");
        ctl.exitstatus = exit::GENERIC;
        help_for(ctl, "reread");
        return Ok(());
    }
    match ctl.call("supervisor.reloadConfig", &[]) {
        Ok(result) => {
            let (added, changed, removed) = diff(&result);
            let mut changes: BTreeMap<String, &str> = BTreeMap::new();
            for (names, what) in [
                (added, "available"),
                (changed, "changed"),
                (removed, "disappeared"),
            ] {
                for n in names {
                    changes.insert(n, what);
                }
            }
            if changes.is_empty() {
                ctl.output("No config updates to processes");
            }
            for (name, what) in changes {
                ctl.output(&format!("{name}: {what}"));
            }
            Ok(())
        }
        Err(CallError::Fault { code, string }) if code == i64::from(fault::CANT_REREAD) => {
            ctl.exitstatus = exit::GENERIC;
            ctl.output(&format!("ERROR: {string}"));
            Ok(())
        }
        Err(e) if is_fault(&e, fault::SHUTDOWN_STATE) => {
            ctl.exitstatus = exit::GENERIC;
            ctl.output("ERROR: supervisor shutting down");
            Ok(())
        }
        Err(e) => {
            ctl.exitstatus = exit::GENERIC;
            Err(e.into())
        }
    }
}

pub fn do_add(ctl: &mut Ctl, arg: &str) -> CmdResult {
    for name in arg.split_whitespace() {
        match ctl.call("supervisor.addProcessGroup", &[Value::str(name)]) {
            Ok(_) => ctl.output(&format!("{name}: added process group")),
            Err(e) if is_fault(&e, fault::SHUTDOWN_STATE) => {
                ctl.output("ERROR: shutting down");
                ctl.exitstatus = exit::GENERIC;
            }
            Err(e) if is_fault(&e, fault::ALREADY_ADDED) => {
                ctl.output("ERROR: process group already active")
            }
            Err(e) if is_fault(&e, fault::BAD_NAME) => {
                ctl.output(&format!("ERROR: no such process/group: {name}"));
                ctl.exitstatus = exit::GENERIC;
            }
            Err(e) => {
                ctl.exitstatus = exit::GENERIC;
                return Err(e.into());
            }
        }
    }
    Ok(())
}

pub fn do_remove(ctl: &mut Ctl, arg: &str) -> CmdResult {
    for name in arg.split_whitespace() {
        match ctl.call("supervisor.removeProcessGroup", &[Value::str(name)]) {
            Ok(_) => ctl.output(&format!("{name}: removed process group")),
            Err(e) if is_fault(&e, fault::STILL_RUNNING) => {
                ctl.exitstatus = exit::GENERIC;
                ctl.output(&format!("ERROR: process/group still running: {name}"));
            }
            Err(e) if is_fault(&e, fault::BAD_NAME) => {
                ctl.exitstatus = exit::GENERIC;
                ctl.output(&format!("ERROR: no such process/group: {name}"));
            }
            Err(e) => {
                ctl.exitstatus = exit::GENERIC;
                return Err(e.into());
            }
        }
    }
    Ok(())
}

pub fn do_update(ctl: &mut Ctl, arg: &str) -> CmdResult {
    let result = match ctl.call("supervisor.reloadConfig", &[]) {
        Ok(r) => r,
        Err(e) if is_fault(&e, fault::SHUTDOWN_STATE) => {
            ctl.exitstatus = exit::GENERIC;
            ctl.output("ERROR: already shutting down");
            return Ok(());
        }
        Err(e) => {
            ctl.exitstatus = exit::GENERIC;
            return Err(e.into());
        }
    };
    let (added, changed, removed) = diff(&result);
    let mut wanted: Vec<&str> = arg.split_whitespace().collect();
    wanted.sort();
    wanted.dedup();
    if wanted.contains(&"all") {
        wanted.clear();
    }
    if !wanted.is_empty() {
        let infos = ctl.call("supervisor.getAllProcessInfo", &[])?;
        let mut groups: Vec<String> = infos
            .as_array()
            .unwrap_or(&[])
            .iter()
            .map(|i| field_str(i, "group").to_string())
            .collect();
        groups.extend(added.iter().cloned());
        for g in &wanted {
            if !groups.iter().any(|x| x == g) {
                ctl.output(&format!("ERROR: no such group: {g}"));
                ctl.exitstatus = exit::GENERIC;
            }
        }
    }
    let selected = |g: &str| wanted.is_empty() || wanted.contains(&g);
    for g in removed.iter().filter(|g| selected(g)) {
        let results = ctl.call("supervisor.stopProcessGroup", &[Value::str(g)])?;
        ctl.output(&format!("{g}: stopped"));
        let failed = results
            .as_array()
            .unwrap_or(&[])
            .iter()
            .any(|r| field_int(r, "status") == i64::from(fault::FAILED));
        if failed {
            ctl.output(&format!("{g}: has problems; not removing"));
            ctl.exitstatus = exit::GENERIC;
            continue;
        }
        ctl.call("supervisor.removeProcessGroup", &[Value::str(g)])?;
        ctl.output(&format!("{g}: removed process group"));
    }
    for g in changed.iter().filter(|g| selected(g)) {
        ctl.call("supervisor.stopProcessGroup", &[Value::str(g)])?;
        ctl.output(&format!("{g}: stopped"));
        ctl.call("supervisor.removeProcessGroup", &[Value::str(g)])?;
        ctl.call("supervisor.addProcessGroup", &[Value::str(g)])?;
        ctl.output(&format!("{g}: updated process group"));
    }
    for g in added.iter().filter(|g| selected(g)) {
        ctl.call("supervisor.addProcessGroup", &[Value::str(g)])?;
        ctl.output(&format!("{g}: added process group"));
    }
    Ok(())
}
