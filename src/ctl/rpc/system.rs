//! `system.*`: introspection over the method table, and multicall.

use super::methods::{Method, METHODS};
use super::{bare, fault, p_str, Rpc, RpcResult};
use crate::ctl::protocol::faults;
use crate::ctl::protocol::Value;

impl Rpc {
    /// The methods this server publishes: `supervisor.*` only with its rpcinterface.
    fn published(&self) -> impl Iterator<Item = &'static Method> {
        let with_supervisor = self.supervisor_namespace();
        METHODS
            .iter()
            .filter(move |m| m.listed && (with_supervisor || m.name.starts_with("system.")))
    }

    fn published_method(&self, p: &[Value]) -> Result<&'static Method, crate::ctl::Fault> {
        let wanted = p_str(&p[0]).map_err(|_| bare(faults::SIGNATURE_UNSUPPORTED))?;
        self.published()
            .find(|m| m.name == wanted)
            .ok_or_else(|| bare(faults::SIGNATURE_UNSUPPORTED))
    }

    pub(super) fn list_methods(&self, _: &[Value]) -> RpcResult {
        Ok(Value::Array(
            self.published().map(|m| Value::str(m.name)).collect(),
        ))
    }

    pub(super) fn method_help(&self, p: &[Value]) -> RpcResult {
        Ok(Value::str(self.published_method(p)?.help))
    }

    pub(super) fn method_signature(&self, p: &[Value]) -> RpcResult {
        let sig = self.published_method(p)?.signature;
        Ok(Value::Array(sig.iter().map(|s| Value::str(*s)).collect()))
    }

    pub(super) fn multicall(&self, p: &[Value]) -> RpcResult {
        let calls = p[0]
            .as_array()
            .ok_or_else(|| bare(faults::INCORRECT_PARAMETERS))?;
        let mut size = 0usize;
        let mut results = Vec::new();
        for call in calls {
            let result = {
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
            };
            // Stop as soon as the answer is too large: the calls left are not made.
            size = size.saturating_add(crate::ctl::protocol::xmlrpc::encoded_len(&result));
            if size > super::MAX_ANSWER {
                return Err(super::too_large("system.multicall's answer", size));
            }
            results.push(result);
        }
        Ok(Value::Array(results))
    }
}
