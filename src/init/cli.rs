//! supervisord's command line: Supervisor's options with Python `getopt` semantics (grouped
//! short flags, `-cFILE`, unique long prefixes, `--`), its usage errors, plus `--check-config`.

use super::command_opts::{self, CommandOptions};
use crate::config::convert::{
    byte_size, count, existing_directory, existing_dirpath, logging_level, octal, unsigned,
};
use crate::config::{self, Config, ConfigError, Overrides};
use crate::util::{write_stderr, write_stdout};
use std::ffi::OsString;
use std::path::{Path, PathBuf};

pub const VERSION: &str = "4.3.0";

const HELP: &str = "supervisord -- run a set of applications as daemons.

Usage: %s [options] [--] [COMMAND [ARG...]]

With a COMMAND (the first argument that is not an option), supervisord is the container's
init for it: the programs of the config (if any is found) start first, then COMMAND runs as
the process 'main' with supervisord's stdin/stdout/stderr (and terminal); when it ends, the
programs are stopped and supervisord exits with its status (128+N after signal N). Without a
config it is a plain init (like tini): reaping, signal forwarding, exit status.

Options:
-c/--configuration FILENAME -- configuration file path (searches if not given)
-n/--nodaemon -- run in the foreground (same as 'nodaemon=true' in config file)
-s/--silent -- no logs to stdout (maps to 'silent=true' in config file)
-h/--help -- print this usage message and exit
-v/--version -- print supervisord version number and exit
-u/--user USER -- run supervisord as this user (or numeric uid)
-m/--umask UMASK -- use this umask for daemon subprocess (default is 022)
-d/--directory DIRECTORY -- directory to chdir to when daemonized
-l/--logfile FILENAME -- use FILENAME as logfile path
-y/--logfile_maxbytes BYTES -- use BYTES to limit the max size of logfile
-z/--logfile_backups NUM -- number of backups to keep when max bytes reached
-e/--loglevel LEVEL -- use LEVEL as log level (debug,info,warn,error,critical)
-j/--pidfile FILENAME -- write a pid file for the daemon process to FILENAME
-i/--identifier STR -- identifier used for this instance of supervisord
-q/--childlogdir DIRECTORY -- the log directory for child process logs
-k/--nocleanup --  prevent the process from performing cleanup (removal of
                   old automatic child log files) at startup.
-a/--minfds NUM -- the minimum number of file descriptors for start success
-t/--strip_ansi -- strip ansi escape codes from process output
--minprocs NUM  -- the minimum number of processes available for start success
--profile_options OPTIONS -- run supervisord under profiler and output
                             results based on OPTIONS, which  is a comma-sep'd
                             list of 'cumulative', 'calls', and/or 'callers',
                             e.g. 'cumulative,callers')
--check-config -- load and validate the configuration, print the processes it
                  defines (one line each) and exit (0 if valid, 2 if not)

Options with a COMMAND:
--wait-services SECS -- start COMMAND once every autostart program is RUNNING,
                  waiting at most SECS (0: no limit; env SUPERVISORD_WAIT_SERVICES;
                  default 60); past it supervisord stops everything and exits 1
--main-stopwait SECS -- wait this long for COMMAND to stop before SIGKILL
                  (env SUPERVISORD_MAIN_STOPWAIT; default 10)
--forward-to-group -- signals go to COMMAND's process group, not only to its
                  pid (tini -g; env SUPERVISORD_FORWARD_TO_GROUP=1)
--rewrite FROM:TO -- pass signal FROM to COMMAND as signal TO, 0 to drop it
                  (dumb-init --rewrite; numbers or names; repeatable)
--remap-exit CODE -- exit 0 when COMMAND exits with CODE (tini -e; repeatable)

";

/// Short options as Python's getopt spells them (`x:` takes a value).
const SHORT: &str = "h?c:vnu:m:d:l:y:z:e:j:i:q:a:kts";
const LONG: &[&str] = &[
    "help",
    "configuration=",
    "version",
    "nodaemon",
    "user=",
    "umask=",
    "directory=",
    "logfile=",
    "logfile_maxbytes=",
    "logfile_backups=",
    "loglevel=",
    "pidfile=",
    "identifier=",
    "childlogdir=",
    "minfds=",
    "minprocs=",
    "nocleanup",
    "strip_ansi",
    "profile_options=",
    "silent",
    "check-config",
];

