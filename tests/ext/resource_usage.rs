//! Resource usage through every door of a real supervisord: the XML-RPC extension methods,
//! `status --json`, `supervisorctl top -b`, `/metrics`, and the dashboard's JSON endpoints
//! (behind Basic auth, actions only with their header).

use std::io::{Read, Write};
use std::net::TcpStream;
use std::process::Command;
use std::time::Duration;

use crate::support::daemon::*;
use crate::support::wait::wait_for;
use supervisor_rs::ctl::protocol::xmlrpc::{dumps_call, parse_response, Response, Value};

const SUPERVISORCTL: &str = env!("CARGO_BIN_EXE_supervisorctl");
/// `user:secret` in base64.
const AUTH: &str = "dXNlcjpzZWNyZXQ=";

fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .map(|a| a.port())
        .expect("a free port")
}

fn ctl(sup: &Sup, args: &[&str]) -> (i32, String) {
    let out = Command::new(SUPERVISORCTL)
        .arg("-c")
        .arg(sup.dir.join("sd.conf"))
        .args(args)
        .output()
        .expect("run supervisorctl");
    let mut text = String::from_utf8_lossy(&out.stdout).into_owned();
    text.push_str(&String::from_utf8_lossy(&out.stderr));
    (out.status.code().unwrap_or(-1), text)
}

/// One HTTP/1.0 request over TCP; (status, body).
fn http(port: u16, head: &str, body: &str) -> (u16, String) {
    let mut s = TcpStream::connect(("127.0.0.1", port)).expect("connect");
    s.set_read_timeout(Some(Duration::from_secs(10))).unwrap();
    write!(s, "{head}Content-Length: {}\r\n\r\n{body}", body.len()).unwrap();
    let mut resp = String::new();
    let _ = s.read_to_string(&mut resp);
    let code = resp
        .split_whitespace()
        .nth(1)
        .and_then(|c| c.parse().ok())
        .unwrap_or(0);
    let body = resp.split_once("\r\n\r\n").map(|(_, b)| b.to_string());
    (code, body.unwrap_or_default())
}

fn rpc(port: u16, method: &str, params: &[Value]) -> Response {
    let head =
        format!("POST /RPC2 HTTP/1.0\r\nAuthorization: Basic {AUTH}\r\nContent-Type: text/xml\r\n");
    let (code, body) = http(port, &head, &dumps_call(method, params));
    assert_eq!(code, 200, "{body}");
    parse_response(body.as_bytes()).expect("an XML-RPC answer")
}

fn int(v: &Value, key: &str) -> i64 {
    v.get(key).and_then(Value::as_int).unwrap_or(-99)
}

fn start(tag: &str) -> (Sup, u16) {
    let port = free_port();
    let conf = format!(
        "[unix_http_server]\nfile={{dir}}/sd.sock\n\n\
         [inet_http_server]\nport=127.0.0.1:{port}\nusername=user\npassword=secret\n\n\
         [rpcinterface:supervisor]\n\
         supervisor.rpcinterface_factory = supervisor.rpcinterface:make_main_rpcinterface\n\n\
         [supervisorctl]\nserverurl=unix://{{dir}}/sd.sock\n\n\
         [program:tree]\ncommand=sh -c 'sleep 1000 & sleep 1000 & wait'\nstartsecs=0\n\n\
         [program:idle]\ncommand=sleep 1000\nautostart=false\n"
    );
    let sup = Sup::start(tag, &conf);
    assert!(
        wait_for(10.0, || ctl(&sup, &["status", "tree"])
            .1
            .contains("RUNNING")),
        "{}",
        sup.log()
    );
    (sup, port)
}

