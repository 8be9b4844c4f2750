//! All pools of a supervisord: routes each published event to the pools that subscribe to it,
//! numbers it, and forwards listener I/O to the right pool. Pure: returns [`Action`]s.

use std::sync::Arc;

use crate::config::{GroupConfig, GroupKind};

use super::event::Event;
use super::pool::{Action, Pool};
use super::protocol::ListenerState;
use super::types::EventMask;

/// Builds the pool for an `[eventlistener:x]` group; `None` for other groups.
pub fn pool_for(group: &GroupConfig) -> Option<Result<Pool, String>> {
    let GroupKind::EventListener(cfg) = &group.kind else {
        return None;
    };
    let names: Vec<String> = group.processes.iter().map(|p| p.name.clone()).collect();
    Some(
        EventMask::parse(&cfg.events)
            .map(|mask| Pool::new(&group.name, mask, cfg.buffer_size, &names))
            .map_err(|e| format!("[eventlistener:{}] {e}", group.name)),
    )
}

#[derive(Debug)]
pub struct Router {
    identifier: String,
    pools: Vec<Pool>,
    /// The global serial of the next event some pool accepts.
    next_serial: u64,
}

impl Router {
    pub fn new(identifier: &str) -> Router {
        Router {
            identifier: identifier.to_string(),
            pools: Vec::new(),
            next_serial: 0,
        }
    }

    pub fn set_identifier(&mut self, identifier: &str) {
        self.identifier = identifier.to_string();
    }

    /// Adds a pool (replacing one of the same name).
    pub fn add_pool(&mut self, pool: Pool) {
        self.remove_pool(pool.name());
        self.pools.push(pool);
    }

    pub fn remove_pool(&mut self, name: &str) {
        self.pools.retain(|p| p.name() != name);
    }

    /// Every event type some pool subscribes to.
    pub fn subscriptions(&self) -> EventMask {
        self.pools
            .iter()
            .fold(EventMask::EMPTY, |m, p| m.union(p.subscription()))
    }

    pub fn listener_state(&self, group: &str, name: &str) -> Option<ListenerState> {
        self.pool(group)?.listener_state(name)
    }

    fn pool(&self, name: &str) -> Option<&Pool> {
        self.pools.iter().find(|p| p.name() == name)
    }

    fn pool_mut(&mut self, name: &str) -> Option<&mut Pool> {
        self.pools.iter_mut().find(|p| p.name() == name)
    }

    pub fn publish(&mut self, event: Event, out: &mut Vec<Action>) {
        if let Some(change) = event.state_change() {
            if let Some(pool) = self.pool_mut(&change.group) {
                pool.process_changed(change, out);
            }
        }
        let kind = event.event_type();
        let event = Arc::new(event);
        let mut serial = None;
        for pool in self
            .pools
            .iter_mut()
            .filter(|p| p.subscription().contains(kind))
        {
            let s = *serial.get_or_insert_with(|| {
                let s = self.next_serial;
                self.next_serial += 1;
                s
            });
            pool.accept(event.clone(), s, out);
        }
        self.dispatch(out);
    }

    /// A new process of listener `group:name` runs as `pid`.
    pub fn attached(&mut self, group: &str, name: &str, pid: i32, out: &mut Vec<Action>) {
        if let Some(pool) = self.pool_mut(group) {
            pool.attached(name, pid, out);
        }
        self.dispatch(out);
    }

    pub fn output(
        &mut self,
        group: &str,
        name: &str,
        pid: i32,
        data: &[u8],
        out: &mut Vec<Action>,
    ) {
        if let Some(pool) = self.pool_mut(group) {
            pool.output(name, pid, data, out);
        }
        self.dispatch(out);
    }

    pub fn send_failed(&mut self, group: &str, name: &str, pid: i32, out: &mut Vec<Action>) {
        if let Some(pool) = self.pool_mut(group) {
            pool.send_failed(name, pid, out);
        }
        self.dispatch(out);
    }

