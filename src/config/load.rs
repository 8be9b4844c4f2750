//! The loading pipeline: read files, build sections in Supervisor's order, collect notes.

use super::ctx::{env_expansions, hostname, Ctx};
use super::ini::{Ini, Section};
use super::model::Config;
use super::section::View;
use super::source::read_all;
use super::users::resolve_user;
use super::{groups, program, servers, supervisord, ConfigError};
use log::Level;
use std::path::{Path, PathBuf};

/// `user_override` (the command line's `-u`) replaces `[supervisord] user=` before that value
/// is resolved, as in Supervisor, so an invalid file value does not matter then.
pub fn load(
    path: &Path,
    env: &[(String, String)],
    user_override: Option<&str>,
) -> Result<Config, ConfigError> {
    let host = hostname();
    let env_names = env_expansions(env);
    let src = read_all(path, &env_names, &host)?;
    let Some(sup_sec) = src.ini.section("supervisord") else {
        return Err(ConfigError {
            file: Some(src.main.clone()),
            line: None,
            section: None,
            option: None,
            message: ".ini file does not include supervisord section".into(),
        });
    };
    let mut ctx = Ctx {
        ini: &src.ini,
        env_names,
        here: src.here.clone(),
        host,
        notes: src.notes.clone(),
    };
    let sup_view = View::new(&src.ini, sup_sec);
    let mut supervisord = supervisord::build(&mut ctx, sup_view, env)?;
    let rpcinterface_supervisor = servers::rpcinterfaces(&ctx)?;
    let mut groups = groups::build(&mut ctx)?;
    let inet_http_server = servers::inet(&ctx)?;
    let unix_http_server = servers::unix(&ctx)?;
    let supervisorctl = servers::ctl(&mut ctx);
    supervisord.user = match user_override {
        Some(u) => Some(resolve_user(u).map_err(ConfigError::plain)?),
        None => sup_view.conv_opt("user", &ctx.env_names_with_here(), resolve_user)?,
    };
    merge_environment(&supervisord.environment, &mut groups);
    let mut notes = unknown_notes(&src.ini);
    notes.append(&mut ctx.notes);
    // Supervisor logs parse warnings before parse infos.
    notes.sort_by_key(|(level, _)| *level);
    Ok(Config {
        source: src.main.clone(),
        supervisord,
        groups,
        unix_http_server,
        inet_http_server,
        supervisorctl,
        rpcinterface_supervisor,
        notes,
    })
}

/// Every process gets `[supervisord] environment=` under its own (program keys win).
fn merge_environment(global: &[(String, String)], groups: &mut [super::model::GroupConfig]) {
    if global.is_empty() {
        return;
    }
    for p in groups.iter_mut().flat_map(|g| g.processes.iter_mut()) {
        // Not shared yet while the config is being built: no copy is made.
        let p = std::sync::Arc::make_mut(p);
        let mut env = global.to_vec();
        for (k, v) in p.environment.drain(..) {
            match env.iter_mut().find(|(ek, _)| *ek == k) {
                Some(slot) => slot.1 = v,
                None => env.push((k, v)),
            }
        }
        p.environment = env;
    }
}

/// Known option names for a section, or `None` when the section kind itself is unknown.
fn known_keys(name: &str) -> Option<Vec<&'static str>> {
    let kind = name.split_once(':').map(|(k, _)| k).unwrap_or(name);
    let with = |extra: &[&'static str]| {
        let mut v = program::KEYS.to_vec();
        v.extend_from_slice(super::service::KEYS);
        v.extend_from_slice(extra);
        v
    };
    match (kind, name.contains(':')) {
        ("supervisord", false) => Some(supervisord::KEYS.to_vec()),
        ("program", true) => Some(with(&[])),
        ("eventlistener", true) => Some(with(groups::LISTENER_KEYS)),
        ("fcgi-program", true) => Some(with(groups::FCGI_KEYS)),
        ("group", true) => Some(groups::GROUP_KEYS.to_vec()),
        ("include", false) => Some(vec!["files"]),
        ("unix_http_server", _) => Some(servers::UNIX_KEYS.to_vec()),
        ("inet_http_server", _) => Some(servers::INET_KEYS.to_vec()),
        ("supervisorctl", false) => Some(servers::CTL_KEYS.to_vec()),
        // Factory kwargs: any key is meaningful.
        ("rpcinterface", true) | ("ctlplugin", true) => Some(Vec::new()),
        _ => None,
    }
}

/// WARN notes for sections and options Supervisor would silently ignore (typos must show).
fn unknown_notes(ini: &Ini) -> Vec<(Level, String)> {
    let mut notes = Vec::new();
    for sec in &ini.sections {
        match known_keys(&sec.name) {
            None => notes.push((Level::Warn, unknown_section(sec))),
            Some(keys) if keys.is_empty() => {}
            Some(keys) => {
                for e in sec
                    .entries
                    .iter()
                    .filter(|e| !keys.contains(&e.key.as_str()))
                {
                    notes.push((
                        Level::Warn,
                        format!(
                            "{}:{}: [{}] unknown option '{}' ignored",
                            e.file.display(),
                            e.line,
                            sec.name,
                            e.key
                        ),
                    ));
                }
            }
        }
    }
    notes
}

fn unknown_section(sec: &Section) -> String {
    format!(
        "{}:{}: unknown section [{}] ignored",
        sec.file.display(),
        sec.line,
        sec.name
    )
}

/// supervisorctl's reading of a config: the main file only (no includes), which must have a
/// `[supervisorctl]` section.
pub fn load_ctl(
    path: &Path,
    env: &[(String, String)],
) -> Result<super::model::CtlConfig, ConfigError> {
    let text = super::source::read_text(path)?;
    let main = super::source::normalize(path);
    let mut ini = Ini::default();
    ini.read_section_str(&text, &main, "supervisorctl")?;
    if ini.section("supervisorctl").is_none() {
        return Err(ConfigError {
            file: Some(main),
            line: None,
            section: None,
            option: None,
            message: ".ini file does not include supervisorctl section".into(),
        });
    }
    let here = main
        .parent()
        .map(Path::to_path_buf)
        .unwrap_or_else(|| PathBuf::from("/"));
    let ctx = Ctx {
        ini: &ini,
        env_names: env_expansions(env),
        here,
        host: hostname(),
        notes: Vec::new(),
    };
    servers::ctl_strict(&ctx)
}
