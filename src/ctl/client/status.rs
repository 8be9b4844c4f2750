//! `status` (and its `--json` extension) and `pid`.

use super::transport::{CallError, Pending};
use super::{exit, fault, CmdResult, Ctl};
use crate::ctl::protocol::xmlrpc::Value;
use crate::ctl::protocol::{json, make_namespec, split_namespec};

/// A string member of a struct (empty when missing or not a string).
pub fn field_str<'a>(v: &'a Value, key: &str) -> &'a str {
    v.get(key).and_then(Value::as_str).unwrap_or("")
}

pub fn field_int(v: &Value, key: &str) -> i64 {
    v.get(key).and_then(Value::as_int).unwrap_or(0)
}

/// STOPPED, EXITED, FATAL, UNKNOWN.
fn is_stopped_state(code: i64) -> bool {
    matches!(code, 0 | 100 | 200 | 1000)
}

/// Whether a process makes `status` exit 3: a stopped state, except a oneshot job that
/// finished with success (EXITED is its goal, and probes built on `status` must pass).
fn counts_as_down(info: &Value) -> bool {
    let state = field_int(info, "state");
    let finished_job = field_str(info, "type") == "oneshot" && state == 100;
    is_stopped_state(state) && !finished_job
}

/// The namespec's parts as written: `name`, or `group`, `:` and `name`.
fn namespec_parts(info: &Value) -> [&str; 3] {
    let (group, name) = (field_str(info, "group"), field_str(info, "name"));
    match group == name {
        true => ["", "", name],
        false => [group, ":", name],
    }
}

/// Appends `text` padded with spaces to `width` characters (Python's `%-{width}s`).
fn push_padded(out: &mut String, parts: &[&str], width: usize) {
    let mut chars = 0;
    for p in parts {
        out.push_str(p);
        chars += p.chars().count();
    }
    out.extend(std::iter::repeat_n(' ', width.saturating_sub(chars)));
}

/// Status lines, each ending in a newline: `%-{W}s%-10s%s` with W = max(30, longest
/// namespec) + 3. Written straight into one buffer: at 200 processes, a String per field and
/// per line cost more than the rest of the formatting.
pub fn format_statuses(infos: &[&Value]) -> String {
    let width = infos
        .iter()
        .map(|i| {
            namespec_parts(i)
                .iter()
                .map(|p| p.chars().count())
                .sum::<usize>()
        })
        .max()
        .unwrap_or(0)
        .max(30)
        + 3;
    let mut out = String::with_capacity(infos.len() * (width + 40));
    for info in infos {
        push_padded(&mut out, &namespec_parts(info), width);
        push_padded(&mut out, &[field_str(info, "statename")], 10);
        out.push_str(field_str(info, "description"));
        out.push('\n');
    }
    out
}

pub fn do_status(ctl: &mut Ctl, arg: &str) -> CmdResult {
    let mut words: Vec<&str> = arg.split_whitespace().collect();
    let json = words.contains(&"--json");
    words.retain(|w| *w != "--json");
    let methods: &[&str] = match json {
        true => &[
            "supervisor.getAllProcessInfo",
            "supervisor.getAllProcessUsage",
        ],
        false => &["supervisor.getAllProcessInfo"],
    };
    let Some(pending) = ctl.upcheck_then(methods)? else {
        ctl.exitstatus = exit::STATUS_UNKNOWN;
        return Ok(());
    };
    let mut pending = pending.into_iter();
    let answer = pending
        .next()
        .map_or(Ok(Value::Array(Vec::new())), Pending::answer)?;
    let usage = pending.next();
    let all: &[Value] = answer.as_array().unwrap_or(&[]);
    let mut matching: Vec<&Value> = Vec::new();
    let mut errors: Vec<String> = Vec::new();
    if words.is_empty() || words.contains(&"all") {
        matching.extend(all.iter());
    } else {
        for name in &words {
            let (group, process) = split_namespec(name);
            let mut found = false;
            for info in all {
                let matched = field_str(info, "group") == group
                    && process.is_none_or(|p| field_str(info, "name") == p);
                if matched {
                    found = true;
                    matching.push(info);
                }
            }
            if !found {
                errors.push(match process {
                    None => format!("{group}: ERROR (no such group)"),
                    Some(_) => format!("{name}: ERROR (no such process)"),
                });
                ctl.exitstatus = exit::STATUS_UNKNOWN;
            }
        }
    }
    if json {
        for e in &errors {
            eprintln!("{e}");
        }
        let usage = usage.map(usage_by_name).unwrap_or_default();
        ctl.output(&json_statuses(&matching, &usage));
        ctl.discard(usage);
    } else {
        for e in &errors {
            ctl.output(e);
        }
        ctl.output_raw(&format_statuses(&matching));
    }
    if matching.iter().any(|i| counts_as_down(i)) {
        ctl.exitstatus = exit::STATUS_NOT_RUNNING;
    }
    ctl.discard(answer);
    Ok(())
}

/// Each process's usage struct (extension) by namespec; empty when the server has none.
fn usage_by_name(answer: Pending) -> Vec<(String, Value)> {
    let Ok(Value::Array(rows)) = answer.answer() else {
        return Vec::new();
    };
    rows.into_iter()
        .map(|r| {
            (
                make_namespec(field_str(&r, "group"), field_str(&r, "name")),
                r,
            )
        })
        .collect()
}

