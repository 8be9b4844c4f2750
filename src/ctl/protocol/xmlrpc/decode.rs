//! The XML-RPC decoder: one pass over quick-xml's events straight into [`Value`]s, with a
//! stack of the elements open (at most `MAX_DEPTH`). Elements XML-RPC does not use are
//! skipped without being stored, and what is built is charged against `DECODE_FACTOR` times
//! the document's size, so a hostile document (millions of empty elements, huge arrays of
//! empty values) costs a small multiple of its own size, never more.

use quick_xml::events::Event;
use quick_xml::Reader;

use super::{MethodCall, Response, Value};

/// Deepest element nesting accepted in a document (bounds the stack on hostile input).
const MAX_DEPTH: usize = 64;

/// What decoding may build, as a multiple of the document's size (plus a little slack).
pub const DECODE_FACTOR: usize = 3;

/// What one decoded value is charged: the value and its share of the list holding it.
pub(super) const VALUE_COST: usize = 2 * std::mem::size_of::<Value>();

#[derive(Clone, Copy, PartialEq)]
enum Doc {
    Call,
    Response,
}

#[derive(Clone, Copy)]
pub(super) enum Scalar {
    Int,
    Bool,
    Str,
    Double,
    DateTime,
    Base64,
    Nil,
}

/// An open element and what it has gathered so far.
enum Frame {
    Root,
    MethodName(String),
    Params(Vec<Value>),
    /// `<param>` and `<fault>`: their first child is the value.
    Holder {
        fault: bool,
        value: Option<Value>,
        seen: bool,
    },
    Value {
        text: String,
        typed: Option<Value>,
        seen: bool,
    },
    Scalar(Scalar, String),
    Array {
        items: Option<Vec<Value>>,
        seen: bool,
    },
    Data(Vec<Value>),
    Struct(Vec<(String, Value)>),
    Member {
        name: Option<String>,
        value: Option<Value>,
    },
    MemberName(String),
    /// An element XML-RPC ignores here: its text and children are dropped.
    Skip,
}

struct Decoder {
    doc: Doc,
    stack: Vec<Frame>,
    root_done: bool,
    name: String,
    params: Option<Vec<Value>>,
    response: Option<Response>,
    cost: usize,
    budget: usize,
}

type Res<T> = Result<T, String>;

pub fn parse_call(data: &[u8]) -> Res<MethodCall> {
    let d = run(data, Doc::Call)?;
    Ok(MethodCall {
        name: d.name,
        params: d.params.unwrap_or_default(),
    })
}

/// An answer: the canonical layout through the fast path, anything else (and every error)
/// through the general decoder.
pub fn parse_response(data: &[u8]) -> Res<Response> {
    let fast = std::str::from_utf8(data)
        .ok()
        .and_then(super::fast::parse_response);
    match fast {
        Some(response) => Ok(response),
        None => parse_response_general(data),
    }
}

/// An answer through the general decoder only (the reference the fast path is tested against).
pub fn parse_response_general(data: &[u8]) -> Res<Response> {
    run(data, Doc::Response)?
        .response
        .ok_or_else(|| "response has neither <params> nor <fault>".into())
}

fn run(data: &[u8], doc: Doc) -> Res<Decoder> {
    let text = std::str::from_utf8(data).map_err(|e| format!("not UTF-8: {e}"))?;
    let mut reader = Reader::from_str(text);
    reader.config_mut().check_end_names = true;
    let mut d = Decoder {
        doc,
        stack: Vec::new(),
        root_done: false,
        name: String::new(),
        params: None,
        response: None,
        cost: 0,
        budget: data.len().saturating_mul(DECODE_FACTOR) + 4096,
    };
    loop {
        let event = reader
            .read_event()
            .map_err(|e| format!("at byte {}: {e}", reader.buffer_position()))?;
        match event {
            Event::Start(e) => d.start(e.name().as_ref())?,
            Event::Empty(e) => {
                d.start(e.name().as_ref())?;
                d.end()?;
            }
            Event::End(_) => d.end()?,
            Event::Text(t) => {
                let s = t.unescape().map_err(|e| format!("bad text: {e}"))?;
                d.text(&s, false)?;
            }
            Event::CData(c) => d.text(&String::from_utf8_lossy(&c.into_inner()), true)?,
            Event::Eof => break,
            Event::Decl(_) | Event::Comment(_) | Event::PI(_) | Event::DocType(_) => {}
        }
    }
    if !d.stack.is_empty() {
        return Err("document ends inside an element".into());
    }
    if !d.root_done {
        return Err("no root element".into());
    }
    Ok(d)
}

fn name_str(name: &[u8]) -> String {
    String::from_utf8_lossy(name).into_owned()
}

