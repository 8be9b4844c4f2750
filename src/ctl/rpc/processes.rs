//! Start, stop, signal and stdin: one process, a group (`g:*`) or all, in Supervisor's
//! priority order, with its per-process result structs.

use super::super::describe;
use super::{fault, p_signal, p_str, p_wait, result_struct, results_to_value, Rpc, RpcResult};
use crate::ctl::backend::ProcessResult;
use crate::ctl::protocol::faults::{self, Fault};
use crate::ctl::protocol::Value;
use crate::state::{ProcessInfo, ProcessState};

fn single(results: Vec<ProcessResult>) -> RpcResult {
    match results.into_iter().next() {
        Some((_, Ok(()))) => Ok(Value::Bool(true)),
        Some((_, Err(f))) => Err(f),
        None => Err(fault(faults::FAILED, "no result")),
    }
}

impl Rpc {
    pub(super) fn start_process(&self, p: &[Value]) -> RpcResult {
        self.start_named(p_str(&p[0])?, p_wait(p, 1))
    }

    pub(super) fn start_process_group(&self, p: &[Value]) -> RpcResult {
        self.start_group(p_str(&p[0])?, p_wait(p, 1))
    }

    pub(super) fn start_all_processes(&self, p: &[Value]) -> RpcResult {
        let infos = self.backend.all_process_info();
        self.start_many(&infos, None, p_wait(p, 0))
    }

    pub(super) fn stop_process(&self, p: &[Value]) -> RpcResult {
        self.stop_named(p_str(&p[0])?, p_wait(p, 1))
    }

    pub(super) fn stop_process_group(&self, p: &[Value]) -> RpcResult {
        self.stop_group(p_str(&p[0])?, p_wait(p, 1))
    }

    pub(super) fn stop_all_processes(&self, p: &[Value]) -> RpcResult {
        let infos = self.backend.all_process_info();
        self.stop_many(&infos, None, p_wait(p, 0))
    }

    pub(super) fn signal_process(&self, p: &[Value]) -> RpcResult {
        self.signal_named(p_str(&p[0])?, &p_signal(&p[1])?)
    }

    pub(super) fn signal_process_group(&self, p: &[Value]) -> RpcResult {
        self.signal_group(p_str(&p[0])?, &p_signal(&p[1])?)
    }

    pub(super) fn signal_all_processes(&self, p: &[Value]) -> RpcResult {
        let infos = self.backend.all_process_info();
        self.signal_many(&infos, None, &p_signal(&p[0])?)
    }

    fn start_named(&self, namespec: &str, wait: bool) -> RpcResult {
        let infos = self.backend.all_process_info();
        match self.resolve(&infos, namespec)? {
            (group, None) => self.start_group(&group, wait),
            (_, Some(info)) => single(self.backend.start(&[info.namespec()], wait)),
        }
    }

    /// The active processes after checking that `group` exists (BAD_NAME names the group).
    fn group_infos(&self, group: &str) -> Result<Vec<ProcessInfo>, Fault> {
        let infos = self.backend.all_process_info();
        self.resolve(&infos, &format!("{group}:*"))
            .map_err(|_| fault(faults::BAD_NAME, group))?;
        Ok(infos)
    }

    fn start_group(&self, group: &str, wait: bool) -> RpcResult {
        let infos = self.group_infos(group)?;
        self.start_many(&infos, Some(group), wait)
    }

    fn start_many(&self, infos: &[ProcessInfo], group: Option<&str>, wait: bool) -> RpcResult {
        self.apply_many(
            infos,
            group,
            |i| !i.state.is_running(),
            |names| self.backend.start(names, wait),
        )
    }

    /// Runs `op` on the processes of `group` (or all) that `select` keeps, in priority order;
    /// an empty array when none is left.
    fn apply_many(
        &self,
        infos: &[ProcessInfo],
        group: Option<&str>,
        select: impl Fn(&ProcessInfo) -> bool,
        op: impl FnOnce(&[String]) -> Vec<ProcessResult>,
    ) -> RpcResult {
        let names: Vec<String> = self
            .by_priority(infos, group)
            .iter()
            .filter(|i| select(i))
            .map(|i| i.namespec())
            .collect();
        if names.is_empty() {
            return Ok(Value::Array(vec![]));
        }
        Ok(results_to_value(op(&names), infos))
    }

