//! Python's `repr()` of a string or of bytes, used wherever Supervisor's messages show a value
//! with `%r`.

use std::borrow::Cow;

/// `repr(s)`: single quotes unless the text holds `'` and no `"`; control characters escaped.
pub fn repr(s: &str) -> String {
    let quote = if s.contains('\'') && !s.contains('"') {
        '"'
    } else {
        '\''
    };
    let mut out = String::with_capacity(s.len() + 2);
    out.push(quote);
    for ch in s.chars() {
        match ch {
            '\n' => out.push_str("\\n"),
            '\r' => out.push_str("\\r"),
            '\t' => out.push_str("\\t"),
            '\\' => out.push_str("\\\\"),
            c if c == quote => {
                out.push('\\');
                out.push(c);
            }
            c if (c as u32) < 0x20 || c as u32 == 0x7f => {
                out.push_str(&format!("\\x{:02x}", c as u32))
            }
            c => out.push(c),
        }
    }
    out.push(quote);
    out
}

/// `repr(b)` of Python bytes: `b'...'`, printable ASCII as is, `\t \n \r` and the quote
/// escaped, every other byte as `\xhh`.
pub fn bytes_repr(b: &[u8]) -> String {
    let quote = if b.contains(&b'\'') && !b.contains(&b'"') {
        b'"'
    } else {
        b'\''
    };
    let mut out = String::with_capacity(b.len() + 3);
    out.push('b');
    out.push(quote as char);
    for &byte in b {
        match byte {
            b'\n' => out.push_str("\\n"),
            b'\r' => out.push_str("\\r"),
            b'\t' => out.push_str("\\t"),
            b'\\' => out.push_str("\\\\"),
            c if c == quote => {
                out.push('\\');
                out.push(c as char);
            }
            0x20..=0x7e => out.push(byte as char),
            _ => out.push_str(&format!("\\x{byte:02x}")),
        }
    }
    out.push(quote as char);
    out
}

/// Child output as Supervisor logs it: the text when it is valid UTF-8, else
/// `Undecodable: b'...'` (its `'Undecodable: %r' % data`).
pub fn decode_or_undecodable(data: &[u8]) -> Cow<'_, str> {
    match std::str::from_utf8(data) {
        Ok(text) => Cow::Borrowed(text),
        Err(_) => Cow::Owned(format!("Undecodable: {}", bytes_repr(data))),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn bytes_like_python() {
        assert_eq!(bytes_repr(b"\x88\n"), "b'\\x88\\n'");
        assert_eq!(bytes_repr(b"a'b"), "b\"a'b\"");
        assert_eq!(bytes_repr(b"a\"b'\\"), "b'a\"b\\'\\\\'");
        assert_eq!(
            bytes_repr(b"\x00\x7f\xff\t\r ~"),
            "b'\\x00\\x7f\\xff\\t\\r ~'"
        );
    }

    #[test]
    fn undecodable_output() {
        assert_eq!(decode_or_undecodable(b"ok \xc3\xa9\n"), "ok é\n");
        assert_eq!(decode_or_undecodable(b"\x88\n"), "Undecodable: b'\\x88\\n'");
    }

    #[test]
    fn quotes_like_python() {
        assert_eq!(repr("abc"), "'abc'");
        assert_eq!(repr("a'b"), "\"a'b\"");
        assert_eq!(repr("a\"b'c"), "'a\"b\\'c'");
        assert_eq!(repr("é\x01\n"), "'é\\x01\\n'");
    }
}
