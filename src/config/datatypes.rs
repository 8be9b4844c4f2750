//! Value converters with Supervisor's accepted syntax and error wording (`supervisor/datatypes.py`).
//! Each returns the message Supervisor would raise; callers add file, line, section and option.

use super::model::{AutoRestart, LogLevel};
use super::pystr::repr;
use std::path::{Path, PathBuf};

pub type Conv<T> = Result<T, String>;

/// Python's `int(s)` for base 10 or 8: surrounding whitespace, a sign, `_` between digits
/// (and `0o` for base 8).
fn py_int(s: &str, base: u32) -> Option<i64> {
    let t = s.trim();
    let (neg, body) = match t.as_bytes().first() {
        Some(b'-') => (true, &t[1..]),
        Some(b'+') => (false, &t[1..]),
        _ => (false, t),
    };
    let body = if base == 8 {
        body.strip_prefix("0o")
            .or_else(|| body.strip_prefix("0O"))
            .map(|b| b.strip_prefix('_').unwrap_or(b))
            .unwrap_or(body)
    } else {
        body
    };
    if body.is_empty() || body.starts_with('_') || body.ends_with('_') || body.contains("__") {
        return None;
    }
    let digits: String = body.chars().filter(|c| *c != '_').collect();
    if !digits.chars().all(|c| c.is_digit(base)) {
        return None;
    }
    // Python's int() has no size limit; a number beyond i64 saturates, so the range check
    // that follows says "above upper bound" rather than "invalid literal". The sign stays with
    // the digits so that i64::MIN itself parses.
    let signed = if neg { format!("-{digits}") } else { digits };
    let saturated = if neg { -i64::MAX } else { i64::MAX };
    Some(i64::from_str_radix(&signed, base).unwrap_or(saturated))
}

/// The largest count or number of seconds a config or the command line accepts: 2^31 - 1
/// (about 68 years of seconds). Every deadline and counter built from one stays far from
/// overflowing.
pub const MAX_COUNT: i64 = 2_147_483_647;

/// The integer `s`, within `min..=max`, with Supervisor's `RangeCheckedConversion` messages.
pub fn ranged(s: &str, min: i64, max: i64) -> Conv<i64> {
    let v = integer(s)?;
    // A saturated value is shown as written (Python's int() would have kept it whole).
    let shown = if v == i64::MAX || v == -i64::MAX {
        s.trim().replace('_', "")
    } else {
        v.to_string()
    };
    if v < min {
        Err(format!("{shown} is below lower bound ({min})"))
    } else if v > max {
        Err(format!("{shown} is above upper bound ({max})"))
    } else {
        Ok(v)
    }
}

pub fn integer(s: &str) -> Conv<i64> {
    py_int(s, 10).ok_or_else(|| format!("invalid literal for int() with base 10: {}", repr(s)))
}

/// A number of seconds (or fds, processes): 0 to [`MAX_COUNT`].
pub fn unsigned(s: &str) -> Conv<u64> {
    Ok(ranged(s, 0, MAX_COUNT)? as u64)
}

/// A count such as `startretries` or `*_backups`: 0 to [`MAX_COUNT`].
pub fn count(s: &str) -> Conv<u32> {
    Ok(ranged(s, 0, MAX_COUNT)? as u32)
}

pub fn boolean(s: &str) -> Conv<bool> {
    match s.to_lowercase().as_str() {
        "yes" | "true" | "on" | "1" => Ok(true),
        "no" | "false" | "off" | "0" => Ok(false),
        _ => Err(format!("not a valid boolean value: {}", repr(s))),
    }
}

/// `50MB`, `5 kb`, `1GB`, `1024`. Negative sizes are accepted (as Supervisor does) and mean 0.
pub fn byte_size(s: &str) -> Conv<u64> {
    let v = s.to_lowercase();
    let (num, mult) = match v
        .len()
        .checked_sub(2)
        .and_then(|i| v.get(i..).map(|suf| (i, suf)))
    {
        Some((i, "kb")) => (&v[..i], 1024i64),
        Some((i, "mb")) => (&v[..i], 1024 * 1024),
        Some((i, "gb")) => (&v[..i], 1024 * 1024 * 1024),
        _ => (v.as_str(), 1),
    };
    let n = py_int(num, 10)
        .ok_or_else(|| format!("invalid literal for int() with base 10: {}", repr(num)))?;
    Ok(u64::try_from(n.saturating_mul(mult)).unwrap_or(0))
}