/// Parsed command line; `[supervisord]` values are already validated.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Options {
    pub configfile: Option<PathBuf>,
    pub overrides: Overrides,
    /// `-u` as given; resolved (and so validated) when the config is loaded, like Supervisor.
    pub user: Option<String>,
    /// argv[0], used for the default config search (`<prefix>/etc/supervisord.conf`).
    pub argv0: Option<PathBuf>,
    /// The container's command (positional arguments) and its options.
    pub command: CommandOptions,
}

#[derive(Debug, Clone, PartialEq)]
pub enum CliAction {
    Run(Options),
    Help,
    Version,
    CheckConfig(Options),
}

/// A usage error; printed as `Error: <msg>` + `For help, use <argv0> -h`, exit status 2.
#[derive(Debug, Clone, PartialEq)]
pub struct UsageError(pub String);

impl std::fmt::Display for UsageError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.0)
    }
}

fn usage(msg: impl Into<String>) -> UsageError {
    UsageError(msg.into())
}

/// Splits arguments into (option, value) pairs like `getopt.getopt`; the rest are positional.
/// Options as (option as given, value) in command-line order.
type OptList = Vec<(String, String)>;

fn getopt(args: &[String]) -> Result<(OptList, Vec<String>), UsageError> {
    let mut opts = Vec::new();
    let mut i = 0;
    while i < args.len() && args[i].starts_with('-') && args[i] != "-" {
        let arg = &args[i];
        i += 1;
        if arg == "--" {
            break;
        }
        if let Some(long) = arg.strip_prefix("--") {
            opts.push(long_opt(long, args, &mut i)?);
        } else {
            short_opts(&arg[1..], args, &mut i, &mut opts)?;
        }
    }
    Ok((opts, args[i..].to_vec()))
}

fn long_opt(text: &str, args: &[String], i: &mut usize) -> Result<(String, String), UsageError> {
    let (name, mut value) = match text.split_once('=') {
        Some((n, v)) => (n, Some(v.to_string())),
        None => (text, None),
    };
    let candidates: Vec<&str> = LONG
        .iter()
        .chain(command_opts::LONG)
        .copied()
        .filter(|o| o.starts_with(name))
        .collect();
    let (full, takes_arg) = if candidates.contains(&name) {
        (name.to_string(), false)
    } else if candidates.contains(&format!("{name}=").as_str()) {
        (name.to_string(), true)
    } else if candidates.is_empty() {
        return Err(usage(format!("option --{name} not recognized")));
    } else if candidates.len() > 1 {
        return Err(usage(format!("option --{name} not a unique prefix")));
    } else {
        let c = candidates[0];
        (c.trim_end_matches('=').to_string(), c.ends_with('='))
    };
    if takes_arg {
        if value.is_none() {
            let Some(next) = args.get(*i) else {
                return Err(usage(format!("option --{full} requires argument")));
            };
            value = Some(next.clone());
            *i += 1;
        }
    } else if value.is_some() {
        return Err(usage(format!("option --{full} must not have an argument")));
    }
    Ok((format!("--{full}"), value.unwrap_or_default()))
}

fn short_opts(
    group: &str,
    args: &[String],
    i: &mut usize,
    opts: &mut Vec<(String, String)>,
) -> Result<(), UsageError> {
    let mut rest = group;
    while let Some(c) = rest.chars().next() {
        rest = &rest[c.len_utf8()..];
        let takes_arg = match SHORT.find(c).filter(|_| c != ':') {
            Some(pos) => SHORT[pos + c.len_utf8()..].starts_with(':'),
            None => return Err(usage(format!("option -{c} not recognized"))),
        };
        let value = if !takes_arg {
            String::new()
        } else if !rest.is_empty() {
            std::mem::take(&mut rest).to_string()
        } else {
            let Some(next) = args.get(*i) else {
                return Err(usage(format!("option -{c} requires argument")));
            };
            *i += 1;
            next.clone()
        };
        opts.push((format!("-{c}"), value));
    }
    Ok(())
}

