//! Turns a process's output into PROCESS_LOG_* and PROCESS_COMMUNICATION_* events: the
//! observer the log sinks call with every chunk a channel produces.

use std::sync::{Arc, Mutex};

use crate::config::ProcessConfig;

use super::bus::EventBus;
use super::capture::{Capture, Segment};
use super::event::{Event, Stream};
use super::types::EventType;

/// Same shape as the log sink's observer hook.
pub type OutputObserver = crate::logs::Observer;

/// The observer for one channel of one running process (`pid`), or `None` when the channel
/// has neither `*_events_enabled` nor `*_capture_maxbytes` set.
pub fn output_observer(
    bus: &EventBus,
    process: &ProcessConfig,
    stream: Stream,
    pid: i32,
) -> Option<OutputObserver> {
    let cfg = match stream {
        Stream::Stdout => &process.stdout,
        Stream::Stderr => &process.stderr,
    };
    if !cfg.events_enabled && cfg.capture_maxbytes == 0 {
        return None;
    }
    let emitter = Emitter {
        bus: bus.clone(),
        stream,
        process: process.name.clone(),
        group: process.group.clone(),
        pid,
        log_events: cfg.events_enabled,
    };
    let capture =
        (cfg.capture_maxbytes > 0).then(|| Mutex::new(Capture::new(cfg.capture_maxbytes)));
    Some(Arc::new(move |data: &[u8]| match &capture {
        None => emitter.log(data),
        Some(c) => {
            let segments = crate::util::lock(c).feed(data);
            for s in segments {
                match s {
                    // Text inside the markers is also PROCESS_LOG material, as in Supervisor.
                    Segment::Normal(d) | Segment::Captured(d) => emitter.log(&d),
                    Segment::Communication(d) => emitter.communication(d),
                }
            }
        }
    }))
}

/// The log filter for a channel in capture mode: the markers and the text between them stay
/// out of the log file (they become PROCESS_COMMUNICATION events instead). `None` when the
/// channel does not capture.
pub fn capture_filter(process: &ProcessConfig, stream: Stream) -> Option<crate::logs::Filter> {
    let cfg = match stream {
        Stream::Stdout => &process.stdout,
        Stream::Stderr => &process.stderr,
    };
    if cfg.capture_maxbytes == 0 {
        return None;
    }
    // The filter keeps no captured bytes of its own: only the ordinary text is wanted here.
    let capture = Mutex::new(Capture::new(0));
    Some(Arc::new(move |data: &[u8], keep: &mut Vec<u8>| {
        let segments = crate::util::lock(&capture).feed(data);
        for s in segments {
            if let Segment::Normal(d) = s {
                keep.extend_from_slice(&d);
            }
        }
    }))
}

struct Emitter {
    bus: EventBus,
    stream: Stream,
    process: String,
    group: String,
    pid: i32,
    log_events: bool,
}

impl Emitter {
    fn log(&self, data: &[u8]) {
        let kind = match self.stream {
            Stream::Stdout => EventType::ProcessLogStdout,
            Stream::Stderr => EventType::ProcessLogStderr,
        };
        if !self.log_events || data.is_empty() || !self.bus.wants(kind) {
            return;
        }
        self.bus.publish(Event::ProcessLog {
            stream: self.stream,
            process: self.process.clone(),
            group: self.group.clone(),
            pid: self.pid,
            data: data.to_vec(),
        });
    }

