//! The INI dialect Supervisor reads (Python's `RawConfigParser` with
//! `inline_comment_prefixes=(';', '#')` and `strict=False`), keeping the file and line of every
//! section header and key so later errors can point at them.

use super::ConfigError;
use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::rc::Rc;

/// One `key = value` as finally in effect (the last one written wins).
#[derive(Debug, Clone, PartialEq)]
pub struct Entry {
    /// Lower-cased option name.
    pub key: String,
    /// Value with continuation lines joined by `\n`, trailing whitespace removed.
    pub value: String,
    pub file: Rc<PathBuf>,
    pub line: usize,
}

/// A section; repeated headers (in one file or across files) are merged into one.
#[derive(Debug, Clone, PartialEq)]
pub struct Section {
    /// Name between the brackets, verbatim (case-sensitive, not stripped).
    pub name: String,
    /// File and line of the first header that opened this section.
    pub file: Rc<PathBuf>,
    pub line: usize,
    pub entries: Vec<Entry>,
}

impl Section {
    pub fn get(&self, key: &str) -> Option<&Entry> {
        self.entries.iter().find(|e| e.key == key)
    }

    fn set(&mut self, entry: Entry) {
        match self.entries.iter_mut().find(|e| e.key == entry.key) {
            Some(old) => *old = entry,
            None => self.entries.push(entry),
        }
    }
}

/// All sections read so far, in order of first appearance.
#[derive(Debug, Default, Clone, PartialEq)]
pub struct Ini {
    pub sections: Vec<Section>,
    /// Keys of `[DEFAULT]`: Python's parser offers them as fallbacks in every section.
    pub defaults: Vec<Entry>,
    /// Index in `sections` by name, so a file of many sections is read in linear time
    /// (`open_section` is the only place sections are added).
    by_name: HashMap<String, usize>,
}

/// Where a value is being accumulated while reading lines.
struct Cursor {
    /// Index in `sections`, or `None` for `[DEFAULT]`.
    section: Option<usize>,
    /// Key whose value continuation lines extend, with its value so far (pieces joined by
    /// `\n` as they come: one String per value, not one per line).
    key: Option<(String, usize, String)>,
    indent: usize,
    /// Whether this section's values are stored (see `read_section_str`).
    keep: bool,
}

impl Ini {
    pub fn section(&self, name: &str) -> Option<&Section> {
        self.sections.iter().find(|s| s.name == name)
    }

    /// Looks `key` up in `section`, falling back to `[DEFAULT]`.
    pub fn get<'a>(&'a self, section: &'a Section, key: &str) -> Option<&'a Entry> {
        section
            .get(key)
            .or_else(|| self.defaults.iter().find(|e| e.key == key))
    }

    /// Parses `text` (the contents of `file`) into this document, merging sections.
    pub fn read_str(&mut self, text: &str, file: &Path) -> Result<(), ConfigError> {
        self.read_some(text, file, None)
    }

    /// `read_str` for a reader of one section (supervisorctl reads only `[supervisorctl]`):
    /// every line is still parsed and every error reported, every section header recorded,
    /// but only the values of `only` and `[DEFAULT]` are stored.
    pub fn read_section_str(
        &mut self,
        text: &str,
        file: &Path,
        only: &str,
    ) -> Result<(), ConfigError> {
        self.read_some(text, file, Some(only))
    }

