//! The small HTML status page Supervisor serves at `/` (`index.html`), its actions
//! (`?action=start|stop|restart|clearlog|refresh|stopall|restartall&processname=...`), the
//! `tail.html` page and `ok.html`. Self-contained (inline style, no images); actions go through
//! the same XML-RPC handlers as remote clients.

use super::protocol::faults;
use super::protocol::Value;
use super::protocol::{make_namespec, SUPERVISOR_VERSION};
use super::rpc::Rpc;

/// What to answer: a page, or a redirect carrying a message.
pub enum Page {
    Html(String),
    Text(String),
    Redirect(String),
    NotFound,
}

/// Handles `GET|POST <path>?<query>` for the UI paths; `NotFound` for any other path.
pub fn handle(rpc: &Rpc, path: &str, query: &str, form_body: &[u8]) -> Page {
    let mut form = parse_query(query);
    // POSTed form fields complement the query string.
    for (k, v) in parse_query(&String::from_utf8_lossy(form_body)) {
        if !form.iter().any(|(fk, _)| *fk == k) {
            form.push((k, v));
        }
    }
    let get = |k: &str| form.iter().find(|(fk, _)| fk == k).map(|(_, v)| v.clone());
    match path.trim_start_matches('/') {
        "" | "index.html" => {
            if let Some(action) = get("action") {
                let message = run_action(rpc, &action, get("processname").as_deref());
                return Page::Redirect(format!("/?message={}", quote(&message)));
            }
            let page = status_page(rpc, get("message").as_deref());
            Page::Html(super::web::page::enhance(page))
        }
        "tail.html" => Page::Html(tail_page(
            rpc,
            get("processname").as_deref(),
            get("limit").as_deref(),
        )),
        "ok.html" => Page::Text("OK".into()),
        _ => Page::NotFound,
    }
}

fn ctime() -> String {
    // `time.ctime()`: `Wed Nov 25 13:06:38 2026` in local time.
    super::describe::local_ctime(crate::util::unix_secs())
}

fn fault_message(v: &Result<Value, super::protocol::Fault>) -> Option<(i32, String)> {
    v.as_ref().err().map(|f| (f.code, f.string.clone()))
}

pub fn run_action(rpc: &Rpc, action: &str, namespec: Option<&str>) -> String {
    match action {
        "refresh" => return format!("Page refreshed at {}", ctime()),
        "stopall" => {
            let _ = rpc.call("supervisor.stopAllProcesses", &[]);
            return format!("All stopped at {}", ctime());
        }
        "restartall" => {
            let _ = rpc.call("supervisor.stopAllProcesses", &[]);
            let _ = rpc.call("supervisor.startAllProcesses", &[]);
            return format!("All restarted at {}", ctime());
        }
        _ => {}
    }
    let Some(ns) = namespec.filter(|n| !n.is_empty()) else {
        return format!("Unknown action {action}");
    };
    if rpc
        .call("supervisor.getProcessInfo", &[Value::str(ns)])
        .is_err()
    {
        return format!("No such process named {ns}");
    }
    let name = Value::str(ns);
    match action {
        "start" => match fault_message(&rpc.call("supervisor.startProcess", &[name])) {
            None => format!("Process {ns} started"),
            Some((code, text)) => {
                let why = match code {
                    faults::NO_FILE => "no such file".to_string(),
                    faults::NOT_EXECUTABLE => "file not executable".to_string(),
                    faults::ALREADY_STARTED => "already started".to_string(),
                    faults::SPAWN_ERROR => "spawn error".to_string(),
                    faults::ABNORMAL_TERMINATION => "abnormal termination".to_string(),
                    _ => format!("unexpected rpc fault [{code}] {text}"),
                };
                format!("ERROR: Process {ns}: {why}")
            }
        },
        "stop" => match fault_message(&rpc.call("supervisor.stopProcess", &[name])) {
            None => format!("Process {ns} stopped"),
            Some((code, text)) => format!("unexpected rpc fault [{code}] {text}"),
        },
        "restart" => {
            let _ = rpc.call("supervisor.stopProcess", std::slice::from_ref(&name));
            let _ = rpc.call("supervisor.startProcess", &[name]);
            format!("Process {ns} restarted")
        }
        "clearlog" => match fault_message(&rpc.call("supervisor.clearProcessLogs", &[name])) {
            None => format!("Log for {ns} cleared"),
            Some((code, text)) => format!("unexpected rpc fault [{code}] {text}"),
        },
        other => format!("Unknown action {other}"),
    }
}