    fn dispatch(&mut self, out: &mut Vec<Action>) {
        for pool in &mut self.pools {
            pool.dispatch(&self.identifier, out);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::events::event::StateChange;
    use crate::state::ProcessState;

    fn pool(name: &str, events: &[&str], listener: &str) -> Pool {
        Pool::new(
            name,
            EventMask::parse(events).unwrap(),
            10,
            &[listener.to_string()],
        )
    }

    fn state(group: &str, name: &str, from: ProcessState, to: ProcessState, pid: i32) -> Event {
        Event::ProcessState(StateChange {
            process: name.into(),
            group: group.into(),
            from,
            to,
            tries: 0,
            expected: true,
            pid,
        })
    }

    fn up(r: &mut Router, group: &str, name: &str, pid: i32, out: &mut Vec<Action>) {
        r.attached(group, name, pid, out);
        r.publish(
            state(
                group,
                name,
                ProcessState::Stopped,
                ProcessState::Starting,
                pid,
            ),
            out,
        );
        r.publish(
            state(
                group,
                name,
                ProcessState::Starting,
                ProcessState::Running,
                pid,
            ),
            out,
        );
        r.output(group, name, pid, b"READY\n", out);
    }

    fn sent(out: &[Action]) -> Vec<(String, String)> {
        out.iter()
            .filter_map(|a| match a {
                Action::Send { pool, bytes, .. } => {
                    Some((pool.clone(), String::from_utf8_lossy(bytes).into_owned()))
                }
                _ => None,
            })
            .collect()
    }

    #[test]
    fn serial_is_global_poolserial_per_pool() {
        let mut r = Router::new("sup");
        r.add_pool(pool("a", &["REMOTE_COMMUNICATION"], "la"));
        r.add_pool(pool("b", &["TICK", "REMOTE_COMMUNICATION"], "lb"));
        let mut out = Vec::new();
        r.publish(
            Event::Tick {
                period: 5,
                when: 10,
            },
            &mut out,
        );
        r.publish(
            Event::RemoteCommunication {
                kind: "k".into(),
                data: "d".into(),
            },
            &mut out,
        );
        // An event no pool wants takes no serial.
        r.publish(Event::SupervisorRunning, &mut out);
        up(&mut r, "a", "la", 1, &mut out);
        up(&mut r, "b", "lb", 2, &mut out);
        let s = sent(&out);
        assert_eq!(s.len(), 2);
        assert!(s[0].1.starts_with(
            "ver:3.0 server:sup serial:1 pool:a poolserial:0 eventname:REMOTE_COMMUNICATION"
        ));
        assert!(s[1].1.starts_with(
            "ver:3.0 server:sup serial:0 pool:b poolserial:0 eventname:TICK_5 len:7\nwhen:10"
        ));
        out.clear();
        r.output("b", "lb", 2, b"RESULT 2\nOKREADY\n", &mut out);
        assert!(sent(&out)[0]
            .1
            .starts_with("ver:3.0 server:sup serial:1 pool:b poolserial:1 "));
        r.publish(
            Event::RemoteCommunication {
                kind: "k".into(),
                data: "e".into(),
            },
            &mut out,
        );
        assert_eq!(r.subscriptions().tick_periods(), vec![5, 60, 3600]);
    }

    #[test]
    fn rejected_event_goes_back_to_its_own_pool_only() {
        let mut r = Router::new("s");
        r.add_pool(pool("a", &["REMOTE_COMMUNICATION"], "la"));
        r.add_pool(pool("b", &["REMOTE_COMMUNICATION"], "lb"));
        let mut out = Vec::new();
        up(&mut r, "a", "la", 1, &mut out);
        up(&mut r, "b", "lb", 2, &mut out);
        r.publish(
            Event::RemoteCommunication {
                kind: "k".into(),
                data: "d".into(),
            },
            &mut out,
        );
        assert_eq!(sent(&out).len(), 2);
        out.clear();
        r.output("a", "la", 1, b"RESULT 4\nFAILREADY\n", &mut out);
        let s = sent(&out);
        assert_eq!(s.len(), 1, "only pool a gets it again: {s:?}");
        assert_eq!(s[0].0, "a");
        out.clear();
        r.output("b", "lb", 2, b"RESULT 2\nOKREADY\n", &mut out);
        assert!(sent(&out).is_empty(), "pool b got no duplicate");
    }

    #[test]
    fn listeners_learn_their_process_state_from_state_events() {
        let mut r = Router::new("s");
        r.add_pool(pool("a", &["PROCESS_STATE"], "la"));
        let mut out = Vec::new();
        up(&mut r, "a", "la", 7, &mut out);
        // The pool's own STARTING and RUNNING events are delivered once it is RUNNING.
        let s = sent(&out);
        assert_eq!(s.len(), 1);
        assert!(s[0].1.contains("eventname:PROCESS_STATE_STARTING"));
        assert_eq!(r.listener_state("a", "la"), Some(ListenerState::Busy));
        out.clear();
        r.publish(
            state("a", "la", ProcessState::Running, ProcessState::Exited, 7),
            &mut out,
        );
        assert_eq!(
            r.listener_state("a", "la"),
            Some(ListenerState::Acknowledged)
        );
        r.remove_pool("a");
        assert_eq!(r.listener_state("a", "la"), None);
        assert_eq!(r.subscriptions(), EventMask::EMPTY);
    }
}
