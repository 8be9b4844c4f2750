//! Puts a prefix in front of every line. Whole lines are emitted at once (so output of several
//! programs sharing one stdout does not interleave mid-line); a partial line waits for its end,
//! or for end of file, or is flushed once it grows past [`MAX_PENDING`].

/// Longest partial line held back; beyond it the line is written with its prefix and the rest
/// of that line follows without another prefix.
pub const MAX_PENDING: usize = 64 * 1024;

#[derive(Debug)]
pub struct Prefixer {
    prefix: Vec<u8>,
    pending: Vec<u8>,
    /// The current line's prefix has already been written (its start was flushed early).
    continued: bool,
}

impl Prefixer {
    pub fn new(prefix: &[u8]) -> Self {
        Prefixer {
            prefix: prefix.to_vec(),
            pending: Vec::new(),
            continued: false,
        }
    }

    /// Appends every complete line of `data` (with the held-back start) to `out`, prefixed.
    pub fn feed(&mut self, data: &[u8], out: &mut Vec<u8>) {
        let mut rest = data;
        while let Some(nl) = rest.iter().position(|&c| c == b'\n') {
            let (line, tail) = rest.split_at(nl + 1);
            self.emit(line, out);
            rest = tail;
        }
        self.pending.extend_from_slice(rest);
        if self.pending.len() > MAX_PENDING {
            self.emit(&[], out);
            self.continued = true;
        }
    }

    /// Flushes a final line that has no newline (end of file).
    pub fn finish(&mut self, out: &mut Vec<u8>) {
        if !self.pending.is_empty() {
            self.emit(&[], out);
        }
    }

    fn emit(&mut self, end: &[u8], out: &mut Vec<u8>) {
        if !self.continued {
            out.extend_from_slice(&self.prefix);
        }
        out.extend_from_slice(&self.pending);
        out.extend_from_slice(end);
        self.pending.clear();
        self.continued = false;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn run(chunks: &[&[u8]]) -> Vec<u8> {
        let mut p = Prefixer::new(b"[p] ");
        let mut out = Vec::new();
        for c in chunks {
            p.feed(c, &mut out);
        }
        p.finish(&mut out);
        out
    }

    #[test]
    fn prefixes_each_line() {
        assert_eq!(run(&[b"a\nb\n"]), b"[p] a\n[p] b\n");
    }

    #[test]
    fn a_line_split_across_reads_gets_one_prefix() {
        assert_eq!(
            run(&[b"hel", b"lo\nwo", b"rld\n"]),
            b"[p] hello\n[p] world\n"
        );
    }

    #[test]
    fn trailing_partial_line_is_flushed_at_eof() {
        assert_eq!(run(&[b"a\nno newline"]), b"[p] a\n[p] no newline");
    }

    #[test]
    fn empty_lines_are_prefixed() {
        assert_eq!(run(&[b"\n\n"]), b"[p] \n[p] \n");
    }

    #[test]
    fn an_overlong_partial_line_is_flushed_once_with_one_prefix() {
        let big = vec![b'x'; MAX_PENDING + 1];
        let mut p = Prefixer::new(b"[p] ");
        let mut out = Vec::new();
        p.feed(&big, &mut out);
        assert_eq!(out.len(), 4 + big.len());
        p.feed(b"y\n", &mut out);
        assert_eq!(&out[out.len() - 2..], b"y\n");
        assert_eq!(out.len(), 4 + big.len() + 2);
    }
}