/// Python's `signal.SIG*` names on Linux (including the `SIG_*` handler constants that
/// Supervisor's lookup also finds).
const SIGNALS: &[(&str, i32)] = &[
    ("ABRT", 6),
    ("ALRM", 14),
    ("BUS", 7),
    ("CHLD", 17),
    ("CLD", 17),
    ("CONT", 18),
    ("FPE", 8),
    ("HUP", 1),
    ("ILL", 4),
    ("INT", 2),
    ("IO", 29),
    ("IOT", 6),
    ("KILL", 9),
    ("PIPE", 13),
    ("POLL", 29),
    ("PROF", 27),
    ("PWR", 30),
    ("QUIT", 3),
    ("RTMAX", 64),
    ("RTMIN", 34),
    ("SEGV", 11),
    ("STKFLT", 16),
    ("STOP", 19),
    ("SYS", 31),
    ("TERM", 15),
    ("TRAP", 5),
    ("TSTP", 20),
    ("TTIN", 21),
    ("TTOU", 22),
    ("URG", 23),
    ("USR1", 10),
    ("USR2", 12),
    ("VTALRM", 26),
    ("WINCH", 28),
    ("XCPU", 24),
    ("XFSZ", 25),
    ("_BLOCK", 0),
    ("_DFL", 0),
    ("_IGN", 1),
    ("_SETMASK", 2),
    ("_UNBLOCK", 1),
];

/// Signal name (any case, with or without `SIG`) or number among Python's constants.
pub fn signal_number(s: &str) -> Conv<i32> {
    let num = match py_int(s, 10) {
        Some(n) => n,
        None => {
            let upper = s.trim().to_uppercase();
            let name = upper.strip_prefix("SIG").unwrap_or(&upper);
            match SIGNALS.iter().find(|(n, _)| *n == name) {
                Some((_, n)) => i64::from(*n),
                None => return Err(format!("value {} is not a valid signal name", repr(s))),
            }
        }
    };
    if (0..=31).contains(&num) || num == 34 || num == 64 {
        Ok(num as i32)
    } else {
        Err(format!("value {} is not a valid signal number", repr(s)))
    }
}

/// The conventional name of a signal number (`TERM` for 15), for messages.
pub fn signal_name(num: i32) -> Option<&'static str> {
    SIGNALS
        .iter()
        .find(|(n, v)| *v == num && !n.starts_with('_') && !matches!(*n, "CLD" | "IOT" | "POLL"))
        .map(|(n, _)| *n)
}

pub fn exitcodes(s: &str) -> Conv<Vec<i32>> {
    if s.is_empty() {
        return Ok(Vec::new());
    }
    s.split(',')
        .map(|p| {
            py_int(p, 10)
                .filter(|v| (0..=255).contains(v))
                .map(|v| v as i32)
        })
        .collect::<Option<Vec<_>>>()
        .ok_or_else(|| format!("not a valid list of exit codes: {}", repr(s)))
}

pub fn auto_restart(s: &str) -> Conv<AutoRestart> {
    let v = s.to_lowercase();
    match v.as_str() {
        "yes" | "true" | "on" | "1" => Ok(AutoRestart::Always),
        "no" | "false" | "off" | "0" => Ok(AutoRestart::Never),
        "unexpected" => Ok(AutoRestart::Unexpected),
        _ => Err(format!("invalid 'autorestart' value {}", repr(&v))),
    }
}

pub fn octal(s: &str) -> Conv<u32> {
    py_int(s, 8)
        .and_then(|v| u32::try_from(v).ok())
        .ok_or_else(|| format!("{s} can not be converted to an octal type"))
}

