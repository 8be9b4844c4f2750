//! The control plane against a mock engine: our supervisorctl's commands and the HTTP/XML-RPC
//! server under raw requests.

#[path = "../support"]
mod support {
    pub mod mock_engine;
    pub mod temp;
    pub mod wait;
}

mod commands;
mod http_server;
mod raw_http;
