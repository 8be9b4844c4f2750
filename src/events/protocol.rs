//! The listener side of the event protocol, as seen from supervisord: bytes the listener writes
//! on its stdout drive its listener state. Pure: no I/O, no logging.

/// Supervisor's event listener states with their codes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ListenerState {
    Ready = 10,
    Busy = 20,
    Acknowledged = 30,
    Unknown = 40,
}

impl ListenerState {
    pub fn code(self) -> i32 {
        self as i32
    }

    pub fn name(self) -> &'static str {
        match self {
            ListenerState::Ready => "READY",
            ListenerState::Busy => "BUSY",
            ListenerState::Acknowledged => "ACKNOWLEDGED",
            ListenerState::Unknown => "UNKNOWN",
        }
    }
}

const READY_TOKEN: &[u8] = b"READY\n";
const RESULT_PREFIX: &[u8] = b"RESULT ";
/// A result line longer than this without a newline is a protocol violation (Supervisor would
/// buffer it forever).
const MAX_RESULT_LINE: usize = 1024;

/// What one chunk of listener output caused, in order.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Step {
    /// The listener state changed (`READY -> BUSY` is not reported: [`Protocol::sent`] does it).
    Changed {
        from: ListenerState,
        to: ListenerState,
    },
    /// The listener answered the event it was given: `OK` accepts it, anything else rejects it.
    Result { accepted: bool },
    /// The line after an event was not `RESULT <n>`: the event is rejected and the listener is
    /// UNKNOWN from now on.
    BadResultLine(Vec<u8>),
}

/// One listener's protocol state machine. A new process starts ACKNOWLEDGED: it owes a
/// `READY\n` before it gets anything.
#[derive(Debug, Clone)]
pub struct Protocol {
    state: ListenerState,
    buf: Vec<u8>,
    /// Body length announced by `RESULT <n>`, once its line has been read.
    result_len: Option<usize>,
}

impl Default for Protocol {
    fn default() -> Self {
        Protocol::new()
    }
}

impl Protocol {
    pub fn new() -> Protocol {
        Protocol {
            state: ListenerState::Acknowledged,
            buf: Vec::new(),
            result_len: None,
        }
    }

    pub fn state(&self) -> ListenerState {
        self.state
    }

    /// An event was written to the listener; only valid in READY.
    pub fn sent(&mut self) {
        debug_assert_eq!(self.state, ListenerState::Ready);
        self.state = ListenerState::Busy;
    }

    /// Consumes a chunk of the listener's stdout (chunks may split tokens anywhere).
    pub fn feed(&mut self, data: &[u8]) -> Vec<Step> {
        let mut steps = Vec::new();
        self.buf.extend_from_slice(data);
        while self.advance(&mut steps) {}
        steps
    }

    /// Makes one decision on the buffered bytes; false when more bytes are needed.
    fn advance(&mut self, steps: &mut Vec<Step>) -> bool {
        match self.state {
            ListenerState::Unknown => {
                // Terminal: whatever comes is ignored.
                self.buf.clear();
                false
            }
            ListenerState::Acknowledged => self.expect_ready(steps),
            ListenerState::Ready if self.buf.is_empty() => false,
            ListenerState::Ready => {
                // Nothing may come before an event has been sent.
                self.violate(steps);
                false
            }
            ListenerState::Busy => match self.result_len {
                None => self.read_result_line(steps),
                Some(n) => self.read_result_body(n, steps),
            },
        }
    }

    fn expect_ready(&mut self, steps: &mut Vec<Step>) -> bool {
        let n = self.buf.len().min(READY_TOKEN.len());
        if self.buf[..n] != READY_TOKEN[..n] {
            self.violate(steps);
            return false;
        }
        if n < READY_TOKEN.len() {
            return false;
        }
        self.buf.drain(..READY_TOKEN.len());
        self.change(ListenerState::Ready, steps);
        true
    }

    fn read_result_line(&mut self, steps: &mut Vec<Step>) -> bool {
        let Some(pos) = self.buf.iter().position(|b| *b == b'\n') else {
            if self.buf.len() > MAX_RESULT_LINE {
                let line = std::mem::take(&mut self.buf);
                self.bad_result_line(line, steps);
            }
            return false;
        };
        let line: Vec<u8> = self.buf.drain(..=pos).take(pos).collect();
        match parse_result_line(&line) {
            Some(n) => {
                self.result_len = Some(n);
                true
            }
            None => {
                self.bad_result_line(line, steps);
                false
            }
        }
    }

    fn read_result_body(&mut self, n: usize, steps: &mut Vec<Step>) -> bool {
        if self.buf.len() < n {
            return false;
        }
        let body: Vec<u8> = self.buf.drain(..n).collect();
        self.result_len = None;
        steps.push(Step::Result {
            accepted: body == b"OK",
        });
        self.change(ListenerState::Acknowledged, steps);
        true
    }