fn status_class(state: i64) -> &'static str {
    match state {
        20 => "statusrunning",
        30 | 200 => "statuserror",
        _ => "statusnominal",
    }
}

const STYLE: &str = "body{font-family:Verdana,Arial,sans-serif;font-size:12px;margin:0;background:#fff}\
#wrapper{margin:20px}h1{font-size:18px;color:#2d4f7c}\
.status_msg{padding:6px;margin-bottom:10px;background:#fffbd6;border:1px solid #e6d79c}\
ul#buttons{list-style:none;padding:0;margin:0 0 10px 0}ul#buttons li{display:inline;margin-right:8px}\
ul#buttons a{padding:4px 8px;border:1px solid #aaa;border-radius:3px;text-decoration:none;color:#222;background:#eee}\
table{border-collapse:collapse;width:100%}th{text-align:left;background:#e5e8ec;padding:5px}\
td{padding:5px;border-top:1px solid #ddd}tr.shade{background:#f4f6f8}\
td.action ul{list-style:none;margin:0;padding:0}td.action li{display:inline;margin-right:6px}\
.statusrunning{color:#080;font-weight:bold}.statuserror{color:#c00;font-weight:bold}.statusnominal{color:#555}\
#footer{margin:20px;color:#777}";

fn status_page(rpc: &Rpc, message: Option<&str>) -> String {
    let infos = rpc.all_process_info_value();
    let mut rows = String::new();
    for (i, info) in infos.as_array().unwrap_or(&[]).iter().enumerate() {
        let field = |k: &str| {
            info.get(k)
                .and_then(Value::as_str)
                .unwrap_or("")
                .to_string()
        };
        let state = info.get("state").and_then(Value::as_int).unwrap_or(0);
        let ns = make_namespec(&field("group"), &field("name"));
        let q = quote(&ns);
        let link = |label: &str, action: &str| {
            format!("<li><a href=\"index.html?processname={q}&amp;action={action}\" name=\"{label}\">{label}</a></li>")
        };
        let mut actions = String::new();
        match state {
            20 => {
                actions.push_str(&link("Restart", "restart"));
                actions.push_str(&link("Stop", "stop"));
            }
            0 | 100 | 200 => actions.push_str(&link("Start", "start")),
            _ => {}
        }
        actions.push_str(&link("Clear Log", "clearlog"));
        actions.push_str(&format!(
            "<li><a href=\"logtail/{q}\" name=\"Tail -f Stdout\" target=\"_blank\">Tail -f Stdout</a></li>\
             <li><a href=\"logtail/{q}/stderr\" name=\"Tail -f Stderr\" target=\"_blank\">Tail -f Stderr</a></li>"
        ));
        rows.push_str(&format!(
            "<tr{}><td class=\"status\"><span class=\"{}\">{}</span></td><td><span>{}</span></td>\
             <td><a href=\"tail.html?processname={q}\" target=\"_blank\">{}</a></td>\
             <td class=\"action\"><ul>{actions}</ul></td></tr>\n",
            if i % 2 == 1 { " class=\"shade\"" } else { "" },
            status_class(state),
            escape(&field("statename").to_lowercase()),
            escape(&field("description")),
            escape(&ns),
        ));
    }
    let table = if rows.is_empty() {
        "No programs to manage".to_string()
    } else {
        format!(
            "<table cellspacing=\"0\"><thead><tr><th class=\"state\">State</th><th class=\"desc\">Description</th>\
             <th class=\"name\">Name</th><th class=\"action\">Action</th></tr></thead><tbody>\n{rows}</tbody></table>"
        )
    };
    let message = message
        .map(|m| format!("<div class=\"status_msg\">{}</div>", escape(m)))
        .unwrap_or_default();
    format!(
        "<!DOCTYPE html>\n<html>\n<head>\n<title>Supervisor Status</title>\n<style>{STYLE}</style>\n</head>\n<body>\n<div id=\"wrapper\">\n\
         <h1>Supervisor status</h1>\n{message}\n<form action=\"index.html\" method=\"post\">\n<ul id=\"buttons\">\
         <li><a href=\"index.html?action=refresh\">Refresh</a></li>\
         <li><a href=\"index.html?action=restartall\">Restart All</a></li>\
         <li><a href=\"index.html?action=stopall\">Stop All</a></li></ul>\n{table}\n</form>\n</div>\n\
         <div id=\"footer\">Supervisor {SUPERVISOR_VERSION} compatible</div>\n</body>\n</html>\n"
    )
}

