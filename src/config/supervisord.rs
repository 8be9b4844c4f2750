//! `[supervisord]`: the daemon's own settings (keys read in Supervisor's order, so the first
//! error reported is the one Supervisor would report).

use super::ctx::Ctx;
use super::datatypes::{
    boolean, byte_size, count, dict_of_key_value_pairs, existing_directory, existing_dirpath,
    logging_level, octal, unsigned,
};
use super::expand::Val;
use super::model::{MainLogFile, SupervisordConfig};
use super::section::View;
use super::source::normalize;
use super::ConfigError;

pub const KEYS: &[&str] = &[
    "logfile",
    "logfile_maxbytes",
    "logfile_backups",
    "loglevel",
    "pidfile",
    "umask",
    "nodaemon",
    "silent",
    "minfds",
    "minprocs",
    "nocleanup",
    "childlogdir",
    "user",
    "directory",
    "strip_ansi",
    "environment",
    "identifier",
    "shutdown_grace",
];

/// `tempfile.gettempdir()`: `$TMPDIR` (if it is a directory) or `/tmp`.
fn temp_dir(env: &[(String, String)]) -> String {
    env.iter()
        .filter(|(k, _)| k == "TMPDIR" || k == "TEMP" || k == "TMP")
        .map(|(_, v)| v.clone())
        .find(|v| std::path::Path::new(v).is_dir())
        .unwrap_or_else(|| "/tmp".into())
}

/// Builds `[supervisord]` (without `user`, which is resolved after everything else) and adds
/// its `environment=` keys to the `ENV_*` names of later sections.
pub fn build(
    ctx: &mut Ctx,
    v: View,
    env: &[(String, String)],
) -> Result<SupervisordConfig, ConfigError> {
    let mut names = ctx.env_names.clone();
    names.insert("here".into(), Val::Str(ctx.here_str()));
    let minfds = v.conv("minfds", "1024", &names, unsigned)?;
    let minprocs = v.conv("minprocs", "200", &names, unsigned)?;
    let directory = v.conv_opt("directory", &names, existing_directory)?;
    v.get("user", &names)?;
    let umask = v.conv("umask", "022", &names, octal)?;
    let logfile = v.conv("logfile", "supervisord.log", &names, existing_dirpath)?;
    let logfile = if logfile.as_os_str() == "syslog" {
        MainLogFile::Syslog
    } else {
        MainLogFile::Path(normalize(&logfile))
    };
    let logfile_maxbytes = v.conv("logfile_maxbytes", "50MB", &names, byte_size)?;
    let logfile_backups = v.conv("logfile_backups", "10", &names, count)?;
    let loglevel = v.conv("loglevel", "info", &names, logging_level)?;
    let pidfile = normalize(&v.conv("pidfile", "supervisord.pid", &names, existing_dirpath)?);
    let identifier = v.get_or("identifier", "supervisor", &names)?;
    let nodaemon = v.conv("nodaemon", "false", &names, boolean)?;
    let silent = v.conv("silent", "false", &names, boolean)?;
    let childlogdir = v.conv("childlogdir", &temp_dir(env), &names, existing_directory)?;
    let nocleanup = v.conv("nocleanup", "false", &names, boolean)?;
    let strip_ansi = v.conv("strip_ansi", "false", &names, boolean)?;
    // Supervisor expands this value twice: once on read, once with host_node_name added.
    let environ = v.get_or("environment", "", &names)?;
    let mut names2 = names.clone();
    names2.insert("host_node_name".into(), Val::Str(ctx.host.clone()));
    let environ = super::expand::expand(&environ, &names2, "environment")
        .map_err(|m| v.err("environment", m))?;
    let environment = dict_of_key_value_pairs(&environ).map_err(|m| v.err("environment", m))?;
    for (k, val) in &environment {
        ctx.env_names
            .insert(format!("ENV_{k}"), Val::Str(val.clone()));
    }
    let shutdown_grace_secs = v.conv("shutdown_grace", "3", &names, unsigned)?;
    Ok(SupervisordConfig {
        logfile,
        logfile_maxbytes,
        logfile_backups,
        loglevel,
        pidfile,
        umask,
        nodaemon,
        silent,
        minfds,
        minprocs,
        nocleanup,
        childlogdir,
        user: None,
        directory,
        strip_ansi,
        environment,
        identifier,
        shutdown_grace_secs,
    })
}
