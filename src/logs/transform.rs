//! What happens to a chunk of child output between the pipe and the sink: ANSI stripping, the
//! observer hook, the filter hook, the debug copy into the main log, syslog, line prefixes. State that spans
//! chunks (an escape sequence or a line split across reads) lives here, one per pipe.

use super::ansi::AnsiStripper;
use super::prefix::Prefixer;
use super::sink::Sink;
use crate::config::pystr::{decode_or_undecodable, repr};

/// Buffers shared by all pipes of one pump (kept out of the per-pipe state so 400 idle pipes
/// hold no large buffers).
#[derive(Default)]
pub struct Scratch {
    stripped: Vec<u8>,
    filtered: Vec<u8>,
    prefixed: Vec<u8>,
}

/// Largest scratch capacity kept between chunks.
const SCRATCH_KEEP: usize = 1 << 20;

impl Scratch {
    fn reset(&mut self) {
        for b in [&mut self.stripped, &mut self.filtered, &mut self.prefixed] {
            b.clear();
            if b.capacity() > SCRATCH_KEEP {
                b.shrink_to(SCRATCH_KEEP);
            }
        }
    }
}

pub struct PipeState {
    strip: Option<AnsiStripper>,
    prefix: Option<Prefixer>,
}

impl PipeState {
    pub fn for_sink(sink: &Sink) -> PipeState {
        PipeState {
            strip: sink.strip_ansi.then(AnsiStripper::default),
            prefix: sink.prefix.as_deref().map(Prefixer::new),
        }
    }

    /// Takes one chunk read from the pipe; returns whether the sink has a backlog waiting.
    pub fn consume(&mut self, sink: &Sink, chunk: &[u8], scratch: &mut Scratch) -> bool {
        scratch.reset();
        let data: &[u8] = match &mut self.strip {
            Some(s) => {
                s.strip(chunk, &mut scratch.stripped);
                &scratch.stripped
            }
            None => chunk,
        };
        if data.is_empty() {
            return false;
        }
        if let Some(observer) = sink.observer() {
            // A panicking hook must not take the pump (and every child's pipe) down.
            let call = std::panic::AssertUnwindSafe(|| observer(data));
            if std::panic::catch_unwind(call).is_err() {
                hook_panicked(sink, "observer");
                sink.set_observer(None);
            }
        }
        let data: &[u8] = match sink.filter() {
            Some(filter) => {
                let out = &mut scratch.filtered;
                let call = std::panic::AssertUnwindSafe(|| filter(data, out));
                if std::panic::catch_unwind(call).is_err() {
                    hook_panicked(sink, "filter");
                    sink.set_filter(None);
                    data
                } else {
                    &scratch.filtered
                }
            }
            None => data,
        };
        if data.is_empty() {
            return false;
        }
        if log::log_enabled!(target: "child_output", log::Level::Debug) {
            log::debug!(
                target: "child_output",
                "{} {} output:\n{}",
                repr(&sink.process_name),
                sink.channel,
                decode_or_undecodable(data)
            );
        }
        sink.send_syslog(data);
        match &mut self.prefix {
            Some(p) => {
                p.feed(data, &mut scratch.prefixed);
                !scratch.prefixed.is_empty() && sink.write_outcome(&scratch.prefixed)
            }
            None => sink.write_outcome(data),
        }
    }

    /// End of file: flushes a final prefixed line without newline.
    pub fn finish(&mut self, sink: &Sink, scratch: &mut Scratch) -> bool {
        scratch.reset();
        match &mut self.prefix {
            Some(p) => {
                p.finish(&mut scratch.prefixed);
                !scratch.prefixed.is_empty() && sink.write_outcome(&scratch.prefixed)
            }
            None => false,
        }
    }
}

fn hook_panicked(sink: &Sink, what: &str) {
    log::error!(
        "output {what} of '{}' {} panicked; it is removed",
        sink.process_name,
        sink.channel
    );
}