#[test]
fn usage_over_rpc_status_json_top_and_metrics() {
    let (sup, port) = start("usage");
    // The tree is the shell and its two sleeps.
    let tree = || match rpc(port, "supervisor.getProcessUsage", &[Value::str("tree")]) {
        Response::Value(v) => v,
        Response::Fault { code, string } => panic!("fault {code} {string}"),
    };
    assert!(
        wait_for(5.0, || int(&tree(), "processes") == 3),
        "{:?}",
        tree()
    );
    let u = tree();
    assert!(int(&u, "rss") > 0 && int(&u, "pss") > 0, "{u:?}");
    assert!(int(&u, "threads") >= 3 && int(&u, "fds") >= 3, "{u:?}");
    assert!(matches!(u.get("cpu_percent"), Some(Value::Double(p)) if *p >= 0.0));
    assert_eq!(int(&u, "restarts"), 0);
    match rpc(port, "supervisor.getProcessUsage", &[Value::str("nosuch")]) {
        Response::Fault { code, .. } => assert_eq!(code, 10),
        other => panic!("{other:?}"),
    }
    let Response::Value(Value::Array(all)) = rpc(port, "supervisor.getAllProcessUsage", &[]) else {
        panic!("no array")
    };
    assert_eq!(all.len(), 2);
    assert_eq!((int(&all[0], "pid"), int(&all[0], "rss")), (0, 0)); // idle, stopped

    let (code, json) = ctl(&sup, &["status", "--json", "tree"]);
    assert_eq!(code, 0, "{json}");
    assert!(
        json.contains("\"usage\": {\"processes\": 3, \"rss\": "),
        "{json}"
    );

    let (code, top) = ctl(&sup, &["top", "-b", "-s", "mem"]);
    assert_eq!(code, 0, "{top}");
    let lines: Vec<&str> = top.lines().collect();
    assert!(lines[0].starts_with("2 processes, 1 running"), "{top}");
    assert!(lines[2].starts_with("NAME "), "{top}");
    assert!(
        lines[3].starts_with("tree ") && lines[3].contains(" RUNNING "),
        "{top}"
    );
    assert!(
        lines[4].starts_with("idle ") && lines[4].contains(" STOPPED "),
        "{top}"
    );

    let head = format!("GET /metrics HTTP/1.0\r\nAuthorization: Basic {AUTH}\r\n");
    let (code, metrics) = http(port, &head, "");
    assert_eq!(code, 200);
    for family in [
        "supervisord_process_resident_memory_bytes{group=\"tree\",name=\"tree\"} ",
        "supervisord_process_cpu_seconds_total{group=\"tree\",name=\"tree\"} ",
        "supervisord_process_tree_processes{group=\"tree\",name=\"tree\"} 3",
        "# TYPE supervisord_process_cpu_seconds_total counter",
    ] {
        assert!(metrics.contains(family), "{family} missing from\n{metrics}");
    }
    assert!(!metrics.contains("resident_memory_bytes{group=\"idle\""));
}

#[test]
fn dashboard_endpoints_keep_auth_and_need_the_action_header() {
    let (sup, port) = start("dashapi");
    let (code, _) = http(port, "GET /api/status HTTP/1.0\r\n", "");
    assert_eq!(code, 401);
    let auth = format!("Authorization: Basic {AUTH}\r\n");
    let (code, body) = http(port, &format!("GET /api/status HTTP/1.0\r\n{auth}"), "");
    assert_eq!(code, 200, "{body}");
    assert!(body.starts_with("{\"identification\": \"supervisor\", \"statename\": \"RUNNING\""));
    assert!(
        body.contains("\"namespec\": \"tree\"") && body.contains("\"rss\": "),
        "{body}"
    );
    let stop = "POST /api/action?action=stop&name=tree HTTP/1.0\r\n";
    let (code, body) = http(port, &format!("{stop}{auth}"), "");
    assert_eq!(code, 403, "{body}");
    assert!(ctl(&sup, &["status", "tree"]).1.contains("RUNNING"));
    let (code, body) = http(port, &format!("{stop}{auth}X-Supervisor-Action: 1\r\n"), "");
    assert_eq!(code, 200);
    assert_eq!(
        body,
        "{\"ok\": true, \"message\": \"Process tree stopped\"}"
    );
    assert!(ctl(&sup, &["status", "tree"]).1.contains("STOPPED"));
    // The page is the server-rendered table plus the inline script.
    let (code, page) = http(port, &format!("GET / HTTP/1.0\r\n{auth}"), "");
    assert_eq!(code, 200);
    assert!(page.contains("index.html?processname=tree&amp;action=start"));
    assert!(page.contains("<script>") && page.contains("api/status"));
    let (code, _) = http(port, &format!("GET /api/action HTTP/1.0\r\n{auth}"), "");
    assert_eq!(code, 405);
}
