//! Process groups: `[group:x]`, homogeneous program groups, event listener pools and fcgi
//! programs, ordered by (priority, name); plus `depends_on` validation.

use super::ctx::Ctx;
use super::datatypes::{integer, list_of_strings, octal, process_or_group_name};
use super::expand::Val;
use super::model::{EventListenerConfig, FcgiConfig, GroupConfig, GroupKind, ProcessConfig};
use super::program::{processes, section_program_name};
use super::section::View;
use super::users::colon_separated_user_group;
use super::ConfigError;
use std::collections::{BTreeMap, HashSet};

pub const GROUP_KEYS: &[&str] = &["programs", "priority"];
pub const LISTENER_KEYS: &[&str] = &["events", "buffer_size", "result_handler"];
pub const FCGI_KEYS: &[&str] = &["socket", "socket_owner", "socket_mode", "socket_backlog"];

const EVENT_TYPES: &[&str] = &[
    "EVENT",
    "PROCESS_COMMUNICATION",
    "PROCESS_COMMUNICATION_STDERR",
    "PROCESS_COMMUNICATION_STDOUT",
    "PROCESS_GROUP",
    "PROCESS_GROUP_ADDED",
    "PROCESS_GROUP_REMOVED",
    "PROCESS_LOG",
    "PROCESS_LOG_STDERR",
    "PROCESS_LOG_STDOUT",
    "PROCESS_STATE",
    "PROCESS_STATE_BACKOFF",
    "PROCESS_STATE_EXITED",
    "PROCESS_STATE_FATAL",
    "PROCESS_STATE_RUNNING",
    "PROCESS_STATE_STARTING",
    "PROCESS_STATE_STOPPED",
    "PROCESS_STATE_STOPPING",
    "PROCESS_STATE_UNKNOWN",
    "REMOTE_COMMUNICATION",
    "SUPERVISOR_STATE_CHANGE",
    "SUPERVISOR_STATE_CHANGE_RUNNING",
    "SUPERVISOR_STATE_CHANGE_STOPPING",
    "TICK",
    "TICK_3600",
    "TICK_5",
    "TICK_60",
];

const DEFAULT_RESULT_HANDLER: &str = "supervisor.dispatchers:default_handler";

fn views_with_prefix<'a>(ctx: &Ctx<'a>, prefix: &str) -> Vec<View<'a>> {
    let ini = ctx.ini;
    ini.sections
        .iter()
        .filter(|s| s.name.starts_with(prefix))
        .map(|s| View::new(ini, s))
        .collect()
}

/// Names available to `[group:x]` and pool-level keys: `here` and `ENV_*`.
fn plain_names(ctx: &Ctx) -> super::expand::Names {
    let mut names = ctx.env_names.clone();
    names.insert("here".into(), Val::Str(ctx.here_str()));
    names
}

pub fn build(ctx: &mut Ctx) -> Result<Vec<GroupConfig>, ConfigError> {
    let mut groups = Vec::new();
    let mut excluded: HashSet<String> = HashSet::new();
    for v in views_with_prefix(ctx, "group:") {
        groups.push(hetero_group(ctx, v, &mut excluded)?);
    }
    let names = plain_names(ctx);
    for v in views_with_prefix(ctx, "program:") {
        if excluded.contains(v.name()) {
            continue;
        }
        let name = section_program_name(&v)?;
        let priority = v.conv("priority", "999", &names, integer)?;
        let processes = processes(ctx, v, &name)?;
        groups.push(GroupConfig {
            name,
            priority,
            kind: GroupKind::Program,
            processes: shared(processes),
        });
    }
    for v in views_with_prefix(ctx, "eventlistener:") {
        groups.push(listener_pool(ctx, v)?);
    }
    for v in views_with_prefix(ctx, "fcgi-program:") {
        if excluded.contains(v.name()) {
            continue;
        }
        groups.push(fcgi_group(ctx, v)?);
    }
    groups.sort_by(|a, b| (a.priority, &a.name).cmp(&(b.priority, &b.name)));
    check_depends_on(ctx, &groups)?;
    Ok(groups)
}

