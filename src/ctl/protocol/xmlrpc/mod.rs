//! XML-RPC values, a parser built on quick-xml and a serializer that emits exactly what
//! Python's `xmlrpc.client.dumps` emits (one element per line), so clients that compare bytes or
//! parse loosely see the same documents as from Supervisor.

mod decode;
mod fast;

use std::fmt::Write as _;

pub use decode::{parse_call, parse_response, parse_response_general, DECODE_FACTOR};

#[derive(Debug, Clone, PartialEq)]
pub enum Value {
    Int(i64),
    Bool(bool),
    Str(String),
    Double(f64),
    /// `dateTime.iso8601` text, kept verbatim.
    DateTime(String),
    Base64(Vec<u8>),
    Array(Vec<Value>),
    /// Members in insertion order (Python dicts keep it, and Supervisor's structs rely on it).
    Struct(Vec<(String, Value)>),
    Nil,
}

impl Value {
    pub fn str(s: impl Into<String>) -> Value {
        Value::Str(s.into())
    }

    pub fn as_str(&self) -> Option<&str> {
        match self {
            Value::Str(s) => Some(s),
            _ => None,
        }
    }

    pub fn as_int(&self) -> Option<i64> {
        match self {
            Value::Int(i) => Some(*i),
            Value::Bool(b) => Some(*b as i64),
            _ => None,
        }
    }

    pub fn as_array(&self) -> Option<&[Value]> {
        match self {
            Value::Array(a) => Some(a),
            _ => None,
        }
    }

    /// Python truthiness, used for optional flags such as `wait`.
    pub fn truthy(&self) -> bool {
        match self {
            Value::Int(i) => *i != 0,
            Value::Bool(b) => *b,
            Value::Str(s) => !s.is_empty(),
            Value::Double(d) => *d != 0.0,
            Value::DateTime(_) => true,
            Value::Base64(b) => !b.is_empty(),
            Value::Array(a) => !a.is_empty(),
            Value::Struct(s) => !s.is_empty(),
            Value::Nil => false,
        }
    }

    /// A struct member by name.
    pub fn get(&self, key: &str) -> Option<&Value> {
        match self {
            Value::Struct(members) => members.iter().find(|(k, _)| k == key).map(|(_, v)| v),
            _ => None,
        }
    }
}

/// A parsed `<methodCall>`.
#[derive(Debug, Clone, PartialEq)]
pub struct MethodCall {
    /// Empty when the document has no (or an empty) `<methodName>`.
    pub name: String,
    pub params: Vec<Value>,
}

/// A parsed `<methodResponse>`: a value or a fault.
#[derive(Debug, Clone, PartialEq)]
pub enum Response {
    Value(Value),
    Fault { code: i64, string: String },
}

// ---------------------------------------------------------------------------------------------
// Serializer

const HEADER: &str = "<?xml version='1.0'?>\n";

/// `xmlrpc.client.dumps((value,), methodresponse=True)`.
pub fn dumps_response(value: &Value) -> String {
    let mut out = String::with_capacity(256);
    out.push_str(HEADER);
    out.push_str("<methodResponse>\n<params>\n<param>\n");
    dump_value(value, &mut out);
    out.push_str("</param>\n</params>\n</methodResponse>\n");
    out
}

/// `xmlrpc.client.dumps(Fault(code, string))`.
pub fn dumps_fault(code: i64, string: &str) -> String {
    let mut out = String::with_capacity(256);
    out.push_str(HEADER);
    out.push_str("<methodResponse>\n<fault>\n");
    let fault = Value::Struct(vec![
        ("faultCode".into(), Value::Int(code)),
        ("faultString".into(), Value::str(string)),
    ]);
    dump_value(&fault, &mut out);
    out.push_str("</fault>\n</methodResponse>\n");
    out
}

/// `xmlrpc.client.dumps(params, methodname)`.
pub fn dumps_call(method: &str, params: &[Value]) -> String {
    let mut out = String::with_capacity(256);
    out.push_str(HEADER);
    out.push_str("<methodCall>\n<methodName>");
    escape_into(method, &mut out);
    out.push_str("</methodName>\n<params>\n");
    for p in params {
        out.push_str("<param>\n");
        dump_value(p, &mut out);
        out.push_str("</param>\n");
    }
    out.push_str("</params>\n</methodCall>\n");
    out
}

fn dump_value(value: &Value, out: &mut String) {
    match value {
        Value::Int(i) => {
            let _ = writeln!(out, "<value><int>{i}</int></value>");
        }
        Value::Bool(b) => {
            let _ = writeln!(out, "<value><boolean>{}</boolean></value>", *b as u8);
        }
        Value::Str(s) => {
            out.push_str("<value><string>");
            escape_into(s, out);
            out.push_str("</string></value>\n");
        }
        Value::Double(d) => {
            let _ = writeln!(
                out,
                "<value><double>{}</double></value>",
                python_float_repr(*d)
            );
        }
        Value::DateTime(s) => {
            out.push_str("<value><dateTime.iso8601>");
            escape_into(s, out);
            out.push_str("</dateTime.iso8601></value>\n");
        }
        Value::Base64(b) => {
            out.push_str("<value><base64>\n");
            out.push_str(&super::base64::encode_lines(b));
            out.push_str("</base64></value>\n");
        }
        Value::Array(items) => {
            out.push_str("<value><array><data>\n");
            for item in items {
                dump_value(item, out);
            }
            out.push_str("</data></array></value>\n");
        }
        Value::Struct(members) => {
            out.push_str("<value><struct>\n");
            for (k, v) in members {
                out.push_str("<member>\n<name>");
                escape_into(k, out);
                out.push_str("</name>\n");
                dump_value(v, out);
                out.push_str("</member>\n");
            }
            out.push_str("</struct></value>\n");
        }
        Value::Nil => out.push_str("<value><nil/></value>"),
    }
}

fn python_float_repr(d: f64) -> String {
    if d.is_finite() && d == d.trunc() && d.abs() < 1e16 {
        format!("{d:.1}")
    } else {
        format!("{d}")
    }
}

/// Python's `xml.sax.saxutils.escape` subset used by xmlrpc.client: `&`, `<`, `>`.
fn escape_into(s: &str, out: &mut String) {
    for c in s.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            c => out.push(c),
        }
    }
}

// ---------------------------------------------------------------------------------------------
// Size of an answer before it is built

/// An upper estimate of the bytes `dumps_response` (or a multicall entry) writes for `value`,
/// found without building the text, so an answer too large to send is refused up front.
pub fn encoded_len(value: &Value) -> usize {
    const TAGS: usize = "<value><dateTime.iso8601></dateTime.iso8601></value>\n".len();
    let escaped = |s: &str| {
        s.len()
            + s.bytes()
                .map(|b| match b {
                    b'&' => 4,
                    b'<' | b'>' => 3,
                    _ => 0,
                })
                .sum::<usize>()
    };
    TAGS + match value {
        Value::Int(_) | Value::Bool(_) | Value::Double(_) | Value::Nil => 32,
        Value::Str(s) | Value::DateTime(s) => escaped(s),
        Value::Base64(b) => b.len().div_ceil(3) * 4 + b.len() / 57 + 2,
        Value::Array(items) => items.iter().map(encoded_len).sum(),
        Value::Struct(members) => members
            .iter()
            .map(|(k, v)| {
                "<member>\n<name></name>\n</member>\n".len() + escaped(k) + encoded_len(v)
            })
            .sum(),
    }
}

#[cfg(test)]
mod tests;
