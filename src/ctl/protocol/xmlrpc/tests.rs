//! Byte-exact serialization against Python, round trips, and hostile documents.

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
fn unused_elements_cost_nothing_and_empty_values_are_bounded() {
    // 2 M unused elements: skipped, nothing stored.
    let mut doc = String::from("<methodCall><methodName>a.b</methodName>");
    doc.push_str(&"<a/>".repeat(2 << 20));
    doc.push_str("</methodCall>");
    assert_eq!(parse_call(doc.as_bytes()).unwrap().name, "a.b");
    // 1 M empty values would build 32 MB from 8 MB: refused.
    let mut doc = String::from("<methodCall><params><param><value><array><data>");
    doc.push_str(&"<value/>".repeat(1 << 20));
    doc.push_str("</data></array></value></param></params></methodCall>");
    let err = parse_call(doc.as_bytes()).unwrap_err();
    assert!(err.contains("too much"), "{err}");
    // A large string is fine: it costs its own size.
    let big = "x".repeat(4 << 20);
    let doc = dumps_call("a.b", &[Value::str(big.as_str())]);
    assert_eq!(
        parse_call(doc.as_bytes()).unwrap().params,
        [Value::Str(big)]
    );
}

#[test]
fn encoded_len_is_an_upper_bound() {
    let v = Value::Struct(vec![
        ("a&<>".into(), Value::Int(-5)),
        ("b".into(), Value::str("x & y < z")),
        (
            "c".into(),
            Value::Array(vec![Value::Bool(false), Value::Double(1e300), Value::Nil]),
        ),
        ("d".into(), Value::Base64(vec![7; 1000])),
        ("e".into(), Value::DateTime("20260101T00:00:00".into())),
    ]);
    let real = dumps_response(&v).len();
    let est = encoded_len(&v);
    assert!(est >= real - 120 && est <= real * 2, "{est} vs {real}");
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
    let mut next = crate::util::xorshift(0x9E37_79B9_7F4A_7C15);
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

/// The fast path of `parse_response` answers exactly as the general decoder does: same value,
/// same fault, same error, on canonical documents and on mangled ones.
#[test]
fn fast_path_agrees_with_the_general_decoder() {
    let rows: Vec<Value> = (0..3)
        .map(|i| {
            Value::Struct(vec![
                ("name".into(), Value::str(format!("p{i} & <q>"))),
                ("pid".into(), Value::Int(-i)),
                ("ok".into(), Value::Bool(i % 2 == 0)),
                ("load".into(), Value::Double(0.5)),
                ("when".into(), Value::DateTime("20260101T00:00:00".into())),
                ("blob".into(), Value::Base64(vec![1, 2, 3])),
                ("none".into(), Value::Nil),
                ("empty".into(), Value::str("")),
                ("list".into(), Value::Array(vec![Value::Nil, Value::Int(7)])),
            ])
        })
        .collect();
    let bases = [
        dumps_response(&Value::Array(rows)),
        dumps_fault(10, "BAD_NAME: a&b"),
        dumps_response(&Value::str("x")),
    ];
    let mut next = crate::util::xorshift(0x2545_F491_4F6C_DD1D);
    let pieces = [
        "&amp;",
        "&#65;",
        "&quot;",
        "\r",
        ">",
        " ",
        "\n",
        "<nil/>",
        "<value>",
        "</value>",
        "]]>",
        "<!-- c -->",
        "<![CDATA[x]]>",
        "<i4>1</i4>",
        " 5",
        "+5",
        "-0",
        "9999999999999999999",
    ];
    for base in &bases {
        assert_eq!(
            parse_response(base.as_bytes()),
            parse_response_general(base.as_bytes())
        );
        for _ in 0..4000 {
            let mut doc = base.clone().into_bytes();
            for _ in 0..(next() % 3 + 1) {
                let i = (next() as usize) % doc.len();
                match next() % 4 {
                    0 => doc[i] = (next() % 128) as u8,
                    1 => {
                        doc.remove(i);
                    }
                    2 => {
                        let p = pieces[(next() as usize) % pieces.len()];
                        doc.splice(i..i, p.bytes());
                    }
                    _ => doc.truncate(i.max(1)),
                }
                if doc.is_empty() {
                    doc.push(b'<');
                }
            }
            assert_eq!(
                parse_response(&doc),
                parse_response_general(&doc),
                "{:?}",
                String::from_utf8_lossy(&doc)
            );
        }
    }
}

#[test]
fn fast_path_keeps_the_bounds() {
    // Deep nesting and the decode budget are the general decoder's verdicts.
    let mut v = Value::Int(1);
    for _ in 0..70 {
        v = Value::Array(vec![v]);
    }
    let doc = dumps_response(&v);
    assert_eq!(
        parse_response(doc.as_bytes()),
        parse_response_general(doc.as_bytes())
    );
    assert!(parse_response(doc.as_bytes()).is_err());
    let nils = dumps_response(&Value::Array(vec![Value::Nil; 1 << 16]));
    let err = parse_response(nils.as_bytes()).unwrap_err();
    assert!(err.contains("too much"), "{err}");
}
