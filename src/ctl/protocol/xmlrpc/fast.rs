//! The fast path of the answer decoder: one pass over the exact layout that Python's
//! `xmlrpc.client.dumps` writes (and so ours, see `dumps_response`): one element per line,
//! every value typed, text escaped with `&amp;`, `&lt;` and `&gt;` only. A status of 200
//! processes is about 200 KB of such text; reading it through a general XML tokenizer cost
//! most of `supervisorctl status`.
//!
//! Anything else (another layout, comments, CDATA, character references, a value nested deeper
//! than `MAX_NESTING`, a bad scalar, a document over the decode budget) gives `None`, and the
//! general decoder reads the document from the start: it alone reports errors. So this path
//! accepts a subset of what the general decoder accepts and builds the same values; the
//! differential tests (here and in tests/fuzz) hold it to that.

use super::decode::{fault_of, scalar_value, Scalar, DECODE_FACTOR, VALUE_COST};
use super::{Response, Value};

/// Values nested deeper than this go to the general decoder (its element limit is far above:
/// each level here is at most three elements).
const MAX_NESTING: usize = 16;

const PROLOG: &str = "<?xml version='1.0'?>\n<methodResponse>\n";

struct Cursor<'a> {
    text: &'a str,
    pos: usize,
    /// What the general decoder would charge so far (see `decode.rs`).
    cost: usize,
    members_hint: usize,
}

/// A `<methodResponse>` in the canonical layout, or `None` to use the general decoder.
pub fn parse_response(text: &str) -> Option<Response> {
    let mut c = Cursor {
        text,
        pos: 0,
        cost: 0,
        members_hint: 0,
    };
    c.lit(PROLOG)?;
    let response = if c.lit("<params>\n<param>\n").is_some() {
        let v = c.value(0)?;
        c.lit("</param>\n</params>\n")?;
        Response::Value(v)
    } else {
        c.lit("<fault>\n")?;
        let v = c.value(0)?;
        c.lit("</fault>\n")?;
        fault_of(&v).ok()?
    };
    c.lit("</methodResponse>")?;
    c.newline();
    let budget = text.len().saturating_mul(DECODE_FACTOR) + 4096;
    (c.pos == text.len() && c.cost <= budget).then_some(response)
}

impl<'a> Cursor<'a> {
    fn rest(&self) -> &'a str {
        &self.text[self.pos..]
    }

    /// Steps over `s` when the text continues with it.
    fn lit(&mut self, s: &str) -> Option<()> {
        self.rest().starts_with(s).then(|| self.pos += s.len())
    }

    fn newline(&mut self) {
        let _ = self.lit("\n");
    }

    /// The raw text up to the next `<` (the whole rest has one: the root's end tag), and
    /// whether it has an `&`. `None` for a `>` or a carriage return (see `unescape`). One
    /// byte loop: the texts of an answer are mostly a few bytes long, too short for a
    /// vectorised search to pay for its set-up.
    fn raw_text(&mut self) -> Option<(&'a str, bool)> {
        let rest = self.rest();
        let mut amp = false;
        for (i, b) in rest.bytes().enumerate() {
            match b {
                b'<' => {
                    self.pos += i;
                    return Some((&rest[..i], amp));
                }
                b'&' => amp = true,
                b'>' | b'\r' => return None,
                _ => {}
            }
        }
        None
    }

    /// Element text, unescaped, and charged like the general decoder charges it.
    fn text(&mut self) -> Option<String> {
        let text = match self.raw_text()? {
            (raw, false) => raw.to_string(),
            (raw, true) => unescape(raw)?,
        };
        self.cost += text.len();
        Some(text)
    }

    fn value(&mut self, depth: usize) -> Option<Value> {
        if depth > MAX_NESTING {
            return None;
        }
        self.lit("<value>")?;
        let v = self.typed(depth)?;
        self.lit("</value>")?;
        self.newline();
        self.cost += VALUE_COST;
        Some(v)
    }

    /// The typed child of a `<value>` (the element names `dump_value` writes).
    fn typed(&mut self, depth: usize) -> Option<Value> {
        if self.lit("<string>").is_some() {
            let s = self.text()?;
            self.lit("</string>")?;
            return Some(Value::Str(s));
        }
        if self.lit("<int>").is_some() {
            let (raw, _) = self.raw_text()?;
            self.lit("</int>")?;
            // Digits and a sign only: the same text the general decoder parses.
            let plain = raw
                .bytes()
                .all(|b| b.is_ascii_digit() || b == b'-' || b == b'+');
            let i = raw.parse::<i64>().ok().filter(|_| plain)?;
            self.cost += raw.len();
            return Some(Value::Int(i));
        }
        if self.lit("<array><data>\n").is_some() {
            let mut items = Vec::new();
            while self.lit("</data></array>").is_none() {
                items.push(self.value(depth + 1)?);
            }
            return Some(Value::Array(items));
        }
        if self.lit("<struct>\n").is_some() {
            return self.members(depth);
        }
        if self.lit("<nil/>").is_some() {
            return Some(Value::Nil);
        }
        let (kind, end) = [
            ("<boolean>", Scalar::Bool, "</boolean>"),
            ("<double>", Scalar::Double, "</double>"),
            (
                "<dateTime.iso8601>",
                Scalar::DateTime,
                "</dateTime.iso8601>",
            ),
            ("<base64>", Scalar::Base64, "</base64>"),
        ]
        .into_iter()
        .find_map(|(open, kind, end)| self.lit(open).map(|_| (kind, end)))?;
        let text = self.text()?;
        self.lit(end)?;
        scalar_value(kind, text).ok()
    }

    fn members(&mut self, depth: usize) -> Option<Value> {
        // The structs of one answer are mostly alike: room for as many members as the last.
        let mut members = Vec::with_capacity(self.members_hint);
        while self.lit("</struct>").is_none() {
            self.lit("<member>\n<name>")?;
            let name = self.text()?;
            self.lit("</name>\n")?;
            let v = self.value(depth + 1)?;
            self.lit("</member>\n")?;
            self.cost += std::mem::size_of::<String>();
            members.push((name, v));
        }
        self.members_hint = members.len().min(64);
        Some(Value::Struct(members))
    }
}

/// The three entities Python writes (and the two other predefined ones); `None` for anything
/// else (character references), which the general decoder handles, as it does a raw `>` or
/// carriage return (`raw_text` refuses those).
fn unescape(raw: &str) -> Option<String> {
    let mut out = String::with_capacity(raw.len());
    let mut rest = raw;
    while let Some(at) = rest.find('&') {
        out.push_str(&rest[..at]);
        rest = &rest[at..];
        let (ch, len) = [
            ("&amp;", '&'),
            ("&lt;", '<'),
            ("&gt;", '>'),
            ("&quot;", '"'),
            ("&apos;", '\''),
        ]
        .into_iter()
        .find_map(|(e, ch)| rest.starts_with(e).then_some((ch, e.len())))?;
        out.push(ch);
        rest = &rest[len..];
    }
    out.push_str(rest);
    Some(out)
}
