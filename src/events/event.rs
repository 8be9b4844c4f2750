//! Events as published by the engine, their payloads and the envelope a listener reads.

use crate::state::ProcessState;

use super::types::EventType;

/// Which output channel of a process an event comes from.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Stream {
    Stdout,
    Stderr,
}

impl Stream {
    pub fn name(self) -> &'static str {
        match self {
            Stream::Stdout => "stdout",
            Stream::Stderr => "stderr",
        }
    }
}

/// One state transition of one process, captured when it happened.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StateChange {
    pub process: String,
    pub group: String,
    pub from: ProcessState,
    pub to: ProcessState,
    /// The backoff counter (reported for STARTING and BACKOFF).
    pub tries: u32,
    /// Whether an exit was expected (reported for EXITED).
    pub expected: bool,
    /// The pid at the time of the transition, 0 when none (reported for RUNNING, STOPPING,
    /// STOPPED, EXITED).
    pub pid: i32,
}

/// Something that happened, with everything its payload needs. Payloads are rendered from
/// these values, so they describe the moment of publication, not the moment of delivery.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Event {
    ProcessState(StateChange),
    ProcessLog {
        stream: Stream,
        process: String,
        group: String,
        pid: i32,
        data: Vec<u8>,
    },
    /// Text a process wrote between the capture-mode markers.
    ProcessCommunication {
        stream: Stream,
        process: String,
        group: String,
        pid: i32,
        data: Vec<u8>,
    },
    /// `supervisor.sendRemoteCommEvent(type, data)`.
    RemoteCommunication {
        kind: String,
        data: String,
    },
    SupervisorRunning,
    SupervisorStopping,
    ProcessGroupAdded(String),
    ProcessGroupRemoved(String),
    /// `when` is the epoch time truncated to the period.
    Tick {
        period: u64,
        when: u64,
    },
}

impl Event {
    pub fn event_type(&self) -> EventType {
        match self {
            Event::ProcessState(c) => state_event_type(c.to),
            Event::ProcessLog {
                stream: Stream::Stdout,
                ..
            } => EventType::ProcessLogStdout,
            Event::ProcessLog {
                stream: Stream::Stderr,
                ..
            } => EventType::ProcessLogStderr,
            Event::ProcessCommunication {
                stream: Stream::Stdout,
                ..
            } => EventType::ProcessCommunicationStdout,
            Event::ProcessCommunication {
                stream: Stream::Stderr,
                ..
            } => EventType::ProcessCommunicationStderr,
            Event::RemoteCommunication { .. } => EventType::RemoteCommunication,
            Event::SupervisorRunning => EventType::SupervisorStateChangeRunning,
            Event::SupervisorStopping => EventType::SupervisorStateChangeStopping,
            Event::ProcessGroupAdded(_) => EventType::ProcessGroupAdded,
            Event::ProcessGroupRemoved(_) => EventType::ProcessGroupRemoved,
            Event::Tick { period: 5, .. } => EventType::Tick5,
            Event::Tick { period: 60, .. } => EventType::Tick60,
            Event::Tick { .. } => EventType::Tick3600,
        }
    }

    /// The payload bytes exactly as Supervisor writes them after the header line.
    pub fn payload(&self) -> Vec<u8> {
        match self {
            Event::ProcessState(c) => state_payload(c).into_bytes(),
            Event::ProcessLog {
                stream,
                process,
                group,
                pid,
                data,
            } => {
                let head = format!(
                    "processname:{process} groupname:{group} pid:{pid} channel:{}\n",
                    stream.name()
                );
                concat(head, data)
            }
            Event::ProcessCommunication {
                process,
                group,
                pid,
                data,
                ..
            } => concat(
                format!("processname:{process} groupname:{group} pid:{pid}\n"),
                data,
            ),
            Event::RemoteCommunication { kind, data } => {
                format!("type:{kind}\n{data}").into_bytes()
            }
            Event::SupervisorRunning | Event::SupervisorStopping => Vec::new(),
            Event::ProcessGroupAdded(g) | Event::ProcessGroupRemoved(g) => {
                format!("groupname:{g}\n").into_bytes()
            }
            Event::Tick { when, .. } => format!("when:{when}").into_bytes(),
        }
    }

    /// The process a PROCESS_STATE event is about: (group, name, new state, pid).
    pub fn state_change(&self) -> Option<&StateChange> {
        match self {
            Event::ProcessState(c) => Some(c),
            _ => None,
        }
    }
}

