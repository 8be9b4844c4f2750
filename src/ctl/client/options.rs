//! supervisorctl's command line (getopt rules: options stop at the first word) and its
//! `[supervisorctl]` config section.

use std::collections::HashMap;
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

/// The default config search list (same as supervisord's), relative to the executable.
pub fn search_paths(argv0: &str) -> Vec<PathBuf> {
    let here = Path::new(argv0)
        .parent()
        .and_then(Path::parent)
        .unwrap_or(Path::new(""));
    vec![
        here.join("etc").join("supervisord.conf"),
        here.join("supervisord.conf"),
        PathBuf::from("supervisord.conf"),
        PathBuf::from("etc/supervisord.conf"),
        PathBuf::from("/etc/supervisord.conf"),
        PathBuf::from("/etc/supervisor/supervisord.conf"),
    ]
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
                let c = chars[j];
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
        None => search_paths(argv0).into_iter().find(|p| p.exists()),
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

fn read_config(path: &Path, opts: &mut Options) -> Result<(), String> {
    if !path.exists() {
        return Err(format!("could not find config file {}", path.display()));
    }
    let text = std::fs::read(path)
        .map_err(|_| format!("could not read config file {}", path.display()))?;
    let text = String::from_utf8_lossy(&text);
    let sections = parse_ini(&text);
    let Some(section) = sections.get("supervisorctl") else {
        return Err(".ini file does not include supervisorctl section".into());
    };
    let abs = std::path::absolute(path).unwrap_or_else(|_| path.to_path_buf());
    let here = abs
        .parent()
        .map(|p| p.display().to_string())
        .unwrap_or_default();
    let mut vars: HashMap<String, String> = std::env::vars()
        .map(|(k, v)| (format!("ENV_{k}"), v))
        .collect();
    let plain =
        |key: &str, vars: &HashMap<String, String>| section.get(key).map(|v| expand(v, vars));
    if let Some(p) = plain("prompt", &vars) {
        opts.prompt = p;
    }
    opts.username = plain("username", &vars).or(opts.username.take());
    opts.password = plain("password", &vars).or(opts.password.take());
    vars.insert("here".into(), here);
    if let Some(url) = plain("serverurl", &vars) {
        opts.serverurl = match url.strip_prefix("unix://") {
            Some(p) => format!("unix://{}", normalize_path(p)),
            None => url,
        };
    }
    if let Some(h) = plain("history_file", &vars).filter(|h| !h.is_empty()) {
        opts.history_file = Some(PathBuf::from(normalize_path(&h)));
    }
    Ok(())
}

/// `os.path.normpath(os.path.abspath(os.path.expanduser(p)))`.
fn normalize_path(p: &str) -> String {
    let expanded = match p.strip_prefix('~') {
        Some(rest) if rest.is_empty() || rest.starts_with('/') => {
            format!("{}{rest}", std::env::var("HOME").unwrap_or_default())
        }
        _ => p.to_string(),
    };
    let abs = std::path::absolute(&expanded).unwrap_or_else(|_| PathBuf::from(&expanded));
    let mut parts: Vec<String> = Vec::new();
    for comp in abs.components() {
        match comp {
            std::path::Component::ParentDir => {
                parts.pop();
            }
            std::path::Component::Normal(s) => parts.push(s.to_string_lossy().into_owned()),
            _ => {}
        }
    }
    format!("/{}", parts.join("/"))
}

/// `%(name)s` expansion with Python %-format semantics for the cases configs use.
fn expand(value: &str, vars: &HashMap<String, String>) -> String {
    let mut out = String::with_capacity(value.len());
    let mut rest = value;
    while let Some(i) = rest.find('%') {
        out.push_str(&rest[..i]);
        let tail = &rest[i..];
        if let Some(after) = tail.strip_prefix("%%") {
            out.push('%');
            rest = after;
        } else if let Some(inner) = tail.strip_prefix("%(") {
            match inner.find(")s") {
                Some(end) if vars.contains_key(&inner[..end]) => {
                    out.push_str(&vars[&inner[..end]]);
                    rest = &inner[end + 2..];
                }
                _ => {
                    out.push('%');
                    rest = &tail[1..];
                }
            }
        } else {
            out.push('%');
            rest = &tail[1..];
        }
    }
    out.push_str(rest);
    out
}

/// A small INI reader (Python RawConfigParser rules that matter here): sections merge, keys are
/// lower-cased, `;`/`#` comments (inline ones need whitespace before), indented continuations.
fn parse_ini(text: &str) -> HashMap<String, HashMap<String, String>> {
    let mut sections: HashMap<String, HashMap<String, String>> = HashMap::new();
    let mut current: Option<String> = None;
    let mut last_key: Option<String> = None;
    for raw in text.lines() {
        let stripped = raw.trim();
        if stripped.is_empty() || stripped.starts_with(';') || stripped.starts_with('#') {
            continue;
        }
        let line = strip_inline_comment(raw);
        if raw.starts_with([' ', '\t']) {
            if let (Some(sec), Some(key)) = (&current, &last_key) {
                if let Some(v) = sections.get_mut(sec).and_then(|s| s.get_mut(key)) {
                    v.push('\n');
                    v.push_str(line.trim());
                }
            }
            continue;
        }
        let line = line.trim();
        if let Some(name) = line.strip_prefix('[').and_then(|l| l.strip_suffix(']')) {
            current = Some(name.to_string());
            sections.entry(name.to_string()).or_default();
            last_key = None;
            continue;
        }
        let Some(sec) = &current else { continue };
        let split = line.find(['=', ':']);
        if let Some(i) = split {
            let key = line[..i].trim().to_lowercase();
            let value = line[i + 1..].trim().to_string();
            sections
                .entry(sec.clone())
                .or_default()
                .insert(key.clone(), value);
            last_key = Some(key);
        }
    }
    sections
}

fn strip_inline_comment(line: &str) -> &str {
    let bytes = line.as_bytes();
    for i in 1..bytes.len() {
        if (bytes[i] == b';' || bytes[i] == b'#') && bytes[i - 1].is_ascii_whitespace() {
            return &line[..i];
        }
    }
    line
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ini_and_expansion() {
        let ini = parse_ini("[supervisorctl]\nserverurl = unix://%(here)s/s.sock ; comment\nprompt=x#y\n[other]\na: b\n  c\n");
        assert_eq!(ini["supervisorctl"]["serverurl"], "unix://%(here)s/s.sock");
        assert_eq!(ini["supervisorctl"]["prompt"], "x#y");
        assert_eq!(ini["other"]["a"], "b\nc");
        let mut vars = HashMap::new();
        vars.insert("here".to_string(), "/etc".to_string());
        assert_eq!(
            expand("unix://%(here)s/s.sock", &vars),
            "unix:///etc/s.sock"
        );
        assert_eq!(expand("100%% %(nope)s", &vars), "100% %(nope)s");
    }

    #[test]
    fn urls_and_paths() {
        assert!(is_url("unix:///tmp/x.sock"));
        assert!(is_url("http://localhost:9001"));
        assert!(!is_url("x"));
        assert_eq!(normalize_path("/a/b/../c/./d"), "/a/c/d");
    }
}
