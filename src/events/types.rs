//! Event type names, the abstract families they belong to, and pool subscriptions.

/// A concrete (deliverable) event type, with Supervisor's name.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum EventType {
    ProcessStateStopped,
    ProcessStateExited,
    ProcessStateStarting,
    ProcessStateStopping,
    ProcessStateBackoff,
    ProcessStateFatal,
    ProcessStateRunning,
    ProcessStateUnknown,
    ProcessCommunicationStdout,
    ProcessCommunicationStderr,
    ProcessLogStdout,
    ProcessLogStderr,
    RemoteCommunication,
    SupervisorStateChangeRunning,
    SupervisorStateChangeStopping,
    Tick5,
    Tick60,
    Tick3600,
    ProcessGroupAdded,
    ProcessGroupRemoved,
}

/// Abstract names: subscribing to one of these subscribes to every type of the family.
const FAMILIES: &[&str] = &[
    "PROCESS_STATE",
    "PROCESS_COMMUNICATION",
    "PROCESS_LOG",
    "SUPERVISOR_STATE_CHANGE",
    "TICK",
    "PROCESS_GROUP",
];

impl EventType {
    pub const ALL: [EventType; 20] = [
        EventType::ProcessStateStopped,
        EventType::ProcessStateExited,
        EventType::ProcessStateStarting,
        EventType::ProcessStateStopping,
        EventType::ProcessStateBackoff,
        EventType::ProcessStateFatal,
        EventType::ProcessStateRunning,
        EventType::ProcessStateUnknown,
        EventType::ProcessCommunicationStdout,
        EventType::ProcessCommunicationStderr,
        EventType::ProcessLogStdout,
        EventType::ProcessLogStderr,
        EventType::RemoteCommunication,
        EventType::SupervisorStateChangeRunning,
        EventType::SupervisorStateChangeStopping,
        EventType::Tick5,
        EventType::Tick60,
        EventType::Tick3600,
        EventType::ProcessGroupAdded,
        EventType::ProcessGroupRemoved,
    ];

    /// The name used in `events=` and in the `eventname:` header field.
    pub fn name(self) -> &'static str {
        match self {
            EventType::ProcessStateStopped => "PROCESS_STATE_STOPPED",
            EventType::ProcessStateExited => "PROCESS_STATE_EXITED",
            EventType::ProcessStateStarting => "PROCESS_STATE_STARTING",
            EventType::ProcessStateStopping => "PROCESS_STATE_STOPPING",
            EventType::ProcessStateBackoff => "PROCESS_STATE_BACKOFF",
            EventType::ProcessStateFatal => "PROCESS_STATE_FATAL",
            EventType::ProcessStateRunning => "PROCESS_STATE_RUNNING",
            EventType::ProcessStateUnknown => "PROCESS_STATE_UNKNOWN",
            EventType::ProcessCommunicationStdout => "PROCESS_COMMUNICATION_STDOUT",
            EventType::ProcessCommunicationStderr => "PROCESS_COMMUNICATION_STDERR",
            EventType::ProcessLogStdout => "PROCESS_LOG_STDOUT",
            EventType::ProcessLogStderr => "PROCESS_LOG_STDERR",
            EventType::RemoteCommunication => "REMOTE_COMMUNICATION",
            EventType::SupervisorStateChangeRunning => "SUPERVISOR_STATE_CHANGE_RUNNING",
            EventType::SupervisorStateChangeStopping => "SUPERVISOR_STATE_CHANGE_STOPPING",
            EventType::Tick5 => "TICK_5",
            EventType::Tick60 => "TICK_60",
            EventType::Tick3600 => "TICK_3600",
            EventType::ProcessGroupAdded => "PROCESS_GROUP_ADDED",
            EventType::ProcessGroupRemoved => "PROCESS_GROUP_REMOVED",
        }
    }

    /// The abstract family this type belongs to (`REMOTE_COMMUNICATION` has none).
    pub fn family(self) -> Option<&'static str> {
        let name = self.name();
        FAMILIES.iter().copied().find(|f| {
            name.len() > f.len() && name.starts_with(f) && name.as_bytes()[f.len()] == b'_'
        })
    }

    fn bit(self) -> u32 {
        1 << (self as u32)
    }

    /// The tick period in seconds for TICK_* types.
    pub fn tick_period(self) -> Option<u64> {
        match self {
            EventType::Tick5 => Some(5),
            EventType::Tick60 => Some(60),
            EventType::Tick3600 => Some(3600),
            _ => None,
        }
    }
}