/// The canonical name of an option (short and long forms share it).
fn canonical(opt: &str) -> &str {
    match opt {
        "-h" | "-?" | "--help" => "help",
        "-v" | "--version" => "version",
        "-c" | "--configuration" => "configfile",
        "-n" | "--nodaemon" => "nodaemon",
        "-s" | "--silent" => "silent",
        "-u" | "--user" => "user",
        "-m" | "--umask" => "umask",
        "-d" | "--directory" => "directory",
        "-l" | "--logfile" => "logfile",
        "-y" | "--logfile_maxbytes" => "logfile_maxbytes",
        "-z" | "--logfile_backups" => "logfile_backups",
        "-e" | "--loglevel" => "loglevel",
        "-j" | "--pidfile" => "pidfile",
        "-i" | "--identifier" => "identifier",
        "-q" | "--childlogdir" => "childlogdir",
        "-k" | "--nocleanup" => "nocleanup",
        "-a" | "--minfds" => "minfds",
        "-t" | "--strip_ansi" => "strip_ansi",
        other => other.trim_start_matches('-'),
    }
}

fn repr(s: &str) -> String {
    let quote = if s.contains('\'') && !s.contains('"') {
        '"'
    } else {
        '\''
    };
    let escaped = s.replace('\\', "\\\\");
    let escaped = if quote == '\'' {
        escaped.replace('\'', "\\'")
    } else {
        escaped
    };
    format!("{quote}{escaped}{quote}")
}

/// Parses supervisord's arguments (without argv[0]).
pub fn parse(args: Vec<OsString>) -> Result<CliAction, UsageError> {
    let args: Vec<String> = args
        .into_iter()
        .map(|a| a.to_string_lossy().into_owned())
        .collect();
    // getopt stops at the first non-option: the rest is the command with its own options.
    let (opts, positional) = getopt(&args)?;
    let mut o = Options::default();
    o.command.argv = positional;
    let mut seen: Vec<&str> = Vec::new();
    let mut check = false;
    for (opt, value) in &opts {
        let name = canonical(opt);
        match name {
            "help" => return Ok(CliAction::Help),
            "version" => return Ok(CliAction::Version),
            _ => {}
        }
        let invalid = |m: String| usage(format!("invalid value for {opt} {}: {m}", repr(value)));
        if seen.contains(&name) && !command_opts::repeatable(name) {
            return Err(usage(format!(
                "conflicting command line option {}",
                repr(opt)
            )));
        }
        seen.push(name);
        let ov = &mut o.overrides;
        match name {
            "configfile" => o.configfile = Some(PathBuf::from(value)),
            "nodaemon" => ov.nodaemon = Some(true),
            "silent" => ov.silent = Some(true),
            "nocleanup" => ov.nocleanup = Some(true),
            "strip_ansi" => ov.strip_ansi = Some(true),
            "check-config" => check = true,
            "user" => o.user = Some(value.clone()),
            "umask" => ov.umask = Some(octal(value).map_err(invalid)?),
            "directory" => ov.directory = Some(existing_directory(value).map_err(invalid)?),
            "logfile" => ov.logfile = Some(existing_dirpath(value).map_err(invalid)?),
            "logfile_maxbytes" => ov.logfile_maxbytes = Some(byte_size(value).map_err(invalid)?),
            "logfile_backups" => ov.logfile_backups = Some(count(value).map_err(invalid)?),
            "loglevel" => ov.loglevel = Some(logging_level(value).map_err(invalid)?),
            "pidfile" => ov.pidfile = Some(existing_dirpath(value).map_err(invalid)?),
            "identifier" => ov.identifier = Some(value.clone()),
            "childlogdir" => ov.childlogdir = Some(existing_directory(value).map_err(invalid)?),
            "minfds" => ov.minfds = Some(unsigned(value).map_err(invalid)?),
            "minprocs" => ov.minprocs = Some(unsigned(value).map_err(invalid)?),
            "profile_options" => return Err(usage(PROFILE_OPTIONS_REFUSED)),
            _ => {
                if !o.command.set(name, value).map_err(invalid)? {
                    return Err(usage(format!("option {opt} not recognized")));
                }
            }
        }
    }
    if o.command.argv.is_empty() && o.command.any_option() {
        return Err(usage(
            "the options --wait-services, --main-stopwait, --forward-to-group, --rewrite and \
             --remap-exit need a command: supervisord [options] -- COMMAND [ARG...]",
        ));
    }
    Ok(if check {
        CliAction::CheckConfig(o)
    } else {
        CliAction::Run(o)
    })
}

