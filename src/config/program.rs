//! `[program:x]` (and the program part of `[eventlistener:x]` / `[fcgi-program:x]`): one
//! section → its process instances, in Supervisor's validation order.

use super::ctx::Ctx;
use super::datatypes::{
    auto_restart, boolean, byte_size, count, dict_of_key_value_pairs, existing_dirpath, exitcodes,
    integer, list_of_strings, octal, process_or_group_name, ranged, shell_split, signal_number,
    unsigned, MAX_COUNT,
};
use super::expand::{expand, Names, Val};
use super::model::{HealthCheck, LogConfig, LogFile, ProcessConfig, UserSpec};
use super::section::View;
use super::users::resolve_user;
use super::ConfigError;
use log::Level;
use std::path::PathBuf;

pub const KEYS: &[&str] = &[
    "command",
    "process_name",
    "numprocs",
    "numprocs_start",
    "priority",
    "autostart",
    "autorestart",
    "startsecs",
    "startretries",
    "exitcodes",
    "stopsignal",
    "stopwaitsecs",
    "stopasgroup",
    "killasgroup",
    "user",
    "redirect_stderr",
    "stdout_logfile",
    "stdout_logfile_maxbytes",
    "stdout_logfile_backups",
    "stdout_capture_maxbytes",
    "stdout_events_enabled",
    "stdout_syslog",
    "stderr_logfile",
    "stderr_logfile_maxbytes",
    "stderr_logfile_backups",
    "stderr_capture_maxbytes",
    "stderr_events_enabled",
    "stderr_syslog",
    "environment",
    "directory",
    "umask",
    "serverurl",
    // Extensions.
    "stdout_prefix",
    "stderr_prefix",
    "essential",
    "depends_on",
    "healthcheck_command",
    "healthcheck_interval",
    "healthcheck_timeout",
    "healthcheck_retries",
    "memory_limit",
    "memory_check_interval",
];

/// The program name after the `kind:` prefix, validated.
pub fn section_program_name(v: &View) -> Result<String, ConfigError> {
    let suffix = v.name().split_once(':').map(|(_, s)| s).unwrap_or("");
    process_or_group_name(suffix).map_err(|m| v.header_err(m))
}

/// Settings read once per section, shared by all its processes.
struct Common {
    priority: i64,
    autostart: bool,
    autorestart: super::model::AutoRestart,
    startsecs: u64,
    startretries: u32,
    stopsignal: i32,
    stopwaitsecs: u64,
    stopasgroup: bool,
    killasgroup: bool,
    exitcodes: Vec<i32>,
    redirect_stderr: bool,
    numprocs: i64,
    numprocs_start: i64,
    capture: [(u64, bool); 2],
    serverurl: Option<String>,
    user: Option<UserSpec>,
    umask: Option<u32>,
    process_name: String,
}

fn read_common(v: &View, names: &Names) -> Result<Common, ConfigError> {
    let priority = v.conv("priority", "999", names, integer)?;
    let autostart = v.conv("autostart", "true", names, boolean)?;
    let autorestart = v.conv("autorestart", "unexpected", names, auto_restart)?;
    let startsecs = v.conv("startsecs", "1", names, unsigned)?;
    let startretries = v.conv("startretries", "3", names, count)?;
    let stopsignal = v.conv("stopsignal", "TERM", names, signal_number)?;
    let stopwaitsecs = v.conv("stopwaitsecs", "10", names, unsigned)?;
    let stopasgroup = v.conv("stopasgroup", "false", names, boolean)?;
    let killasgroup = v.conv(
        "killasgroup",
        if stopasgroup { "true" } else { "false" },
        names,
        boolean,
    )?;
    let exitcodes = v.conv("exitcodes", "0", names, exitcodes)?;
    let redirect_stderr = v.conv("redirect_stderr", "false", names, boolean)?;
    // Bounded so that numprocs_start + numprocs never overflows (no process is dropped);
    // the process capacity check bounds numprocs much lower in practice.
    let numprocs = v.conv("numprocs", "1", names, |s| ranged(s, i64::MIN, MAX_COUNT))?;
    let numprocs_start = v.conv("numprocs_start", "0", names, |s| {
        ranged(s, -MAX_COUNT, MAX_COUNT)
    })?;
    let out_capture = v.conv("stdout_capture_maxbytes", "0", names, byte_size)?;
    let out_events = v.conv("stdout_events_enabled", "false", names, boolean)?;
    let err_capture = v.conv("stderr_capture_maxbytes", "0", names, byte_size)?;
    let err_events = v.conv("stderr_events_enabled", "false", names, boolean)?;
    let serverurl = v
        .get("serverurl", names)?
        .filter(|s| !s.trim().eq_ignore_ascii_case("AUTO"));
    let user = v.conv_opt("user", names, resolve_user)?;
    let umask = v.conv_opt("umask", names, octal)?;
    let process_name = v.raw("process_name").unwrap_or("%(program_name)s");
    let process_name = process_or_group_name(process_name).map_err(|m| v.err("process_name", m))?;
    if numprocs > 1 && !process_name.contains("%(process_num)") {
        return Err(v.err(
            "process_name",
            "%(process_num) must be present within process_name when numprocs > 1",
        ));
    }
    if stopasgroup && !killasgroup {
        return Err(v.err(
            "killasgroup",
            "Cannot set stopasgroup=true and killasgroup=false",
        ));
    }
    Ok(Common {
        priority,
        autostart,
        autorestart,
        startsecs,
        startretries,
        stopsignal,
        stopwaitsecs,
        stopasgroup,
        killasgroup,
        exitcodes,
        redirect_stderr,
        numprocs,
        numprocs_start,
        capture: [(out_capture, out_events), (err_capture, err_events)],
        serverurl,
        user,
        umask,
        process_name,
    })
}

