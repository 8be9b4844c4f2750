//! One `[eventlistener:x]` pool: its bounded event buffer, its listeners' protocol states, and
//! the choice of which listener gets the next event. Pure: returns [`Action`]s to execute.

use std::collections::VecDeque;
use std::sync::Arc;

use log::Level;

use crate::state::ProcessState;

use super::event::{Envelope, Event, StateChange};
use super::protocol::{ListenerState, Protocol, Step};
use super::types::EventMask;

/// Something the owner of the pools must do.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Action {
    /// Write `bytes` to the stdin of listener process `listener` (running as `pid`).
    Send {
        pool: String,
        listener: String,
        pid: i32,
        bytes: Vec<u8>,
    },
    /// Log a line in the main log.
    Log { level: Level, message: String },
}

fn log(out: &mut Vec<Action>, level: Level, message: String) {
    out.push(Action::Log { level, message });
}

/// An event waiting in (or taken from) a pool, with its numbers.
#[derive(Debug, Clone)]
pub struct Queued {
    pub event: Arc<Event>,
    pub serial: u64,
    pub poolserial: u64,
}

/// One listener process of a pool.
#[derive(Debug, Clone)]
struct Listener {
    name: String,
    process_state: ProcessState,
    /// Pid of the current process, 0 when none has been attached.
    pid: i32,
    protocol: Protocol,
    /// The event the listener is working on (BUSY), to redeliver if it fails.
    current: Option<Queued>,
}

impl Listener {
    fn deliverable(&self) -> bool {
        self.process_state == ProcessState::Running && self.protocol.state() == ListenerState::Ready
    }
}

/// A pool of identical listeners sharing one event buffer.
#[derive(Debug, Clone)]
pub struct Pool {
    name: String,
    subscription: EventMask,
    buffer_size: usize,
    queue: VecDeque<Queued>,
    next_poolserial: u64,
    listeners: Vec<Listener>,
}

impl Pool {
    /// `listeners` are the pool's process names in Supervisor's order (first READY one wins).
    pub fn new(
        name: &str,
        subscription: EventMask,
        buffer_size: usize,
        listeners: &[String],
    ) -> Pool {
        let listeners = listeners
            .iter()
            .map(|n| Listener {
                name: n.clone(),
                process_state: ProcessState::Stopped,
                pid: 0,
                protocol: Protocol::new(),
                current: None,
            })
            .collect();
        Pool {
            name: name.to_string(),
            subscription,
            buffer_size: buffer_size.max(1),
            queue: VecDeque::new(),
            next_poolserial: 0,
            listeners,
        }
    }

    pub fn name(&self) -> &str {
        &self.name
    }

    pub fn subscription(&self) -> EventMask {
        self.subscription
    }

    /// Serials of the buffered events, oldest first.
    pub fn buffered(&self) -> Vec<u64> {
        self.queue.iter().map(|q| q.serial).collect()
    }

    /// The listener state of process `name`, if it belongs to this pool.
    pub fn listener_state(&self, name: &str) -> Option<ListenerState> {
        self.listener(name).map(|l| l.protocol.state())
    }

    fn listener(&self, name: &str) -> Option<&Listener> {
        self.listeners.iter().find(|l| l.name == name)
    }

    fn listener_mut(&mut self, name: &str) -> Option<&mut Listener> {
        self.listeners.iter_mut().find(|l| l.name == name)
    }

    /// Buffers a newly published event that carries global serial `serial`.
    pub fn accept(&mut self, event: Arc<Event>, serial: u64, out: &mut Vec<Action>) {
        let poolserial = self.next_poolserial;
        self.next_poolserial += 1;
        self.make_room(out);
        self.queue.push_back(Queued {
            event,
            serial,
            poolserial,
        });
    }

    /// Puts an event back at the head of the buffer, keeping its numbers.
    fn requeue(&mut self, queued: Queued, out: &mut Vec<Action>) {
        log(
            out,
            Level::Debug,
            format!(
                "rebuffering event {} for pool {} (buf size={}, max={})",
                queued.serial,
                self.name,
                self.queue.len(),
                self.buffer_size
            ),
        );
        self.make_room(out);
        self.queue.push_front(queued);
    }

    fn make_room(&mut self, out: &mut Vec<Action>) {
        while self.queue.len() >= self.buffer_size {
            let Some(old) = self.queue.pop_front() else {
                break;
            };
            log(
                out,
                Level::Error,
                format!(
                    "pool {} event buffer overflowed, discarding event {}",
                    self.name, old.serial
                ),
            );
        }
    }

