//! XML-RPC values, a parser built on quick-xml and a serializer that emits exactly what
//! Python's `xmlrpc.client.dumps` emits (one element per line), so clients that compare bytes or
//! parse loosely see the same documents as from Supervisor.

use std::fmt::Write as _;

use quick_xml::events::Event;
use quick_xml::Reader;

/// Deepest element nesting accepted in a document (bounds recursion on hostile input).
const MAX_DEPTH: usize = 64;

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
// Parser: first a small element tree, then the XML-RPC reading of it.

#[derive(Debug, Default)]
struct Element {
    name: String,
    text: String,
    children: Vec<Element>,
}

fn parse_tree(data: &[u8]) -> Result<Element, String> {
    let text = std::str::from_utf8(data).map_err(|e| format!("not UTF-8: {e}"))?;
    let mut reader = Reader::from_str(text);
    reader.config_mut().check_end_names = true;
    let mut stack: Vec<Element> = Vec::new();
    let mut root: Option<Element> = None;
    loop {
        let event = reader
            .read_event()
            .map_err(|e| format!("at byte {}: {e}", reader.buffer_position()))?;
        match event {
            Event::Start(start) => {
                if root.is_some() {
                    return Err("content after the root element".into());
                }
                if stack.len() >= MAX_DEPTH {
                    return Err("elements nested too deeply".into());
                }
                let name = String::from_utf8_lossy(start.name().as_ref()).into_owned();
                stack.push(Element {
                    name,
                    ..Element::default()
                });
            }
            Event::Empty(start) => {
                let name = String::from_utf8_lossy(start.name().as_ref()).into_owned();
                let elem = Element {
                    name,
                    ..Element::default()
                };
                match stack.last_mut() {
                    Some(parent) => parent.children.push(elem),
                    None if root.is_none() => root = Some(elem),
                    None => return Err("content after the root element".into()),
                }
            }
            Event::End(_) => {
                let elem = stack.pop().ok_or("unbalanced end tag")?;
                match stack.last_mut() {
                    Some(parent) => parent.children.push(elem),
                    None => root = Some(elem),
                }
            }
            Event::Text(t) => {
                let s = t.unescape().map_err(|e| format!("bad text: {e}"))?;
                match stack.last_mut() {
                    Some(parent) => parent.text.push_str(&s),
                    None if s.trim().is_empty() => {}
                    None => return Err("text outside the root element".into()),
                }
            }
            Event::CData(c) => {
                let s = String::from_utf8_lossy(&c.into_inner()).into_owned();
                match stack.last_mut() {
                    Some(parent) => parent.text.push_str(&s),
                    None => return Err("CDATA outside the root element".into()),
                }
            }
            Event::Eof => break,
            Event::Decl(_) | Event::Comment(_) | Event::PI(_) | Event::DocType(_) => {}
        }
    }
    if !stack.is_empty() {
        return Err("document ends inside an element".into());
    }
    root.ok_or_else(|| "no root element".into())
}

/// Parses a `<methodCall>` document.
pub fn parse_call(data: &[u8]) -> Result<MethodCall, String> {
    let root = parse_tree(data)?;
    if root.name != "methodCall" {
        return Err(format!("root element is <{}>, not <methodCall>", root.name));
    }
    let mut call = MethodCall {
        name: String::new(),
        params: Vec::new(),
    };
    for child in &root.children {
        match child.name.as_str() {
            "methodName" => call.name = child.text.clone(),
            "params" => call.params = parse_params(child)?,
            _ => {}
        }
    }
    Ok(call)
}

/// Parses a `<methodResponse>` document.
pub fn parse_response(data: &[u8]) -> Result<Response, String> {
    let root = parse_tree(data)?;
    if root.name != "methodResponse" {
        return Err(format!(
            "root element is <{}>, not <methodResponse>",
            root.name
        ));
    }
    for child in &root.children {
        match child.name.as_str() {
            "params" => {
                let mut params = parse_params(child)?;
                if params.len() != 1 {
                    return Err(format!("response has {} params, expected 1", params.len()));
                }
                return Ok(Response::Value(params.remove(0)));
            }
            "fault" => {
                let value = child.children.first().ok_or("empty <fault>")?;
                let value = parse_value(value)?;
                let code = value
                    .get("faultCode")
                    .and_then(Value::as_int)
                    .ok_or("fault without faultCode")?;
                let string = value
                    .get("faultString")
                    .and_then(Value::as_str)
                    .unwrap_or("")
                    .to_string();
                return Ok(Response::Fault { code, string });
            }
            _ => {}
        }
    }
    Err("response has neither <params> nor <fault>".into())
}

