//! `%(name)s` expansion with Python's `str % dict` semantics (conversions, flags, width,
//! precision, `%%`) and Supervisor's error wording.

use super::pystr::repr;
use std::collections::BTreeMap;

/// A value offered for expansion: Supervisor passes strings, and integers for
/// `process_num`/`numprocs` (so `%(process_num)02d` works).
#[derive(Debug, Clone, PartialEq)]
pub enum Val {
    Str(String),
    Int(i64),
}

impl Val {
    fn type_name(&self) -> &'static str {
        match self {
            Val::Str(_) => "str",
            Val::Int(_) => "int",
        }
    }

    fn to_str(&self) -> String {
        match self {
            Val::Str(s) => s.clone(),
            Val::Int(i) => i.to_string(),
        }
    }

    fn to_repr(&self) -> String {
        match self {
            Val::Str(s) => repr(s),
            Val::Int(i) => i.to_string(),
        }
    }
}

/// Names available to one expansion; sorted, as Supervisor lists them in errors.
pub type Names = BTreeMap<String, Val>;

/// Expands `s` with `names`; `what` is the `section.option` label used in error messages.
pub fn expand(s: &str, names: &Names, what: &str) -> Result<String, String> {
    format(s, names).map_err(|e| match e {
        FmtError::Missing(name) => format!(
            "Format string {} for {} contains names ({}) which cannot be expanded. Available names: {}",
            repr(s),
            repr(what),
            repr(&name),
            names.keys().cloned().collect::<Vec<_>>().join(", ")
        ),
        FmtError::Bad(msg) => {
            format!("Format string {} for {} is badly formatted: {}", repr(s), repr(what), msg)
        }
    })
}

enum FmtError {
    Missing(String),
    Bad(String),
}

/// What a conversion formats: a named value, or (without a key) the whole mapping.
enum Arg<'a> {
    Named(&'a Val),
    Mapping,
}

#[derive(Default)]
struct Spec {
    left: bool,
    zero: bool,
    plus: bool,
    space: bool,
    alt: bool,
    width: usize,
    precision: Option<usize>,
}

fn format(s: &str, names: &Names) -> Result<String, FmtError> {
    let chars: Vec<char> = s.chars().collect();
    let mut out = String::new();
    let mut i = 0;
    let mut mapping_used = false;
    while i < chars.len() {
        if chars[i] != '%' {
            out.push(chars[i]);
            i += 1;
            continue;
        }
        i += 1;
        let incomplete = || FmtError::Bad("incomplete format".into());
        let mut arg = None;
        if chars.get(i) == Some(&'(') {
            let (key, next) = read_key(&chars, i + 1)?;
            i = next;
            match names.get(&key) {
                Some(v) => arg = Some(Arg::Named(v)),
                None => return Err(FmtError::Missing(key)),
            }
        }
        let mut spec = Spec::default();
        i = read_flags(&chars, i, &mut spec);
        i = read_number(&chars, i, &mut spec.width)?;
        if chars.get(i) == Some(&'.') {
            let mut p = 0;
            i = read_number(&chars, i + 1, &mut p)?;
            spec.precision = Some(p);
        }
        while matches!(chars.get(i), Some('h' | 'l' | 'L')) {
            i += 1;
        }
        let Some(&conv) = chars.get(i) else {
            return Err(incomplete());
        };
        i += 1;
        if conv == '%' {
            out.push('%');
            continue;
        }
        let arg = match arg {
            Some(a) => a,
            None if mapping_used => {
                return Err(FmtError::Bad(
                    "not enough arguments for format string".into(),
                ))
            }
            None => {
                mapping_used = true;
                Arg::Mapping
            }
        };
        out.push_str(&convert(conv, &arg, &spec, names, i - 1)?);
    }
    Ok(out)
}

/// Reads a `(key)` (parentheses may nest); returns the key and the index after `)`.
fn read_key(chars: &[char], mut i: usize) -> Result<(String, usize), FmtError> {
    let mut depth = 1;
    let mut key = String::new();
    while let Some(&c) = chars.get(i) {
        if c == '(' {
            depth += 1;
        } else if c == ')' {
            depth -= 1;
            if depth == 0 {
                return Ok((key, i + 1));
            }
        }
        key.push(c);
        i += 1;
    }
    Err(FmtError::Bad("incomplete format key".into()))
}