/// The JSON array of the process infos, each with a `usage` member (its usage struct minus
/// the repeated fields), written without copying the values.
fn json_statuses(infos: &[&Value], usage: &[(String, Value)]) -> String {
    let mut out = String::with_capacity(infos.len() * 640);
    out.push('[');
    for (i, info) in infos.iter().enumerate() {
        if i > 0 {
            out.push_str(", ");
        }
        write_info_json(info, usage_of(info, i, usage), &mut out);
    }
    out.push(']');
    out
}

/// The usage row of `info`, looked for first at its own index (the server lists both in
/// the same order).
fn usage_of<'a>(info: &Value, index: usize, usage: &'a [(String, Value)]) -> Option<&'a Value> {
    let name = make_namespec(field_str(info, "group"), field_str(info, "name"));
    let at_index = usage.get(index).filter(|(n, _)| *n == name);
    at_index
        .or_else(|| usage.iter().find(|(n, _)| *n == name))
        .map(|(_, u)| u)
}

fn write_info_json(info: &Value, usage: Option<&Value>, out: &mut String) {
    let (Value::Struct(fields), Some(Value::Struct(u))) = (info, usage) else {
        json::write_value(info, out);
        return;
    };
    let repeated = ["name", "group", "pid", "statename"];
    out.push('{');
    json::write_members(fields.iter().map(|(k, v)| (k.as_str(), v)), out);
    if !fields.is_empty() {
        out.push_str(", ");
    }
    out.push_str("\"usage\": {");
    let kept = u.iter().filter(|(k, _)| !repeated.contains(&k.as_str()));
    json::write_members(kept.map(|(k, v)| (k.as_str(), v)), out);
    out.push_str("}}");
}

pub fn do_pid(ctl: &mut Ctl, arg: &str) -> CmdResult {
    if !ctl.upcheck()? {
        return Ok(());
    }
    let names: Vec<&str> = arg.split_whitespace().collect();
    if names.is_empty() {
        let pid = ctl.call("supervisor.getPID", &[])?;
        ctl.output(&pid.as_int().unwrap_or(0).to_string());
    } else if names.contains(&"all") {
        let all = ctl.call("supervisor.getAllProcessInfo", &[])?;
        for info in all.as_array().unwrap_or(&[]) {
            ctl.output(&field_int(info, "pid").to_string());
        }
    } else {
        for name in names {
            match ctl.call("supervisor.getProcessInfo", &[Value::str(name)]) {
                Ok(info) => {
                    let pid = field_int(&info, "pid");
                    ctl.output(&pid.to_string());
                    if pid == 0 {
                        ctl.exitstatus = exit::NOT_RUNNING;
                    }
                }
                Err(CallError::Fault { code, .. }) if code == i64::from(fault::BAD_NAME) => {
                    ctl.exitstatus = exit::GENERIC;
                    ctl.output(&format!("No such process {name}"));
                }
                Err(e) => {
                    ctl.exitstatus = exit::GENERIC;
                    return Err(e.into());
                }
            }
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn json_adds_usage_without_repeated_fields() {
        let a = info("g", "a", "RUNNING", "x");
        let b = info("b", "b", "STOPPED", "");
        let usage_b = Value::Struct(vec![
            ("name".into(), Value::str("b")),
            ("rss".into(), Value::Int(7)),
        ]);
        let usage = vec![("b".to_string(), usage_b)];
        let got = json_statuses(&[&a, &b], &usage);
        assert_eq!(
            got,
            r#"[{"name": "a", "group": "g", "statename": "RUNNING", "description": "x"}, {"name": "b", "group": "b", "statename": "STOPPED", "description": "", "usage": {"rss": 7}}]"#
        );
        let empty = Value::Struct(vec![]);
        let got = json_statuses(&[&empty], &[("".into(), Value::Struct(vec![]))]);
        assert_eq!(got, r#"[{"usage": {}}]"#);
    }

    fn info(group: &str, name: &str, statename: &str, desc: &str) -> Value {
        Value::Struct(vec![
            ("name".into(), Value::str(name)),
            ("group".into(), Value::str(group)),
            ("statename".into(), Value::str(statename)),
            ("description".into(), Value::str(desc)),
        ])
    }

    #[test]
    fn columns_follow_supervisor() {
        let a = info("fail", "fail", "EXITED", "Nov 25 11:19 AM");
        let b = info("grp", "g1", "RUNNING", "pid 15704, uptime 0:00:07");
        let c = info("fail", "fail", "STARTING", "");
        let text = format_statuses(&[&a, &b, &c]);
        let lines: Vec<&str> = text.split_terminator('\n').collect();
        assert_eq!(
            lines[0],
            "fail                             EXITED    Nov 25 11:19 AM"
        );
        assert_eq!(
            lines[1],
            "grp:g1                           RUNNING   pid 15704, uptime 0:00:07"
        );
        assert_eq!(lines[2], "fail                             STARTING  ");
        let long = info("g", &"x".repeat(40), "RUNNING", "d");
        let text = format_statuses(&[&long]);
        assert_eq!(text, format!("g:{}   RUNNING   d\n", "x".repeat(40)));
        let wide = info("é", "é", "RUNNING", "");
        assert_eq!(
            format_statuses(&[&wide]),
            format!("é{}RUNNING   \n", " ".repeat(32))
        );
    }
}
