//! The container command's settings: the command line options (tini's and dumb-init's that
//! containers use, under long names), their environment variables, and the built-in
//! configuration of a pure init (a command and no config file).

use std::path::PathBuf;
use std::time::Duration;

use crate::config::convert::{integer, signal_number};
use crate::config::{Config, CtlConfig, LogLevel, MainLogFile, SupervisordConfig};
use crate::programs::CommandSpec;

/// Long options of command mode, in getopt's spelling (`=`: takes a value).
pub const LONG: &[&str] = &[
    "wait-services=",
    "main-stopwait=",
    "remap-exit=",
    "rewrite=",
    "forward-to-group",
];

/// Environment variables standing in for options not given on the command line.
pub const ENV_WAIT_SERVICES: &str = "SUPERVISORD_WAIT_SERVICES";
pub const ENV_MAIN_STOPWAIT: &str = "SUPERVISORD_MAIN_STOPWAIT";
pub const ENV_FORWARD_TO_GROUP: &str = "SUPERVISORD_FORWARD_TO_GROUP";

/// Default bound on the wait for the programs before the command starts.
const WAIT_SERVICES_SECS: u64 = 60;
/// Default wait for the command to stop before SIGKILL (Supervisor's stopwaitsecs, and
/// `docker stop`'s grace).
const MAIN_STOPWAIT_SECS: u64 = 10;

/// The command and its options as given on the command line.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct CommandOptions {
    /// COMMAND [ARG...]; empty without a command.
    pub argv: Vec<String>,
    pub wait_services: Option<u64>,
    pub main_stopwait: Option<u64>,
    /// Exit codes of the command that supervisord reports as 0 (tini `-e`).
    pub remap_exit: Vec<i32>,
    /// Signal rewrites `from -> to` for what is passed to the command (dumb-init `--rewrite`).
    pub rewrite: Vec<(i32, i32)>,
    pub to_group: bool,
}

/// Whether the option (canonical name) may be given more than once.
pub fn repeatable(name: &str) -> bool {
    matches!(name, "remap-exit" | "rewrite")
}

fn seconds(s: &str) -> Result<u64, String> {
    let v = integer(s)?;
    u64::try_from(v).map_err(|_| format!("{v} is below lower bound (0)"))
}

fn exit_code(s: &str) -> Result<i32, String> {
    match integer(s)? {
        v @ 0..=255 => Ok(v as i32),
        v => Err(format!("{v} is not an exit code (0 to 255)")),
    }
}

/// `FROM:TO`, each a signal number or name; TO may be 0 (the signal is not passed on).
fn rewrite(s: &str) -> Result<(i32, i32), String> {
    let (from, to) = s
        .split_once(':')
        .ok_or_else(|| format!("{s} is not SIGNAL:SIGNAL (e.g. 15:3 or TERM:QUIT)"))?;
    let from = signal_number(from)?;
    if from == 0 {
        return Err("signal 0 cannot be rewritten".into());
    }
    Ok((from, signal_number(to)?))
}

impl CommandOptions {
    /// Takes one command-mode option; `Ok(false)` when `name` is not one of them.
    pub fn set(&mut self, name: &str, value: &str) -> Result<bool, String> {
        match name {
            "wait-services" => self.wait_services = Some(seconds(value)?),
            "main-stopwait" => self.main_stopwait = Some(seconds(value)?),
            "remap-exit" => self.remap_exit.push(exit_code(value)?),
            "rewrite" => self.rewrite.push(rewrite(value)?),
            "forward-to-group" => self.to_group = true,
            _ => return Ok(false),
        }
        Ok(true)
    }

    /// Whether an option of command mode was given (they need a command).
    pub fn any_option(&self) -> bool {
        let plain = CommandOptions {
            argv: self.argv.clone(),
            ..Default::default()
        };
        *self != plain
    }
}

/// Everything command mode needs, options and environment resolved.
#[derive(Debug, Clone, PartialEq)]
pub struct Settings {
    pub spec: CommandSpec,
    /// `None`: wait for the programs as long as it takes.
    pub wait_services: Option<Duration>,
    pub remap_exit: Vec<i32>,
    pub rewrite: Vec<(i32, i32)>,
}

impl Settings {
    /// Fills what the command line left open from the environment (`env` looks a variable
    /// up), then the defaults.
    pub fn resolve(
        o: &CommandOptions,
        env: &dyn Fn(&str) -> Option<String>,
    ) -> Result<Settings, String> {
        let from_env = |var: &str, default: u64| -> Result<u64, String> {
            match env(var) {
                Some(v) => seconds(&v).map_err(|m| format!("invalid value for {var} '{v}': {m}")),
                None => Ok(default),
            }
        };
        let wait = match o.wait_services {
            Some(s) => s,
            None => from_env(ENV_WAIT_SERVICES, WAIT_SERVICES_SECS)?,
        };
        let stopwait = match o.main_stopwait {
            Some(s) => s,
            None => from_env(ENV_MAIN_STOPWAIT, MAIN_STOPWAIT_SECS)?,
        };
        let to_group = o.to_group
            || env(ENV_FORWARD_TO_GROUP)
                .is_some_and(|v| matches!(v.to_lowercase().as_str(), "1" | "true" | "yes" | "on"));
        let settings = Settings {
            spec: CommandSpec {
                argv: o.argv.clone(),
                stopsignal: libc::SIGTERM,
                stopwaitsecs: stopwait,
                to_group,
            },
            wait_services: (wait > 0).then(|| Duration::from_secs(wait)),
            remap_exit: o.remap_exit.clone(),
            rewrite: o.rewrite.clone(),
        };
        Ok(Settings {
            spec: CommandSpec {
                stopsignal: settings.rewritten(libc::SIGTERM),
                ..settings.spec.clone()
            },
            ..settings
        })
    }

