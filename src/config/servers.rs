//! `[rpcinterface:x]`, `[inet_http_server]`, `[unix_http_server]` and `[supervisorctl]`.

use super::ctx::Ctx;
use super::datatypes::{expanduser, inet_address, octal};
use super::expand::{Names, Val};
use super::model::{Auth, CtlConfig, InetServerConfig, UnixServerConfig};
use super::section::View;
use super::source::normalize;
use super::users::colon_separated_user_group;
use super::ConfigError;
use log::Level;

pub const UNIX_KEYS: &[&str] = &["file", "chmod", "chown", "username", "password"];
pub const INET_KEYS: &[&str] = &["port", "username", "password"];
pub const CTL_KEYS: &[&str] = &[
    "serverurl",
    "username",
    "password",
    "prompt",
    "history_file",
];

const FACTORY_KEY: &str = "supervisor.rpcinterface_factory";
const MAIN_FACTORY: &str = "supervisor.rpcinterface:make_main_rpcinterface";

fn env_names(ctx: &Ctx) -> Names {
    ctx.env_names.clone()
}

fn views<'a>(ctx: &Ctx<'a>, prefix: &str) -> Vec<View<'a>> {
    let ini = ctx.ini;
    ini.sections
        .iter()
        .filter(|s| s.name.starts_with(prefix))
        .map(|s| View::new(ini, s))
        .collect()
}

/// Validates every `[rpcinterface:x]`; returns whether the standard `supervisor` namespace is
/// configured.
pub fn rpcinterfaces(ctx: &Ctx) -> Result<bool, ConfigError> {
    let names = env_names(ctx);
    let mut main = false;
    for v in views(ctx, "rpcinterface:") {
        let Some(factory) = v.get(FACTORY_KEY, &names)? else {
            return Err(v.header_err(format!(
                "section [{}] does not specify a {FACTORY_KEY}",
                v.name()
            )));
        };
        if factory.trim() != MAIN_FACTORY {
            return Err(v.err(
                FACTORY_KEY,
                format!("{factory} cannot be resolved within [{}]", v.name()),
            ));
        }
        // Extra keys are passed to the factory; Supervisor expands them, so errors surface.
        for e in &v.sec.entries {
            if e.key != FACTORY_KEY {
                v.get(&e.key, &names)?;
            }
        }
        main = true;
    }
    Ok(main)
}

fn auth(v: &View, names: &Names) -> Result<Option<Auth>, ConfigError> {
    let username = v.get("username", names)?;
    let password = v.get("password", names)?;
    match (username, password) {
        (None, None) => Ok(None),
        (Some(username), Some(password)) => Ok(Some(Auth { username, password })),
        (u, _) => Err(v.err(
            if u.is_some() { "password" } else { "username" },
            format!(
                "Section [{}] contains incomplete authentication: If a username or a password is specified, both the username and password must be specified",
                v.name()
            ),
        )),
    }
}

pub fn inet(ctx: &Ctx) -> Result<Option<InetServerConfig>, ConfigError> {
    let names = env_names(ctx);
    let mut first = None;
    for v in views(ctx, "inet_http_server") {
        let auth = auth(&v, &names)?;
        let Some(port) = v.get("port", &names)? else {
            return Err(v.err("port", format!("section [{}] has no port value", v.name())));
        };
        let (host, port) = inet_address(&port).map_err(|m| v.err("port", m))?;
        first.get_or_insert(InetServerConfig { host, port, auth });
    }
    Ok(first)
}

pub fn unix(ctx: &Ctx) -> Result<Option<UnixServerConfig>, ConfigError> {
    let names = env_names(ctx);
    let mut with_here = names.clone();
    with_here.insert("here".into(), Val::Str(ctx.here_str()));
    let mut first = None;
    for v in views(ctx, "unix_http_server") {
        let Some(file) = v.get("file", &with_here)? else {
            return Err(v.err("file", format!("section [{}] has no file value", v.name())));
        };
        let file = normalize(&expanduser(file.trim()));
        let auth = auth(&v, &names)?;
        let chown = match v.get("chown", &names)? {
            None => None,
            Some(c) => Some(
                colon_separated_user_group(&c)
                    .map_err(|_| v.err("chown", format!("Invalid sockchown value {c}")))?,
            ),
        };
        let chmod = match v.get("chmod", &names)? {
            None => 0o700,
            Some(c) => octal(&c).map_err(|_| v.err("chmod", format!("Invalid chmod value {c}")))?,
        };
        first.get_or_insert(UnixServerConfig {
            file,
            chmod,
            chown,
            auth,
        });
    }
    Ok(first)
}

/// `[supervisorctl]`. supervisord itself never reads this section, so a problem in it is
/// reported by [`ctl_strict`]; here it only becomes a warning note.
pub fn ctl(ctx: &mut Ctx) -> CtlConfig {
    match ctl_strict(ctx) {
        Ok(c) => c,
        Err(e) => {
            ctx.notes
                .push((Level::Warn, format!("{e} (section ignored by supervisord)")));
            CtlConfig::default()
        }
    }
}

pub fn ctl_strict(ctx: &Ctx) -> Result<CtlConfig, ConfigError> {
    let mut c = CtlConfig::default();
    let Some(sec) = ctx.ini.section("supervisorctl") else {
        return Ok(c);
    };
    let v = View::new(ctx.ini, sec);
    let names = env_names(ctx);
    let mut with_here = names.clone();
    with_here.insert("here".into(), Val::Str(ctx.here_str()));
    if let Some(url) = v.get("serverurl", &with_here)? {
        c.serverurl = match url.strip_prefix("unix://") {
            Some(path) => format!("unix://{}", normalize(&expanduser(path)).display()),
            None => url,
        };
    }
    c.username = v.get("username", &names)?;
    c.password = v.get("password", &names)?;
    if let Some(p) = v.get("prompt", &names)? {
        c.prompt = p;
    }
    c.history_file = v
        .get("history_file", &with_here)?
        .filter(|h| !h.is_empty())
        .map(|h| normalize(&expanduser(&h)));
    Ok(c)
}
