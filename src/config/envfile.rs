//! `environment_file=` (extension): files of `KEY=VALUE` lines, the format of docker's
//! `--env-file` and systemd's `EnvironmentFile=` (their common part):
//!
//! - one assignment per line; blank lines and lines starting with `#` are skipped;
//! - an optional `export ` before the key (shell-sourcing files keep working);
//! - keys are `[A-Za-z_][A-Za-z0-9_]*`, written right before the `=`;
//! - a value is taken as written (surrounding blanks trimmed), or quoted: `'…'` verbatim,
//!   `"…"` with `\"` and `\\` as the only escapes; after a closing quote only blanks or a
//!   `# comment` may follow;
//! - no `%(…)s` expansion and no shell expansion (`$HOME` stays `$HOME`).
//!
//! Anything else is an error naming the file and its line: a file that silently loses a
//! secret is worse than one that refuses to load.

use std::path::{Path, PathBuf};

use super::ConfigError;

/// One file of an `environment_file=` list.
#[derive(Debug, Clone, PartialEq)]
pub struct EnvFileRef {
    pub path: PathBuf,
    /// Written with a leading `-`: a missing file is not an error.
    pub optional: bool,
}

/// The comma-separated list of `environment_file=`, relative paths taken from `here` (the
/// directory of the file holding the section).
pub fn parse_list(value: &str, here: &Path) -> Result<Vec<EnvFileRef>, String> {
    let mut out = Vec::new();
    for item in value.split(',').map(str::trim).filter(|s| !s.is_empty()) {
        let (optional, p) = match item.strip_prefix('-') {
            Some(rest) => (true, rest.trim_start()),
            None => (false, item),
        };
        if p.is_empty() {
            return Err(format!("empty path in {}", super::pystr::repr(value)));
        }
        out.push(EnvFileRef {
            path: here.join(p),
            optional,
        });
    }
    Ok(out)
}

/// Reads every file in order (later files win). Errors name the env file (and the line, for
/// a bad line); the caller adds the section and option.
pub fn read_all(files: &[EnvFileRef]) -> Result<Vec<(String, String)>, ConfigError> {
    let mut env: Vec<(String, String)> = Vec::new();
    for f in files {
        let text = match std::fs::read(&f.path) {
            Ok(t) => t,
            Err(e) if f.optional && e.kind() == std::io::ErrorKind::NotFound => continue,
            Err(e) => {
                return Err(file_err(
                    &f.path,
                    None,
                    format!("cannot read env file: {e}"),
                ))
            }
        };
        let text = String::from_utf8(text)
            .map_err(|_| file_err(&f.path, None, "env file is not valid UTF-8".to_string()))?;
        for (k, v) in parse(&text).map_err(|(line, m)| file_err(&f.path, Some(line), m))? {
            overlay(&mut env, k, v);
        }
    }
    Ok(env)
}

/// Sets `k` in `env`, replacing an earlier value in place.
pub fn overlay(env: &mut Vec<(String, String)>, k: String, v: String) {
    match env.iter_mut().find(|(ek, _)| *ek == k) {
        Some(slot) => slot.1 = v,
        None => env.push((k, v)),
    }
}

fn file_err(path: &Path, line: Option<usize>, message: String) -> ConfigError {
    ConfigError {
        file: Some(path.to_path_buf()),
        line,
        section: None,
        option: None,
        message,
    }
}

/// Parses a whole file: the assignments in order, or the first bad line (1-based) and why.
pub fn parse(text: &str) -> Result<Vec<(String, String)>, (usize, String)> {
    let mut out = Vec::new();
    for (i, raw) in text.split('\n').enumerate() {
        let line = raw.strip_suffix('\r').unwrap_or(raw);
        if let Some(kv) = parse_line(line).map_err(|m| (i + 1, m))? {
            out.push(kv);
        }
    }
    Ok(out)
}

/// One line: `None` for blanks and comments.
pub fn parse_line(line: &str) -> Result<Option<(String, String)>, String> {
    let t = line.trim_start_matches([' ', '\t']);
    if t.is_empty() || t.starts_with('#') {
        return Ok(None);
    }
    if t.contains('\0') {
        return Err("NUL byte in line".into());
    }
    let t = match t.strip_prefix("export") {
        Some(rest) if rest.starts_with([' ', '\t']) => rest.trim_start_matches([' ', '\t']),
        _ => t,
    };
    let Some((key, rest)) = t.split_once('=') else {
        return Err(format!("expected KEY=VALUE, got {}", super::pystr::repr(t)));
    };
    if !valid_key(key) {
        return Err(format!(
            "invalid variable name {} (letters, digits and _, not starting with a digit)",
            super::pystr::repr(key)
        ));
    }
    Ok(Some((key.to_string(), value(rest)?)))
}

fn valid_key(k: &str) -> bool {
    let mut chars = k.chars();
    matches!(chars.next(), Some(c) if c == '_' || c.is_ascii_alphabetic())
        && chars.all(|c| c == '_' || c.is_ascii_alphanumeric())
}

