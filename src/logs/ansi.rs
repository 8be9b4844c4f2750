//! Removes ANSI escape sequences (`ESC [` … terminator) the way Supervisor's `stripEscapes`
//! does, but keeping state between chunks so a sequence split across two reads is still removed.

const TERMINATORS: &[u8] = b"HfABCDRsuJKhlpm";

#[derive(Debug, Default, Clone, Copy, PartialEq)]
enum State {
    #[default]
    Text,
    /// Saw ESC as the last byte of the previous chunk.
    Escape,
    /// Inside `ESC [` … until a terminator.
    Sequence,
}

#[derive(Debug, Default)]
pub struct AnsiStripper {
    state: State,
}

impl AnsiStripper {
    /// Appends `data` without escape sequences to `out`.
    pub fn strip(&mut self, data: &[u8], out: &mut Vec<u8>) {
        let mut i = 0;
        while i < data.len() {
            match self.state {
                State::Text => match memchr(0x1b, &data[i..]) {
                    None => {
                        out.extend_from_slice(&data[i..]);
                        return;
                    }
                    Some(n) => {
                        out.extend_from_slice(&data[i..i + n]);
                        i += n + 1;
                        self.state = State::Escape;
                    }
                },
                State::Escape => {
                    if data[i] == b'[' {
                        self.state = State::Sequence;
                        i += 1;
                    } else {
                        // A lone ESC is not a sequence start: keep it.
                        out.push(0x1b);
                        self.state = State::Text;
                    }
                }
                State::Sequence => {
                    if TERMINATORS.contains(&data[i]) {
                        self.state = State::Text;
                    }
                    i += 1;
                }
            }
        }
    }
}

fn memchr(b: u8, s: &[u8]) -> Option<usize> {
    s.iter().position(|&c| c == b)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn strip_chunks(chunks: &[&[u8]]) -> Vec<u8> {
        let mut s = AnsiStripper::default();
        let mut out = Vec::new();
        for c in chunks {
            s.strip(c, &mut out);
        }
        out
    }

    #[test]
    fn removes_color_sequences() {
        assert_eq!(
            strip_chunks(&[b"\x1b[1;31mred\x1b[0m plain\n"]),
            b"red plain\n"
        );
    }

    #[test]
    fn removes_a_sequence_split_across_chunks() {
        assert_eq!(
            strip_chunks(&[b"a\x1b", b"[3", b"2mb\x1b[", b"0mc"]),
            b"abc"
        );
    }

    #[test]
    fn keeps_a_lone_escape() {
        assert_eq!(strip_chunks(&[b"a\x1bxb"]), b"a\x1bxb");
    }
}
