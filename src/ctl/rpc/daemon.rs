//! supervisord itself: identity and state, shutdown and restart, reading the config again,
//! adding and removing groups, remote communication events.

use super::{p_str, Rpc, RpcResult};
use crate::ctl::protocol::Value;

impl Rpc {
    pub(super) fn get_identification(&self, _: &[Value]) -> RpcResult {
        Ok(Value::str(self.backend.identification()))
    }

    pub(super) fn get_state(&self, _: &[Value]) -> RpcResult {
        let s = self.backend.state();
        Ok(Value::Struct(vec![
            ("statecode".into(), Value::Int(i64::from(s.code()))),
            ("statename".into(), Value::str(s.name())),
        ]))
    }

    pub(super) fn get_pid(&self, _: &[Value]) -> RpcResult {
        Ok(Value::Int(i64::from(self.backend.pid())))
    }

    pub(super) fn shutdown(&self, _: &[Value]) -> RpcResult {
        self.backend.shutdown().map(|()| Value::Bool(true))
    }

    pub(super) fn restart(&self, _: &[Value]) -> RpcResult {
        self.backend.restart().map(|()| Value::Bool(true))
    }

    /// `[[added, changed, removed]]`, group names.
    pub(super) fn reload_config(&self, _: &[Value]) -> RpcResult {
        let diff = self.backend.reload_config()?;
        let names = |v: Vec<String>| Value::Array(v.into_iter().map(Value::Str).collect());
        Ok(Value::Array(vec![Value::Array(vec![
            names(diff.added),
            names(diff.changed),
            names(diff.removed),
        ])]))
    }

    pub(super) fn add_process_group(&self, p: &[Value]) -> RpcResult {
        self.backend
            .add_group(p_str(&p[0])?)
            .map(|()| Value::Bool(true))
    }

    pub(super) fn remove_process_group(&self, p: &[Value]) -> RpcResult {
        self.backend
            .remove_group(p_str(&p[0])?)
            .map(|()| Value::Bool(true))
    }

    pub(super) fn send_remote_comm_event(&self, p: &[Value]) -> RpcResult {
        self.backend
            .send_remote_comm_event(p_str(&p[0])?, p_str(&p[1])?)
            .map(|()| Value::Bool(true))
    }
}
