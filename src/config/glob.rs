//! Python `glob.glob` for `[include] files=`: `*`, `?` and `[...]` within one path component;
//! wildcards do not match names starting with `.` unless the pattern component does.

use std::path::{Path, PathBuf};

/// All existing paths matching `pattern`, unsorted (callers sort, as Supervisor does).
pub fn glob(pattern: &str) -> Vec<PathBuf> {
    let absolute = pattern.starts_with('/');
    let comps: Vec<&str> = pattern.split('/').filter(|c| !c.is_empty()).collect();
    let start = if absolute {
        PathBuf::from("/")
    } else {
        PathBuf::new()
    };
    let mut current = vec![start];
    for comp in &comps {
        let mut next = Vec::new();
        for base in &current {
            if has_magic(comp) {
                next.extend(matching_entries(base, comp));
            } else {
                next.push(base.join(comp));
            }
        }
        current = next;
    }
    if comps.is_empty() {
        return Vec::new();
    }
    current
        .into_iter()
        .filter(|p| p.symlink_metadata().is_ok())
        .collect()
}

fn has_magic(s: &str) -> bool {
    s.contains(['*', '?', '['])
}

fn matching_entries(base: &Path, comp: &str) -> Vec<PathBuf> {
    let dir = if base.as_os_str().is_empty() {
        Path::new(".")
    } else {
        base
    };
    let Ok(entries) = std::fs::read_dir(dir) else {
        return Vec::new();
    };
    let mut out = Vec::new();
    for entry in entries.flatten() {
        let name = entry.file_name();
        let Some(name) = name.to_str() else { continue };
        if name.starts_with('.') && !comp.starts_with('.') {
            continue;
        }
        if fnmatch(name, comp) {
            out.push(base.join(name));
        }
    }
    out
}

/// One element of a pattern component.
enum Token {
    Star,
    Any,
    Class(CharSet, bool),
    Char(char),
}

impl Token {
    /// Whether this single-character token matches `c` (`Star` is handled by the matcher).
    fn matches(&self, c: char) -> bool {
        match self {
            Token::Star => true,
            Token::Any => true,
            Token::Class(set, negate) => set.matches(c) != *negate,
            Token::Char(x) => *x == c,
        }
    }
}

fn tokens(pat: &str) -> Vec<Token> {
    let p: Vec<char> = pat.chars().collect();
    let mut out = Vec::new();
    let mut i = 0;
    while i < p.len() {
        match p[i] {
            '*' => {
                // Consecutive stars match what one does.
                if !matches!(out.last(), Some(Token::Star)) {
                    out.push(Token::Star);
                }
                i += 1;
            }
            '?' => {
                out.push(Token::Any);
                i += 1;
            }
            '[' => match parse_class(&p[i + 1..]) {
                Some((set, negate, used)) => {
                    out.push(Token::Class(set, negate));
                    i += 1 + used;
                }
                // An unclosed `[` is a literal character.
                None => {
                    out.push(Token::Char('['));
                    i += 1;
                }
            },
            c => {
                out.push(Token::Char(c));
                i += 1;
            }
        }
    }
    out
}

/// Shell-style match of a whole name against one pattern component.
///
/// The classic two-pointer wildcard match: on a mismatch, go back to the last `*` and let it
/// take one more character. At most (name length × pattern length) steps, where trying every
/// split at every star was exponential (`*a*a*a*a*a*a*a*a*b` against a long name of `a`s).
pub fn fnmatch(name: &str, pat: &str) -> bool {
    let n: Vec<char> = name.chars().collect();
    let p = tokens(pat);
    let (mut i, mut j) = (0, 0);
    // The last star seen: its token index and the name position it currently takes up to.
    let mut star: Option<(usize, usize)> = None;
    while i < n.len() {
        match p.get(j) {
            Some(Token::Star) => {
                star = Some((j, i));
                j += 1;
            }
            Some(t) if t.matches(n[i]) => {
                i += 1;
                j += 1;
            }
            _ => match star {
                Some((sj, si)) => {
                    star = Some((sj, si + 1));
                    i = si + 1;
                    j = sj + 1;
                }
                None => return false,
            },
        }
    }
    p[j..].iter().all(|t| matches!(t, Token::Star))
}

