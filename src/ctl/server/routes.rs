//! What each path answers: XML-RPC at `/RPC2`, log tails, `/metrics`, the web pages. New
//! endpoints are one more row in [`ROUTES`].

use std::io;
use std::path::PathBuf;

use super::conn::Conn;
use super::slots::Slot;
use super::{InFlight, Shared};
use crate::ctl::backend::{Backend, Channel};
use crate::ctl::http::{self, Request};
use crate::ctl::protocol::split_namespec;
use crate::ctl::protocol::xmlrpc;
use crate::ctl::{logtail, web, webui};

/// Answers a request; Ok(true) when the connection may serve another.
type Handler = fn(&Ctx, &mut Conn) -> io::Result<bool>;

/// One request being answered.
struct Ctx<'a> {
    request: &'a Request,
    path: &'a str,
    shared: &'a Shared,
    slot: &'a Slot,
}

/// How a route matches the path.
enum Match {
    Exact(&'static str),
    Prefix(&'static str),
}

struct Route {
    path: Match,
    /// The one method this path serves; another one gets 400 (as Supervisor's handlers do).
    method: &'static str,
    handler: Handler,
}

/// Checked in order; a path no route matches goes to the web pages.
const ROUTES: &[Route] = &[
    Route {
        path: Match::Prefix("/RPC2"),
        method: "POST",
        handler: rpc,
    },
    Route {
        path: Match::Prefix("/logtail/"),
        method: "GET",
        handler: process_logtail,
    },
    Route {
        path: Match::Exact("/mainlogtail"),
        method: "GET",
        handler: main_logtail,
    },
];

/// Answers one request (a panic in a handler becomes a 500); true when the connection may
/// serve another.
pub fn answer(request: &Request, out: &mut Conn, slot: &Slot, shared: &Shared) -> bool {
    // RPC calls are POSTs; log streams (GET) may last forever and are not waited for.
    let _in_flight = (request.method == "POST").then(InFlight::enter);
    let path = request.path();
    let ctx = Ctx {
        request,
        path: &path,
        shared,
        slot,
    };
    let outcome = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| route(&ctx, out)));
    match outcome {
        Ok(Ok(keep)) => keep,
        Ok(Err(_)) => false,
        Err(_) => {
            log::error!(
                "handling a {} {} request panicked",
                request.method,
                request.target
            );
            let _ = http::write_error(out, request.version, 500);
            false
        }
    }
}

fn route(ctx: &Ctx, out: &mut Conn) -> io::Result<bool> {
    let (request, method) = (ctx.request, ctx.request.method.as_str());
    if !matches!(method, "GET" | "POST") {
        let body = http::error_body(405);
        let headers = [("Content-Type", "text/html"), ("Allow", "GET, POST")];
        http::write_response(out, request.version, 405, &headers, body.as_bytes(), false)?;
        return Ok(false);
    }
    let found = ROUTES.iter().find(|r| match r.path {
        Match::Exact(p) => ctx.path == p,
        Match::Prefix(p) => ctx.path.starts_with(p),
    });
    match found {
        Some(r) if r.method != method => {
            http::write_error(out, request.version, 400)?;
            Ok(false)
        }
        Some(r) => (r.handler)(ctx, out),
        None if ctx.path == "/metrics" && method == "GET" => metrics(ctx, out),
        None => match web::route(&ctx.shared.rpc, request, ctx.path) {
            Some(reply) => dashboard(ctx, out, reply),
            None => web_page(ctx, out),
        },
    }
}

/// An answer of the live dashboard's endpoints (`/api/...`).
fn dashboard(ctx: &Ctx, out: &mut Conn, reply: web::Reply) -> io::Result<bool> {
    let headers = [
        ("Content-Type", reply.content_type),
        ("Cache-Control", "no-store"),
    ];
    let keep = ctx.request.keep_alive();
    http::write_response(
        out,
        ctx.request.version,
        reply.status,
        &headers,
        &reply.body,
        keep,
    )?;
    Ok(keep)
}

fn metrics(ctx: &Ctx, out: &mut Conn) -> io::Result<bool> {
    let body = match &ctx.shared.options.metrics {
        Some(hook) => hook(),
        None => crate::ctl::metrics::render_backend(ctx.shared.rpc.backend().as_ref()),
    };
    let headers = [("Content-Type", "text/plain; version=0.0.4")];
    let keep = ctx.request.keep_alive();
    http::write_response(
        out,
        ctx.request.version,
        200,
        &headers,
        body.as_bytes(),
        keep,
    )?;
    Ok(keep)
}

