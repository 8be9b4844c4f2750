//! The `supervisor.*` and `system.*` XML-RPC methods: name resolution, parameter rules, fault
//! codes and result shapes as in Supervisor 4.3. Every action goes through [`Backend`].
//!
//! [`methods::METHODS`] is the one list of methods (name, arity, handler, signature, help);
//! the handlers live by subject: `processes` (start, stop, signal, stdin), `info` (process
//! and config info), `logs`, `system` (introspection, multicall).

use std::sync::Arc;

use super::backend::{Backend, ProcessResult};
use super::protocol::faults::{self, Fault};
use super::protocol::{split_namespec, Value};
use crate::state::{ProcessInfo, SupervisorState};

mod daemon;
mod info;
mod logs;
pub mod methods;
mod processes;
mod system;
mod usage;

pub use info::process_info_value;

type RpcResult = Result<Value, Fault>;

/// Largest answer a call may produce (system.multicall included); a larger one is a FAILED
/// fault, so no request can make the daemon build an unbounded reply.
pub const MAX_ANSWER: usize = 4 * 1024 * 1024;

fn too_large(what: &str, bytes: usize) -> Fault {
    let detail = format!(
        "{what} would exceed the answer limit of {MAX_ANSWER} bytes ({bytes} or more); ask for less"
    );
    fault(faults::FAILED, &detail)
}

pub struct Rpc {
    backend: Arc<dyn Backend>,
}

fn fault(code: i32, detail: &str) -> Fault {
    Fault::new(code, Some(detail))
}

fn bare(code: i32) -> Fault {
    Fault::new(code, None)
}

/// Value accessors that turn a wrong parameter type into INCORRECT_PARAMETERS.
fn p_str(v: &Value) -> Result<&str, Fault> {
    v.as_str().ok_or_else(|| bare(faults::INCORRECT_PARAMETERS))
}

fn p_int(v: &Value) -> Result<i64, Fault> {
    match v {
        Value::Int(i) => Ok(*i),
        Value::Bool(b) => Ok(i64::from(*b)),
        Value::Str(s) => s
            .trim()
            .parse()
            .map_err(|_| bare(faults::INCORRECT_PARAMETERS)),
        _ => Err(bare(faults::INCORRECT_PARAMETERS)),
    }
}

/// An optional `wait` flag at `i`; true when absent, as in Supervisor.
fn p_wait(p: &[Value], i: usize) -> bool {
    p.get(i).map(Value::truthy).unwrap_or(true)
}

/// Signals may come as names or numbers, as strings or ints.
fn p_signal(v: &Value) -> Result<String, Fault> {
    match v {
        Value::Str(s) => Ok(s.clone()),
        Value::Int(i) => Ok(i.to_string()),
        _ => Err(bare(faults::INCORRECT_PARAMETERS)),
    }
}

/// Python's int range for XML-RPC `<int>` (`capped_int`).
fn capped(i: i64) -> Value {
    Value::Int(i.clamp(i64::from(i32::MIN), i64::from(i32::MAX)))
}

fn result_struct(name: &str, group: &str, status: i32, description: &str) -> Value {
    Value::Struct(vec![
        ("name".into(), Value::str(name)),
        ("group".into(), Value::str(group)),
        ("status".into(), Value::Int(i64::from(status))),
        ("description".into(), Value::str(description)),
    ])
}

fn results_to_value(results: Vec<ProcessResult>, infos: &[ProcessInfo]) -> Value {
    let items = results
        .into_iter()
        .map(|(namespec, r)| {
            let (group, name) = match infos.iter().find(|i| i.namespec() == namespec) {
                Some(i) => (i.group.clone(), i.name.clone()),
                None => {
                    let (g, p) = split_namespec(&namespec);
                    (g.to_string(), p.unwrap_or(g).to_string())
                }
            };
            match r {
                Ok(()) => result_struct(&name, &group, faults::SUCCESS, "OK"),
                Err(f) => result_struct(&name, &group, f.code, &f.string),
            }
        })
        .collect();
    Value::Array(items)
}

pub fn now() -> i64 {
    crate::util::unix_secs()
}