    fn read_some(
        &mut self,
        text: &str,
        file: &Path,
        only: Option<&str>,
    ) -> Result<(), ConfigError> {
        let file = Rc::new(file.to_path_buf());
        let mut cur: Option<Cursor> = None;
        // Like Python's parser, report every malformed line of the file at once.
        let mut bad: Vec<(usize, &str)> = Vec::new();
        for (idx, raw) in text.split_inclusive('\n').enumerate() {
            let lineno = idx + 1;
            let line = raw.trim_end_matches(['\n', '\r']);
            let (content, had_comment) = strip_comment(line);
            let value = content.trim_matches(py_isspace);
            if value.is_empty() {
                // Blank lines belong to a value being continued; comment lines are skipped.
                if !had_comment {
                    if let Some(Cursor {
                        key: Some((_, _, joined)),
                        keep: true,
                        ..
                    }) = cur.as_mut()
                    {
                        joined.push('\n');
                    }
                }
                continue;
            }
            let indent = line.len() - line.trim_start().len();
            if let Some(c) = cur.as_mut() {
                if let Some((_, _, joined)) = c.key.as_mut() {
                    if indent > c.indent {
                        if c.keep {
                            joined.push('\n');
                            joined.push_str(value);
                        }
                        continue;
                    }
                }
            }
            if let Some(c) = cur.as_mut() {
                let pending = Cursor {
                    section: c.section,
                    key: c.key.take(),
                    indent: c.indent,
                    keep: c.keep,
                };
                self.finish(pending, &file);
            }
            if let Some(name) = section_header(value) {
                cur = Some(Cursor {
                    section: self.open_section(name, &file, lineno),
                    key: None,
                    indent,
                    keep: name == "DEFAULT" || only.is_none_or(|o| o == name),
                });
                continue;
            }
            let Some(c) = cur.as_mut() else {
                return Err(no_section_header(&file, lineno, raw));
            };
            match split_option(value) {
                Some((key, val)) => {
                    c.key = Some(match c.keep {
                        true => (lower(key), lineno, val.to_string()),
                        false => (String::new(), lineno, String::new()),
                    });
                    c.indent = indent;
                }
                None => bad.push((lineno, raw)),
            }
        }
        if let Some(c) = cur.take() {
            self.finish(c, &file);
        }
        match bad.is_empty() {
            true => Ok(()),
            false => Err(parsing_error(&file, &bad)),
        }
    }

    /// Stores the value accumulated in `c` and leaves the cursor on its section.
    fn finish(&mut self, c: Cursor, file: &Rc<PathBuf>) {
        let (true, Some((key, line, mut value))) = (c.keep, c.key) else {
            return;
        };
        value.truncate(value.trim_end().len());
        let entry = Entry {
            key,
            value,
            file: file.clone(),
            line,
        };
        match c.section {
            Some(i) => self.sections[i].set(entry),
            None => match self.defaults.iter_mut().find(|e| e.key == entry.key) {
                Some(old) => *old = entry,
                None => self.defaults.push(entry),
            },
        }
    }

    fn open_section(&mut self, name: &str, file: &Rc<PathBuf>, line: usize) -> Option<usize> {
        if name == "DEFAULT" {
            return None;
        }
        if let Some(&i) = self.by_name.get(name) {
            return Some(i);
        }
        self.by_name.insert(name.to_string(), self.sections.len());
        self.sections.push(Section {
            name: name.to_string(),
            file: file.clone(),
            line,
            entries: Vec::new(),
        });
        Some(self.sections.len() - 1)
    }
}

/// Removes a full-line comment or an inline comment. Returns the remaining text and whether a
/// comment was found.
fn strip_comment(line: &str) -> (&str, bool) {
    if line.trim_matches(py_isspace).starts_with([';', '#']) {
        return ("", true);
    }
    match inline_comment_start(line) {
        Some(i) => (&line[..i], true),
        None => (line, false),
    }
}

/// Where an inline comment starts, found as CPython's configparser finds it: in rounds, each
/// round looking for the next occurrence of every prefix (`;` and `#`), and stopping at the
/// first round in which some occurrence starts the line or follows whitespace (the earliest
/// such one of that round). So in `x;y ;z #w` the first round sees `;` at 1 (no comment) and
/// `#` at 7 (a comment): the value is `x;y ;z`.
fn inline_comment_start(line: &str) -> Option<usize> {
    // Most lines have neither prefix: no rounds to run.
    if !line.bytes().any(|b| b == b';' || b == b'#') {
        return None;
    }
    let mut search: Vec<(char, usize)> = vec![(';', 0), ('#', 0)];
    while !search.is_empty() {
        let mut start: Option<usize> = None;
        let mut next = Vec::with_capacity(search.len());
        for (prefix, from) in search {
            let Some(offset) = line[from..].find(prefix) else {
                continue;
            };
            let at = from + offset;
            next.push((prefix, at + 1));
            if at == 0 || line[..at].chars().next_back().is_some_and(py_isspace) {
                start = Some(start.map_or(at, |s| s.min(at)));
            }
        }
        if start.is_some() {
            return start;
        }
        search = next;
    }
    None
}

/// Python's `str.lower()` (option names are nearly always lower-case ASCII already).
fn lower(key: &str) -> String {
    match key.bytes().any(|b| b.is_ascii_uppercase() || !b.is_ascii()) {
        true => key.to_lowercase(),
        false => key.to_string(),
    }
}

/// Python's `str.isspace()` for one character (also the separators U+001C..U+001F).
fn py_isspace(c: char) -> bool {
    c.is_whitespace() || ('\u{1c}'..='\u{1f}').contains(&c)
}