fn web_page(ctx: &Ctx, out: &mut Conn) -> io::Result<bool> {
    let request = ctx.request;
    let query = request.target.split_once('?').map(|(_, q)| q).unwrap_or("");
    let body = if request.method == "POST" {
        request.body.as_slice()
    } else {
        &[]
    };
    let keep = request.keep_alive();
    let (status, content_type, text, location) =
        match webui::handle(&ctx.shared.rpc, ctx.path, query, body) {
            webui::Page::Html(html) => (200, "text/html", html, None),
            webui::Page::Text(text) => (200, "text/plain", text, None),
            webui::Page::Redirect(to) => (302, "text/html", String::new(), Some(to)),
            webui::Page::NotFound => {
                http::write_error(out, request.version, 404)?;
                return Ok(false);
            }
        };
    let mut headers = vec![("Content-Type", content_type)];
    if let Some(to) = &location {
        headers.insert(0, ("Location", to.as_str()));
    }
    http::write_response(
        out,
        request.version,
        status,
        &headers,
        text.as_bytes(),
        keep,
    )?;
    Ok(keep)
}

/// Python's repr of the request text, as Supervisor logs it (cut after 200 bytes).
fn body_repr(body: &[u8]) -> String {
    crate::ctl::client::python_str_repr(&String::from_utf8_lossy(&body[..body.len().min(200)]))
}

fn rpc(ctx: &Ctx, out: &mut Conn) -> io::Result<bool> {
    let request = ctx.request;
    let call = match xmlrpc::parse_call(&request.body) {
        Ok(c) => c,
        Err(why) => {
            log::error!(
                "XML-RPC request data {} is invalid: unmarshallable",
                body_repr(&request.body)
            );
            log::debug!("XML-RPC parse error: {why}");
            http::write_error(out, request.version, 400)?;
            return Ok(false);
        }
    };
    if call.name.is_empty() {
        log::error!(
            "XML-RPC request data {} is invalid: no method name",
            body_repr(&request.body)
        );
        http::write_error(out, request.version, 400)?;
        return Ok(false);
    }
    log::trace!("XML-RPC method called: {}()", call.name);
    let body = match ctx.shared.rpc.call_capped(&call.name, &call.params) {
        Ok(value) => {
            log::trace!("XML-RPC method {}() returned successfully", call.name);
            xmlrpc::dumps_response(&value)
        }
        Err(f) => {
            log::trace!(
                "XML-RPC method {}() returned fault: [{}] {}",
                call.name,
                f.code,
                f.string
            );
            xmlrpc::dumps_fault(i64::from(f.code), &f.string)
        }
    };
    let keep = request.keep_alive();
    let headers = [("Content-Type", "text/xml")];
    http::write_response(out, request.version, 200, &headers, body.as_bytes(), keep)?;
    Ok(keep)
}

/// `/logtail/NAME[/CHANNEL]`.
fn process_logtail(ctx: &Ctx, out: &mut Conn) -> io::Result<bool> {
    let rest = ctx.path.strip_prefix("/logtail/").unwrap_or("");
    let (name, channel) = rest.split_once('/').unwrap_or((rest, "stdout"));
    let channel = match channel {
        "stdout" => Some(Channel::Stdout),
        "stderr" => Some(Channel::Stderr),
        _ => None,
    };
    let path = resolve_log(ctx.shared.rpc.backend().as_ref(), name, channel);
    logtail(ctx, out, path)
}

fn main_logtail(ctx: &Ctx, out: &mut Conn) -> io::Result<bool> {
    logtail(ctx, out, ctx.shared.rpc.backend().main_log_path())
}

fn logtail(ctx: &Ctx, out: &mut Conn, path: Option<PathBuf>) -> io::Result<bool> {
    let version = ctx.request.version;
    // Only regular files are followed: a log going to /dev/stdout (a pipe or terminal) has
    // nothing to tail, and opening the pipe for reading would hold its read end.
    let Some(path) = path.filter(|p| std::fs::metadata(p).is_ok_and(|m| m.is_file())) else {
        http::write_error(out, version, 404)?;
        return Ok(false);
    };
    let last_modified = http::http_date(logtail::mtime(&path));
    let headers = [
        ("Content-Type", "text/plain;charset=utf-8"),
        ("X-Accel-Buffering", "no"),
        ("Last-Modified", last_modified.as_str()),
    ];
    let fd = out.raw_fd();
    let writer = out.try_clone()?;
    if !ctx.slot.stream() {
        http::write_error(out, version, 503)?;
        return Ok(false);
    }
    let body = http::BodyStream::start(writer, version, &headers)?;
    if let Err(e) = logtail::stream(&path, body, fd) {
        log::debug!("log tail of {} ended: {e}", path.display());
    }
    Ok(false)
}

fn resolve_log(backend: &dyn Backend, name: &str, channel: Option<Channel>) -> Option<PathBuf> {
    let channel = channel?;
    let (group, process) = split_namespec(name);
    let process = process?;
    let info = backend
        .all_process_info()
        .into_iter()
        .find(|i| i.group == group && i.name == process)?;
    backend.log_path(&info.namespec(), channel).ok().flatten()
}
