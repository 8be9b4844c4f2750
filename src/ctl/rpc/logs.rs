//! The main log and the process logs: read, tail, clear.

use std::path::{Path, PathBuf};

use super::super::readfile;
use super::{capped, fault, p_int, p_str, result_struct, Rpc, RpcResult};
use crate::ctl::backend::Channel;
use crate::ctl::protocol::faults::{self, Fault};
use crate::ctl::protocol::Value;

impl Rpc {
    pub(super) fn read_log(&self, p: &[Value]) -> RpcResult {
        self.read_main_log(p_int(&p[0])?, p_int(&p[1])?)
    }

    pub(super) fn read_process_stdout_log(&self, p: &[Value]) -> RpcResult {
        self.read_process_log(p_str(&p[0])?, p_int(&p[1])?, p_int(&p[2])?, Channel::Stdout)
    }

    pub(super) fn read_process_stderr_log(&self, p: &[Value]) -> RpcResult {
        self.read_process_log(p_str(&p[0])?, p_int(&p[1])?, p_int(&p[2])?, Channel::Stderr)
    }

    pub(super) fn tail_process_stdout_log(&self, p: &[Value]) -> RpcResult {
        self.tail_process_log(p_str(&p[0])?, p_int(&p[1])?, p_int(&p[2])?, Channel::Stdout)
    }

    pub(super) fn tail_process_stderr_log(&self, p: &[Value]) -> RpcResult {
        self.tail_process_log(p_str(&p[0])?, p_int(&p[1])?, p_int(&p[2])?, Channel::Stderr)
    }

    pub(super) fn clear_log(&self, _: &[Value]) -> RpcResult {
        self.backend.clear_main_log().map(|()| Value::Bool(true))
    }

    fn read_main_log(&self, offset: i64, length: i64) -> RpcResult {
        let path = self.backend.main_log_path();
        let path = existing(path.as_deref()).map_err(|detail| fault(faults::NO_FILE, &detail))?;
        let data = readfile::read_file(path, offset, length)?;
        Ok(Value::Str(String::from_utf8_lossy(&data).into_owned()))
    }

    fn process_for_log(&self, namespec: &str) -> Result<String, Fault> {
        Ok(self.resolve_process(namespec)?.namespec())
    }

    /// The log file of one process's channel (`None` when it has none).
    fn process_log_path(&self, namespec: &str, channel: Channel) -> Result<Option<PathBuf>, Fault> {
        let ns = self.process_for_log(namespec)?;
        self.backend.log_path(&ns, channel)
    }

    fn read_process_log(
        &self,
        namespec: &str,
        offset: i64,
        length: i64,
        channel: Channel,
    ) -> RpcResult {
        let path = self.process_log_path(namespec, channel)?;
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
        let path = self.process_log_path(namespec, channel)?;
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

    pub(super) fn clear_process_logs(&self, p: &[Value]) -> RpcResult {
        let ns = self.process_for_log(p_str(&p[0])?)?;
        self.backend
            .clear_process_logs(&ns)
            .map(|()| Value::Bool(true))
    }

    pub(super) fn clear_all_process_logs(&self, _: &[Value]) -> RpcResult {
        let infos = self.backend.all_process_info();
        let items = self
            .by_priority(&infos, None)
            .iter()
            .map(|i| match self.backend.clear_process_logs(&i.namespec()) {
                Ok(()) => result_struct(&i.name, &i.group, faults::SUCCESS, "OK"),
                Err(f) => result_struct(&i.name, &i.group, f.code, &f.string),
            })
            .collect();
        Ok(Value::Array(items))
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
