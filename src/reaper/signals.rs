//! The signal thread: SIGCHLD reaps, every other handled signal goes to init's main loop.

use std::io;
use std::panic::{catch_unwind, AssertUnwindSafe};
use std::sync::atomic::Ordering;
use std::sync::Arc;

use crossbeam_channel::Sender;
use nix::sys::signal::{SigSet, Signal};
use signal_hook::iterator::{Handle, Signals};

use super::Reaper;

/// What the signal thread tells init.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Notice {
    /// A signal other than SIGCHLD arrived.
    Signal(i32),
    /// Unknown (orphaned) children were reaped while init was watching for them.
    OrphansReaped,
    /// The named thread died of a panic: supervisord must stop everything and exit.
    ThreadDied(&'static str),
}

/// Catchable signals with a default action that would kill or stop supervisord; they are
/// passed on to the running programs instead.
pub const FORWARDED_SIGNALS: &[i32] = &[
    libc::SIGUSR1,
    libc::SIGALRM,
    libc::SIGWINCH,
    libc::SIGPWR,
    libc::SIGURG,
    libc::SIGVTALRM,
    libc::SIGPROF,
    libc::SIGXCPU,
    libc::SIGXFSZ,
    libc::SIGIO,
    libc::SIGSTKFLT,
];

/// Signals init acts on itself.
const OWN_SIGNALS: &[i32] = &[
    libc::SIGTERM,
    libc::SIGINT,
    libc::SIGQUIT,
    libc::SIGHUP,
    libc::SIGUSR2,
];

/// Blocks, in the calling thread, every signal the signal thread handles, so the kernel
/// delivers them to a thread that waits for them. A worker thread that took them would run
/// the handler on its own stack, and the signal frame (several KB with the FPU state) would
/// make that much more of every worker stack resident.
pub fn block_handled_signals() {
    let mut set = SigSet::empty();
    let handled = std::iter::once(&libc::SIGCHLD)
        .chain(OWN_SIGNALS)
        .chain(FORWARDED_SIGNALS);
    for sig in handled.filter_map(|&sig| Signal::try_from(sig).ok()) {
        set.add(sig);
    }
    let _ = set.thread_block();
}

/// How often the signal thread may panic and start serving again before it gives up.
const MAX_PANICS: u32 = 3;

/// Starts the thread; the returned handle closes it.
///
/// A panic in the thread is caught: init hears of it ([`Notice::ThreadDied`]) and shuts down,
/// and the thread goes on serving so that the shutdown's children are still reaped. After
/// [`MAX_PANICS`] it gives up and marks the reaper so that init reaps by itself.
pub fn start_signal_thread(reaper: Arc<Reaper>, notices: Sender<Notice>) -> io::Result<Handle> {
    let mut list = vec![libc::SIGCHLD];
    list.extend_from_slice(OWN_SIGNALS);
    list.extend_from_slice(FORWARDED_SIGNALS);
    let mut signals = Signals::new(&list)?;
    let handle = signals.handle();
    std::thread::Builder::new()
        .name("signals".into())
        .stack_size(128 * 1024)
        .spawn(move || {
            // Children may have exited before the handler was installed.
            reaper.reap();
            for panics in 1..=MAX_PANICS {
                let serve = AssertUnwindSafe(|| serve(&reaper, &mut signals, &notices));
                if catch_unwind(serve).is_ok() {
                    return;
                }
                // The panic hook has logged the panic itself. The signal being handled may
                // have been a SIGCHLD whose reap never ran: reap now. On the last panic the
                // thread is gone before init hears of it, so init's next wait already reaps.
                if panics == MAX_PANICS {
                    reaper.signal_thread_gone.store(true, Ordering::SeqCst);
                }
                let _ = notices.send(Notice::ThreadDied("signals"));
                reaper.reap();
            }
        })?;
    Ok(handle)
}

/// Reaps on SIGCHLD and passes every other signal to init until init stops listening.
fn serve(reaper: &Reaper, signals: &mut Signals, notices: &Sender<Notice>) {
    for sig in signals.forever() {
        crate::faults::inject_always("signal-dead");
        if sig == libc::SIGCHLD {
            // "received SIGCHLD indicating a child quit" is logged by the worker that owns
            // the child, where it follows that child's spawn and output.
            reaper.reap();
            continue;
        }
        if sig == libc::SIGUSR1 {
            crate::faults::inject("signal");
        }
        if notices.send(Notice::Signal(sig)).is_err() {
            break;
        }
    }
}