fn scalar(name: &[u8]) -> Option<Scalar> {
    Some(match name {
        b"int" | b"i4" | b"i8" => Scalar::Int,
        b"boolean" => Scalar::Bool,
        b"string" => Scalar::Str,
        b"double" => Scalar::Double,
        b"dateTime.iso8601" => Scalar::DateTime,
        b"base64" => Scalar::Base64,
        b"nil" => Scalar::Nil,
        _ => return None,
    })
}

impl Decoder {
    fn charge(&mut self, bytes: usize) -> Res<()> {
        self.cost = self.cost.saturating_add(bytes);
        if self.cost > self.budget {
            return Err("the document decodes to too much data".into());
        }
        Ok(())
    }

    fn start(&mut self, name: &[u8]) -> Res<()> {
        if self.stack.len() >= MAX_DEPTH {
            return Err("elements nested too deeply".into());
        }
        let frame = self.child_frame(name)?;
        self.stack.push(frame);
        Ok(())
    }

    /// The frame for a child element `name` of the innermost open element.
    fn child_frame(&mut self, name: &[u8]) -> Res<Frame> {
        let doc = self.doc;
        let answered = self.response.is_some();
        let Some(top) = self.stack.last_mut() else {
            if self.root_done {
                return Err("content after the root element".into());
            }
            let want: &[u8] = match doc {
                Doc::Call => b"methodCall",
                Doc::Response => b"methodResponse",
            };
            if name != want {
                let want = name_str(want);
                return Err(format!(
                    "root element is <{}>, not <{want}>",
                    name_str(name)
                ));
            }
            return Ok(Frame::Root);
        };
        Ok(match top {
            Frame::Root => match (doc, name) {
                (Doc::Call, b"methodName") => Frame::MethodName(String::new()),
                (Doc::Call, b"params") => Frame::Params(Vec::new()),
                (Doc::Response, _) if answered => Frame::Skip,
                (Doc::Response, b"params") => Frame::Params(Vec::new()),
                (Doc::Response, b"fault") => Frame::Holder {
                    fault: true,
                    value: None,
                    seen: false,
                },
                _ => Frame::Skip,
            },
            Frame::Params(_) if name == b"param" => Frame::Holder {
                fault: false,
                value: None,
                seen: false,
            },
            Frame::Params(_) => return Err(format!("unexpected <{}> in <params>", name_str(name))),
            Frame::Holder { seen, .. } | Frame::Array { seen, .. } if *seen => Frame::Skip,
            Frame::Holder { seen, .. } => {
                *seen = true;
                expect(name, b"value")?;
                new_value()
            }
            Frame::Value { seen: true, .. } => Frame::Skip,
            Frame::Value { seen, text, .. } => {
                *seen = true;
                // Text around a typed child is layout, not a value.
                *text = String::new();
                match name {
                    b"array" => Frame::Array {
                        items: None,
                        seen: false,
                    },
                    b"struct" => Frame::Struct(Vec::new()),
                    _ => match scalar(name) {
                        Some(kind) => Frame::Scalar(kind, String::new()),
                        None => return Err(format!("unknown value type <{}>", name_str(name))),
                    },
                }
            }
            Frame::Array { seen, .. } => {
                *seen = true;
                if name != b"data" {
                    return Err(format!("expected <data>, found <{}>", name_str(name)));
                }
                Frame::Data(Vec::new())
            }
            Frame::Data(_) => {
                expect(name, b"value")?;
                new_value()
            }
            Frame::Struct(_) if name == b"member" => Frame::Member {
                name: None,
                value: None,
            },
            Frame::Struct(_) => {
                return Err(format!("unexpected <{}> in <struct>", name_str(name)));
            }
            Frame::Member { name: None, .. } if name == b"name" => Frame::MemberName(String::new()),
            Frame::Member { value: None, .. } if name == b"value" => new_value(),
            Frame::Member { .. }
            | Frame::MethodName(_)
            | Frame::Scalar(..)
            | Frame::MemberName(_)
            | Frame::Skip => Frame::Skip,
        })
    }

    fn text(&mut self, s: &str, cdata: bool) -> Res<()> {
        let grow = match self.stack.last_mut() {
            None if !cdata && s.trim().is_empty() => return Ok(()),
            None if cdata => return Err("CDATA outside the root element".into()),
            None => return Err("text outside the root element".into()),
            Some(Frame::MethodName(t))
            | Some(Frame::Value {
                text: t,
                seen: false,
                ..
            })
            | Some(Frame::Scalar(_, t))
            | Some(Frame::MemberName(t)) => {
                t.push_str(s);
                s.len()
            }
            Some(_) => 0,
        };
        self.charge(grow)
    }