fn read_flags(chars: &[char], mut i: usize, spec: &mut Spec) -> usize {
    while let Some(&c) = chars.get(i) {
        match c {
            '-' => spec.left = true,
            '0' => spec.zero = true,
            '+' => spec.plus = true,
            ' ' => spec.space = true,
            '#' => spec.alt = true,
            _ => break,
        }
        i += 1;
    }
    i
}

const MAX_WIDTH: usize = 1 << 16;

fn read_number(chars: &[char], mut i: usize, n: &mut usize) -> Result<usize, FmtError> {
    if chars.get(i) == Some(&'*') {
        return Err(FmtError::Bad("* wants int".into()));
    }
    while let Some(d) = chars.get(i).and_then(|c| c.to_digit(10)) {
        *n = n.saturating_mul(10).saturating_add(d as usize);
        i += 1;
    }
    // Refuse absurd widths instead of allocating gigabytes of padding.
    if *n > MAX_WIDTH {
        return Err(FmtError::Bad("width too big".into()));
    }
    Ok(i)
}

fn convert(
    conv: char,
    arg: &Arg,
    spec: &Spec,
    names: &Names,
    pos: usize,
) -> Result<String, FmtError> {
    let (val, tname) = match arg {
        Arg::Named(v) => (Some(*v), v.type_name()),
        Arg::Mapping => (None, "dict"),
    };
    let int = match val {
        Some(Val::Int(i)) => Some(*i),
        _ => None,
    };
    let body = match conv {
        's' | 'r' | 'a' => {
            let mut text = match val {
                Some(v) if conv == 's' => v.to_str(),
                Some(v) => v.to_repr(),
                None => mapping_repr(names),
            };
            if let Some(p) = spec.precision {
                text = text.chars().take(p).collect();
            }
            return Ok(pad(text, spec, false));
        }
        'd' | 'i' | 'u' => {
            let n = int.ok_or_else(|| {
                bad(format!(
                    "%{conv} format: a real number is required, not {tname}"
                ))
            })?;
            signed(n, n.unsigned_abs().to_string(), spec)
        }
        'x' | 'X' | 'o' => {
            let n = int.ok_or_else(|| {
                bad(format!(
                    "%{conv} format: an integer is required, not {tname}"
                ))
            })?;
            let (digits, prefix) = match conv {
                'x' => (format!("{:x}", n.unsigned_abs()), "0x"),
                'X' => (format!("{:X}", n.unsigned_abs()), "0X"),
                _ => (format!("{:o}", n.unsigned_abs()), "0o"),
            };
            let digits = if spec.alt {
                format!("{prefix}{digits}")
            } else {
                digits
            };
            signed(n, digits, spec)
        }
        'e' | 'E' | 'f' | 'F' | 'g' | 'G' => {
            let n = int.ok_or_else(|| bad(format!("must be real number, not {tname}")))?;
            let p = spec.precision.unwrap_or(6);
            let digits = match conv {
                'f' | 'F' => format!("{:.p$}", n.unsigned_abs() as f64),
                'e' => format!("{:.p$e}", n.unsigned_abs() as f64),
                'E' => format!("{:.p$E}", n.unsigned_abs() as f64),
                _ => n.unsigned_abs().to_string(),
            };
            signed(n, digits, spec)
        }
        'c' => match val {
            Some(Val::Int(n)) => u32::try_from(*n)
                .ok()
                .and_then(char::from_u32)
                .map(String::from)
                .ok_or_else(|| bad("%c arg not in range(0x110000)".into()))?,
            Some(Val::Str(s)) if s.chars().count() == 1 => s.clone(),
            _ => return Err(bad("%c requires int or char".into())),
        },
        other => {
            return Err(bad(format!(
                "unsupported format character {} (0x{:x}) at index {}",
                repr(&other.to_string()),
                other as u32,
                pos
            )))
        }
    };
    Ok(pad(
        body,
        spec,
        matches!(
            conv,
            'd' | 'i' | 'u' | 'x' | 'X' | 'o' | 'e' | 'E' | 'f' | 'F' | 'g' | 'G'
        ),
    ))
}

