//! Extension methods, callable but not published: `system.listMethods` (and methodHelp,
//! methodSignature) keep Supervisor's answers, and Python clients never call these.
//! `supervisor.getProcessUsage(name)` and `supervisor.getAllProcessUsage()`: the resource
//! usage of each process and its descendants, read from /proc at the time of the call.

use super::methods::Method;
use super::{now, p_str, Rpc, RpcResult};
use crate::ctl::protocol::Value;
use crate::ctl::usage;

/// The unlisted methods, looked up after [`super::methods::METHODS`].
#[rustfmt::skip]
pub const EXTENSIONS: &[Method] = &[
    Method { name: "supervisor.getAllProcessUsage", arity: (0, 0), handler: Rpc::get_all_process_usage, signature: &["array"], help: " Get the resource usage of every process and its descendants\n\n        @return array result  An array of usage structs\n        " },
    Method { name: "supervisor.getProcessUsage", arity: (1, 1), handler: Rpc::get_process_usage, signature: &["struct", "string"], help: " Get the resource usage of a process and its descendants\n\n        @param string name The name of the process (or 'group:name')\n        @return struct result     rss, pss, cpu_seconds, cpu_percent, threads, fds, processes, uptime, restarts\n        " },
];

impl Rpc {
    fn get_process_usage(&self, p: &[Value]) -> RpcResult {
        let info = self.resolve_process(p_str(&p[0])?)?;
        let usages = usage::sample(std::slice::from_ref(&info));
        Ok(usage::value(&info, usages[0].as_ref(), now()))
    }

    fn get_all_process_usage(&self, _: &[Value]) -> RpcResult {
        Ok(usage::values(&self.backend().all_process_info(), now()))
    }
}