fn concat(head: String, data: &[u8]) -> Vec<u8> {
    let mut out = head.into_bytes();
    out.extend_from_slice(data);
    out
}

fn state_event_type(to: ProcessState) -> EventType {
    match to {
        ProcessState::Stopped => EventType::ProcessStateStopped,
        ProcessState::Starting => EventType::ProcessStateStarting,
        ProcessState::Running => EventType::ProcessStateRunning,
        ProcessState::Backoff => EventType::ProcessStateBackoff,
        ProcessState::Stopping => EventType::ProcessStateStopping,
        ProcessState::Exited => EventType::ProcessStateExited,
        ProcessState::Fatal => EventType::ProcessStateFatal,
        ProcessState::Unknown => EventType::ProcessStateUnknown,
    }
}

fn state_payload(c: &StateChange) -> String {
    let mut s = format!(
        "processname:{} groupname:{} from_state:{}",
        c.process,
        c.group,
        c.from.name()
    );
    match c.to {
        ProcessState::Starting | ProcessState::Backoff => {
            s.push_str(&format!(" tries:{}", c.tries))
        }
        ProcessState::Exited => {
            s.push_str(&format!(" expected:{} pid:{}", u8::from(c.expected), c.pid))
        }
        ProcessState::Running | ProcessState::Stopping | ProcessState::Stopped => {
            s.push_str(&format!(" pid:{}", c.pid))
        }
        ProcessState::Fatal | ProcessState::Unknown => {}
    }
    s
}

/// Where an event is going: the numbers and names of its header line.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Envelope<'a> {
    pub identifier: &'a str,
    pub serial: u64,
    pub pool: &'a str,
    pub poolserial: u64,
}

