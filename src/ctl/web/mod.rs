//! The live dashboard (extension). `/` stays Supervisor's server-rendered status page with its
//! action links (so it works without JavaScript); [`page::enhance`] adds one inline script and
//! style that turn it into a live view fed by the JSON endpoints in [`api`]:
//! `GET /api/status` (states and resource usage, polled by the page while it is open) and
//! `POST /api/action` (start, stop, restart, signal, clear log, stop all, restart all).
//! Logs follow the existing `/logtail/` stream. Nothing runs while no page is open.

pub mod api;
pub mod page;

use super::http::Request;
use super::rpc::Rpc;

/// An answer to a dashboard request.
pub struct Reply {
    pub status: u16,
    pub content_type: &'static str,
    pub body: Vec<u8>,
}

/// Answers the dashboard's own paths; `None` for every other path (served as before).
pub fn route(rpc: &Rpc, request: &Request, path: &str) -> Option<Reply> {
    let query = request.target.split_once('?').map(|(_, q)| q).unwrap_or("");
    match (request.method.as_str(), path) {
        ("GET", "/api/status") => Some(api::status(rpc)),
        ("POST", "/api/action") => Some(api::action(rpc, request, query)),
        (_, "/api/status") | (_, "/api/action") => Some(Reply {
            status: 405,
            content_type: "text/plain",
            body: b"method not allowed\n".to_vec(),
        }),
        _ => None,
    }
}
