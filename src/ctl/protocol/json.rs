//! A tiny JSON encoder for XML-RPC values (`supervisorctl status --json`).

use std::fmt::Write as _;

use super::xmlrpc::Value;

pub fn encode(value: &Value) -> String {
    let mut out = String::new();
    write_value(value, &mut out);
    out
}

/// Appends `value` as JSON.
pub fn write_value(value: &Value, out: &mut String) {
    match value {
        Value::Int(i) => {
            let _ = write!(out, "{i}");
        }
        Value::Bool(b) => out.push_str(if *b { "true" } else { "false" }),
        Value::Double(d) if d.is_finite() => out.push_str(&d.to_string()),
        Value::Double(_) | Value::Nil => out.push_str("null"),
        Value::Str(s) | Value::DateTime(s) => write_string(s, out),
        Value::Base64(b) => write_string(&super::base64::encode(b), out),
        Value::Array(items) => {
            out.push('[');
            for (i, item) in items.iter().enumerate() {
                if i > 0 {
                    out.push_str(", ");
                }
                write_value(item, out);
            }
            out.push(']');
        }
        Value::Struct(members) => {
            out.push('{');
            write_members(members.iter().map(|(k, v)| (k.as_str(), v)), out);
            out.push('}');
        }
    }
}

/// Appends `"k": v` pairs separated by `, ` (the inside of an object).
pub fn write_members<'a>(members: impl Iterator<Item = (&'a str, &'a Value)>, out: &mut String) {
    for (i, (k, v)) in members.enumerate() {
        if i > 0 {
            out.push_str(", ");
        }
        write_string(k, out);
        out.push_str(": ");
        write_value(v, out);
    }
}

/// Appends `s` quoted; runs of characters that need no escape are copied at once.
pub fn write_string(s: &str, out: &mut String) {
    out.push('"');
    let plain = |c: char| !matches!(c, '"' | '\\') && (c as u32) >= 0x20;
    let mut rest = s;
    while let Some(at) = rest.find(|c: char| !plain(c)) {
        out.push_str(&rest[..at]);
        let c = rest[at..].chars().next().unwrap_or_default();
        rest = &rest[at + c.len_utf8()..];
        match c {
            '"' => out.push_str("\\\""),
            '\\' => out.push_str("\\\\"),
            '\n' => out.push_str("\\n"),
            '\r' => out.push_str("\\r"),
            '\t' => out.push_str("\\t"),
            c if (c as u32) < 0x20 => out.push_str(&format!("\\u{:04x}", c as u32)),
            c => out.push(c),
        }
    }
    out.push_str(rest);
    out.push('"');
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn encodes() {
        let v = Value::Array(vec![Value::Struct(vec![
            ("name".into(), Value::str("a\"b\n")),
            ("pid".into(), Value::Int(42)),
            ("ok".into(), Value::Bool(true)),
            ("x".into(), Value::str("\u{1}")),
        ])]);
        assert_eq!(
            encode(&v),
            r#"[{"name": "a\"b\n", "pid": 42, "ok": true, "x": "\u0001"}]"#
        );
        assert_eq!(encode(&Value::Array(vec![])), "[]");
        assert_eq!(
            encode(&Value::str("é\\x\t\u{1f}y\"")),
            r#""é\\x\t\u001fy\"""#
        );
    }
}