/// Supervisor's `--profile_options` runs its own Python code under cProfile; there is no such
/// code here, so the option is refused rather than silently ignored.
const PROFILE_OPTIONS_REFUSED: &str = "--profile_options is not supported: it profiles \
Supervisor's Python code with cProfile, and this supervisord is not written in Python \
(use a native profiler such as perf instead)";

/// The help text with the program name filled in (printed to stdout, exit 0).
pub fn help_text(argv0: &str) -> String {
    HELP.replace("%s", argv0)
}

/// Prints a usage error the way Supervisor does.
pub fn print_usage_error(argv0: &str, msg: &str) {
    write_stderr(&format!("Error: {msg}\nFor help, use {argv0} -h\n"));
}

const ROOT_SEARCH_WARNING: &str = "UserWarning: Supervisord is running as root and it is searching for its configuration \
file in default locations (including its current working directory); you probably want to specify a \"-c\" argument \
specifying an absolute path to a configuration file for improved security.";

/// The config file to use: `-c`, else the first file of the default search list. `None`:
/// there is a command and no config, so supervisord is a plain init.
fn config_path(opts: &Options) -> Result<Option<PathBuf>, ConfigError> {
    if let Some(c) = &opts.configfile {
        return Ok(Some(c.clone()));
    }
    let argv0 = opts
        .argv0
        .clone()
        .or_else(|| std::env::args_os().next().map(PathBuf::from))
        .unwrap_or_default();
    let found = config::search_default(&argv0);
    if !opts.command.argv.is_empty() && found.is_none() {
        return Ok(None);
    }
    // With a command, only a config that is used is worth the warning.
    if nix::unistd::getuid().is_root() {
        write_stderr(&format!("{ROOT_SEARCH_WARNING}\n"));
    }
    found.map(Some).ok_or_else(|| {
        let paths: Vec<String> = config::search_paths(&argv0).iter().map(|p| p.display().to_string()).collect();
        ConfigError::plain(format!(
            "No config file found at default paths ({}); use the -c option to specify a config file at a different path",
            paths.join(", ")
        ))
    })
}

/// Finds and loads the config, then applies the command line over it.
pub fn load_config(opts: &Options) -> Result<Config, ConfigError> {
    let Some(path) = config_path(opts)? else {
        let mut config = command_opts::builtin_config();
        opts.overrides.apply(&mut config);
        return Ok(config);
    };
    let env: Vec<(String, String)> = std::env::vars_os()
        .map(|(k, v)| {
            (
                k.to_string_lossy().into_owned(),
                v.to_string_lossy().into_owned(),
            )
        })
        .collect();
    let mut config = config::load_with_user(&path, &env, opts.user.as_deref())?;
    opts.overrides.apply(&mut config);
    let processes = config
        .groups
        .iter()
        .flat_map(|g| g.processes.iter().map(|p| &**p));
    crate::programs::capacity::check(processes, &config.supervisord).map_err(|message| {
        ConfigError {
            file: Some(path.clone()),
            line: None,
            section: None,
            option: None,
            message,
        }
    })?;
    Ok(config)
}

/// [`load_config`] for startup and reload: a config error is printed as a usage error
/// (`Error: ...` / `For help, use ...`) and becomes exit status 2, as in Supervisor.
pub fn load_or_usage(argv0: &str, opts: &Options) -> Result<Config, i32> {
    load_config(opts).map_err(|e| {
        print_usage_error(argv0, &e.to_string());
        2
    })
}

/// A word quoted for a POSIX shell only when it needs it (like Python's `shlex.quote`).
fn shell_quote(s: &str) -> String {
    let safe = |c: char| c.is_ascii_alphanumeric() || "@%+=:,./-_".contains(c);
    if !s.is_empty() && s.chars().all(safe) {
        return s.to_string();
    }
    format!("'{}'", s.replace('\'', "'\"'\"'"))
}

