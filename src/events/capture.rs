//! Capture mode (`*_capture_maxbytes > 0`): text a process writes between
//! `<!--XSUPERVISOR:BEGIN-->` and `<!--XSUPERVISOR:END-->` becomes a PROCESS_COMMUNICATION
//! event instead of log output. Pure: splits a byte stream into segments.

pub const BEGIN_TOKEN: &[u8] = b"<!--XSUPERVISOR:BEGIN-->";
pub const END_TOKEN: &[u8] = b"<!--XSUPERVISOR:END-->";

/// A piece of a process's output, in stream order.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Segment {
    /// Ordinary output: goes to the log (and PROCESS_LOG events when enabled).
    Normal(Vec<u8>),
    /// Output inside the markers: not written to the log, but still PROCESS_LOG material.
    Captured(Vec<u8>),
    /// A completed capture: the PROCESS_COMMUNICATION payload data (at most maxbytes, the
    /// most recent ones kept).
    Communication(Vec<u8>),
}

#[derive(Debug, Clone)]
pub struct Capture {
    maxbytes: usize,
    capturing: bool,
    /// Tail that may be the start of the token being looked for.
    held: Vec<u8>,
    captured: Vec<u8>,
}

impl Capture {
    pub fn new(maxbytes: u64) -> Capture {
        Capture {
            maxbytes: usize::try_from(maxbytes).unwrap_or(usize::MAX),
            capturing: false,
            held: Vec::new(),
            captured: Vec::new(),
        }
    }

    pub fn feed(&mut self, data: &[u8]) -> Vec<Segment> {
        let mut buf = std::mem::take(&mut self.held);
        buf.extend_from_slice(data);
        let mut out = Vec::new();
        let mut rest: &[u8] = &buf;
        loop {
            let token = if self.capturing {
                END_TOKEN
            } else {
                BEGIN_TOKEN
            };
            match find(rest, token) {
                Some(pos) => {
                    self.emit(&rest[..pos], &mut out);
                    rest = &rest[pos + token.len()..];
                    self.toggle(&mut out);
                }
                None => {
                    let keep = prefix_at_end(rest, token);
                    self.emit(&rest[..rest.len() - keep], &mut out);
                    self.held = rest[rest.len() - keep..].to_vec();
                    return out;
                }
            }
        }
    }

    fn emit(&mut self, data: &[u8], out: &mut Vec<Segment>) {
        if data.is_empty() {
            return;
        }
        if self.capturing {
            self.captured.extend_from_slice(data);
            if self.captured.len() > self.maxbytes {
                let excess = self.captured.len() - self.maxbytes;
                self.captured.drain(..excess);
            }
            out.push(Segment::Captured(data.to_vec()));
        } else {
            out.push(Segment::Normal(data.to_vec()));
        }
    }

    fn toggle(&mut self, out: &mut Vec<Segment>) {
        if self.capturing {
            out.push(Segment::Communication(std::mem::take(&mut self.captured)));
        }
        self.capturing = !self.capturing;
    }
}

fn find(hay: &[u8], needle: &[u8]) -> Option<usize> {
    hay.windows(needle.len()).position(|w| w == needle)
}

/// Length of the longest proper prefix of `token` that `data` ends with.
fn prefix_at_end(data: &[u8], token: &[u8]) -> usize {
    (1..token.len().min(data.len() + 1))
        .rev()
        .find(|&n| data.ends_with(&token[..n]))
        .unwrap_or(0)
}

#[cfg(test)]
mod tests {
    use super::*;
    use Segment::*;

    #[test]
    fn plain_output_passes_through() {
        let mut c = Capture::new(100);
        assert_eq!(c.feed(b"hello\n"), vec![Normal(b"hello\n".to_vec())]);
    }

    #[test]
    fn marked_text_becomes_a_communication() {
        let mut c = Capture::new(100);
        let out = c.feed(b"a<!--XSUPERVISOR:BEGIN-->msg<!--XSUPERVISOR:END-->b");
        assert_eq!(
            out,
            vec![
                Normal(b"a".to_vec()),
                Captured(b"msg".to_vec()),
                Communication(b"msg".to_vec()),
                Normal(b"b".to_vec())
            ]
        );
    }

    #[test]
    fn tokens_split_across_chunks() {
        let stream: &[u8] = b"x<!--XSUPERVISOR:BEGIN-->hello<!--XSUPERVISOR:END-->y";
        for cut in 1..stream.len() {
            let mut c = Capture::new(100);
            let mut segs = c.feed(&stream[..cut]);
            segs.extend(c.feed(&stream[cut..]));
            let comms: Vec<_> = segs
                .iter()
                .filter(|s| matches!(s, Communication(_)))
                .collect();
            assert_eq!(comms, vec![&Communication(b"hello".to_vec())], "cut {cut}");
            let normal: Vec<u8> = segs
                .iter()
                .filter_map(|s| {
                    if let Normal(d) = s {
                        Some(d.clone())
                    } else {
                        None
                    }
                })
                .flatten()
                .collect();
            assert_eq!(normal, b"xy", "cut {cut}");
        }
    }

    #[test]
    fn capture_keeps_the_last_maxbytes() {
        let mut c = Capture::new(4);
        let out = c.feed(b"<!--XSUPERVISOR:BEGIN-->abcdefgh<!--XSUPERVISOR:END-->");
        assert_eq!(out.last(), Some(&Communication(b"efgh".to_vec())));
    }

    #[test]
    fn partial_token_prefix_is_held_then_released() {
        let mut c = Capture::new(10);
        assert_eq!(c.feed(b"ab<!--"), vec![Normal(b"ab".to_vec())]);
        assert_eq!(c.feed(b"x"), vec![Normal(b"<!--x".to_vec())]);
    }
}