/// A program, group or process name: stripped, without space, `:` or `/`.
pub fn process_or_group_name(s: &str) -> Conv<String> {
    let t = s.trim();
    for ch in [' ', ':', '/'] {
        if t.contains(ch) {
            return Err(format!(
                "Invalid name: {} because of character: {}",
                repr(s),
                repr(&ch.to_string())
            ));
        }
    }
    Ok(t.to_string())
}

pub fn logging_level(s: &str) -> Conv<LogLevel> {
    match s.to_lowercase().as_str() {
        "critical" => Ok(LogLevel::Critical),
        "error" => Ok(LogLevel::Error),
        "warn" => Ok(LogLevel::Warn),
        "info" => Ok(LogLevel::Info),
        "debug" => Ok(LogLevel::Debug),
        "trace" => Ok(LogLevel::Trace),
        "blather" => Ok(LogLevel::Blather),
        _ => Err(format!("bad logging level name {}", repr(s))),
    }
}

pub fn list_of_strings(s: &str) -> Vec<String> {
    if s.is_empty() {
        return Vec::new();
    }
    s.split(',').map(|x| x.trim().to_string()).collect()
}

/// `os.path.expanduser`: `~` and `~user` at the start.
pub fn expanduser(s: &str) -> PathBuf {
    let Some(rest) = s.strip_prefix('~') else {
        return PathBuf::from(s);
    };
    let (user, tail) = match rest.find('/') {
        Some(i) => (&rest[..i], &rest[i..]),
        None => (rest, ""),
    };
    let home = if user.is_empty() {
        std::env::var_os("HOME").map(PathBuf::from).or_else(|| {
            nix::unistd::User::from_uid(nix::unistd::getuid())
                .ok()
                .flatten()
                .map(|u| u.dir)
        })
    } else {
        nix::unistd::User::from_name(user)
            .ok()
            .flatten()
            .map(|u| u.dir)
    };
    match home {
        Some(h) => PathBuf::from(format!(
            "{}{}",
            h.display().to_string().trim_end_matches('/'),
            tail
        )),
        None => PathBuf::from(s),
    }
}

pub fn existing_directory(s: &str) -> Conv<PathBuf> {
    let p = expanduser(s);
    if p.is_dir() {
        Ok(p)
    } else {
        Err(format!("{s} is not an existing directory"))
    }
}

/// A file path whose directory part (if any) exists.
pub fn existing_dirpath(s: &str) -> Conv<PathBuf> {
    let p = expanduser(s);
    let text = p.to_string_lossy();
    let dir = match text.rfind('/') {
        None => return Ok(p),
        Some(0) => Path::new("/"),
        Some(i) => Path::new(&text[..i]),
    };
    if dir.as_os_str().is_empty() || dir.is_dir() {
        Ok(p.clone())
    } else {
        Err(format!(
            "The directory named as part of the path {s} does not exist"
        ))
    }
}

/// `[inet_http_server] port=`: `port`, `host:port`, `*:port`, `:port`.
pub fn inet_address(s: &str) -> Conv<(String, u16)> {
    let (host, port) = match s.rfind(':') {
        Some(i) => {
            let port = &s[i + 1..];
            if port.is_empty() {
                return Err(format!("no port number specified in {}", repr(port)));
            }
            (s[..i].to_lowercase(), port_number(port)?)
        }
        None => (
            String::new(),
            port_number(s).map_err(|_| format!("not a valid port number: {} ", repr(s)))?,
        ),
    };
    let host = if host == "*" { String::new() } else { host };
    Ok((host, port))
}

fn port_number(s: &str) -> Conv<u16> {
    let v = integer(s)?;
    if v < 1 {
        return Err(format!("{v} is below lower bound (1)"));
    }
    u16::try_from(v).map_err(|_| format!("{v} is above upper bound (65535)"))
}