    /// The signal the command gets for `sig` (0: none), after `--rewrite`.
    pub fn rewritten(&self, sig: i32) -> i32 {
        self.rewrite
            .iter()
            .rev()
            .find(|(from, _)| *from == sig)
            .map_or(sig, |(_, to)| *to)
    }

    /// The container's exit status for the command's `status`, after `--remap-exit`.
    pub fn exit_status(&self, status: i32) -> i32 {
        if self.remap_exit.contains(&status) {
            0
        } else {
            status
        }
    }
}

/// The file name of the built-in config's `source`.
const BUILTIN: &str = "(built-in)";

/// Whether `config` is the built-in one of a plain init.
pub fn is_builtin(config: &Config) -> bool {
    config.source.file_name().is_some_and(|n| n == BUILTIN)
}

/// The configuration of a pure init (a command, no config file): no programs, no control
/// socket, no pidfile, no log file; only errors go to stderr, so the command's output is all
/// there is. Command line options (`-e debug`, `-l FILE`) apply on top.
pub fn builtin_config() -> Config {
    let cwd = std::env::current_dir().unwrap_or_else(|_| PathBuf::from("/"));
    Config {
        // No file: the config's "place" is the working directory.
        source: cwd.join(BUILTIN),
        supervisord: SupervisordConfig {
            logfile: MainLogFile::Path(PathBuf::from("/dev/stderr")),
            logfile_maxbytes: 0,
            logfile_backups: 0,
            loglevel: LogLevel::Error,
            pidfile: PathBuf::new(),
            umask: 0o022,
            nodaemon: true,
            silent: true,
            minfds: 0,
            minprocs: 0,
            nocleanup: true,
            childlogdir: std::env::temp_dir(),
            user: None,
            directory: None,
            strip_ansi: false,
            environment: Vec::new(),
            identifier: "supervisor".into(),
            shutdown_grace_secs: 3,
        },
        groups: Vec::new(),
        unix_http_server: None,
        inet_http_server: None,
        supervisorctl: CtlConfig::default(),
        rpcinterface_supervisor: false,
        notes: Vec::new(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn opts(args: &[(&str, &str)]) -> Result<CommandOptions, String> {
        let mut o = CommandOptions {
            argv: vec!["sh".into()],
            ..Default::default()
        };
        for (k, v) in args {
            assert!(o.set(k, v)?);
        }
        Ok(o)
    }

    fn no_env(_: &str) -> Option<String> {
        None
    }

    #[test]
    fn defaults_then_environment_then_options() {
        let s = Settings::resolve(&opts(&[]).unwrap(), &no_env).unwrap();
        assert_eq!(s.wait_services, Some(Duration::from_secs(60)));
        assert_eq!(s.spec.stopwaitsecs, 10);
        assert!(!s.spec.to_group);
        let env = |k: &str| match k {
            ENV_WAIT_SERVICES => Some("0".to_string()),
            ENV_MAIN_STOPWAIT => Some("4".to_string()),
            ENV_FORWARD_TO_GROUP => Some("true".to_string()),
            _ => None,
        };
        let s = Settings::resolve(&opts(&[]).unwrap(), &env).unwrap();
        assert_eq!(s.wait_services, None);
        assert_eq!(s.spec.stopwaitsecs, 4);
        assert!(s.spec.to_group);
        let o = opts(&[("wait-services", "5"), ("main-stopwait", "2")]).unwrap();
        let s = Settings::resolve(&o, &env).unwrap();
        assert_eq!(s.wait_services, Some(Duration::from_secs(5)));
        assert_eq!(s.spec.stopwaitsecs, 2);
        let bad = |k: &str| (k == ENV_WAIT_SERVICES).then(|| "soon".to_string());
        let e = Settings::resolve(&opts(&[]).unwrap(), &bad).unwrap_err();
        assert!(
            e.starts_with("invalid value for SUPERVISORD_WAIT_SERVICES 'soon'"),
            "{e}"
        );
    }

    #[test]
    fn rewrite_maps_signals_like_dumb_init() {
        let o = opts(&[("rewrite", "15:3"), ("rewrite", "USR1:0")]).unwrap();
        let s = Settings::resolve(&o, &no_env).unwrap();
        assert_eq!(s.rewritten(libc::SIGTERM), libc::SIGQUIT);
        assert_eq!(s.rewritten(libc::SIGUSR1), 0);
        assert_eq!(s.rewritten(libc::SIGHUP), libc::SIGHUP);
        // The stop at shutdown is a rewritten SIGTERM too.
        assert_eq!(s.spec.stopsignal, libc::SIGQUIT);
        assert!(opts(&[("rewrite", "15")]).is_err());
        assert!(opts(&[("rewrite", "0:15")]).is_err());
        assert!(opts(&[("rewrite", "TERM:NOPE")]).is_err());
    }

    #[test]
    fn remap_exit_turns_codes_into_success_like_tini() {
        let o = opts(&[("remap-exit", "143"), ("remap-exit", "3")]).unwrap();
        let s = Settings::resolve(&o, &no_env).unwrap();
        assert_eq!(s.exit_status(143), 0);
        assert_eq!(s.exit_status(3), 0);
        assert_eq!(s.exit_status(4), 4);
        assert!(opts(&[("remap-exit", "256")]).is_err());
        assert!(opts(&[("remap-exit", "x")]).is_err());
    }

    #[test]
    fn options_are_noticed() {
        assert!(!opts(&[]).unwrap().any_option());
        assert!(opts(&[("forward-to-group", "")]).unwrap().any_option());
    }
}