fn bad(msg: String) -> FmtError {
    FmtError::Bad(msg)
}

/// Puts the sign in front of `digits`, zero-padding between sign and digits when asked.
fn signed(n: i64, digits: String, spec: &Spec) -> String {
    let sign = if n < 0 {
        "-"
    } else if spec.plus {
        "+"
    } else if spec.space {
        " "
    } else {
        ""
    };
    if spec.zero && !spec.left && spec.width > sign.len() + digits.len() {
        let zeros = "0".repeat(spec.width - sign.len() - digits.len());
        return format!("{sign}{zeros}{digits}");
    }
    format!("{sign}{digits}")
}

fn pad(text: String, spec: &Spec, _numeric: bool) -> String {
    let len = text.chars().count();
    if len >= spec.width {
        return text;
    }
    let fill = " ".repeat(spec.width - len);
    if spec.left {
        text + &fill
    } else {
        fill + &text
    }
}

/// `str(dict)` for a conversion without a key (Python formats the whole mapping).
fn mapping_repr(names: &Names) -> String {
    let items: Vec<String> = names
        .iter()
        .map(|(k, v)| format!("{}: {}", repr(k), v.to_repr()))
        .collect();
    format!("{{{}}}", items.join(", "))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn names() -> Names {
        let mut n = Names::new();
        n.insert("program_name".into(), Val::Str("foo".into()));
        n.insert("process_num".into(), Val::Int(3));
        n.insert("here".into(), Val::Str("/etc".into()));
        n
    }

    fn ok(s: &str) -> String {
        expand(s, &names(), "program:foo.command").expect("expands")
    }

    #[test]
    fn named_conversions() {
        assert_eq!(ok("%(program_name)s_%(process_num)02d"), "foo_03");
        assert_eq!(
            ok("%(process_num)d %(process_num)s %(process_num)3d|"),
            "3 3   3|"
        );
        assert_eq!(
            ok("%(process_num)-3d|%(program_name)5s|%(program_name).2s"),
            "3  |  foo|fo"
        );
        assert_eq!(
            ok("%(process_num)+d %(process_num)x %(process_num)#o"),
            "+3 3 0o3"
        );
        assert_eq!(ok("100%% %(here)s"), "100% /etc");
        assert_eq!(ok("%(program_name)r"), "'foo'");
        assert_eq!(ok("no names"), "no names");
    }

    #[test]
    fn unknown_name_lists_available_names() {
        let err = expand("/bin/sleep %(ENV_NOPE)s", &names(), "program:foo.command").unwrap_err();
        assert_eq!(
            err,
            "Format string '/bin/sleep %(ENV_NOPE)s' for 'program:foo.command' contains names ('ENV_NOPE') \
             which cannot be expanded. Available names: here, process_num, program_name"
        );
    }

    #[test]
    fn incomplete_format() {
        let err = expand(
            "/bin/sleep %(program_name)",
            &names(),
            "program:foo.command",
        )
        .unwrap_err();
        assert_eq!(
            err,
            "Format string '/bin/sleep %(program_name)' for 'program:foo.command' is badly formatted: incomplete format"
        );
        let err = expand("100%", &names(), "x").unwrap_err();
        assert!(
            err.ends_with("is badly formatted: incomplete format"),
            "{err}"
        );
        let err = expand("%(abc", &names(), "x").unwrap_err();
        assert!(err.ends_with("incomplete format key"), "{err}");
    }

    #[test]
    fn type_errors_match_python() {
        let err = expand("/tmp/100%.log", &names(), "stdout_logfile").unwrap_err();
        assert_eq!(
            err,
            "Format string '/tmp/100%.log' for 'stdout_logfile' is badly formatted: %o format: an integer is required, not dict"
        );
        let err = expand("%(program_name)d", &names(), "x").unwrap_err();
        assert!(
            err.ends_with("%d format: a real number is required, not str"),
            "{err}"
        );
        let err = expand("%(program_name)y", &names(), "x").unwrap_err();
        assert!(
            err.ends_with("unsupported format character 'y' (0x79) at index 15"),
            "{err}"
        );
        let err = expand("%s %s", &names(), "x").unwrap_err();
        assert!(
            err.ends_with("not enough arguments for format string"),
            "{err}"
        );
    }
}
