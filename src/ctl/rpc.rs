//! The `supervisor.*` and `system.*` XML-RPC methods: name resolution, parameter rules, fault
//! codes and result shapes as in Supervisor 4.3. Every action goes through [`Backend`].

use std::path::Path;
use std::sync::Arc;

use super::backend::{faults, Backend, Channel, Fault, ProcessResult};
use super::describe;
use super::method_docs::METHODS;
use super::readfile;
use super::xmlrpc::Value;
use crate::config::{GroupConfig, LogFile, ProcessConfig};
use crate::state::ProcessInfo;
use crate::state::{ProcessState, SupervisorState};

pub const API_VERSION: &str = "3.0";
pub const SUPERVISOR_VERSION: &str = "4.3.0";

type RpcResult = Result<Value, Fault>;

pub struct Rpc {
    backend: Arc<dyn Backend>,
}

fn fault(code: i32, detail: &str) -> Fault {
    Fault::new(code, Some(detail))
}

fn bare(code: i32) -> Fault {
    Fault::new(code, None)
}

/// Supervisor's `split_namespec`: `g:*` / `g:` → (g, None); `p` → (p, Some(p)).
pub fn split_namespec(namespec: &str) -> (&str, Option<&str>) {
    match namespec.split_once(':') {
        Some((g, p)) if p.is_empty() || p == "*" => (g, None),
        Some((g, p)) => (g, Some(p)),
        None => (namespec, Some(namespec)),
    }
}