    /// Sends buffered events, oldest first, to listeners that are RUNNING and READY.
    pub fn dispatch(&mut self, identifier: &str, out: &mut Vec<Action>) {
        while !self.queue.is_empty() {
            let Some(idx) = self.listeners.iter().position(Listener::deliverable) else {
                return;
            };
            let Some(queued) = self.queue.pop_front() else {
                return;
            };
            let envelope = Envelope {
                identifier,
                serial: queued.serial,
                pool: &self.name,
                poolserial: queued.poolserial,
            };
            let bytes = envelope.render(queued.event.event_type(), &queued.event.payload());
            let listener = &mut self.listeners[idx];
            listener.protocol.sent();
            out.push(Action::Send {
                pool: self.name.clone(),
                listener: listener.name.clone(),
                pid: listener.pid,
                bytes,
            });
            log(
                out,
                Level::Debug,
                format!("event {} sent to listener {}", queued.serial, listener.name),
            );
            listener.current = Some(queued);
        }
    }

    /// A new process of listener `name` was spawned with `pid`: it starts a fresh protocol.
    pub fn attached(&mut self, name: &str, pid: i32, out: &mut Vec<Action>) {
        let Some(l) = self.listener_mut(name) else {
            return;
        };
        let pending = l.current.take();
        l.pid = pid;
        l.protocol = Protocol::new();
        if let Some(q) = pending {
            self.requeue(q, out);
        }
    }

    /// Tracks a listener's process state; a listener that dies with an event in hand gets that
    /// event redelivered (to this pool only).
    pub fn process_changed(&mut self, change: &StateChange, out: &mut Vec<Action>) {
        let Some(l) = self.listener_mut(&change.process) else {
            return;
        };
        l.process_state = change.to;
        let died = matches!(
            change.to,
            ProcessState::Exited
                | ProcessState::Backoff
                | ProcessState::Stopped
                | ProcessState::Fatal
        );
        if !died {
            return;
        }
        l.protocol = Protocol::new();
        if let Some(q) = l.current.take() {
            self.requeue(q, out);
        }
    }

    /// Writing an event to listener `name` failed (its stdin is closed): the event goes back
    /// to the buffer and the listener gets nothing more until its next process.
    pub fn send_failed(&mut self, name: &str, pid: i32, out: &mut Vec<Action>) {
        let Some(l) = self.listener_mut(name) else {
            return;
        };
        if l.pid != pid {
            return;
        }
        let pending = l.current.take();
        let from = l.protocol.state();
        l.protocol = Protocol::new();
        let name = l.name.clone();
        log(
            out,
            Level::Debug,
            format!(
                "epipe occurred while sending event to listener {name}, listener state {}",
                from.name()
            ),
        );
        if let Some(q) = pending {
            self.requeue(q, out);
        }
    }

    /// Bytes the listener process `pid` wrote on its stdout.
    pub fn output(&mut self, name: &str, pid: i32, data: &[u8], out: &mut Vec<Action>) {
        let Some(l) = self.listener_mut(name) else {
            return;
        };
        if l.pid != pid {
            return; // a previous process of this listener
        }
        let steps = l.protocol.feed(data);
        let name = l.name.clone();
        for step in steps {
            self.apply(&name, step, out);
        }
    }

    fn apply(&mut self, name: &str, step: Step, out: &mut Vec<Action>) {
        match step {
            Step::Changed { from, to } => {
                log(
                    out,
                    Level::Debug,
                    format!("{name}: {} -> {}", from.name(), to.name()),
                );
                if to == ListenerState::Unknown {
                    log(
                        out,
                        Level::Warn,
                        format!(
                            "{name}: has entered the UNKNOWN state and will no longer receive \
                             events, this usually indicates the process violated the \
                             eventlistener protocol"
                        ),
                    );
                }
            }
            Step::Result { accepted: true } => {
                log(out, Level::Debug, format!("{name}: event was processed"));
                if let Some(l) = self.listener_mut(name) {
                    l.current = None;
                }
            }
            Step::Result { accepted: false } => {
                log(out, Level::Warn, format!("{name}: event was rejected"));
                self.reject_current(name, out);
            }
            Step::BadResultLine(line) => {
                let line = crate::config::pystr::decode_or_undecodable(&line);
                log(
                    out,
                    Level::Warn,
                    format!("{name}: bad result line: '{line}'"),
                );
                self.reject_current(name, out);
            }
        }
    }

