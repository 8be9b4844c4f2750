//! supervisorctl's command line (getopt rules: options stop at the first word) and its
//! `[supervisorctl]` config section.

use std::ffi::OsString;
use std::path::{Path, PathBuf};

/// Parsing ended the program with this status (help printed, or a usage error).
pub struct Exit(pub i32);

pub struct Options {
    pub serverurl: String,
    pub username: Option<String>,
    pub password: Option<String>,
    pub prompt: String,
    pub history_file: Option<PathBuf>,
    pub interactive: bool,
    pub action: Vec<String>,
}

const HELP: &str = "supervisorctl -- control applications run by supervisord from the cmd line.

Usage: %s [options] [action [arguments]]

Options:
-c/--configuration FILENAME -- configuration file path (searches if not given)
-h/--help -- print usage message and exit
-i/--interactive -- start an interactive shell after executing commands
-s/--serverurl URL -- URL on which supervisord server is listening
     (default \"http://localhost:9001\").
-u/--username USERNAME -- username to use for authentication with server
-p/--password PASSWORD -- password to use for authentication with server
-r/--history-file -- keep a readline history (if readline is available)

action [arguments] -- see below

Actions are commands like \"tail\" or \"stop\".  If -i is specified or no action is
specified on the command line, a \"shell\" interpreting actions typed
interactively is started.  Use the action \"help\" to find out about available
actions.

";

const LONG: &[(&str, char, bool)] = &[
    ("configuration", 'c', true),
    ("help", 'h', false),
    ("interactive", 'i', false),
    ("serverurl", 's', true),
    ("username", 'u', true),
    ("password", 'p', true),
    ("history_file", 'r', true),
];

fn usage(argv0: &str, msg: &str) -> Exit {
    eprintln!("Error: {msg}");
    eprintln!("For help, use {argv0} -h");
    Exit(2)
}

pub fn parse(argv0: &str, args: Vec<OsString>) -> Result<Options, Exit> {
    let args: Vec<String> = args
        .into_iter()
        .map(|a| a.to_string_lossy().into_owned())
        .collect();
    let mut given: Vec<(char, Option<String>)> = Vec::new();
    let mut i = 0;
    while i < args.len() {
        let arg = &args[i];
        if arg == "--" {
            i += 1;
            break;
        }
        if let Some(long) = arg.strip_prefix("--") {
            let (name, inline) = match long.split_once('=') {
                Some((n, v)) => (n, Some(v.to_string())),
                None => (long, None),
            };
            let matches: Vec<_> = LONG
                .iter()
                .filter(|(n, _, _)| n.starts_with(name))
                .collect();
            let exact = LONG.iter().find(|(n, _, _)| *n == name);
            let Some(&(full, short, takes)) = exact.or(if matches.len() == 1 {
                Some(matches[0])
            } else {
                None
            }) else {
                return Err(usage(argv0, &format!("option --{name} not recognized")));
            };
            let value = if takes {
                match inline {
                    Some(v) => Some(v),
                    None => {
                        i += 1;
                        Some(args.get(i).cloned().ok_or_else(|| {
                            usage(argv0, &format!("option --{full} requires argument"))
                        })?)
                    }
                }
            } else if inline.is_some() {
                return Err(usage(
                    argv0,
                    &format!("option --{full} must not have an argument"),
                ));
            } else {
                None
            };
            given.push((short, value));
            i += 1;
            continue;
        }
        if arg.len() > 1 && arg.starts_with('-') {
            let chars: Vec<char> = arg[1..].chars().collect();
            let mut j = 0;
            while j < chars.len() {
                // `-?` is Supervisor's other spelling of `-h`.
                let c = if chars[j] == '?' { 'h' } else { chars[j] };
                let Some(&(_, _, takes)) = LONG.iter().find(|(_, s, _)| *s == c) else {
                    return Err(usage(argv0, &format!("option -{c} not recognized")));
                };
                if takes {
                    let rest: String = chars[j + 1..].iter().collect();
                    let value = if !rest.is_empty() {
                        rest
                    } else {
                        i += 1;
                        args.get(i).cloned().ok_or_else(|| {
                            usage(argv0, &format!("option -{c} requires argument"))
                        })?
                    };
                    given.push((c, Some(value)));
                    break;
                }
                given.push((c, None));
                j += 1;
            }
            i += 1;
            continue;
        }
        break;
    }
    let action: Vec<String> = args[i..].to_vec();

    if given.iter().any(|(c, _)| *c == 'h') {
        print!("{}", HELP.replacen("%s", argv0, 1));
        return Err(Exit(0));
    }
    let value = |c: char| {
        given
            .iter()
            .rev()
            .find(|(k, _)| *k == c)
            .and_then(|(_, v)| v.clone())
    };

    let mut opts = Options {
        serverurl: "http://localhost:9001".into(),
        username: None,
        password: None,
        prompt: "supervisor".into(),
        history_file: None,
        interactive: given.iter().any(|(c, _)| *c == 'i') || action.is_empty(),
        action,
    };

    let config_path = match value('c') {
        Some(p) => Some(PathBuf::from(p)),
        None => crate::config::search_default(Path::new(argv0)),
    };
    if let Some(path) = config_path {
        read_config(&path, &mut opts).map_err(|msg| usage(argv0, &msg))?;
    }
    if let Some(url) = value('s') {
        if !is_url(&url) {
            return Err(usage(
                argv0,
                &format!("invalid value for -s '{url}': value '{url}' is not a URL"),
            ));
        }
        opts.serverurl = url;
    }
    if let Some(u) = value('u') {
        opts.username = Some(u);
    }
    if let Some(p) = value('p') {
        opts.password = Some(p);
    }
    if let Some(r) = value('r') {
        opts.history_file = Some(PathBuf::from(r));
    }
    Ok(opts)
}

/// Python's `url` datatype: a scheme plus a netloc or a path.
fn is_url(value: &str) -> bool {
    match value.split_once(':') {
        Some((scheme, rest)) => {
            !scheme.is_empty()
                && scheme
                    .chars()
                    .all(|c| c.is_ascii_alphanumeric() || "+-.".contains(c))
                && scheme
                    .chars()
                    .next()
                    .is_some_and(|c| c.is_ascii_alphabetic())
                && !rest.trim_start_matches('/').is_empty()
        }
        None => false,
    }
}

/// Applies `[supervisorctl]` of the config file (read by the config module).
fn read_config(path: &Path, opts: &mut Options) -> Result<(), String> {
    let env: Vec<(String, String)> = std::env::vars().collect();
    let ctl = crate::config::load_ctl(path, &env).map_err(|e| {
        // File-level problems read like Supervisor's (no location prefix).
        if e.line.is_none() {
            e.message
        } else {
            e.to_string()
        }
    })?;
    opts.serverurl = ctl.serverurl;
    opts.username = ctl.username;
    opts.password = ctl.password;
    opts.prompt = ctl.prompt;
    opts.history_file = ctl.history_file;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn urls_and_paths() {
        assert!(is_url("unix:///tmp/x.sock"));
        assert!(is_url("http://localhost:9001"));
        assert!(!is_url("x"));
    }

    #[test]
    fn question_mark_asks_for_help() {
        for flag in ["-?", "-h", "--help"] {
            let got = parse("supervisorctl", vec![flag.into()]);
            assert!(matches!(got, Err(Exit(0))), "{flag}");
        }
    }
}
