//! What the server and supervisorctl share: XML-RPC values and their encoding, fault codes,
//! namespecs, and the versions the API reports. Neither side's code lives here.

pub mod base64;
pub mod faults;
pub mod json;
pub mod namespec;
pub mod xmlrpc;

pub use faults::Fault;
pub use namespec::{make_namespec, split_namespec};
pub use xmlrpc::Value;

/// The RPC API version Supervisor 4.3 reports (`getAPIVersion`).
pub const API_VERSION: &str = "3.0";
/// The Supervisor version we are compatible with (`getSupervisorVersion`).
pub const SUPERVISOR_VERSION: &str = "4.3.0";