/// `environment=` values: `KEY=val,KEY2="v,2"` tokenized like Python's non-POSIX `shlex`
/// with `/.+-():` added to the word characters.
pub fn dict_of_key_value_pairs(s: &str) -> Conv<Vec<(String, String)>> {
    let tokens = shlex_tokens(s)?;
    let mut out: Vec<(String, String)> = Vec::new();
    let mut i = 0;
    while i < tokens.len() {
        let kv = &tokens[i..tokens.len().min(i + 3)];
        if kv.len() != 3 || kv[1] != "=" {
            return Err(format!("Unexpected end of key/value pairs in value '{s}'"));
        }
        let value = kv[2].trim_matches(['\'', '"']).to_string();
        match out.iter_mut().find(|(k, _)| *k == kv[0]) {
            Some(slot) => slot.1 = value,
            None => out.push((kv[0].clone(), value)),
        }
        i += 4;
    }
    Ok(out)
}

fn is_word_char(c: char) -> bool {
    c.is_ascii_alphanumeric() || "_/.+-():".contains(c)
}

/// Python `shlex.shlex(s)` (posix=False) with the extra word characters, as a token list.
fn shlex_tokens(s: &str) -> Conv<Vec<String>> {
    let mut tokens = Vec::new();
    let mut chars = s.chars().peekable();
    while let Some(c) = chars.next() {
        if " \t\r\n".contains(c) {
            continue;
        }
        if c == '#' {
            // A comment runs to the end of the line.
            for n in chars.by_ref() {
                if n == '\n' {
                    break;
                }
            }
            continue;
        }
        if c == '\'' || c == '"' {
            let mut tok = c.to_string();
            loop {
                match chars.next() {
                    None => return Err("No closing quotation".into()),
                    Some(n) => {
                        tok.push(n);
                        if n == c {
                            break;
                        }
                    }
                }
            }
            tokens.push(tok);
            continue;
        }
        if !is_word_char(c) {
            tokens.push(c.to_string());
            continue;
        }
        let mut tok = c.to_string();
        while let Some(&n) = chars.peek() {
            if is_word_char(n) || n == '\'' || n == '"' {
                tok.push(n);
                chars.next();
            } else if n == '#' {
                for n in chars.by_ref() {
                    if n == '\n' {
                        break;
                    }
                }
                break;
            } else {
                break;
            }
        }
        tokens.push(tok);
    }
    Ok(tokens)
}