/// One line per process: namespec, priority, autostart, command (in start order).
pub fn process_lines(config: &Config) -> Vec<String> {
    let mut lines = Vec::new();
    for g in &config.groups {
        for p in &g.processes {
            let argv: Vec<String> = p.argv.iter().map(|a| shell_quote(a)).collect();
            lines.push(format!(
                "{} priority={} autostart={} command={}",
                p.namespec(),
                p.priority,
                p.autostart,
                argv.join(" ")
            ));
        }
    }
    lines
}

/// `--check-config`: 0 and the process list when the config is valid, else the error and 2.
pub fn check_config_main(argv0: &str, opts: &Options) -> i32 {
    match load_config(opts) {
        Ok(config) => {
            for (level, note) in &config.notes {
                write_stderr(&format!("{} {note}\n", level_tag(*level)));
            }
            for line in process_lines(&config) {
                write_stdout(&format!("{line}\n"));
            }
            0
        }
        Err(e) => {
            print_usage_error(argv0, &e.to_string());
            2
        }
    }
}

fn level_tag(level: log::Level) -> &'static str {
    match level {
        log::Level::Error => "ERRO",
        log::Level::Warn => "WARN",
        log::Level::Info => "INFO",
        log::Level::Debug => "DEBG",
        log::Level::Trace => "TRAC",
    }
}