fn hetero_group(
    ctx: &mut Ctx,
    v: View,
    excluded: &mut HashSet<String>,
) -> Result<GroupConfig, ConfigError> {
    let names = plain_names(ctx);
    let suffix = v.name().split_once(':').map(|(_, s)| s).unwrap_or("");
    let name = process_or_group_name(suffix).map_err(|m| v.header_err(m))?;
    let programs = list_of_strings(&v.get_or("programs", "", &names)?);
    let priority = v.conv("priority", "999", &names, integer)?;
    let mut procs = Vec::new();
    for program in programs {
        let psec = format!("program:{program}");
        let fsec = format!("fcgi-program:{program}");
        let (has_p, has_f) = (
            ctx.ini.section(&psec).is_some(),
            ctx.ini.section(&fsec).is_some(),
        );
        if !has_p && !has_f {
            return Err(v.err(
                "programs",
                format!(
                    "[{}] names unknown program or fcgi-program {program}",
                    v.name()
                ),
            ));
        }
        if has_p && has_f {
            return Err(v.err(
                "programs",
                format!(
                    "[{}] name {program} is ambiguous (exists as program and fcgi-program)",
                    v.name()
                ),
            ));
        }
        let sec_name = if has_p { psec } else { fsec };
        excluded.insert(sec_name.clone());
        let ini = ctx.ini;
        let Some(sec) = ini.section(&sec_name) else {
            continue;
        };
        // As in Supervisor, an fcgi-program listed in a group runs as a plain program.
        procs.extend(processes(ctx, View::new(ini, sec), &name)?);
    }
    Ok(GroupConfig {
        name,
        priority,
        kind: GroupKind::Program,
        processes: shared(procs),
    })
}

fn listener_pool(ctx: &mut Ctx, v: View) -> Result<GroupConfig, ConfigError> {
    let names = plain_names(ctx);
    let name = section_program_name(&v)?;
    let priority = v.conv("priority", "-1", &names, integer)?;
    let buffer_size = v.conv("buffer_size", "10", &names, integer)?;
    if buffer_size < 1 {
        return Err(v.err(
            "buffer_size",
            format!(
                "[{}] section sets invalid buffer_size ({buffer_size})",
                v.name()
            ),
        ));
    }
    let result_handler = v.get_or("result_handler", DEFAULT_RESULT_HANDLER, &names)?;
    if result_handler != DEFAULT_RESULT_HANDLER {
        return Err(v.err(
            "result_handler",
            format!(
                "{result_handler} cannot be resolved within [{}]: a result_handler is Python \
                 code, which this supervisord cannot run; only {DEFAULT_RESULT_HANDLER} is \
                 supported. To copy program output to supervisord's stdout (what \
                 supervisor_stdout and similar handlers do), set stdout_logfile=/dev/stdout and \
                 stdout_prefix on the programs instead",
                v.name()
            ),
        ));
    }
    let mut events: Vec<String> = Vec::new();
    for e in list_of_strings(&v.get_or("events", "", &names)?) {
        let e = e.to_uppercase();
        if !events.contains(&e) {
            events.push(e);
        }
    }
    if events.is_empty() {
        return Err(v.err(
            "events",
            format!("[{}] section requires an \"events\" line", v.name()),
        ));
    }
    if let Some(bad) = events.iter().find(|e| !EVENT_TYPES.contains(&e.as_str())) {
        return Err(v.err(
            "events",
            format!("Unknown event type {bad} in [{}] events", v.name()),
        ));
    }
    let redirect = v.conv(
        "redirect_stderr",
        "false",
        &names,
        super::datatypes::boolean,
    )?;
    if redirect {
        return Err(v.err(
            "redirect_stderr",
            format!(
                "[{}] section sets redirect_stderr=true but this is not allowed because it will interfere with the eventlistener protocol",
                v.name()
            ),
        ));
    }
    let processes = processes(ctx, v, &name)?;
    let kind = GroupKind::EventListener(EventListenerConfig {
        events,
        buffer_size: buffer_size as usize,
        result_handler,
    });
    Ok(GroupConfig {
        name,
        priority,
        kind,
        processes: shared(processes),
    })
}

