//! The dashboard's JSON endpoints. `GET /api/status`: supervisord's state and, per process,
//! getProcessInfo's fields plus its resource usage (the same numbers as
//! `supervisor.getAllProcessUsage`). `POST /api/action?action=A&name=N[&signal=S]`: runs one
//! action through the same handlers as the server-rendered page and answers its message.
//! Actions need the `X-Supervisor-Action` header: a browser sends a custom header only from
//! our own page (another site's form or image cannot), so a foreign page cannot trigger them.

use super::Reply;
use crate::ctl::http::Request;
use crate::ctl::protocol::json;
use crate::ctl::protocol::Value;
use crate::ctl::rpc::{self, Rpc};
use crate::ctl::{usage, webui};

fn json_reply(status: u16, value: &Value) -> Reply {
    Reply {
        status,
        content_type: "application/json",
        body: json::encode(value).into_bytes(),
    }
}

fn message(status: u16, ok: bool, text: &str) -> Reply {
    json_reply(
        status,
        &Value::Struct(vec![
            ("ok".into(), Value::Bool(ok)),
            ("message".into(), Value::str(text)),
        ]),
    )
}

pub fn status(rpc: &Rpc) -> Reply {
    let backend = rpc.backend();
    let now = rpc::now();
    let infos = backend.all_process_info();
    let usages = usage::sample(&infos);
    let processes = infos
        .iter()
        .zip(&usages)
        .map(|(info, u)| {
            let Value::Struct(mut fields) = rpc::process_info_value(info, now) else {
                unreachable!("process info is a struct")
            };
            if let Value::Struct(extra) = usage::value(info, u.as_ref(), now) {
                let repeated = ["name", "group", "pid", "statename"];
                fields.extend(
                    extra
                        .into_iter()
                        .filter(|(k, _)| !repeated.contains(&k.as_str())),
                );
            }
            fields.push(("namespec".into(), Value::str(info.namespec())));
            if let Some(h) = &info.health {
                fields.push(("health".into(), Value::str(h)));
            }
            Value::Struct(fields)
        })
        .collect();
    let state = backend.state();
    json_reply(
        200,
        &Value::Struct(vec![
            (
                "identification".into(),
                Value::str(backend.identification()),
            ),
            ("statename".into(), Value::str(state.name())),
            ("pid".into(), Value::Int(i64::from(backend.pid()))),
            ("now".into(), Value::Int(now)),
            ("processes".into(), Value::Array(processes)),
        ]),
    )
}

pub fn action(rpc: &Rpc, request: &Request, query: &str) -> Reply {
    if request.header("X-Supervisor-Action").is_none() {
        return message(403, false, "actions need the X-Supervisor-Action header");
    }
    let form = webui::parse_query(query);
    let get = |k: &str| form.iter().find(|(fk, _)| fk == k).map(|(_, v)| v.as_str());
    let Some(action) = get("action") else {
        return message(400, false, "no action given");
    };
    let name = get("name").unwrap_or("");
    if action == "signal" {
        let signal = get("signal").unwrap_or("");
        let params = [Value::str(name), Value::str(signal)];
        return match rpc.call("supervisor.signalProcess", &params) {
            Ok(_) => message(200, true, &format!("Process {name} sent signal {signal}")),
            Err(f) => message(200, false, &format!("ERROR: {}", f.string)),
        };
    }
    let text = webui::run_action(rpc, action, Some(name));
    let ok = !(text.starts_with("ERROR")
        || text.starts_with("unexpected")
        || text.starts_with("No such")
        || text.starts_with("Unknown"));
    message(200, ok, &text)
}