/// A set of event types (a pool's `events=` resolved to concrete types).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct EventMask(u32);

impl EventMask {
    pub const EMPTY: EventMask = EventMask(0);

    /// Resolves `events=` names (case-insensitive; abstract names expand to their family).
    /// Fails with the first name that is not an event type.
    pub fn parse<S: AsRef<str>>(names: &[S]) -> Result<EventMask, String> {
        let mut mask = EventMask::EMPTY;
        for raw in names {
            let name = raw.as_ref().trim().to_ascii_uppercase();
            let matched = EventMask::matching(&name);
            if matched == EventMask::EMPTY {
                return Err(format!(
                    "Unknown event type {} in [eventlistener] events",
                    raw.as_ref()
                ));
            }
            mask = mask.union(matched);
        }
        Ok(mask)
    }

    /// Every concrete type a single (upper-case) subscription name stands for.
    fn matching(name: &str) -> EventMask {
        let mut mask = EventMask::EMPTY;
        for t in EventType::ALL {
            if name == "EVENT" || t.name() == name || t.family() == Some(name) {
                mask.insert(t);
            }
        }
        mask
    }

    pub fn insert(&mut self, t: EventType) {
        self.0 |= t.bit();
    }

    pub fn contains(self, t: EventType) -> bool {
        self.0 & t.bit() != 0
    }

    pub fn union(self, other: EventMask) -> EventMask {
        EventMask(self.0 | other.0)
    }

    pub fn bits(self) -> u32 {
        self.0
    }

    pub fn from_bits(bits: u32) -> EventMask {
        EventMask(bits)
    }

    /// Tick periods (seconds) this mask subscribes to.
    pub fn tick_periods(self) -> Vec<u64> {
        EventType::ALL
            .iter()
            .filter(|t| self.contains(**t))
            .filter_map(|t| t.tick_period())
            .collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn families_of_concrete_types() {
        assert_eq!(
            EventType::ProcessStateExited.family(),
            Some("PROCESS_STATE")
        );
        assert_eq!(EventType::Tick3600.family(), Some("TICK"));
        assert_eq!(
            EventType::SupervisorStateChangeRunning.family(),
            Some("SUPERVISOR_STATE_CHANGE")
        );
        assert_eq!(
            EventType::ProcessCommunicationStderr.family(),
            Some("PROCESS_COMMUNICATION")
        );
        assert_eq!(EventType::RemoteCommunication.family(), None);
    }

    #[test]
    fn abstract_names_match_their_subtypes_only() {
        let m = EventMask::parse(&["process_state"]).unwrap();
        for t in EventType::ALL {
            assert_eq!(
                m.contains(t),
                t.name().starts_with("PROCESS_STATE_"),
                "{}",
                t.name()
            );
        }
        let tick = EventMask::parse(&["TICK"]).unwrap();
        assert_eq!(tick.tick_periods(), vec![5, 60, 3600]);
        let comm = EventMask::parse(&["PROCESS_COMMUNICATION"]).unwrap();
        assert!(comm.contains(EventType::ProcessCommunicationStdout));
        assert!(!comm.contains(EventType::RemoteCommunication));
    }

    #[test]
    fn event_matches_everything() {
        let m = EventMask::parse(&["EVENT"]).unwrap();
        assert!(EventType::ALL.iter().all(|t| m.contains(*t)));
    }

    #[test]
    fn concrete_names_and_lists() {
        let m = EventMask::parse(&["TICK_5", " Process_State_Fatal "]).unwrap();
        assert!(m.contains(EventType::Tick5));
        assert!(!m.contains(EventType::Tick60));
        assert!(m.contains(EventType::ProcessStateFatal));
        assert!(!m.contains(EventType::ProcessStateExited));
        assert_eq!(m.tick_periods(), vec![5]);
    }

    #[test]
    fn unknown_names_are_refused() {
        assert!(EventMask::parse(&["PROCESS_STATE", "NOPE"])
            .unwrap_err()
            .contains("NOPE"));
        assert!(EventMask::parse(&["PROCESS"]).is_err());
        assert!(EventMask::parse(&["TICK_7"]).is_err());
    }
}