impl Envelope<'_> {
    /// Header line + payload (`len` counts payload bytes; no newline after the payload).
    pub fn render(&self, event_type: EventType, payload: &[u8]) -> Vec<u8> {
        let head = format!(
            "ver:3.0 server:{} serial:{} pool:{} poolserial:{} eventname:{} len:{}\n",
            self.identifier,
            self.serial,
            self.pool,
            self.poolserial,
            event_type.name(),
            payload.len()
        );
        concat(head, payload)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn change(from: ProcessState, to: ProcessState, tries: u32, expected: bool, pid: i32) -> Event {
        Event::ProcessState(StateChange {
            process: "x".into(),
            group: "g".into(),
            from,
            to,
            tries,
            expected,
            pid,
        })
    }

    fn text(e: &Event) -> String {
        String::from_utf8(e.payload()).unwrap()
    }

    #[test]
    fn starting_and_backoff_carry_tries() {
        let e = Event::ProcessState(StateChange {
            process: "chatty".into(),
            group: "chatty".into(),
            from: ProcessState::Stopped,
            to: ProcessState::Starting,
            tries: 0,
            expected: true,
            pid: 0,
        });
        assert_eq!(e.event_type(), EventType::ProcessStateStarting);
        assert_eq!(
            text(&e),
            "processname:chatty groupname:chatty from_state:STOPPED tries:0"
        );
        let b = change(ProcessState::Starting, ProcessState::Backoff, 1, true, 0);
        assert_eq!(b.event_type(), EventType::ProcessStateBackoff);
        assert_eq!(
            text(&b),
            "processname:x groupname:g from_state:STARTING tries:1"
        );
        let r = change(ProcessState::Backoff, ProcessState::Starting, 1, true, 0);
        assert_eq!(
            text(&r),
            "processname:x groupname:g from_state:BACKOFF tries:1"
        );
    }

    #[test]
    fn running_stopping_stopped_carry_pid() {
        let r = change(
            ProcessState::Starting,
            ProcessState::Running,
            0,
            true,
            20675,
        );
        assert_eq!(
            text(&r),
            "processname:x groupname:g from_state:STARTING pid:20675"
        );
        let s = change(ProcessState::Running, ProcessState::Stopping, 0, true, 7);
        assert_eq!(s.event_type(), EventType::ProcessStateStopping);
        assert_eq!(
            text(&s),
            "processname:x groupname:g from_state:RUNNING pid:7"
        );
        let d = change(ProcessState::Stopping, ProcessState::Stopped, 0, true, 7);
        assert_eq!(
            text(&d),
            "processname:x groupname:g from_state:STOPPING pid:7"
        );
    }

    #[test]
    fn exited_carries_expected_and_pid() {
        let e = Event::ProcessState(StateChange {
            process: "exits".into(),
            group: "exits".into(),
            from: ProcessState::Running,
            to: ProcessState::Exited,
            tries: 0,
            expected: false,
            pid: 13653,
        });
        assert_eq!(
            text(&e),
            "processname:exits groupname:exits from_state:RUNNING expected:0 pid:13653"
        );
        let ok = change(ProcessState::Running, ProcessState::Exited, 0, true, 1);
        assert!(text(&ok).ends_with("expected:1 pid:1"));
    }

    #[test]
    fn fatal_and_unknown_have_no_extras() {
        let f = change(ProcessState::Backoff, ProcessState::Fatal, 4, true, 0);
        assert_eq!(f.event_type(), EventType::ProcessStateFatal);
        assert_eq!(text(&f), "processname:x groupname:g from_state:BACKOFF");
        let u = change(ProcessState::Running, ProcessState::Unknown, 0, true, 5);
        assert_eq!(u.event_type(), EventType::ProcessStateUnknown);
        assert_eq!(text(&u), "processname:x groupname:g from_state:RUNNING");
    }

    #[test]
    fn log_and_communication_payloads() {
        let l = Event::ProcessLog {
            stream: Stream::Stdout,
            process: "chatty".into(),
            group: "chatty".into(),
            pid: 20678,
            data: b"hello\n".to_vec(),
        };
        assert_eq!(l.event_type(), EventType::ProcessLogStdout);
        assert_eq!(
            text(&l),
            "processname:chatty groupname:chatty pid:20678 channel:stdout\nhello\n"
        );
        let c = Event::ProcessCommunication {
            stream: Stream::Stderr,
            process: "chatty".into(),
            group: "chatty".into(),
            pid: 20678,
            data: b"msg".to_vec(),
        };
        assert_eq!(c.event_type(), EventType::ProcessCommunicationStderr);
        assert_eq!(
            text(&c),
            "processname:chatty groupname:chatty pid:20678\nmsg"
        );
    }

    #[test]
    fn remote_supervisor_group_tick_payloads() {
        let r = Event::RemoteCommunication {
            kind: "mytype".into(),
            data: "hello world".into(),
        };
        assert_eq!(text(&r), "type:mytype\nhello world");
        assert_eq!(Event::SupervisorRunning.payload(), b"");
        assert_eq!(
            Event::SupervisorStopping.event_type(),
            EventType::SupervisorStateChangeStopping
        );
        let g = Event::ProcessGroupAdded("lis".into());
        assert_eq!(text(&g), "groupname:lis\n");
        assert_eq!(
            Event::ProcessGroupRemoved("a".into()).event_type(),
            EventType::ProcessGroupRemoved
        );
        let t = Event::Tick {
            period: 60,
            when: 1795605840,
        };
        assert_eq!(t.event_type(), EventType::Tick60);
        assert_eq!(text(&t), "when:1795605840");
        assert_eq!(
            Event::Tick { period: 5, when: 0 }.event_type(),
            EventType::Tick5
        );
        assert_eq!(
            Event::Tick {
                period: 3600,
                when: 0
            }
            .event_type(),
            EventType::Tick3600
        );
    }

    #[test]
    fn envelope_header_is_exact() {
        let env = Envelope {
            identifier: "supervisor",
            serial: 12,
            pool: "lis",
            poolserial: 3,
        };
        let e = Event::RemoteCommunication {
            kind: "mytype".into(),
            data: "hello world".into(),
        };
        let out = env.render(e.event_type(), &e.payload());
        assert_eq!(
            String::from_utf8(out).unwrap(),
            "ver:3.0 server:supervisor serial:12 pool:lis poolserial:3 \
             eventname:REMOTE_COMMUNICATION len:23\ntype:mytype\nhello world"
        );
        let empty = env.render(EventType::SupervisorStateChangeRunning, b"");
        assert!(empty.ends_with(b"eventname:SUPERVISOR_STATE_CHANGE_RUNNING len:0\n"));
    }

    #[test]
    fn len_counts_bytes() {
        let env = Envelope {
            identifier: "s",
            serial: 0,
            pool: "p",
            poolserial: 0,
        };
        let out = env.render(EventType::RemoteCommunication, "é".as_bytes());
        assert!(out.starts_with(b"ver:3.0 server:s serial:0 pool:p poolserial:0"));
        assert!(String::from_utf8(out).unwrap().contains("len:2\n"));
    }
}