/// POSIX shell word splitting as `shlex.split(s)` does it (no comments).
pub fn shell_split(s: &str) -> Conv<Vec<String>> {
    let mut words = Vec::new();
    let mut cur = String::new();
    let mut in_word = false;
    let mut chars = s.chars();
    while let Some(c) = chars.next() {
        match c {
            ' ' | '\t' | '\r' | '\n' => {
                if in_word {
                    words.push(std::mem::take(&mut cur));
                    in_word = false;
                }
            }
            '\\' => {
                in_word = true;
                match chars.next() {
                    Some(n) => cur.push(n),
                    None => return Err("No escaped character".into()),
                }
            }
            '\'' => {
                in_word = true;
                loop {
                    match chars.next() {
                        Some('\'') => break,
                        Some(n) => cur.push(n),
                        None => return Err("No closing quotation".into()),
                    }
                }
            }
            '"' => {
                in_word = true;
                loop {
                    match chars.next() {
                        Some('"') => break,
                        Some('\\') => match chars.next() {
                            Some(n @ ('"' | '\\')) => cur.push(n),
                            Some(n) => {
                                cur.push('\\');
                                cur.push(n);
                            }
                            None => return Err("No closing quotation".into()),
                        },
                        Some(n) => cur.push(n),
                        None => return Err("No closing quotation".into()),
                    }
                }
            }
            other => {
                in_word = true;
                cur.push(other);
            }
        }
    }
    if in_word {
        words.push(cur);
    }
    Ok(words)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn integers() {
        assert_eq!(integer(" 12 "), Ok(12));
        assert_eq!(integer("-3"), Ok(-3));
        assert_eq!(integer("1_000"), Ok(1000));
        assert_eq!(
            integer("abc"),
            Err("invalid literal for int() with base 10: 'abc'".into())
        );
        assert!(integer("1.5").is_err());
        assert!(integer("").is_err());
        assert!(integer("1__0").is_err());
        assert_eq!(integer("-9223372036854775808"), Ok(i64::MIN));
        assert_eq!(integer("9223372036854775807"), Ok(i64::MAX));
        assert_eq!(integer("-9223372036854775809"), Ok(-i64::MAX));
    }

    #[test]
    fn ranges() {
        assert_eq!(unsigned("2147483647"), Ok(2147483647));
        assert_eq!(
            unsigned("2147483648"),
            Err("2147483648 is above upper bound (2147483647)".into())
        );
        assert_eq!(unsigned("-1"), Err("-1 is below lower bound (0)".into()));
        assert_eq!(
            count("99999999999999999999"),
            Err("99999999999999999999 is above upper bound (2147483647)".into())
        );
        assert_eq!(count("4294967296").map_err(|_| ()), Err(()));
        assert_eq!(ranged("-5", -10, 10), Ok(-5));
    }

    #[test]
    fn booleans() {
        for t in ["true", "YES", "on", "1"] {
            assert_eq!(boolean(t), Ok(true));
        }
        for f in ["false", "No", "OFF", "0"] {
            assert_eq!(boolean(f), Ok(false));
        }
        assert_eq!(
            boolean("maybe"),
            Err("not a valid boolean value: 'maybe'".into())
        );
        assert!(boolean("").is_err());
    }

    #[test]
    fn byte_sizes() {
        assert_eq!(byte_size("50MB"), Ok(50 * 1024 * 1024));
        assert_eq!(byte_size("5 kb"), Ok(5 * 1024));
        assert_eq!(byte_size("1GB"), Ok(1 << 30));
        assert_eq!(byte_size("0"), Ok(0));
        assert_eq!(byte_size("-5"), Ok(0));
        assert_eq!(
            byte_size("50XB"),
            Err("invalid literal for int() with base 10: '50xb'".into())
        );
        assert_eq!(
            byte_size("1.5MB"),
            Err("invalid literal for int() with base 10: '1.5'".into())
        );
        assert!(byte_size("5M").is_err());
        assert!(byte_size("5B").is_err());
    }

    #[test]
    fn signals() {
        assert_eq!(signal_number("TERM"), Ok(15));
        assert_eq!(signal_number(" sigint "), Ok(2));
        assert_eq!(signal_number("cld"), Ok(17));
        assert_eq!(signal_number("RTMIN"), Ok(34));
        assert_eq!(signal_number("9"), Ok(9));
        assert_eq!(signal_number("0"), Ok(0));
        assert_eq!(signal_number("64"), Ok(64));
        assert_eq!(
            signal_number("FOO"),
            Err("value 'FOO' is not a valid signal name".into())
        );
        assert_eq!(
            signal_number("99"),
            Err("value '99' is not a valid signal number".into())
        );
        assert!(signal_number("35").is_err());
        assert_eq!(signal_name(15), Some("TERM"));
    }

    #[test]
    fn exit_codes() {
        assert_eq!(exitcodes("0"), Ok(vec![0]));
        assert_eq!(exitcodes("0, 2,255"), Ok(vec![0, 2, 255]));
        assert_eq!(exitcodes(""), Ok(vec![]));
        assert_eq!(
            exitcodes("0,256"),
            Err("not a valid list of exit codes: '0,256'".into())
        );
        assert!(exitcodes("0,").is_err());
    }

    #[test]
    fn autorestart_words() {
        assert_eq!(auto_restart("TRUE"), Ok(AutoRestart::Always));
        assert_eq!(auto_restart("off"), Ok(AutoRestart::Never));
        assert_eq!(auto_restart("Unexpected"), Ok(AutoRestart::Unexpected));
        assert_eq!(
            auto_restart("Sometimes"),
            Err("invalid 'autorestart' value 'sometimes'".into())
        );
    }

    #[test]
    fn octals() {
        assert_eq!(octal("022"), Ok(0o22));
        assert_eq!(octal("0o22"), Ok(0o22));
        assert_eq!(octal("777"), Ok(0o777));
        assert_eq!(
            octal("999"),
            Err("999 can not be converted to an octal type".into())
        );
        assert!(octal("8").is_err());
    }

    #[test]
    fn names() {
        assert_eq!(process_or_group_name(" foo "), Ok("foo".into()));
        assert_eq!(
            process_or_group_name("foo bar"),
            Err("Invalid name: 'foo bar' because of character: ' '".into())
        );
        assert_eq!(
            process_or_group_name("foo:bar"),
            Err("Invalid name: 'foo:bar' because of character: ':'".into())
        );
    }

    #[test]
    fn levels() {
        assert_eq!(logging_level("WARN"), Ok(LogLevel::Warn));
        assert_eq!(logging_level("blather"), Ok(LogLevel::Blather));
        assert_eq!(
            logging_level("verbose"),
            Err("bad logging level name 'verbose'".into())
        );
        assert!(logging_level("warning").is_err());
        assert!(logging_level("crit").is_err());
    }

    #[test]
    fn environment_pairs() {
        let kv = |s: &str| dict_of_key_value_pairs(s);
        assert_eq!(
            kv("A=1,B=\"v,2\","),
            Ok(vec![("A".into(), "1".into()), ("B".into(), "v,2".into())])
        );
        assert_eq!(
            kv("PATH=/usr/bin:/bin, X = 'a b'"),
            Ok(vec![
                ("PATH".into(), "/usr/bin:/bin".into()),
                ("X".into(), "a b".into())
            ])
        );
        assert_eq!(kv(""), Ok(vec![]));
        assert_eq!(kv("A=1,A=2"), Ok(vec![("A".into(), "2".into())]));
        assert_eq!(
            kv("A=1,B"),
            Err("Unexpected end of key/value pairs in value 'A=1,B'".into())
        );
        assert_eq!(
            kv("A"),
            Err("Unexpected end of key/value pairs in value 'A'".into())
        );
        // Supervisor's quirk: an unquoted `$` is a token of its own and the rest is dropped.
        assert_eq!(kv("X=$HOME"), Ok(vec![("X".into(), "$".into())]));
        assert_eq!(kv("A=\"x"), Err("No closing quotation".into()));
    }

    #[test]
    fn shell_words() {
        assert_eq!(
            shell_split("/bin/sh -c 'echo a  b' \"x\\\"y\" c\\ d"),
            Ok(vec![
                "/bin/sh".to_string(),
                "-c".into(),
                "echo a  b".into(),
                "x\"y".into(),
                "c d".into()
            ])
        );
        assert_eq!(
            shell_split("a ''"),
            Ok(vec!["a".to_string(), String::new()])
        );
        assert_eq!(
            shell_split("/bin/echo\nmulti line"),
            Ok(vec!["/bin/echo".to_string(), "multi".into(), "line".into()])
        );
        assert_eq!(shell_split("\"a\\b\""), Ok(vec!["a\\b".to_string()]));
        assert_eq!(shell_split("a 'b"), Err("No closing quotation".into()));
        assert_eq!(shell_split("a \\"), Err("No escaped character".into()));
        assert_eq!(shell_split("  "), Ok(vec![]));
    }

    #[test]
    fn inet_addresses() {
        assert_eq!(inet_address("9001"), Ok((String::new(), 9001)));
        assert_eq!(inet_address("*:9001"), Ok((String::new(), 9001)));
        assert_eq!(inet_address("LocalHost:1"), Ok(("localhost".into(), 1)));
        assert_eq!(inet_address(":9001"), Ok((String::new(), 9001)));
        assert_eq!(
            inet_address("99999"),
            Err("not a valid port number: '99999' ".into())
        );
        assert_eq!(
            inet_address("h:99999"),
            Err("99999 is above upper bound (65535)".into())
        );
        assert_eq!(
            inet_address("abc"),
            Err("not a valid port number: 'abc' ".into())
        );
    }

    #[test]
    fn dirpaths() {
        assert!(existing_dirpath("foo.log").is_ok());
        assert!(existing_dirpath("/tmp/foo.log").is_ok());
        assert_eq!(
            existing_dirpath("/nonexistent/dir/foo.log"),
            Err(
                "The directory named as part of the path /nonexistent/dir/foo.log does not exist"
                    .into()
            )
        );
        assert_eq!(
            existing_directory("/nonexistent"),
            Err("/nonexistent is not an existing directory".into())
        );
    }
}