fn value(rest: &str) -> Result<String, String> {
    let v = rest.trim_matches([' ', '\t']);
    let (text, after) = match v.chars().next() {
        Some('\'') => {
            let body = &v[1..];
            let end = body.find('\'').ok_or("unterminated single quote")?;
            (body[..end].to_string(), &body[end + 1..])
        }
        Some('"') => double_quoted(&v[1..])?,
        _ => return Ok(v.to_string()),
    };
    let after = after.trim_start_matches([' ', '\t']);
    if !after.is_empty() && !after.starts_with('#') {
        return Err(format!(
            "unexpected text after the closing quote: {}",
            super::pystr::repr(after)
        ));
    }
    Ok(text)
}

/// The body of a double-quoted value (after the opening quote) and what follows its end.
fn double_quoted(body: &str) -> Result<(String, &str), String> {
    let mut out = String::new();
    let mut chars = body.char_indices();
    while let Some((i, c)) = chars.next() {
        match c {
            '"' => return Ok((out, &body[i + 1..])),
            '\\' => match chars.next() {
                Some((_, e @ ('"' | '\\'))) => out.push(e),
                Some((_, e)) => {
                    out.push('\\');
                    out.push(e);
                }
                None => break,
            },
            c => out.push(c),
        }
    }
    Err("unterminated double quote".into())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn one(line: &str) -> Result<Option<(String, String)>, String> {
        parse_line(line)
    }

    fn kv(k: &str, v: &str) -> Option<(String, String)> {
        Some((k.into(), v.into()))
    }

    #[test]
    fn blanks_and_comments_are_skipped() {
        for l in ["", "   ", "\t", "# x=1", "  # indented comment"] {
            assert_eq!(one(l), Ok(None), "{l:?}");
        }
    }

    #[test]
    fn plain_values_are_taken_as_written() {
        assert_eq!(one("A=1"), Ok(kv("A", "1")));
        assert_eq!(one("A="), Ok(kv("A", "")));
        assert!(one("  A = b c  ").unwrap_err().contains("invalid variable"));
        assert_eq!(one("A= b c  "), Ok(kv("A", "b c")));
        assert_eq!(
            one("URL=http://x/?a=b#frag"),
            Ok(kv("URL", "http://x/?a=b#frag"))
        );
        assert_eq!(one("P=$HOME %(here)s"), Ok(kv("P", "$HOME %(here)s")));
        assert_eq!(one("_x9=y"), Ok(kv("_x9", "y")));
    }

    #[test]
    fn export_prefix_is_optional() {
        assert_eq!(one("export A=1"), Ok(kv("A", "1")));
        assert_eq!(one("export\tA=1"), Ok(kv("A", "1")));
        assert_eq!(one("exportA=1"), Ok(kv("exportA", "1")));
    }

    #[test]
    fn quotes() {
        assert_eq!(one("A='x \"y\" \\n'"), Ok(kv("A", "x \"y\" \\n")));
        assert_eq!(one(r#"A="a \"b\" \\ \n""#), Ok(kv("A", "a \"b\" \\ \\n")));
        assert_eq!(one("A=\"  padded  \"  # note"), Ok(kv("A", "  padded  ")));
        assert_eq!(one("A=''"), Ok(kv("A", "")));
    }

    #[test]
    fn errors() {
        let cases = [
            ("JUSTAKEY", "expected KEY=VALUE"),
            ("1A=x", "invalid variable name"),
            ("A-B=x", "invalid variable name"),
            ("=x", "invalid variable name"),
            ("A='open", "unterminated single quote"),
            ("A=\"open", "unterminated double quote"),
            ("A=\"ends in \\", "unterminated double quote"),
            ("A='x' y", "unexpected text after the closing quote"),
            ("A=\"x\"y", "unexpected text after the closing quote"),
            ("A=a\0b", "NUL byte"),
        ];
        for (line, want) in cases {
            let e = one(line).unwrap_err();
            assert!(e.contains(want), "{line:?}: {e}");
        }
    }

    #[test]
    fn file_errors_carry_the_line() {
        let text = "# c\nA=1\r\n\nexport B='2'\nbad line\n";
        assert_eq!(parse(text).unwrap_err().0, 5);
        let good = "A=1\r\nB=2\nA=3";
        let got = parse(good).unwrap();
        assert_eq!(got.len(), 3);
        assert_eq!(got[0], ("A".into(), "1".into()));
    }

    #[test]
    fn list_and_optional_paths() {
        let l = parse_list("a.env, -/abs/b.env ,", Path::new("/etc")).unwrap();
        assert_eq!(l.len(), 2);
        assert_eq!(l[0].path, PathBuf::from("/etc/a.env"));
        assert!(!l[0].optional);
        assert_eq!(l[1].path, PathBuf::from("/abs/b.env"));
        assert!(l[1].optional);
        assert!(parse_list("-", Path::new("/")).is_err());
    }
}
