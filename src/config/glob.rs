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

/// Shell-style match of a whole name against one pattern component.
pub fn fnmatch(name: &str, pat: &str) -> bool {
    let n: Vec<char> = name.chars().collect();
    let p: Vec<char> = pat.chars().collect();
    match_from(&n, &p)
}

fn match_from(n: &[char], p: &[char]) -> bool {
    let Some(&first) = p.first() else {
        return n.is_empty();
    };
    match first {
        '*' => (0..=n.len()).any(|i| match_from(&n[i..], &p[1..])),
        '?' => !n.is_empty() && match_from(&n[1..], &p[1..]),
        '[' => match parse_class(&p[1..]) {
            Some((set, negate, used)) => {
                let Some(&c) = n.first() else { return false };
                set.matches(c) != negate && match_from(&n[1..], &p[1 + used..])
            }
            // An unclosed `[` is a literal character.
            None => n.first() == Some(&'[') && match_from(&n[1..], &p[1..]),
        },
        c => n.first() == Some(&c) && match_from(&n[1..], &p[1..]),
    }
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