/// Handles everything before the engine starts: help, version, usage errors and
/// `--check-config`. `Ok(options)` means "run supervisord"; `Err(status)` means exit now.
pub fn main_prelude(argv0: &str, args: Vec<OsString>) -> Result<Options, i32> {
    match parse(args) {
        Ok(CliAction::Help) => {
            write_stdout(&help_text(argv0));
            Err(0)
        }
        Ok(CliAction::Version) => {
            write_stdout(&format!("{VERSION}\n"));
            Err(0)
        }
        Ok(CliAction::CheckConfig(mut o)) => {
            o.argv0 = Some(Path::new(argv0).to_path_buf());
            Err(check_config_main(argv0, &o))
        }
        Ok(CliAction::Run(mut o)) => {
            o.argv0 = Some(Path::new(argv0).to_path_buf());
            Ok(o)
        }
        Err(e) => {
            print_usage_error(argv0, &e.0);
            Err(2)
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn p(args: &[&str]) -> Result<CliAction, UsageError> {
        parse(args.iter().map(OsString::from).collect())
    }

    fn run(args: &[&str]) -> Options {
        match p(args) {
            Ok(CliAction::Run(o)) => o,
            other => panic!("expected Run, got {other:?}"),
        }
    }

    #[test]
    fn short_and_long_forms() {
        let o = run(&[
            "-c",
            "/etc/s.conf",
            "-n",
            "-e",
            "debug",
            "--umask=077",
            "--minprocs",
            "5",
        ]);
        assert_eq!(o.configfile, Some(PathBuf::from("/etc/s.conf")));
        assert_eq!(o.overrides.nodaemon, Some(true));
        assert_eq!(o.overrides.loglevel, Some(crate::config::LogLevel::Debug));
        assert_eq!(o.overrides.umask, Some(0o77));
        assert_eq!(o.overrides.minprocs, Some(5));
    }

    #[test]
    fn grouped_flags_and_attached_values() {
        let o = run(&["-nkc/x.conf", "-a2048"]);
        assert_eq!(o.configfile, Some(PathBuf::from("/x.conf")));
        assert_eq!(o.overrides.nocleanup, Some(true));
        assert_eq!(o.overrides.minfds, Some(2048));
    }

    #[test]
    fn unique_long_prefixes() {
        let o = run(&["--config=/a", "--nod"]);
        assert_eq!(o.configfile, Some(PathBuf::from("/a")));
        assert_eq!(o.overrides.nodaemon, Some(true));
        assert_eq!(
            p(&["--logfile_"]),
            Err(UsageError("option --logfile_ not a unique prefix".into()))
        );
    }

    #[test]
    fn help_version_check() {
        assert_eq!(p(&["-h"]), Ok(CliAction::Help));
        let refused = p(&["--profile_options", "cumulative"]).unwrap_err();
        assert!(
            refused.0.contains("--profile_options is not supported"),
            "{refused:?}"
        );
        assert_eq!(p(&["-?"]), Ok(CliAction::Help));
        assert_eq!(p(&["--version"]), Ok(CliAction::Version));
        assert!(matches!(
            p(&["--check-config", "-c", "x"]),
            Ok(CliAction::CheckConfig(_))
        ));
        assert!(help_text("/bin/sd").contains("Usage: /bin/sd [options] [--] [COMMAND [ARG...]]"));
    }

    #[test]
    fn usage_errors_use_getopt_wording() {
        let e = |args: &[&str]| p(args).unwrap_err().0;
        assert_eq!(e(&["--bogus"]), "option --bogus not recognized");
        assert_eq!(e(&["-x"]), "option -x not recognized");
        assert_eq!(e(&["-c"]), "option -c requires argument");
        assert_eq!(
            e(&["--configuration"]),
            "option --configuration requires argument"
        );
        assert_eq!(
            e(&["--nodaemon=1"]),
            "option --nodaemon must not have an argument"
        );
        assert_eq!(e(&["-n", "-n"]), "conflicting command line option '-n'");
        assert_eq!(
            e(&["-n", "--nodaemon"]),
            "conflicting command line option '--nodaemon'"
        );
        assert_eq!(
            e(&["-m", "999"]),
            "invalid value for -m '999': 999 can not be converted to an octal type"
        );
        assert_eq!(
            e(&["-e", "verbose"]),
            "invalid value for -e 'verbose': bad logging level name 'verbose'"
        );
        assert_eq!(
            e(&["-a", "lots"]),
            "invalid value for -a 'lots': invalid literal for int() with base 10: 'lots'"
        );
        assert_eq!(
            e(&["-d", "/nonexistent"]),
            "invalid value for -d '/nonexistent': /nonexistent is not an existing directory"
        );
    }

    #[test]
    fn double_dash_ends_options() {
        let o = run(&["-n", "--", "-x"]);
        assert_eq!(o.command.argv, vec!["-x"]);
        assert_eq!(o.overrides.nodaemon, Some(true));
    }

    #[test]
    fn the_first_non_option_starts_the_command() {
        let o = run(&["-n", "sh", "-c", "exit 3", "--", "-n"]);
        assert_eq!(o.command.argv, vec!["sh", "-c", "exit 3", "--", "-n"]);
        let o = run(&["nginx", "-g", "daemon off;"]);
        assert_eq!(o.command.argv, vec!["nginx", "-g", "daemon off;"]);
        assert_eq!(o.overrides.nodaemon, None);
    }

    #[test]
    fn command_options() {
        let o = run(&[
            "--rewrite",
            "15:3",
            "--rewrite=USR1:0",
            "--remap-exit",
            "143",
            "--wait-services=5",
            "--forward-to-group",
            "--main-stopwait",
            "2",
            "--",
            "sh",
        ]);
        assert_eq!(o.command.rewrite, vec![(15, 3), (libc::SIGUSR1, 0)]);
        assert_eq!(o.command.remap_exit, vec![143]);
        assert_eq!(o.command.wait_services, Some(5));
        assert_eq!(o.command.main_stopwait, Some(2));
        assert!(o.command.to_group);
        let e = |args: &[&str]| p(args).unwrap_err().0;
        assert!(e(&["--rewrite", "15:3"]).contains("need a command"));
        assert_eq!(
            e(&["--remap-exit", "300", "sh"]),
            "invalid value for --remap-exit '300': 300 is not an exit code (0 to 255)"
        );
        assert_eq!(
            e(&["--wait-services", "1", "--wait-services", "2", "sh"]),
            "conflicting command line option '--wait-services'"
        );
        // Supervisor's unique prefixes still work.
        assert_eq!(run(&["--si"]).overrides.silent, Some(true));
        assert_eq!(run(&["--co=/a"]).configfile, Some(PathBuf::from("/a")));
    }

    #[test]
    fn quoting_for_listing() {
        assert_eq!(shell_quote("/bin/sh"), "/bin/sh");
        assert_eq!(shell_quote("a b"), "'a b'");
        assert_eq!(shell_quote(""), "''");
    }
}