/// Builds the processes of one program-like section for group `group_name`, sorted by
/// (priority, name) as Supervisor sorts them.
pub fn processes(
    ctx: &mut Ctx,
    v: View,
    group_name: &str,
) -> Result<Vec<ProcessConfig>, ConfigError> {
    let program_name = section_program_name(&v)?;
    let mut names = ctx.env_names.clone();
    names.insert("here".into(), Val::Str(ctx.here_str()));
    names.insert("program_name".into(), Val::Str(program_name.clone()));
    names.insert("group_name".into(), Val::Str(group_name.to_string()));
    names.insert("host_node_name".into(), Val::Str(ctx.host.clone()));
    let common = read_common(&v, &names)?;
    let here = v
        .sec
        .file
        .parent()
        .map(PathBuf::from)
        .unwrap_or_else(|| PathBuf::from("/"));
    let mut out = Vec::new();
    for num in common.numprocs_start..common.numprocs_start + common.numprocs {
        // Like Supervisor, per-process names accumulate across instances of one section.
        names.insert("process_num".into(), Val::Int(num));
        names.insert("numprocs".into(), Val::Int(common.numprocs));
        let p = one_process(
            ctx,
            &v,
            &common,
            &mut names,
            &program_name,
            group_name,
            &here,
        )?;
        out.push(p);
    }
    out.sort_by(|a, b| (a.priority, &a.name).cmp(&(b.priority, &b.name)));
    // The list lives as long as the configuration; a one-process section would otherwise
    // keep three spare ~600-byte slots.
    out.shrink_to_fit();
    Ok(out)
}

fn one_process(
    ctx: &mut Ctx,
    v: &View,
    c: &Common,
    names: &mut Names,
    program_name: &str,
    group_name: &str,
    here: &std::path::Path,
) -> Result<ProcessConfig, ConfigError> {
    let env_raw = v.raw("environment").unwrap_or("");
    let env_text = v.expand_labeled("environment", "environment", env_raw, names)?;
    let environment = dict_of_key_value_pairs(&env_text).map_err(|m| v.err("environment", m))?;
    for (k, val) in &environment {
        names.insert(format!("ENV_{k}"), Val::Str(val.clone()));
    }
    let directory = v.get("directory", names)?.map(PathBuf::from);
    let stdout = log_config(ctx, v, c, names, "stdout", 0)?;
    let mut stderr = log_config(ctx, v, c, names, "stderr", 1)?;
    if c.redirect_stderr {
        if matches!(stderr.file, LogFile::Path(_)) {
            ctx.notes.push((
                Level::Warn,
                format!(
                    "For [{}], redirect_stderr=true but stderr_logfile has also been set to a filename, the filename has been ignored",
                    v.name()
                ),
            ));
        }
        stderr.file = LogFile::None;
    }
    let command = v.get("command", names)?.ok_or_else(|| {
        v.err(
            "command",
            format!("program section {} does not specify a command", v.name()),
        )
    })?;
    let argv = split_command(v, "command", &command)?;
    let name = v.expand_labeled("process_name", "process_name", &c.process_name, names)?;
    let essential = v.conv("essential", "false", names, boolean)?;
    let depends_on = list_of_strings(&v.get_or("depends_on", "", names)?)
        .into_iter()
        .filter(|s| !s.is_empty())
        .collect();
    let healthcheck = healthcheck(v, names)?;
    let memory_limit = Some(v.conv("memory_limit", "0", names, byte_size)?).filter(|&l| l > 0);
    let memory_check_interval = v.conv("memory_check_interval", "60", names, positive)?;
    let (service, file_env) = super::service::read(v, names, here)?;
    // The env files lie under `environment=`, whose keys win.
    let mut merged = file_env;
    for (k, val) in environment {
        super::envfile::overlay(&mut merged, k, val);
    }
    let environment = merged;
    Ok(ProcessConfig {
        name,
        group: group_name.to_string(),
        program_name: program_name.to_string(),
        command,
        argv,
        priority: c.priority,
        autostart: c.autostart,
        autorestart: c.autorestart,
        startsecs: c.startsecs,
        startretries: c.startretries,
        exitcodes: c.exitcodes.clone(),
        stopsignal: c.stopsignal,
        stopwaitsecs: c.stopwaitsecs,
        stopasgroup: c.stopasgroup,
        killasgroup: c.killasgroup,
        user: c.user.clone(),
        directory,
        umask: c.umask,
        environment,
        serverurl: c.serverurl.clone(),
        redirect_stderr: c.redirect_stderr,
        stdout,
        stderr,
        here: here.to_path_buf(),
        essential,
        depends_on,
        healthcheck,
        memory_limit,
        memory_check_interval,
        service,
    })
}