pub fn make_namespec(group: &str, name: &str) -> String {
    if group == name {
        name.to_string()
    } else {
        format!("{group}:{name}")
    }
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

/// (min, max) parameter counts; wrong arity is INCORRECT_PARAMETERS as with Python's TypeError.
fn arity(method: &str) -> Option<(usize, usize)> {
    Some(match method {
        "getAPIVersion"
        | "getVersion"
        | "getSupervisorVersion"
        | "getIdentification"
        | "getState"
        | "getPID"
        | "clearLog"
        | "shutdown"
        | "restart"
        | "reloadConfig"
        | "getAllProcessInfo"
        | "getAllConfigInfo"
        | "clearAllProcessLogs" => (0, 0),
        "readLog" | "readMainLog" => (2, 2),
        "addProcessGroup" | "removeProcessGroup" | "getProcessInfo" | "clearProcessLogs"
        | "clearProcessLog" => (1, 1),
        "startProcess" | "startProcessGroup" | "stopProcess" | "stopProcessGroup" => (1, 2),
        "startAllProcesses" | "stopAllProcesses" => (0, 1),
        "signalProcess" | "signalProcessGroup" | "sendProcessStdin" | "sendRemoteCommEvent" => {
            (2, 2)
        }
        "signalAllProcesses" => (1, 1),
        "readProcessStdoutLog"
        | "readProcessLog"
        | "readProcessStderrLog"
        | "tailProcessStdoutLog"
        | "tailProcessLog"
        | "tailProcessStderrLog" => (3, 3),
        _ => return None,
    })
}

fn system_arity(method: &str) -> Option<(usize, usize)> {
    Some(match method {
        "listMethods" => (0, 0),
        "methodHelp" | "methodSignature" | "multicall" => (1, 1),
        _ => return None,
    })
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
        let mut parts = method.split('.');
        let (Some(ns), Some(name), None) = (parts.next(), parts.next(), parts.next()) else {
            return Err(bare(faults::UNKNOWN_METHOD));
        };
        if name.starts_with('_') {
            return Err(bare(faults::UNKNOWN_METHOD));
        }
        match ns {
            "system" => {
                let (min, max) = system_arity(name).ok_or_else(|| bare(faults::UNKNOWN_METHOD))?;
                check_arity(params, min, max)?;
                self.system(name, params)
            }
            "supervisor" if self.supervisor_namespace() => {
                let (min, max) = arity(name).ok_or_else(|| bare(faults::UNKNOWN_METHOD))?;
                check_arity(params, min, max)?;
                if name != "sendRemoteCommEvent" && self.shutting_down() {
                    return Err(bare(faults::SHUTDOWN_STATE));
                }
                self.supervisor(name, params)
            }
            _ => Err(bare(faults::UNKNOWN_METHOD)),
        }
    }

    fn shutting_down(&self) -> bool {
        matches!(
            self.backend.state(),
            SupervisorState::Restarting | SupervisorState::Shutdown
        )
    }

    fn supervisor(&self, name: &str, p: &[Value]) -> RpcResult {
        let b = &self.backend;
        let wait = |i: usize| p.get(i).map(Value::truthy).unwrap_or(true);
        match name {
            "getAPIVersion" | "getVersion" => Ok(Value::str(API_VERSION)),
            "getSupervisorVersion" => Ok(Value::str(SUPERVISOR_VERSION)),
            "getIdentification" => Ok(Value::str(b.identification())),
            "getState" => {
                let s = b.state();
                Ok(Value::Struct(vec![
                    ("statecode".into(), Value::Int(i64::from(s.code()))),
                    ("statename".into(), Value::str(s.name())),
                ]))
            }
            "getPID" => Ok(Value::Int(i64::from(b.pid()))),
            "readLog" | "readMainLog" => self.read_main_log(p_int(&p[0])?, p_int(&p[1])?),
            "clearLog" => b.clear_main_log().map(|()| Value::Bool(true)),
            "shutdown" => b.shutdown().map(|()| Value::Bool(true)),
            "restart" => b.restart().map(|()| Value::Bool(true)),
            "reloadConfig" => {
                let diff = b.reload_config()?;
                let names = |v: Vec<String>| Value::Array(v.into_iter().map(Value::Str).collect());
                Ok(Value::Array(vec![Value::Array(vec![
                    names(diff.added),
                    names(diff.changed),
                    names(diff.removed),
                ])]))
            }
            "addProcessGroup" => b.add_group(p_str(&p[0])?).map(|()| Value::Bool(true)),
            "removeProcessGroup" => b.remove_group(p_str(&p[0])?).map(|()| Value::Bool(true)),
            "startProcess" => self.start_process(p_str(&p[0])?, wait(1)),
            "startProcessGroup" => self.start_group(p_str(&p[0])?, wait(1)),
            "startAllProcesses" => self.start_all(wait(0)),
            "stopProcess" => self.stop_process(p_str(&p[0])?, wait(1)),
            "stopProcessGroup" => self.stop_group(p_str(&p[0])?, wait(1)),
            "stopAllProcesses" => self.stop_all(wait(0)),
            "signalProcess" => self.signal_process(p_str(&p[0])?, &signal_param(&p[1])?),
            "signalProcessGroup" => self.signal_group(p_str(&p[0])?, &signal_param(&p[1])?),
            "signalAllProcesses" => self.signal_all(&signal_param(&p[0])?),
            "getProcessInfo" => self.get_process_info(p_str(&p[0])?),
            "getAllProcessInfo" => Ok(self.get_all_process_info()),
            "getAllConfigInfo" => Ok(self.get_all_config_info()),
            "readProcessStdoutLog" | "readProcessLog" => {
                self.read_process_log(p_str(&p[0])?, p_int(&p[1])?, p_int(&p[2])?, Channel::Stdout)
            }
            "readProcessStderrLog" => {
                self.read_process_log(p_str(&p[0])?, p_int(&p[1])?, p_int(&p[2])?, Channel::Stderr)
            }
            "tailProcessStdoutLog" | "tailProcessLog" => {
                self.tail_process_log(p_str(&p[0])?, p_int(&p[1])?, p_int(&p[2])?, Channel::Stdout)
            }
            "tailProcessStderrLog" => {
                self.tail_process_log(p_str(&p[0])?, p_int(&p[1])?, p_int(&p[2])?, Channel::Stderr)
            }
            "clearProcessLogs" | "clearProcessLog" => self.clear_process_logs(p_str(&p[0])?),
            "clearAllProcessLogs" => Ok(self.clear_all_process_logs()),
            "sendProcessStdin" => self.send_stdin(p_str(&p[0])?, &p[1]),
            "sendRemoteCommEvent" => b
                .send_remote_comm_event(p_str(&p[0])?, p_str(&p[1])?)
                .map(|()| Value::Bool(true)),
            _ => Err(bare(faults::UNKNOWN_METHOD)),
        }
    }

    // -- name resolution ------------------------------------------------------------------------

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

    // -- start / stop / signal ------------------------------------------------------------------

    fn single(results: Vec<ProcessResult>) -> RpcResult {
        match results.into_iter().next() {
            Some((_, Ok(()))) => Ok(Value::Bool(true)),
            Some((_, Err(f))) => Err(f),
            None => Err(fault(faults::FAILED, "no result")),
        }
    }

    fn start_process(&self, namespec: &str, wait: bool) -> RpcResult {
        let infos = self.backend.all_process_info();
        match self.resolve(&infos, namespec)? {
            (group, None) => self.start_group(&group, wait),
            (_, Some(info)) => Self::single(self.backend.start(&[info.namespec()], wait)),
        }
    }

    fn start_group(&self, group: &str, wait: bool) -> RpcResult {
        let infos = self.backend.all_process_info();
        self.resolve(&infos, &format!("{group}:*"))
            .map_err(|_| fault(faults::BAD_NAME, group))?;
        self.start_many(&infos, Some(group), wait)
    }

    fn start_all(&self, wait: bool) -> RpcResult {
        let infos = self.backend.all_process_info();
        self.start_many(&infos, None, wait)
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

    fn stop_process(&self, namespec: &str, wait: bool) -> RpcResult {
        let infos = self.backend.all_process_info();
        match self.resolve(&infos, namespec)? {
            (group, None) => self.stop_group(&group, wait),
            (_, Some(info)) => {
                if !self.stoppable(info) {
                    return Err(fault(faults::NOT_RUNNING, namespec));
                }
                Self::single(self.backend.stop(&[info.namespec()], wait))
            }
        }
    }

    fn stop_group(&self, group: &str, wait: bool) -> RpcResult {
        let infos = self.backend.all_process_info();
        self.resolve(&infos, &format!("{group}:*"))
            .map_err(|_| fault(faults::BAD_NAME, group))?;
        self.stop_many(&infos, Some(group), wait)
    }

    fn stop_all(&self, wait: bool) -> RpcResult {
        let infos = self.backend.all_process_info();
        self.stop_many(&infos, None, wait)
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

    fn signal_process(&self, namespec: &str, signal: &str) -> RpcResult {
        let infos = self.backend.all_process_info();
        match self.resolve(&infos, namespec)? {
            (group, None) => self.signal_group(&group, signal),
            (_, Some(info)) => {
                let num = describe::signal_number(signal)
                    .ok_or_else(|| fault(faults::BAD_SIGNAL, signal))?;
                if !info.state.is_signallable() {
                    return Err(fault(faults::NOT_RUNNING, namespec));
                }
                Self::single(self.backend.signal(&[info.namespec()], num))
            }
        }
    }

    fn signal_group(&self, group: &str, signal: &str) -> RpcResult {
        let infos = self.backend.all_process_info();
        self.resolve(&infos, &format!("{group}:*"))
            .map_err(|_| fault(faults::BAD_NAME, group))?;
        self.signal_many(&infos, Some(group), signal)
    }

    fn signal_all(&self, signal: &str) -> RpcResult {
        let infos = self.backend.all_process_info();
        self.signal_many(&infos, None, signal)
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

    // -- process info ---------------------------------------------------------------------------

    fn get_process_info(&self, namespec: &str) -> RpcResult {
        let infos = self.backend.all_process_info();
        match self.resolve(&infos, namespec)? {
            (_, Some(info)) => Ok(self.info_value(info, now())),
            (_, None) => Err(fault(faults::BAD_NAME, namespec)),
        }
    }

    pub fn get_all_process_info(&self) -> Value {
        let now = now();
        let infos = self.backend.all_process_info();
        Value::Array(infos.iter().map(|i| self.info_value(i, now)).collect())
    }

    /// The getProcessInfo struct; a stopped process whose start is held for its `depends_on`
    /// programs says so in its description (extension), so `status` does not call it idle.
    fn info_value(&self, info: &ProcessInfo, now: i64) -> Value {
        let mut v = process_info_value(info, now);
        if info.state.is_stopped() && self.backend.start_pending(&info.namespec()) {
            if let Value::Struct(fields) = &mut v {
                for (k, val) in fields.iter_mut() {
                    if k == "description" {
                        *val = Value::str("waiting for its dependencies (depends_on)");
                    }
                }
            }
        }
        v
    }

    fn get_all_config_info(&self) -> Value {
        let active = self.backend.active_groups();
        let mut rows: Vec<(String, Value)> = Vec::new();
        for group in self.backend.pending_groups() {
            let inuse = active.contains(&group.name);
            for process in &group.processes {
                let auto_paths = if inuse {
                    let ns = process.namespec();
                    let path = |c| {
                        self.backend
                            .log_path(&ns, c)
                            .ok()
                            .flatten()
                            .map(|p| p.display().to_string())
                    };
                    (path(Channel::Stdout), path(Channel::Stderr))
                } else {
                    (None, None)
                };
                rows.push((
                    process.name.clone(),
                    config_info_value(&group, process, inuse, auto_paths),
                ));
            }
        }
        // Stable sort by process name, like Python's list.sort(key=...).
        rows.sort_by(|a, b| a.0.cmp(&b.0));
        Value::Array(rows.into_iter().map(|(_, v)| v).collect())
    }

    // -- logs -----------------------------------------------------------------------------------

    fn read_main_log(&self, offset: i64, length: i64) -> RpcResult {
        let path = self.backend.main_log_path();
        let path = existing(path.as_deref()).map_err(|detail| fault(faults::NO_FILE, &detail))?;
        let data = readfile::read_file(path, offset, length)?;
        Ok(Value::Str(String::from_utf8_lossy(&data).into_owned()))
    }

    fn process_for_log(&self, namespec: &str) -> Result<String, Fault> {
        let infos = self.backend.all_process_info();
        match self.resolve(&infos, namespec)? {
            (_, Some(info)) => Ok(info.namespec()),
            (_, None) => Err(fault(faults::BAD_NAME, namespec)),
        }
    }

    fn read_process_log(
        &self,
        namespec: &str,
        offset: i64,
        length: i64,
        channel: Channel,
    ) -> RpcResult {
        let ns = self.process_for_log(namespec)?;
        let path = self.backend.log_path(&ns, channel)?;
        let path = existing(path.as_deref()).map_err(|detail| fault(faults::NO_FILE, &detail))?;
        let data = readfile::read_file(path, offset, length)?;
        Ok(Value::Str(String::from_utf8_lossy(&data).into_owned()))
    }

    fn tail_process_log(
        &self,
        namespec: &str,
        offset: i64,
        length: i64,
        channel: Channel,
    ) -> RpcResult {
        let ns = self.process_for_log(namespec)?;
        let path = self.backend.log_path(&ns, channel)?;
        let (data, offset, overflow) = match existing(path.as_deref()) {
            Ok(p) => readfile::tail_file(p, offset, length),
            Err(_) => (Vec::new(), 0, false),
        };
        Ok(Value::Array(vec![
            Value::Str(String::from_utf8_lossy(&data).into_owned()),
            capped(offset),
            Value::Bool(overflow),
        ]))
    }

    fn clear_process_logs(&self, namespec: &str) -> RpcResult {
        let ns = self.process_for_log(namespec)?;
        self.backend
            .clear_process_logs(&ns)
            .map(|()| Value::Bool(true))
    }

    fn clear_all_process_logs(&self) -> Value {
        let infos = self.backend.all_process_info();
        let items = self
            .by_priority(&infos, None)
            .iter()
            .map(|i| match self.backend.clear_process_logs(&i.namespec()) {
                Ok(()) => result_struct(&i.name, &i.group, faults::SUCCESS, "OK"),
                Err(f) => result_struct(&i.name, &i.group, f.code, &f.string),
            })
            .collect();
        Value::Array(items)
    }

    fn send_stdin(&self, namespec: &str, chars: &Value) -> RpcResult {
        let data: Vec<u8> = match chars {
            Value::Str(s) => s.as_bytes().to_vec(),
            Value::Base64(b) => b.clone(),
            other => {
                return Err(fault(faults::INCORRECT_PARAMETERS, &python_repr(other)));
            }
        };
        let infos = self.backend.all_process_info();
        match self.resolve(&infos, namespec)? {
            (_, Some(info)) => {
                if info.pid == 0 || info.state == ProcessState::Stopping {
                    return Err(fault(faults::NOT_RUNNING, namespec));
                }
                self.backend
                    .send_stdin(&info.namespec(), &data)
                    .map(|()| Value::Bool(true))
            }
            (_, None) => Err(fault(faults::BAD_NAME, namespec)),
        }
    }

    // -- system.* -------------------------------------------------------------------------------

    fn published(
        &self,
    ) -> impl Iterator<Item = &'static (&'static str, &'static [&'static str], &'static str)> {
        let with_supervisor = self.supervisor_namespace();
        METHODS
            .iter()
            .filter(move |(n, _, _)| with_supervisor || n.starts_with("system."))
    }

    fn system(&self, name: &str, p: &[Value]) -> RpcResult {
        match name {
            "listMethods" => Ok(Value::Array(
                self.published().map(|(n, _, _)| Value::str(*n)).collect(),
            )),
            "methodHelp" => {
                let wanted = p_str(&p[0]).map_err(|_| bare(faults::SIGNATURE_UNSUPPORTED))?;
                self.published()
                    .find(|(n, _, _)| *n == wanted)
                    .map(|(_, _, doc)| Value::str(*doc))
                    .ok_or_else(|| bare(faults::SIGNATURE_UNSUPPORTED))
            }
            "methodSignature" => {
                let wanted = p_str(&p[0]).map_err(|_| bare(faults::SIGNATURE_UNSUPPORTED))?;
                self.published()
                    .find(|(n, _, _)| *n == wanted)
                    .map(|(_, sig, _)| Value::Array(sig.iter().map(|s| Value::str(*s)).collect()))
                    .ok_or_else(|| bare(faults::SIGNATURE_UNSUPPORTED))
            }
            "multicall" => self.multicall(&p[0]),
            _ => Err(bare(faults::UNKNOWN_METHOD)),
        }
    }

    fn multicall(&self, calls: &Value) -> RpcResult {
        let calls = calls
            .as_array()
            .ok_or_else(|| bare(faults::INCORRECT_PARAMETERS))?;
        let results = calls
            .iter()
            .map(|call| {
                let outcome = match call.get("methodName") {
                    _ if !matches!(call, Value::Struct(_)) => {
                        Err(bare(faults::INCORRECT_PARAMETERS))
                    }
                    None => Err(fault(faults::INCORRECT_PARAMETERS, "No methodName")),
                    Some(Value::Str(n)) if n == "system.multicall" => Err(fault(
                        faults::INCORRECT_PARAMETERS,
                        "Recursive system.multicall forbidden",
                    )),
                    Some(Value::Str(n)) => match call.get("params") {
                        None => self.call(n, &[]),
                        Some(Value::Array(params)) => self.call(n, params),
                        Some(_) => Err(bare(faults::INCORRECT_PARAMETERS)),
                    },
                    Some(_) => Err(bare(faults::UNKNOWN_METHOD)),
                };
                match outcome {
                    Ok(v) => v,
                    Err(f) => Value::Struct(vec![
                        ("faultCode".into(), Value::Int(i64::from(f.code))),
                        ("faultString".into(), Value::str(f.string)),
                    ]),
                }
            })
            .collect();
        Ok(Value::Array(results))
    }
}

fn check_arity(params: &[Value], min: usize, max: usize) -> Result<(), Fault> {
    if params.len() < min || params.len() > max {
        Err(bare(faults::INCORRECT_PARAMETERS))
    } else {
        Ok(())
    }
}

/// Signals may come as names or numbers, as strings or ints.
fn signal_param(v: &Value) -> Result<String, Fault> {
    match v {
        Value::Str(s) => Ok(s.clone()),
        Value::Int(i) => Ok(i.to_string()),
        _ => Err(bare(faults::INCORRECT_PARAMETERS)),
    }
}

/// The path if it names an existing file; else the detail Supervisor puts in NO_FILE.
fn existing(path: Option<&Path>) -> Result<&Path, String> {
    match path {
        Some(p) if p.exists() => Ok(p),
        Some(p) => Err(p.display().to_string()),
        None => Err("None".to_string()),
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

pub fn now() -> i64 {
    crate::util::unix_secs()
}

/// The getProcessInfo struct, keys in Supervisor's order.
pub fn process_info_value(info: &ProcessInfo, now: i64) -> Value {
    let mut fields = vec![
        ("name".into(), Value::str(&info.name)),
        ("group".into(), Value::str(&info.group)),
        ("start".into(), capped(info.start)),
        ("stop".into(), capped(info.stop)),
        ("now".into(), capped(now)),
        ("state".into(), Value::Int(i64::from(info.state.code()))),
        ("statename".into(), Value::str(info.state.name())),
        ("spawnerr".into(), Value::str(&info.spawnerr)),
        ("exitstatus".into(), Value::Int(i64::from(info.exitstatus))),
        ("logfile".into(), Value::str(&info.stdout_logfile)),
        ("stdout_logfile".into(), Value::str(&info.stdout_logfile)),
        ("stderr_logfile".into(), Value::str(&info.stderr_logfile)),
        ("pid".into(), Value::Int(i64::from(info.pid))),
        (
            "description".into(),
            Value::str(describe::description(info, now)),
        ),
    ];
    // Extension: only programs with a health check carry the key, so plain configs answer
    // exactly Supervisor's struct.
    if let Some(h) = &info.health {
        fields.push(("health".into(), Value::str(h)));
    }
    Value::Struct(fields)
}

fn log_file_value(f: &LogFile, resolved: Option<String>) -> Value {
    match f {
        LogFile::None => Value::str("none"),
        LogFile::Auto => Value::str(resolved.unwrap_or_else(|| "auto".into())),
        LogFile::Syslog => Value::str("syslog"),
        LogFile::Path(p) => Value::str(p.display().to_string()),
    }
}

/// `auto_paths`: the files AUTO logs were given when the group was created (in use only);
/// Supervisor reports those paths, and `'auto'` for groups not created yet.
fn config_info_value(
    group: &GroupConfig,
    p: &ProcessConfig,
    inuse: bool,
    auto_paths: (Option<String>, Option<String>),
) -> Value {
    let int = |i: u64| capped(i64::try_from(i).unwrap_or(i64::MAX));
    let opt_str = |s: Option<String>| s.map(Value::Str).unwrap_or_else(|| Value::str("none"));
    Value::Struct(vec![
        ("autostart".into(), Value::Bool(p.autostart)),
        (
            "directory".into(),
            opt_str(p.directory.as_ref().map(|d| d.display().to_string())),
        ),
        (
            "uid".into(),
            p.user
                .as_ref()
                .map(|u| Value::Int(i64::from(u.uid)))
                .unwrap_or_else(|| Value::str("none")),
        ),
        ("command".into(), Value::str(&p.command)),
        (
            "exitcodes".into(),
            Value::Array(
                p.exitcodes
                    .iter()
                    .map(|c| Value::Int(i64::from(*c)))
                    .collect(),
            ),
        ),
        ("group".into(), Value::str(&group.name)),
        ("group_prio".into(), capped(group.priority)),
        ("inuse".into(), Value::Bool(inuse)),
        ("killasgroup".into(), Value::Bool(p.killasgroup)),
        ("name".into(), Value::str(&p.name)),
        ("process_prio".into(), capped(p.priority)),
        ("redirect_stderr".into(), Value::Bool(p.redirect_stderr)),
        ("startretries".into(), Value::Int(i64::from(p.startretries))),
        ("startsecs".into(), int(p.startsecs)),
        (
            "stdout_capture_maxbytes".into(),
            int(p.stdout.capture_maxbytes),
        ),
        (
            "stdout_events_enabled".into(),
            Value::Bool(p.stdout.events_enabled),
        ),
        (
            "stdout_logfile".into(),
            log_file_value(&p.stdout.file, auto_paths.0),
        ),
        (
            "stdout_logfile_backups".into(),
            Value::Int(i64::from(p.stdout.backups)),
        ),
        ("stdout_logfile_maxbytes".into(), int(p.stdout.maxbytes)),
        ("stdout_syslog".into(), Value::Bool(p.stdout.syslog)),
        ("stopsignal".into(), Value::Int(i64::from(p.stopsignal))),
        ("stopwaitsecs".into(), int(p.stopwaitsecs)),
        (
            "stderr_capture_maxbytes".into(),
            int(p.stderr.capture_maxbytes),
        ),
        (
            "stderr_events_enabled".into(),
            Value::Bool(p.stderr.events_enabled),
        ),
        (
            "stderr_logfile".into(),
            if p.redirect_stderr {
                Value::str("none")
            } else {
                log_file_value(&p.stderr.file, auto_paths.1)
            },
        ),
        (
            "stderr_logfile_backups".into(),
            Value::Int(i64::from(p.stderr.backups)),
        ),
        ("stderr_logfile_maxbytes".into(), int(p.stderr.maxbytes)),
        ("stderr_syslog".into(), Value::Bool(p.stderr.syslog)),
        // Supervisor turns both the default and `serverurl=AUTO` into None → 'none'.
        (
            "serverurl".into(),
            Value::str(p.serverurl.clone().unwrap_or_else(|| "none".into())),
        ),
    ])
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn namespecs() {
        assert_eq!(split_namespec("foo"), ("foo", Some("foo")));
        assert_eq!(split_namespec("g:p"), ("g", Some("p")));
        assert_eq!(split_namespec("g:*"), ("g", None));
        assert_eq!(split_namespec("g:"), ("g", None));
        assert_eq!(make_namespec("g", "p"), "g:p");
        assert_eq!(make_namespec("p", "p"), "p");
    }
}
