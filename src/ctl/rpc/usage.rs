//! Extension methods, callable but not published: `system.listMethods` (and methodHelp,
//! methodSignature) keep Supervisor's answers, and Python clients never call these.
//! `supervisor.getProcessUsage(name)` and `supervisor.getAllProcessUsage()`: the resource
//! usage of each process and its descendants, read from /proc at the time of the call.

use super::{now, p_str, Rpc, RpcResult};
use crate::ctl::protocol::Value;
use crate::ctl::usage;

impl Rpc {
    pub(super) fn get_process_usage(&self, p: &[Value]) -> RpcResult {
        let info = self.resolve_process(p_str(&p[0])?)?;
        let usages = usage::sample(std::slice::from_ref(&info));
        Ok(usage::value(&info, usages[0].as_ref(), now()))
    }

    pub(super) fn get_all_process_usage(&self, _: &[Value]) -> RpcResult {
        Ok(usage::values(&self.backend().all_process_info(), now()))
    }
}