/// Splits a command line by POSIX shell rules; it must yield at least one word.
fn split_command(v: &View, key: &str, command: &str) -> Result<Vec<String>, ConfigError> {
    let argv = shell_split(command).map_err(|m| {
        v.err(
            key,
            format!("{m} in command {}", super::pystr::repr(command)),
        )
    })?;
    if argv.is_empty() {
        return Err(v.err(key, format!("{key} is empty")));
    }
    Ok(argv)
}

fn log_config(
    ctx: &mut Ctx,
    v: &View,
    c: &Common,
    names: &Names,
    ch: &str,
    idx: usize,
) -> Result<LogConfig, ConfigError> {
    let key = format!("{ch}_logfile");
    // Supervisor expands the logfile value twice (so a literal `%` needs `%%%%`).
    let file = match v.get(&key, names)? {
        Some(once) => {
            let twice = expand(&once, names, &key).map_err(|m| v.err(&key, m))?;
            logfile_name(&twice).map_err(|m| v.err(&key, m))?
        }
        None => LogFile::Auto,
    };
    let backups = v.conv(&format!("{ch}_logfile_backups"), "10", names, count)?;
    let maxbytes = v.conv(&format!("{ch}_logfile_maxbytes"), "50MB", names, byte_size)?;
    let mut syslog = v.conv(&format!("{ch}_syslog"), "false", names, boolean)?;
    let file = if file == LogFile::Syslog {
        ctx.notes.push((
            Level::Warn,
            format!(
                "For [{}], {key}=syslog but this is deprecated and will be removed.  Use {ch}_syslog=true to enable syslog instead.",
                v.name()
            ),
        ));
        syslog = true;
        LogFile::None
    } else {
        file
    };
    if file == LogFile::Auto && maxbytes == 0 {
        ctx.notes.push((
            Level::Warn,
            format!(
                "For [{}], AUTO logging used for {key} without rollover, set maxbytes > 0 to avoid filling up filesystem unintentionally",
                v.name()
            ),
        ));
    }
    let prefix = v.get(&format!("{ch}_prefix"), names)?.map(unquote_prefix);
    let (capture_maxbytes, events_enabled) = c.capture[idx];
    Ok(LogConfig {
        file,
        maxbytes,
        backups,
        capture_maxbytes,
        events_enabled,
        syslog,
        prefix,
    })
}

/// INI values lose their surrounding whitespace; a prefix written in double quotes keeps it
/// (`stdout_prefix="[web] "`).
fn unquote_prefix(s: String) -> String {
    match s.strip_prefix('"').and_then(|r| r.strip_suffix('"')) {
        Some(inner) => inner.to_string(),
        None => s,
    }
}

fn logfile_name(s: &str) -> Result<LogFile, String> {
    match s.to_lowercase().as_str() {
        "none" | "off" => Ok(LogFile::None),
        "auto" => Ok(LogFile::Auto),
        "syslog" => Ok(LogFile::Syslog),
        _ => existing_dirpath(s).map(LogFile::Path),
    }
}

fn healthcheck(v: &View, names: &Names) -> Result<Option<HealthCheck>, ConfigError> {
    let Some(cmd) = v.get("healthcheck_command", names)? else {
        return Ok(None);
    };
    let argv = split_command(v, "healthcheck_command", &cmd)?;
    Ok(Some(HealthCheck {
        argv,
        interval_secs: v.conv("healthcheck_interval", "10", names, positive)?,
        timeout_secs: v.conv("healthcheck_timeout", "5", names, positive)?,
        retries: v.conv("healthcheck_retries", "3", names, count)?,
    }))
}

fn positive(s: &str) -> Result<u64, String> {
    Ok(ranged(s, 1, MAX_COUNT)? as u64)
}