    fn stop_named(&self, namespec: &str, wait: bool) -> RpcResult {
        let infos = self.backend.all_process_info();
        match self.resolve(&infos, namespec)? {
            (group, None) => self.stop_group(&group, wait),
            (_, Some(info)) => {
                if !self.stoppable(info) {
                    return Err(fault(faults::NOT_RUNNING, namespec));
                }
                single(self.backend.stop(&[info.namespec()], wait))
            }
        }
    }

    fn stop_group(&self, group: &str, wait: bool) -> RpcResult {
        let infos = self.group_infos(group)?;
        self.stop_many(&infos, Some(group), wait)
    }

    fn stop_many(&self, infos: &[ProcessInfo], group: Option<&str>, wait: bool) -> RpcResult {
        self.apply_many(
            infos,
            group,
            |i| self.stoppable(i),
            |names| self.backend.stop(names, wait),
        )
    }

    /// Running, or stopped with a start pending (held for its dependencies).
    fn stoppable(&self, info: &ProcessInfo) -> bool {
        info.state.is_running() || self.backend.start_pending(&info.namespec())
    }

    fn signal_named(&self, namespec: &str, signal: &str) -> RpcResult {
        let infos = self.backend.all_process_info();
        match self.resolve(&infos, namespec)? {
            (group, None) => self.signal_group(&group, signal),
            (_, Some(info)) => {
                let num = describe::signal_number(signal)
                    .ok_or_else(|| fault(faults::BAD_SIGNAL, signal))?;
                if !info.state.is_signallable() {
                    return Err(fault(faults::NOT_RUNNING, namespec));
                }
                single(self.backend.signal(&[info.namespec()], num))
            }
        }
    }

    fn signal_group(&self, group: &str, signal: &str) -> RpcResult {
        let infos = self.group_infos(group)?;
        self.signal_many(&infos, Some(group), signal)
    }

    fn signal_many(&self, infos: &[ProcessInfo], group: Option<&str>, signal: &str) -> RpcResult {
        let targets: Vec<ProcessInfo> = self
            .by_priority(infos, group)
            .into_iter()
            .filter(|i| i.state.is_signallable())
            .collect();
        let Some(num) = describe::signal_number(signal) else {
            // Supervisor reports the bad signal once per addressed process.
            let f = fault(faults::BAD_SIGNAL, signal);
            let items = targets
                .iter()
                .map(|i| result_struct(&i.name, &i.group, f.code, &f.string))
                .collect();
            return Ok(Value::Array(items));
        };
        if targets.is_empty() {
            return Ok(Value::Array(vec![]));
        }
        let names: Vec<String> = targets.iter().map(ProcessInfo::namespec).collect();
        Ok(results_to_value(self.backend.signal(&names, num), infos))
    }

    pub(super) fn send_process_stdin(&self, p: &[Value]) -> RpcResult {
        let namespec = p_str(&p[0])?;
        let data: Vec<u8> = match &p[1] {
            Value::Str(s) => s.as_bytes().to_vec(),
            Value::Base64(b) => b.clone(),
            other => {
                return Err(fault(faults::INCORRECT_PARAMETERS, &python_repr(other)));
            }
        };
        let info = self.resolve_process(namespec)?;
        if info.pid == 0 || info.state == ProcessState::Stopping {
            return Err(fault(faults::NOT_RUNNING, namespec));
        }
        self.backend
            .send_stdin(&info.namespec(), &data)
            .map(|()| Value::Bool(true))
    }
}

fn python_repr(v: &Value) -> String {
    match v {
        Value::Int(i) => i.to_string(),
        Value::Bool(true) => "True".into(),
        Value::Bool(false) => "False".into(),
        Value::Double(d) => d.to_string(),
        Value::Nil => "None".into(),
        Value::Array(_) => "[...]".into(),
        Value::Struct(_) => "{...}".into(),
        Value::Str(s) | Value::DateTime(s) => s.clone(),
        Value::Base64(_) => "<binary>".into(),
    }
}