    fn bad_result_line(&mut self, line: Vec<u8>, steps: &mut Vec<Step>) {
        steps.push(Step::BadResultLine(line));
        self.violate(steps);
    }

    fn violate(&mut self, steps: &mut Vec<Step>) {
        self.buf.clear();
        self.result_len = None;
        self.change(ListenerState::Unknown, steps);
    }

    fn change(&mut self, to: ListenerState, steps: &mut Vec<Step>) {
        steps.push(Step::Changed {
            from: self.state,
            to,
        });
        self.state = to;
    }
}

/// `RESULT <n>` → n.
fn parse_result_line(line: &[u8]) -> Option<usize> {
    let digits = line.strip_prefix(RESULT_PREFIX)?;
    let text = std::str::from_utf8(digits).ok()?.trim();
    if text.is_empty() || !text.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    text.parse().ok()
}

#[cfg(test)]
mod tests {
    use super::*;
    use ListenerState::*;

    fn ch(from: ListenerState, to: ListenerState) -> Step {
        Step::Changed { from, to }
    }

    fn ready() -> Protocol {
        let mut p = Protocol::new();
        assert_eq!(p.feed(b"READY\n"), vec![ch(Acknowledged, Ready)]);
        p
    }

    fn busy() -> Protocol {
        let mut p = ready();
        p.sent();
        p
    }

    #[test]
    fn starts_acknowledged_and_becomes_ready() {
        let p = ready();
        assert_eq!(p.state(), Ready);
        assert_eq!(Ready.code(), 10);
        assert_eq!(Unknown.code(), 40);
        assert_eq!(Acknowledged.name(), "ACKNOWLEDGED");
    }

    #[test]
    fn ready_token_split_across_chunks() {
        let mut p = Protocol::new();
        for b in b"READY" {
            assert!(p.feed(&[*b]).is_empty());
        }
        assert_eq!(p.feed(b"\n"), vec![ch(Acknowledged, Ready)]);
    }

    #[test]
    fn ok_result_acknowledges_then_ready_again() {
        let mut p = busy();
        assert_eq!(
            p.feed(b"RESULT 2\nOKREADY\n"),
            vec![
                Step::Result { accepted: true },
                ch(Busy, Acknowledged),
                ch(Acknowledged, Ready)
            ]
        );
        assert_eq!(p.state(), Ready);
    }

    #[test]
    fn result_split_everywhere() {
        let whole = b"RESULT 4\nFAIL";
        for cut in 1..whole.len() {
            let mut p = busy();
            assert!(p.feed(&whole[..cut]).is_empty(), "cut {cut}");
            assert_eq!(
                p.feed(&whole[cut..]),
                vec![Step::Result { accepted: false }, ch(Busy, Acknowledged)],
                "cut {cut}"
            );
        }
    }

    #[test]
    fn anything_but_ok_rejects() {
        let mut p = busy();
        let steps = p.feed(b"RESULT 3\nok!");
        assert_eq!(steps[0], Step::Result { accepted: false });
        let mut p = busy();
        assert_eq!(p.feed(b"RESULT 0\n")[0], Step::Result { accepted: false });
        assert_eq!(p.state(), Acknowledged);
    }

    #[test]
    fn garbage_instead_of_ready_is_unknown() {
        let mut p = Protocol::new();
        assert_eq!(p.feed(b"garbage\n"), vec![ch(Acknowledged, Unknown)]);
        assert!(p.feed(b"READY\n").is_empty());
        assert_eq!(p.state(), Unknown);
    }

    #[test]
    fn wrong_prefix_is_detected_before_six_bytes() {
        let mut p = Protocol::new();
        assert_eq!(p.feed(b"X"), vec![ch(Acknowledged, Unknown)]);
    }

    #[test]
    fn output_while_ready_is_unknown() {
        let mut p = ready();
        assert_eq!(p.feed(b"READY\n"), vec![ch(Ready, Unknown)]);
    }

    #[test]
    fn bad_result_line_rejects_and_is_unknown() {
        let mut p = busy();
        assert_eq!(
            p.feed(b"RESULT x\nOK"),
            vec![Step::BadResultLine(b"RESULT x".to_vec()), ch(Busy, Unknown)]
        );
        let mut p = busy();
        assert_eq!(
            p.feed(b"READY\n")[0],
            Step::BadResultLine(b"READY".to_vec())
        );
        let mut p = busy();
        assert_eq!(
            p.feed(b"RESULT -1\n")[0],
            Step::BadResultLine(b"RESULT -1".to_vec())
        );
    }

    #[test]
    fn endless_result_line_is_bounded() {
        let mut p = busy();
        assert!(p.feed(&[b'R'; 1000]).is_empty());
        let steps = p.feed(&[b'R'; 100]);
        assert!(matches!(steps[0], Step::BadResultLine(_)));
        assert_eq!(p.state(), Unknown);
    }
}