struct CharSet {
    ranges: Vec<(char, char)>,
}

impl CharSet {
    fn matches(&self, c: char) -> bool {
        self.ranges.iter().any(|(lo, hi)| *lo <= c && c <= *hi)
    }
}

/// Parses the inside of `[...]` (after `[`); returns the set, negation and chars consumed
/// including the closing `]`.
fn parse_class(p: &[char]) -> Option<(CharSet, bool, usize)> {
    let mut i = 0;
    let negate = p.first() == Some(&'!');
    if negate {
        i += 1;
    }
    // A `]` right after `[` or `[!` is a member, not the end.
    let body_start = i;
    let mut ranges = Vec::new();
    while i < p.len() {
        if p[i] == ']' && i > body_start {
            return Some((CharSet { ranges }, negate, i + 1));
        }
        if i + 2 < p.len() && p[i + 1] == '-' && p[i + 2] != ']' {
            ranges.push((p[i], p[i + 2]));
            i += 3;
        } else {
            ranges.push((p[i], p[i]));
            i += 1;
        }
    }
    None
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn patterns() {
        assert!(fnmatch("a.conf", "*.conf"));
        assert!(!fnmatch("a.ini", "*.conf"));
        assert!(fnmatch("a1", "a?"));
        assert!(fnmatch("b", "[abc]"));
        assert!(!fnmatch("d", "[abc]"));
        assert!(fnmatch("d", "[!abc]"));
        assert!(fnmatch("5", "[0-9]"));
        assert!(fnmatch("]", "[]]"));
        assert!(fnmatch("[x", "[x"));
        assert!(fnmatch("", "*"));
        assert!(fnmatch("abcbd", "a*b*d"));
        assert!(!fnmatch("abcbde", "a*b*d"));
        assert!(fnmatch("a*b", "a[*]b"));
        assert!(fnmatch("xyz", "**z"));
        assert!(!fnmatch("", "?"));
        assert!(fnmatch("web.conf", "*.*"));
    }

    /// Many stars against a long name that almost matches: once exponential (2 s a name).
    #[test]
    fn many_stars_are_quick() {
        let name = "a".repeat(40);
        let started = std::time::Instant::now();
        for _ in 0..1000 {
            assert!(!fnmatch(&name, "*a*a*a*a*a*a*a*a*b"));
        }
        assert!(fnmatch(&format!("{name}b"), "*a*a*a*a*a*a*a*a*b"));
        let took = started.elapsed();
        assert!(took < std::time::Duration::from_secs(1), "{took:?}");
    }

    #[test]
    fn globs_files_skipping_hidden() {
        let dir = std::env::temp_dir().join(format!("svrs-glob-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        std::fs::create_dir_all(dir.join("conf.d")).expect("mkdir");
        for f in ["a.conf", "b.conf", ".hidden.conf", "c.ini"] {
            std::fs::write(dir.join("conf.d").join(f), "").expect("write");
        }
        let mut got = glob(&format!("{}/conf.d/*.conf", dir.display()));
        got.sort();
        assert_eq!(
            got,
            vec![dir.join("conf.d/a.conf"), dir.join("conf.d/b.conf")]
        );
        assert_eq!(
            glob(&format!("{}/conf.d/c.ini", dir.display())),
            vec![dir.join("conf.d/c.ini")]
        );
        assert!(glob(&format!("{}/conf.d/none.ini", dir.display())).is_empty());
        assert_eq!(
            glob(&format!("{}/co*/c.ini", dir.display())),
            vec![dir.join("conf.d/c.ini")]
        );
        let _ = std::fs::remove_dir_all(&dir);
    }
}