    fn end(&mut self) -> Res<()> {
        let frame = self.stack.pop().ok_or("unbalanced end tag")?;
        match frame {
            Frame::Root => self.root_done = true,
            Frame::MethodName(text) => self.name = text,
            Frame::Params(values) => self.params_done(values)?,
            Frame::Holder { fault, value, .. } => {
                let what = if fault {
                    "empty <fault>"
                } else {
                    "empty <param>"
                };
                let value = value.ok_or(what)?;
                if fault {
                    self.response = Some(fault_of(&value)?);
                } else if let Some(Frame::Params(values)) = self.stack.last_mut() {
                    values.push(value);
                }
            }
            Frame::Value { text, typed, .. } => {
                self.charge(VALUE_COST)?;
                self.deliver(typed.unwrap_or(Value::Str(text)));
            }
            Frame::Scalar(kind, text) => {
                let v = scalar_value(kind, text)?;
                self.set_typed(v);
            }
            Frame::Array { items, .. } => {
                let items = items.ok_or("<array> without <data>")?;
                self.set_typed(Value::Array(items));
            }
            Frame::Data(mut items) => {
                items.shrink_to_fit();
                if let Some(Frame::Array { items: slot, .. }) = self.stack.last_mut() {
                    *slot = Some(items);
                }
            }
            Frame::Struct(mut members) => {
                members.shrink_to_fit();
                self.set_typed(Value::Struct(members));
            }
            Frame::Member { name, value } => {
                let name = name.ok_or("member without <name>")?;
                let value = value.ok_or("member without <value>")?;
                self.charge(std::mem::size_of::<String>())?;
                if let Some(Frame::Struct(members)) = self.stack.last_mut() {
                    members.push((name, value));
                }
            }
            Frame::MemberName(text) => {
                if let Some(Frame::Member { name, .. }) = self.stack.last_mut() {
                    *name = Some(text);
                }
            }
            Frame::Skip => {}
        }
        Ok(())
    }

    fn params_done(&mut self, mut values: Vec<Value>) -> Res<()> {
        match self.doc {
            Doc::Call => self.params = Some(values),
            Doc::Response => {
                if values.len() != 1 {
                    return Err(format!("response has {} params, expected 1", values.len()));
                }
                self.response = Some(Response::Value(values.remove(0)));
            }
        }
        Ok(())
    }

    /// Hands a finished `<value>` to the element holding it.
    fn deliver(&mut self, v: Value) {
        match self.stack.last_mut() {
            Some(Frame::Holder { value, .. }) | Some(Frame::Member { value, .. }) => {
                *value = Some(v)
            }
            Some(Frame::Data(items)) => items.push(v),
            _ => {}
        }
    }

    fn set_typed(&mut self, v: Value) {
        if let Some(Frame::Value { typed, .. }) = self.stack.last_mut() {
            *typed = Some(v);
        }
    }
}

fn new_value() -> Frame {
    Frame::Value {
        text: String::new(),
        typed: None,
        seen: false,
    }
}

fn expect(name: &[u8], want: &[u8]) -> Res<()> {
    if name == want {
        Ok(())
    } else {
        Err(format!(
            "expected <{}>, found <{}>",
            name_str(want),
            name_str(name)
        ))
    }
}

pub(super) fn scalar_value(kind: Scalar, text: String) -> Res<Value> {
    match kind {
        Scalar::Int => text
            .trim()
            .parse::<i64>()
            .map(Value::Int)
            .map_err(|_| format!("bad integer {text:?}")),
        Scalar::Bool => match text.trim() {
            "1" => Ok(Value::Bool(true)),
            "0" => Ok(Value::Bool(false)),
            other => Err(format!("bad boolean {other:?}")),
        },
        Scalar::Str => Ok(Value::Str(text)),
        Scalar::Double => text
            .trim()
            .parse::<f64>()
            .map(Value::Double)
            .map_err(|_| format!("bad double {text:?}")),
        Scalar::DateTime => Ok(Value::DateTime(text.trim().to_string())),
        Scalar::Base64 => crate::ctl::protocol::base64::decode(&text)
            .map(Value::Base64)
            .ok_or_else(|| "bad base64".to_string()),
        Scalar::Nil => Ok(Value::Nil),
    }
}

pub(super) fn fault_of(value: &Value) -> Res<Response> {
    let code = value
        .get("faultCode")
        .and_then(Value::as_int)
        .ok_or("fault without faultCode")?;
    let string = value
        .get("faultString")
        .and_then(Value::as_str)
        .unwrap_or("")
        .to_string();
    Ok(Response::Fault { code, string })
}