    fn reject_current(&mut self, name: &str, out: &mut Vec<Action>) {
        let pending = self.listener_mut(name).and_then(|l| l.current.take());
        if let Some(q) = pending {
            self.requeue(q, out);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::events::types::EventType;

    fn remote(n: u32) -> Arc<Event> {
        Arc::new(Event::RemoteCommunication {
            kind: "t".into(),
            data: n.to_string(),
        })
    }

    fn pool(size: usize, listeners: &[&str]) -> Pool {
        let names: Vec<String> = listeners.iter().map(|s| s.to_string()).collect();
        Pool::new("lis", EventMask::parse(&["EVENT"]).unwrap(), size, &names)
    }

    fn change(name: &str, from: ProcessState, to: ProcessState, pid: i32) -> StateChange {
        StateChange {
            process: name.into(),
            group: "lis".into(),
            from,
            to,
            tries: 0,
            expected: true,
            pid,
        }
    }

    /// Brings listener `name` to RUNNING + READY as process `pid`.
    fn up(p: &mut Pool, name: &str, pid: i32) {
        let mut out = Vec::new();
        p.attached(name, pid, &mut out);
        p.process_changed(
            &change(name, ProcessState::Starting, ProcessState::Running, pid),
            &mut out,
        );
        p.output(name, pid, b"READY\n", &mut out);
    }

    fn sends(out: &[Action]) -> Vec<(String, String)> {
        out.iter()
            .filter_map(|a| match a {
                Action::Send {
                    listener, bytes, ..
                } => Some((
                    listener.clone(),
                    String::from_utf8_lossy(bytes).into_owned(),
                )),
                _ => None,
            })
            .collect()
    }

    fn logs(out: &[Action], level: Level) -> Vec<String> {
        out.iter()
            .filter_map(|a| match a {
                Action::Log { level: l, message } if *l == level => Some(message.clone()),
                _ => None,
            })
            .collect()
    }

    #[test]
    fn delivers_to_running_ready_listener_with_header() {
        let mut p = pool(10, &["lis"]);
        let mut out = Vec::new();
        p.accept(remote(1), 7, &mut out);
        p.dispatch("sup", &mut out);
        assert!(sends(&out).is_empty(), "not running yet");
        up(&mut p, "lis", 42);
        p.dispatch("sup", &mut out);
        let s = sends(&out);
        assert_eq!(s.len(), 1);
        assert_eq!(
            s[0].1,
            "ver:3.0 server:sup serial:7 pool:lis poolserial:0 eventname:REMOTE_COMMUNICATION \
             len:8\ntype:t\n1"
        );
        assert_eq!(p.listener_state("lis"), Some(ListenerState::Busy));
        assert_eq!(
            logs(&out, Level::Debug),
            vec!["event 7 sent to listener lis"]
        );
    }

    #[test]
    fn ready_but_starting_gets_nothing() {
        let mut p = pool(10, &["lis"]);
        let mut out = Vec::new();
        p.attached("lis", 5, &mut out);
        p.process_changed(
            &change("lis", ProcessState::Stopped, ProcessState::Starting, 5),
            &mut out,
        );
        p.output("lis", 5, b"READY\n", &mut out);
        p.accept(remote(1), 0, &mut out);
        p.dispatch("s", &mut out);
        assert!(sends(&out).is_empty());
    }

    #[test]
    fn one_event_per_listener_at_a_time_first_ready_wins() {
        let mut p = pool(10, &["a", "b"]);
        up(&mut p, "a", 1);
        up(&mut p, "b", 2);
        let mut out = Vec::new();
        for i in 0..3 {
            p.accept(remote(i), u64::from(i), &mut out);
        }
        p.dispatch("s", &mut out);
        let who: Vec<String> = sends(&out).into_iter().map(|s| s.0).collect();
        assert_eq!(who, vec!["a", "b"]);
        assert_eq!(p.buffered(), vec![2]);
        out.clear();
        p.output("b", 2, b"RESULT 2\nOKREADY\n", &mut out);
        p.dispatch("s", &mut out);
        let s = sends(&out);
        assert_eq!(s.len(), 1);
        assert_eq!(s[0].0, "b");
        assert!(s[0].1.contains("serial:2 pool:lis poolserial:2"));
    }

    #[test]
    fn rejected_event_is_redelivered_first_with_same_numbers() {
        let mut p = pool(10, &["lis"]);
        up(&mut p, "lis", 9);
        let mut out = Vec::new();
        p.accept(remote(1), 4, &mut out);
        p.accept(remote(2), 5, &mut out);
        p.dispatch("s", &mut out);
        out.clear();
        p.output("lis", 9, b"RESULT 4\nFAILREADY\n", &mut out);
        assert_eq!(logs(&out, Level::Warn), vec!["lis: event was rejected"]);
        assert_eq!(p.buffered(), vec![4, 5]);
        p.dispatch("s", &mut out);
        let s = sends(&out);
        assert!(s[0]
            .1
            .starts_with("ver:3.0 server:s serial:4 pool:lis poolserial:0 "));
    }

    #[test]
    fn death_while_busy_redelivers_to_next_process() {
        let mut p = pool(10, &["lis"]);
        up(&mut p, "lis", 9);
        let mut out = Vec::new();
        p.accept(remote(1), 0, &mut out);
        p.dispatch("s", &mut out);
        p.process_changed(
            &change("lis", ProcessState::Running, ProcessState::Exited, 9),
            &mut out,
        );
        assert_eq!(p.buffered(), vec![0]);
        assert_eq!(p.listener_state("lis"), Some(ListenerState::Acknowledged));
        out.clear();
        // Output of the dead process arriving late is ignored.
        p.output("lis", 9, b"READY\n", &mut out);
        p.dispatch("s", &mut out);
        assert!(sends(&out).is_empty());
        up(&mut p, "lis", 10);
        p.dispatch("s", &mut out);
        assert_eq!(sends(&out).len(), 1);
    }

    #[test]
    fn overflow_discards_oldest_with_supervisors_line() {
        let mut p = pool(2, &["lis"]);
        let mut out = Vec::new();
        for serial in 0..3 {
            p.accept(remote(0), serial, &mut out);
        }
        assert_eq!(p.buffered(), vec![1, 2]);
        assert_eq!(
            logs(&out, Level::Error),
            vec!["pool lis event buffer overflowed, discarding event 0"]
        );
    }

    #[test]
    fn requeue_into_full_buffer_discards_oldest() {
        let mut p = pool(1, &["lis"]);
        up(&mut p, "lis", 3);
        let mut out = Vec::new();
        p.accept(remote(0), 0, &mut out);
        p.dispatch("s", &mut out);
        p.accept(remote(0), 1, &mut out);
        out.clear();
        p.output("lis", 3, b"RESULT 4\nFAIL", &mut out);
        assert_eq!(p.buffered(), vec![0]);
        assert_eq!(
            logs(&out, Level::Error),
            vec!["pool lis event buffer overflowed, discarding event 1"]
        );
    }

    #[test]
    fn protocol_violation_warns_and_stops_delivery() {
        let mut p = pool(10, &["garbage"]);
        let mut out = Vec::new();
        p.attached("garbage", 3, &mut out);
        p.process_changed(
            &change("garbage", ProcessState::Starting, ProcessState::Running, 3),
            &mut out,
        );
        p.output("garbage", 3, b"hello there\n", &mut out);
        assert_eq!(
            logs(&out, Level::Warn),
            vec![
                "garbage: has entered the UNKNOWN state and will no longer receive events, this \
                 usually indicates the process violated the eventlistener protocol"
            ]
        );
        assert_eq!(
            logs(&out, Level::Debug),
            vec!["garbage: ACKNOWLEDGED -> UNKNOWN"]
        );
        p.accept(remote(0), 0, &mut out);
        p.dispatch("s", &mut out);
        assert!(sends(&out).is_empty());
    }

    #[test]
    fn bad_result_line_rejects_event() {
        let mut p = pool(10, &["lis"]);
        up(&mut p, "lis", 3);
        let mut out = Vec::new();
        p.accept(remote(0), 0, &mut out);
        p.dispatch("s", &mut out);
        out.clear();
        p.output("lis", 3, b"OK\n", &mut out);
        let warns = logs(&out, Level::Warn);
        assert_eq!(warns[0], "lis: bad result line: 'OK'");
        assert_eq!(p.buffered(), vec![0]);
    }

    #[test]
    fn send_failure_requeues() {
        let mut p = pool(10, &["lis"]);
        up(&mut p, "lis", 3);
        let mut out = Vec::new();
        p.accept(remote(0), 0, &mut out);
        p.dispatch("s", &mut out);
        p.send_failed("lis", 3, &mut out);
        assert_eq!(p.buffered(), vec![0]);
        assert_eq!(p.listener_state("lis"), Some(ListenerState::Acknowledged));
    }

    #[test]
    fn subscription_is_kept() {
        let p = Pool::new("x", EventMask::parse(&["TICK"]).unwrap(), 3, &[]);
        assert!(p.subscription().contains(EventType::Tick60));
        assert_eq!(p.name(), "x");
    }
}