fn fcgi_group(ctx: &mut Ctx, v: View) -> Result<GroupConfig, ConfigError> {
    let names = plain_names(ctx);
    let name = section_program_name(&v)?;
    let priority = v.conv("priority", "999", &names, integer)?;
    let socket = fcgi_socket(ctx, v)?;
    let processes = processes(ctx, v, &name)?;
    Ok(GroupConfig {
        name,
        priority,
        kind: GroupKind::Fcgi(socket),
        processes: shared(processes),
    })
}

/// `socket=` (`unix:///abs/path` or `tcp://host:port`) and its owner/mode/backlog.
fn fcgi_socket(ctx: &Ctx, v: View) -> Result<FcgiConfig, ConfigError> {
    let mut names = plain_names(ctx);
    let program_name = section_program_name(&v)?;
    let user = v.get("user", &names)?;
    if let Some(u) = &user {
        super::users::name_to_uid(u).map_err(|m| v.err("user", m))?;
    }
    let backlog = match v.get("socket_backlog", &names)? {
        None => None,
        Some(b) => {
            let n = integer(&b).map_err(|m| v.err("socket_backlog", m))?;
            if !(1..=65535).contains(&n) {
                return Err(v.err(
                    "socket_backlog",
                    format!("Invalid socket_backlog value {n}"),
                ));
            }
            Some(n as u32)
        }
    };
    let owner = v.get("socket_owner", &names)?;
    if let Some(o) = &owner {
        colon_separated_user_group(o)
            .map_err(|_| v.err("socket_owner", format!("Invalid socket_owner value {o}")))?;
    }
    let mode = match v.get("socket_mode", &names)? {
        None => None,
        Some(m) => Some(
            octal(&m)
                .map_err(|_| v.err("socket_mode", format!("Invalid socket_mode value {m}")))?,
        ),
    };
    names.insert("program_name".into(), Val::Str(program_name));
    let socket = v.get("socket", &names)?.unwrap_or_default();
    if socket.is_empty() {
        return Err(v.err(
            "socket",
            format!("[{}] section requires a \"socket\" line", v.name()),
        ));
    }
    let bad = |m: String| v.err("socket", format!("{m} in [{}] socket", v.name()));
    let socket = if let Some(path) = socket.strip_prefix("unix://") {
        if !path.starts_with('/') {
            return Err(bad(format!(
                "Unix socket path {path} is not an absolute path"
            )));
        }
        format!(
            "unix://{}",
            super::source::normalize(std::path::Path::new(path)).display()
        )
    } else {
        if owner.is_some() || mode.is_some() {
            return Err(bad(
                "socket_owner and socket_mode params should only be used with a Unix domain socket"
                    .into(),
            ));
        }
        let Some((host, port)) = socket
            .strip_prefix("tcp://")
            .and_then(|r| r.rsplit_once(':'))
        else {
            return Err(bad(format!("Bad socket format {socket}")));
        };
        let port_ok = !port.is_empty() && port.bytes().all(|b| b.is_ascii_digit());
        if host.is_empty() || host.contains(|c: char| c.is_whitespace() || c == ':') || !port_ok {
            return Err(bad(format!("Bad socket format {socket}")));
        }
        let port: u32 = port.parse().unwrap_or(0);
        if !(1..=65535).contains(&port) {
            return Err(bad(format!("{port} is above upper bound (65535)")));
        }
        format!("tcp://{}:{port}", host.to_lowercase())
    };
    Ok(FcgiConfig {
        socket,
        socket_owner: owner,
        socket_mode: mode.unwrap_or(0o700),
        socket_backlog: backlog,
    })
}