fn tail_page(rpc: &Rpc, processname: Option<&str>, limit: Option<&str>) -> String {
    let limit: i64 = limit
        .and_then(|l| l.parse().ok())
        .filter(|l: &i64| *l > 1024)
        .unwrap_or(1024);
    let (title_name, tail) = match processname.filter(|p| !p.is_empty()) {
        None => ("None".to_string(), "No process name found".to_string()),
        Some(p) => {
            let r = rpc.call(
                "supervisor.readProcessStdoutLog",
                &[Value::str(p), Value::Int(-limit), Value::Int(0)],
            );
            let text = match r {
                Ok(v) => v.as_str().unwrap_or("").to_string(),
                Err(f) if f.code == faults::NO_FILE => format!("No file for {p}"),
                Err(f) => format!("ERROR: unexpected rpc fault [{}] {}", f.code, f.string),
            };
            (p.to_string(), text)
        }
    };
    let refresh = processname
        .map(|p| format!("tail.html?processname={}&amp;limit={limit}", quote(p)))
        .unwrap_or_else(|| "tail.html".into());
    format!(
        "<!DOCTYPE html>\n<html>\n<head>\n<title>Supervisor tail of process {}</title>\n<style>{STYLE}</style>\n</head>\n\
         <body>\n<div id=\"wrapper\">\n<ul id=\"buttons\"><li><a href=\"{refresh}\">Refresh</a></li></ul>\n<pre>{}</pre>\n</div>\n</body>\n</html>\n",
        escape(&title_name),
        escape(&tail)
    )
}

fn escape(s: &str) -> String {
    s.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
        .replace('"', "&quot;")
}

/// Percent-encodes everything but unreserved characters (like `urllib.quote`, plus `:`).
fn quote(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for b in s.bytes() {
        if b.is_ascii_alphanumeric() || b"-_.~/:".contains(&b) {
            out.push(b as char);
        } else {
            out.push_str(&format!("%{b:02X}"));
        }
    }
    out
}

fn unquote(s: &str) -> String {
    let bytes = s.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        match bytes[i] {
            b'+' => out.push(b' '),
            b'%' if i + 2 < bytes.len() => {
                match std::str::from_utf8(&bytes[i + 1..i + 3])
                    .ok()
                    .and_then(|h| u8::from_str_radix(h, 16).ok())
                {
                    Some(b) => {
                        out.push(b);
                        i += 2;
                    }
                    None => out.push(b'%'),
                }
            }
            b => out.push(b),
        }
        i += 1;
    }
    String::from_utf8_lossy(&out).into_owned()
}

pub fn parse_query(query: &str) -> Vec<(String, String)> {
    query
        .split('&')
        .filter(|p| !p.is_empty())
        .map(|p| match p.split_once('=') {
            Some((k, v)) => (unquote(k), unquote(v)),
            None => (unquote(p), String::new()),
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn queries() {
        assert_eq!(
            parse_query("processname=grp%3Aa&action=start&x"),
            vec![
                ("processname".into(), "grp:a".into()),
                ("action".into(), "start".into()),
                ("x".into(), "".into())
            ]
        );
        assert_eq!(
            quote("Process a started at x"),
            "Process%20a%20started%20at%20x"
        );
        assert_eq!(unquote("a+b%20c%zz"), "a b c%zz");
        assert_eq!(escape("<a&\">"), "&lt;a&amp;&quot;&gt;");
    }
}