fn parse_params(params: &Element) -> Result<Vec<Value>, String> {
    let mut out = Vec::new();
    for param in &params.children {
        if param.name != "param" {
            return Err(format!("unexpected <{}> in <params>", param.name));
        }
        let value = param.children.first().ok_or("empty <param>")?;
        out.push(parse_value(value)?);
    }
    Ok(out)
}

fn parse_value(elem: &Element) -> Result<Value, String> {
    if elem.name != "value" {
        return Err(format!("expected <value>, found <{}>", elem.name));
    }
    let Some(typed) = elem.children.first() else {
        // An untyped value is a string.
        return Ok(Value::Str(elem.text.clone()));
    };
    let text = typed.text.as_str();
    match typed.name.as_str() {
        "int" | "i4" | "i8" => text
            .trim()
            .parse::<i64>()
            .map(Value::Int)
            .map_err(|_| format!("bad integer {text:?}")),
        "boolean" => match text.trim() {
            "1" => Ok(Value::Bool(true)),
            "0" => Ok(Value::Bool(false)),
            other => Err(format!("bad boolean {other:?}")),
        },
        "string" => Ok(Value::Str(text.to_string())),
        "double" => text
            .trim()
            .parse::<f64>()
            .map(Value::Double)
            .map_err(|_| format!("bad double {text:?}")),
        "dateTime.iso8601" => Ok(Value::DateTime(text.trim().to_string())),
        "base64" => super::base64::decode(text)
            .map(Value::Base64)
            .ok_or_else(|| "bad base64".to_string()),
        "nil" => Ok(Value::Nil),
        "array" => {
            let data = typed.children.first().ok_or("<array> without <data>")?;
            if data.name != "data" {
                return Err(format!("expected <data>, found <{}>", data.name));
            }
            data.children
                .iter()
                .map(parse_value)
                .collect::<Result<Vec<_>, _>>()
                .map(Value::Array)
        }
        "struct" => {
            let mut members = Vec::with_capacity(typed.children.len());
            for member in &typed.children {
                if member.name != "member" {
                    return Err(format!("unexpected <{}> in <struct>", member.name));
                }
                let name = member
                    .children
                    .iter()
                    .find(|c| c.name == "name")
                    .ok_or("member without <name>")?;
                let value = member
                    .children
                    .iter()
                    .find(|c| c.name == "value")
                    .ok_or("member without <value>")?;
                members.push((name.text.clone(), parse_value(value)?));
            }
            Ok(Value::Struct(members))
        }
        other => Err(format!("unknown value type <{other}>")),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn fault_matches_python_bytes() {
        let expected = "<?xml version='1.0'?>\n<methodResponse>\n<fault>\n<value><struct>\n<member>\n<name>faultCode</name>\n<value><int>10</int></value>\n</member>\n<member>\n<name>faultString</name>\n<value><string>BAD_NAME: nosuch</string></value>\n</member>\n</struct></value>\n</fault>\n</methodResponse>\n";
        assert_eq!(dumps_fault(10, "BAD_NAME: nosuch"), expected);
    }

    #[test]
    fn response_matches_python_bytes() {
        // python3 -c "import xmlrpc.client as x; print(x.dumps(([1, True, 'a<b', {'k': []}],), methodresponse=True), end='')"
        let v = Value::Array(vec![
            Value::Int(1),
            Value::Bool(true),
            Value::str("a<b"),
            Value::Struct(vec![("k".into(), Value::Array(vec![]))]),
        ]);
        let expected = "<?xml version='1.0'?>\n<methodResponse>\n<params>\n<param>\n<value><array><data>\n<value><int>1</int></value>\n<value><boolean>1</boolean></value>\n<value><string>a&lt;b</string></value>\n<value><struct>\n<member>\n<name>k</name>\n<value><array><data>\n</data></array></value>\n</member>\n</struct></value>\n</data></array></value>\n</param>\n</params>\n</methodResponse>\n";
        assert_eq!(dumps_response(&v), expected);
    }

    #[test]
    fn call_matches_python_bytes() {
        // python3 -c "import xmlrpc.client as x; print(x.dumps(('foo', 0), 'supervisor.startProcess'), end='')"
        let expected = "<?xml version='1.0'?>\n<methodCall>\n<methodName>supervisor.startProcess</methodName>\n<params>\n<param>\n<value><string>foo</string></value>\n</param>\n<param>\n<value><int>0</int></value>\n</param>\n</params>\n</methodCall>\n";
        assert_eq!(
            dumps_call(
                "supervisor.startProcess",
                &[Value::str("foo"), Value::Int(0)]
            ),
            expected
        );
    }

    #[test]
    fn round_trips() {
        let v = Value::Struct(vec![
            ("a".into(), Value::Int(-5)),
            ("b".into(), Value::str("x & y\n  z")),
            (
                "c".into(),
                Value::Array(vec![Value::Bool(false), Value::Double(1.5), Value::Nil]),
            ),
            ("d".into(), Value::Base64(b"hello\x00world".to_vec())),
            ("e".into(), Value::str("")),
        ]);
        let doc = dumps_response(&v);
        assert_eq!(
            parse_response(doc.as_bytes()).unwrap(),
            Response::Value(v.clone())
        );
        let call = dumps_call("system.multicall", std::slice::from_ref(&v));
        let parsed = parse_call(call.as_bytes()).unwrap();
        assert_eq!(
            parsed,
            MethodCall {
                name: "system.multicall".into(),
                params: vec![v]
            }
        );
        let fault = dumps_fault(6, "SHUTDOWN_STATE");
        assert_eq!(
            parse_response(fault.as_bytes()).unwrap(),
            Response::Fault {
                code: 6,
                string: "SHUTDOWN_STATE".into()
            }
        );
    }

    #[test]
    fn untyped_value_is_string_and_entities_decode() {
        let doc = b"<?xml version='1.0'?><methodCall><methodName>a.b</methodName><params><param><value>long &amp; &#65;</value></param></params></methodCall>";
        let call = parse_call(doc).unwrap();
        assert_eq!(call.params, vec![Value::str("long & A")]);
    }

    #[test]
    fn missing_params_and_empty_name() {
        let call = parse_call(b"<methodCall><methodName>x.y</methodName></methodCall>").unwrap();
        assert!(call.params.is_empty());
        let call = parse_call(b"<methodCall></methodCall>").unwrap();
        assert_eq!(call.name, "");
    }

    #[test]
    fn malformed_documents_are_errors() {
        for bad in [
            &b"not xml"[..],
            b"<methodCall><methodName>x</methodCall>",
            b"<methodCall>",
            b"<methodCall><params><param><value><int>abc</int></value></param></params></methodCall>",
            b"<methodCall><params><param><value><boolean>2</boolean></value></param></params></methodCall>",
            b"<methodCall><params><param><value><bogus/></value></param></params></methodCall>",
            b"<other/>",
            b"\xff\xfe",
        ] {
            assert!(parse_call(bad).is_err(), "{:?}", String::from_utf8_lossy(bad));
        }
    }

    #[test]
    fn deep_nesting_is_refused() {
        let mut doc = String::from("<methodCall><params><param>");
        for _ in 0..200 {
            doc.push_str("<value><array><data>");
        }
        assert!(parse_call(doc.as_bytes()).is_err());
    }

    /// Mangled documents (bytes flipped, cut, duplicated) never panic the parser.
    #[test]
    fn mangled_input_never_panics() {
        let base = dumps_call(
            "system.multicall",
            &[Value::Array(vec![Value::Struct(vec![
                ("methodName".into(), Value::str("supervisor.getProcessInfo")),
                (
                    "params".into(),
                    Value::Array(vec![Value::str("a&b"), Value::Int(3), Value::Bool(true)]),
                ),
            ])])],
        )
        .into_bytes();
        let mut seed: u64 = 0x9E37_79B9_7F4A_7C15;
        let mut next = || {
            seed ^= seed << 13;
            seed ^= seed >> 7;
            seed ^= seed << 17;
            seed
        };
        for _ in 0..5000 {
            let mut doc = base.clone();
            for _ in 0..(next() % 6 + 1) {
                let i = (next() as usize) % doc.len();
                match next() % 4 {
                    0 => doc[i] = (next() % 256) as u8,
                    1 => doc.truncate(i.max(1)),
                    2 => {
                        let piece = doc[i..].to_vec();
                        doc.extend_from_slice(&piece[..piece.len().min(40)]);
                    }
                    _ => {
                        doc.remove(i);
                    }
                }
                if doc.is_empty() {
                    doc.push(b'<');
                }
            }
            let _ = parse_call(&doc);
            let _ = parse_response(&doc);
        }
    }
}