    fn communication(&self, data: Vec<u8>) {
        log::debug!(
            "'{}' {} emitted a comm event",
            self.process,
            self.stream.name()
        );
        self.bus.publish(Event::ProcessCommunication {
            stream: self.stream,
            process: self.process.clone(),
            group: self.group.clone(),
            pid: self.pid,
            data,
        });
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::{AutoRestart, LogConfig};
    use crate::events::event::StateChange;
    use crate::events::pool::Pool;
    use crate::events::testutil::attach;
    use crate::events::types::EventMask;
    use crate::state::ProcessState;
    use std::io::Write;

    fn log_config(events: bool, capture: u64) -> LogConfig {
        LogConfig {
            capture_maxbytes: capture,
            events_enabled: events,
            ..LogConfig::none()
        }
    }

    fn process(stdout: LogConfig, stderr: LogConfig) -> ProcessConfig {
        ProcessConfig {
            name: "chatty".into(),
            group: "chatty".into(),
            program_name: "chatty".into(),
            command: "x".into(),
            argv: vec!["x".into()],
            priority: 999,
            autostart: true,
            autorestart: AutoRestart::Unexpected,
            startsecs: 1,
            startretries: 3,
            exitcodes: vec![0],
            stopsignal: 15,
            stopwaitsecs: 10,
            stopasgroup: false,
            killasgroup: false,
            user: None,
            directory: None,
            umask: None,
            environment: Vec::new(),
            serverurl: None,
            redirect_stderr: false,
            stdout,
            stderr,
            here: "/".into(),
            essential: false,
            depends_on: Vec::new(),
            healthcheck: None,
            memory_limit: None,
            memory_check_interval: 60,
            service: Default::default(),
        }
    }

    #[test]
    fn capture_filter_keeps_markers_and_captured_text_out_of_the_log() {
        let p = process(log_config(false, 100), log_config(false, 0));
        assert!(capture_filter(&p, Stream::Stderr).is_none());
        let filter = capture_filter(&p, Stream::Stdout).unwrap();
        let mut kept = Vec::new();
        filter(b"before <!--XSUPERVISOR:BEG", &mut kept);
        filter(b"IN-->secret<!--XSUPERVISOR:END--> after", &mut kept);
        assert_eq!(String::from_utf8(kept).unwrap(), "before  after");
    }

    #[test]
    fn no_observer_without_events_or_capture() {
        let bus = EventBus::start("t").unwrap();
        let p = process(log_config(false, 0), log_config(true, 0));
        assert!(output_observer(&bus, &p, Stream::Stdout, 1).is_none());
        assert!(output_observer(&bus, &p, Stream::Stderr, 1).is_some());
        bus.stop();
    }

    #[test]
    fn log_and_communication_events_reach_a_listener() {
        let bus = EventBus::start("t").unwrap();
        let mask = EventMask::parse(&["PROCESS_LOG", "PROCESS_COMMUNICATION"]).unwrap();
        bus.add_pool(Pool::new("lis", mask, 10, &["lis".to_string()]));
        let mut l = attach(&bus, "lis", "lis", 77);
        bus.publish(Event::ProcessState(StateChange {
            process: "lis".into(),
            group: "lis".into(),
            from: ProcessState::Starting,
            to: ProcessState::Running,
            tries: 0,
            expected: true,
            pid: 77,
        }));
        l.replies.write_all(b"READY\n").unwrap();
        let p = process(log_config(true, 100), log_config(false, 0));
        let observe = output_observer(&bus, &p, Stream::Stdout, 20678).unwrap();
        observe(b"hi <!--XSUPERVISOR:BEGIN-->secret");
        observe(b"<!--XSUPERVISOR:END-->");
        let mut got = Vec::new();
        for _ in 0..3 {
            let (h, body) = l.read_event();
            got.push((h.split("eventname:").nth(1).unwrap_or("").to_string(), body));
            l.replies.write_all(b"RESULT 2\nOKREADY\n").unwrap();
        }
        assert_eq!(
            got,
            vec![
                (
                    "PROCESS_LOG_STDOUT len:64\n".to_string(),
                    "processname:chatty groupname:chatty pid:20678 channel:stdout\nhi ".to_string()
                ),
                (
                    "PROCESS_LOG_STDOUT len:67\n".to_string(),
                    "processname:chatty groupname:chatty pid:20678 channel:stdout\nsecret"
                        .to_string()
                ),
                (
                    "PROCESS_COMMUNICATION_STDOUT len:52\n".to_string(),
                    "processname:chatty groupname:chatty pid:20678\nsecret".to_string()
                ),
            ]
        );
        bus.stop();
    }
}