/// `[name]` (anything up to the last `]`; text after it is ignored, as Python's regex does).
fn section_header(value: &str) -> Option<&str> {
    let rest = value.strip_prefix('[')?;
    let end = rest.rfind(']')?;
    if end == 0 {
        return None;
    }
    Some(&rest[..end])
}

/// `key = value` or `key : value`, split at the first `=` or `:`; the key must not be empty.
fn split_option(value: &str) -> Option<(&str, &str)> {
    let pos = value.find(['=', ':'])?;
    let key = value[..pos].trim_end();
    if key.is_empty() {
        return None;
    }
    Some((key, value[pos + 1..].trim()))
}

fn python_repr_line(raw: &str) -> String {
    super::pystr::repr(raw)
}

fn no_section_header(file: &Rc<PathBuf>, line: usize, raw: &str) -> ConfigError {
    ConfigError {
        file: Some(file.to_path_buf()),
        line: Some(line),
        section: None,
        option: None,
        message: format!(
            "File contains no section headers.\nfile: '{}', line: {}\n{}",
            file.display(),
            line,
            python_repr_line(raw)
        ),
    }
}

fn parsing_error(file: &Rc<PathBuf>, bad: &[(usize, &str)]) -> ConfigError {
    let mut message = format!("Source contains parsing errors: '{}'", file.display());
    for (line, raw) in bad {
        message.push_str(&format!("\n\t[line {line:>2}]: {}", python_repr_line(raw)));
    }
    ConfigError {
        file: Some(file.to_path_buf()),
        line: bad.first().map(|(line, _)| *line),
        section: None,
        option: None,
        message,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse(text: &str) -> Ini {
        let mut ini = Ini::default();
        ini.read_str(text, Path::new("/x/a.conf")).expect("parse");
        ini
    }

    fn val(ini: &Ini, s: &str, k: &str) -> Option<String> {
        ini.section(s)
            .and_then(|sec| ini.get(sec, k))
            .map(|e| e.value.clone())
    }

    /// Values CPython 3.11's configparser gives with `inline_comment_prefixes=(';', '#')`.
    #[test]
    fn inline_comments_are_found_in_pythons_rounds() {
        let cases = [
            ("x;y ;z #w", "x;y ;z"),
            ("a#b #c ;d", "a#b #c"),
            ("a;b;c ;d", "a;b;c"),
            ("a ;b", "a"),
            ("a#b;c #d ;e", "a#b;c"),
            ("a;b #c;d ;e", "a;b"),
            ("v\t;c", "v"),
            ("a;;b ;c", "a;;b"),
            ("u #a;b ;c", "u"),
            ("a#b#c;d ;e #f", "a#b#c;d"),
            ("x\u{1c};y", "x"),
        ];
        for (raw, want) in cases {
            let ini = parse(&format!("[s]\nk={raw}\n"));
            assert_eq!(val(&ini, "s", "k").as_deref(), Some(want), "{raw:?}");
        }
    }

    #[test]
    fn comments_and_separators() {
        let ini = parse("; c\n# c\n[s]\na = 1 ; x\nb: 2\nc=a;b\nd=x.pid#tag\ne=v #c\n");
        assert_eq!(val(&ini, "s", "a").as_deref(), Some("1"));
        assert_eq!(val(&ini, "s", "b").as_deref(), Some("2"));
        assert_eq!(val(&ini, "s", "c").as_deref(), Some("a;b"));
        assert_eq!(val(&ini, "s", "d").as_deref(), Some("x.pid#tag"));
        assert_eq!(val(&ini, "s", "e").as_deref(), Some("v"));
    }

    #[test]
    fn option_names_case_insensitive_sections_sensitive() {
        let ini = parse("[Program:x]\nCommand = a\n[program:x]\nCOMMAND=b\n");
        assert_eq!(val(&ini, "program:x", "command").as_deref(), Some("b"));
        assert_eq!(val(&ini, "Program:x", "command").as_deref(), Some("a"));
    }

    #[test]
    fn continuation_lines_keep_newlines() {
        let ini = parse("[s]\ncommand=/bin/echo\n  multi line\n\n   more\nnext=1\n");
        assert_eq!(
            val(&ini, "s", "command").as_deref(),
            Some("/bin/echo\nmulti line\n\nmore")
        );
        assert_eq!(val(&ini, "s", "next").as_deref(), Some("1"));
    }

    #[test]
    fn comment_inside_continuation_is_skipped() {
        let ini = parse("[s]\nk=a\n ; note\n b\n");
        assert_eq!(val(&ini, "s", "k").as_deref(), Some("a\nb"));
    }

    #[test]
    fn repeated_sections_merge_later_key_wins() {
        let ini = parse("[s]\na=1\nb=1\n[t]\n[s]\nb=2\n");
        assert_eq!(ini.sections.len(), 2);
        assert_eq!(val(&ini, "s", "a").as_deref(), Some("1"));
        let e = ini.section("s").and_then(|s| s.get("b")).expect("b");
        assert_eq!((e.value.as_str(), e.line), ("2", 6));
    }

    #[test]
    fn key_split_at_first_separator() {
        let ini = parse("[s]\na:b=c\ncommand=/bin/x a:b\nempty=\n");
        assert_eq!(val(&ini, "s", "a").as_deref(), Some("b=c"));
        assert_eq!(val(&ini, "s", "command").as_deref(), Some("/bin/x a:b"));
        assert_eq!(val(&ini, "s", "empty").as_deref(), Some(""));
    }

    #[test]
    fn defaults_are_fallbacks() {
        let ini = parse("[DEFAULT]\nx=1\n[s]\n");
        assert_eq!(val(&ini, "s", "x").as_deref(), Some("1"));
        assert!(ini.section("DEFAULT").is_none());
    }

    #[test]
    fn text_before_first_section_is_an_error() {
        let mut ini = Ini::default();
        let err = ini
            .read_str("\ncommand=x\n[s]\n", Path::new("/x/a.conf"))
            .unwrap_err();
        assert_eq!(err.line, Some(2));
        assert!(
            err.message.starts_with("File contains no section headers."),
            "{}",
            err.message
        );
        assert!(err.message.contains("'command=x\\n'"), "{}", err.message);
    }

    #[test]
    fn line_without_separator_is_an_error() {
        let mut ini = Ini::default();
        let err = ini
            .read_str(
                "[s]\nok=1\nthis line has no equals sign\n",
                Path::new("/x/a.conf"),
            )
            .unwrap_err();
        assert_eq!(err.line, Some(3));
        assert_eq!(
            err.message,
            "Source contains parsing errors: '/x/a.conf'\n\t[line  3]: 'this line has no equals sign\\n'"
        );
    }

    #[test]
    fn every_malformed_line_is_listed() {
        let mut ini = Ini::default();
        let err = ini
            .read_str("[s]\nbad one\nok=1\nbad two\n", Path::new("/x/a.conf"))
            .unwrap_err();
        assert_eq!(err.line, Some(2));
        assert_eq!(
            err.message,
            "Source contains parsing errors: '/x/a.conf'\n\t[line  2]: 'bad one\\n'\n\t[line  4]: 'bad two\\n'"
        );
    }

    #[test]
    fn header_records_file_and_line() {
        let ini = parse("\n\n[s]\nk=v\n");
        let s = ini.section("s").expect("s");
        assert_eq!((s.line, s.file.as_path()), (3, Path::new("/x/a.conf")));
        assert_eq!(s.get("k").map(|e| e.line), Some(4));
    }

    #[test]
    fn one_section_reading_stores_only_it_and_reports_the_same_errors() {
        let text = "[DEFAULT]\nd = 1\n[program:a]\ncommand = x\n  more\n\n  lines\n[supervisorctl]\nServerURL = unix:///s\n  y\n";
        let mut one = Ini::default();
        one.read_section_str(text, Path::new("/x/a.conf"), "supervisorctl")
            .expect("parse");
        let all = parse(text);
        assert_eq!(
            val(&one, "supervisorctl", "serverurl"),
            Some("unix:///s\ny".into())
        );
        assert_eq!(val(&one, "supervisorctl", "d"), Some("1".into()));
        assert!(one
            .section("program:a")
            .is_some_and(|s| s.entries.is_empty()));
        assert_eq!(
            val(&all, "program:a", "command"),
            Some("x\nmore\n\nlines".into())
        );
        let bad = "[program:a]\nnot an option\n[supervisorctl]\nalso bad\n";
        let mut one = Ini::default();
        let err = one.read_section_str(bad, Path::new("/x/a.conf"), "supervisorctl");
        let mut all = Ini::default();
        let want = all.read_str(bad, Path::new("/x/a.conf"));
        assert_eq!(err.unwrap_err().to_string(), want.unwrap_err().to_string());
    }
}