impl Rpc {
    pub fn new(backend: Arc<dyn Backend>) -> Rpc {
        Rpc { backend }
    }

    pub fn backend(&self) -> &Arc<dyn Backend> {
        &self.backend
    }

    fn supervisor_namespace(&self) -> bool {
        self.backend.config().rpcinterface_supervisor
    }

    /// Calls one method by its full dotted name.
    pub fn call(&self, method: &str, params: &[Value]) -> RpcResult {
        let supervisor = method.starts_with("supervisor.");
        if supervisor && !self.supervisor_namespace() {
            return Err(bare(faults::UNKNOWN_METHOD));
        }
        let m = methods::find(method).ok_or_else(|| bare(faults::UNKNOWN_METHOD))?;
        let (min, max) = m.arity;
        if params.len() < min || params.len() > max {
            // Python's TypeError for a wrong number of arguments.
            return Err(bare(faults::INCORRECT_PARAMETERS));
        }
        if supervisor && method != "supervisor.sendRemoteCommEvent" && self.shutting_down() {
            return Err(bare(faults::SHUTDOWN_STATE));
        }
        (m.handler)(self, params)
    }

    /// [`Rpc::call`], with the answer limit applied to its result.
    pub fn call_capped(&self, method: &str, params: &[Value]) -> RpcResult {
        let value = self.call(method, params)?;
        let size = super::protocol::xmlrpc::encoded_len(&value);
        if size > MAX_ANSWER {
            return Err(too_large("the answer", size));
        }
        Ok(value)
    }

    fn shutting_down(&self) -> bool {
        matches!(
            self.backend.state(),
            SupervisorState::Restarting | SupervisorState::Shutdown
        )
    }

    /// Resolves a namespec against the active processes: (group, Some(process)) or (group, None)
    /// for `g:*`; BAD_NAME when the group or process is unknown.
    fn resolve<'a>(
        &self,
        infos: &'a [ProcessInfo],
        namespec: &str,
    ) -> Result<(String, Option<&'a ProcessInfo>), Fault> {
        let (group, process) = split_namespec(namespec);
        let group_known = infos.iter().any(|i| i.group == group)
            || self.backend.active_groups().iter().any(|g| g == group);
        if !group_known {
            return Err(fault(faults::BAD_NAME, namespec));
        }
        match process {
            None => Ok((group.to_string(), None)),
            Some(p) => match infos.iter().find(|i| i.group == group && i.name == p) {
                Some(info) => Ok((group.to_string(), Some(info))),
                None => Err(fault(faults::BAD_NAME, namespec)),
            },
        }
    }

    /// The one process `namespec` names (a group is BAD_NAME).
    fn resolve_process(&self, namespec: &str) -> Result<ProcessInfo, Fault> {
        let infos = self.backend.all_process_info();
        match self.resolve(&infos, namespec)? {
            (_, Some(info)) => Ok(info.clone()),
            (_, None) => Err(fault(faults::BAD_NAME, namespec)),
        }
    }

    /// Processes in Supervisor's priority order (group priority, then process priority, then
    /// names), optionally limited to one group.
    fn by_priority(&self, infos: &[ProcessInfo], group: Option<&str>) -> Vec<ProcessInfo> {
        let config = self.backend.config();
        let prio = |info: &ProcessInfo| -> (i64, i64) {
            let g = config.groups.iter().find(|g| g.name == info.group);
            let gp = g.map(|g| g.priority).unwrap_or(999);
            let pp = g
                .and_then(|g| g.processes.iter().find(|p| p.name == info.name))
                .map(|p| p.priority)
                .unwrap_or(999);
            (gp, pp)
        };
        let mut list: Vec<ProcessInfo> = infos
            .iter()
            .filter(|i| group.is_none_or(|g| i.group == g))
            .cloned()
            .collect();
        list.sort_by(|a, b| {
            let (ga, pa) = prio(a);
            let (gb, pb) = prio(b);
            (ga, &a.group, pa, &a.name).cmp(&(gb, &b.group, pb, &b.name))
        });
        list
    }
}