/// Every `depends_on` name must be a program, and the dependency graph must have no cycle.
fn check_depends_on(ctx: &Ctx, groups: &[GroupConfig]) -> Result<(), ConfigError> {
    let mut deps: BTreeMap<&str, &[String]> = BTreeMap::new();
    let mut sections: BTreeMap<&str, String> = BTreeMap::new();
    for g in groups {
        for p in &g.processes {
            deps.insert(&p.program_name, &p.depends_on);
            sections
                .entry(&p.program_name)
                .or_insert_with(|| section_of(ctx, &p.program_name));
        }
    }
    let view_of = |program: &str| -> Option<View> {
        let name = sections.get(program)?;
        ctx.ini.section(name).map(|s| View::new(ctx.ini, s))
    };
    for (program, list) in &deps {
        for d in list.iter() {
            if !deps.contains_key(d.as_str()) {
                let msg = format!("depends_on names unknown program {d}");
                return Err(match view_of(program) {
                    Some(v) => v.err("depends_on", msg),
                    None => ConfigError {
                        file: None,
                        line: None,
                        section: None,
                        option: None,
                        message: msg,
                    },
                });
            }
        }
    }
    if let Some(cycle) = find_cycle(&deps) {
        let msg = format!("depends_on forms a cycle: {}", cycle.join(" -> "));
        return Err(match view_of(&cycle[0]) {
            Some(v) => v.err("depends_on", msg),
            None => ConfigError {
                file: None,
                line: None,
                section: None,
                option: None,
                message: msg,
            },
        });
    }
    Ok(())
}

fn section_of(ctx: &Ctx, program: &str) -> String {
    for prefix in ["program:", "fcgi-program:", "eventlistener:"] {
        let name = format!("{prefix}{program}");
        if ctx.ini.section(&name).is_some() {
            return name;
        }
    }
    format!("program:{program}")
}

/// Depth-first search; returns the programs of the first cycle found (first one repeated last).
fn find_cycle(deps: &BTreeMap<&str, &[String]>) -> Option<Vec<String>> {
    #[derive(Clone, Copy, PartialEq)]
    enum Mark {
        New,
        Active,
        Done,
    }
    fn visit<'a>(
        n: &'a str,
        deps: &BTreeMap<&'a str, &'a [String]>,
        marks: &mut BTreeMap<&'a str, Mark>,
        stack: &mut Vec<&'a str>,
    ) -> Option<Vec<String>> {
        marks.insert(n, Mark::Active);
        stack.push(n);
        if let Some(list) = deps.get(n) {
            for d in list.iter() {
                match marks.get(d.as_str()).copied().unwrap_or(Mark::New) {
                    Mark::Active => {
                        let start = stack.iter().position(|s| *s == d.as_str()).unwrap_or(0);
                        let mut cycle: Vec<String> =
                            stack[start..].iter().map(|s| s.to_string()).collect();
                        cycle.push(d.clone());
                        return Some(cycle);
                    }
                    Mark::New => {
                        if let Some(c) = visit(d.as_str(), deps, marks, stack) {
                            return Some(c);
                        }
                    }
                    Mark::Done => {}
                }
            }
        }
        stack.pop();
        marks.insert(n, Mark::Done);
        None
    }
    let mut marks: BTreeMap<&str, Mark> = deps.keys().map(|k| (*k, Mark::New)).collect();
    for n in deps.keys() {
        if marks.get(n) == Some(&Mark::New) {
            let mut stack = Vec::new();
            if let Some(c) = visit(n, deps, &mut marks, &mut stack) {
                return Some(c);
            }
        }
    }
    None
}

/// A group's processes as the config holds them: each shared with the worker that runs it.
fn shared(processes: Vec<ProcessConfig>) -> Vec<std::sync::Arc<ProcessConfig>> {
    processes.into_iter().map(std::sync::Arc::new).collect()
}
