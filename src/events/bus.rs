//! The running event system: a cheap, cloneable [`EventBus`] handle and the one dispatcher
//! thread behind it. The thread owns the [`Router`]; it wakes only for messages (published
//! events, listener output) and for the next TICK boundary when some pool subscribes to ticks.

use std::collections::HashMap;
use std::fs::File;
use std::io::{Read, Write};
use std::os::fd::OwnedFd;
use std::sync::atomic::{AtomicU32, Ordering};
use std::sync::{Arc, Mutex};
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

use crate::util::{lock, unix_secs_f64};

use crossbeam_channel::{at, never, select, unbounded, Receiver, Sender};

use crate::config::pystr::{decode_or_undecodable, repr};
use crate::config::GroupConfig;

use super::event::Event;
use super::pool::{Action, Pool};
use super::protocol::ListenerState;
use super::router::{pool_for, Router};
use super::tick::Ticks;
use super::types::{EventMask, EventType};

const THREAD_STACK: usize = 128 * 1024;
const READ_CHUNK: usize = 4096;

enum Msg {
    Publish(Event),
    SetIdentifier(String),
    Attach {
        group: String,
        name: String,
        pid: i32,
        stdin: OwnedFd,
    },
    Output {
        group: String,
        name: String,
        pid: i32,
        data: Vec<u8>,
    },
    SendFailed {
        group: String,
        name: String,
        pid: i32,
    },
    AddPool(Box<Pool>),
    RemovePool(String),
    QueryState {
        group: String,
        name: String,
        reply: Sender<Option<ListenerState>>,
    },
    Stop,
}

struct Inner {
    tx: Sender<Msg>,
    /// Union of all pools' subscriptions, so publishers skip events nobody wants.
    subscribed: AtomicU32,
    pools: Mutex<Vec<(String, EventMask)>>,
    thread: Mutex<Option<JoinHandle<()>>>,
}

/// Handle to the event system; clone it freely and publish from any thread.
#[derive(Clone)]
pub struct EventBus {
    inner: Arc<Inner>,
}

impl EventBus {
    /// Starts the dispatcher thread. `identifier` is `[supervisord] identifier` (the `server:`
    /// field of every header).
    pub fn start(identifier: &str) -> std::io::Result<EventBus> {
        let (tx, rx) = unbounded();
        let worker = Dispatcher {
            router: Router::new(identifier),
            ticks: Ticks::default(),
            writers: HashMap::new(),
            tx: tx.clone(),
        };
        let thread = std::thread::Builder::new()
            .name("events".into())
            .stack_size(THREAD_STACK)
            .spawn(move || worker.run(rx))?;
        Ok(EventBus {
            inner: Arc::new(Inner {
                tx,
                subscribed: AtomicU32::new(0),
                pools: Mutex::new(Vec::new()),
                thread: Mutex::new(Some(thread)),
            }),
        })
    }

    /// Changes the `server:` field of later headers (the identifier after a reload).
    pub fn set_identifier(&self, identifier: &str) {
        let _ = self
            .inner
            .tx
            .send(Msg::SetIdentifier(identifier.to_string()));
    }

    /// Whether some pool subscribes to `kind` (lets callers skip building costly events).
    pub fn wants(&self, kind: EventType) -> bool {
        EventMask::from_bits(self.inner.subscribed.load(Ordering::Relaxed)).contains(kind)
    }

    /// Queues an event for every pool that subscribes to it. Never blocks.
    pub fn publish(&self, event: Event) {
        // State changes always go through: pools track their own listeners with them.
        if matches!(event, Event::ProcessState(_)) || self.wants(event.event_type()) {
            let _ = self.inner.tx.send(Msg::Publish(event));
        }
    }

    /// Creates the pool of an `[eventlistener:x]` group (other groups are ignored).
    pub fn add_group(&self, group: &GroupConfig) -> Result<(), String> {
        let Some(pool) = pool_for(group) else {
            return Ok(());
        };
        self.add_pool(pool?);
        Ok(())
    }

    /// Adds (or replaces) a pool.
    pub fn add_pool(&self, pool: Pool) {
        let mut pools = lock(&self.inner.pools);
        pools.retain(|(n, _)| n != pool.name());
        pools.push((pool.name().to_string(), pool.subscription()));
        self.store_mask(&pools);
        let _ = self.inner.tx.send(Msg::AddPool(Box::new(pool)));
    }

    /// A group became active: its pool (for a listener group) is created before
    /// PROCESS_GROUP_ADDED is published, so a pool hears about its own group, as in Supervisor.
    pub fn group_added(&self, group: &GroupConfig) -> Result<(), String> {
        let added = self.add_group(group);
        self.publish(Event::ProcessGroupAdded(group.name.clone()));
        added
    }

    /// A group was removed: its pool goes, then PROCESS_GROUP_REMOVED is published.
    pub fn group_removed(&self, name: &str) {
        self.remove_group(name);
        self.publish(Event::ProcessGroupRemoved(name.to_string()));
    }

    /// Drops a pool and its buffered events.
    pub fn remove_group(&self, name: &str) {
        let mut pools = lock(&self.inner.pools);
        pools.retain(|(n, _)| n != name);
        self.store_mask(&pools);
        let _ = self.inner.tx.send(Msg::RemovePool(name.to_string()));
    }

    fn store_mask(&self, pools: &[(String, EventMask)]) {
        let mask = pools.iter().fold(EventMask::EMPTY, |m, (_, p)| m.union(*p));
        self.inner.subscribed.store(mask.bits(), Ordering::Relaxed);
    }

    /// Hands over the pipes of a freshly spawned listener process: events are written to
    /// `stdin`, and `stdout` is read by the protocol machine (not logged). Call it right after
    /// the spawn, before the process can be reported RUNNING.
    pub fn attach_listener(
        &self,
        group: &str,
        name: &str,
        pid: i32,
        stdin: OwnedFd,
        stdout: OwnedFd,
    ) {
        // Queued before the reader starts, so the new protocol exists before any output.
        let _ = self.inner.tx.send(Msg::Attach {
            group: group.to_string(),
            name: name.to_string(),
            pid,
            stdin,
        });
        spawn_reader(self.inner.tx.clone(), group, name, pid, stdout);
    }

    /// The protocol state of listener process `group:name`, `None` if it is not one.
    pub fn listener_state(&self, group: &str, name: &str) -> Option<ListenerState> {
        let (reply, answer) = crossbeam_channel::bounded(1);
        let query = Msg::QueryState {
            group: group.to_string(),
            name: name.to_string(),
            reply,
        };
        self.inner.tx.send(query).ok()?;
        answer.recv_timeout(Duration::from_secs(1)).ok().flatten()
    }

    /// Stops the dispatcher thread (events still buffered are dropped).
    pub fn stop(&self) {
        let _ = self.inner.tx.send(Msg::Stop);
        if let Some(handle) = lock(&self.inner.thread).take() {
            let _ = handle.join();
        }
    }
}

/// The instant at which the wall clock reads `epoch` seconds.
fn instant_at(epoch: u64) -> Instant {
    let wait = (epoch as f64 - unix_secs_f64()).max(0.0);
    // A millisecond late rather than early: an early wake finds no tick due.
    Instant::now() + Duration::from_secs_f64(wait) + Duration::from_millis(1)
}

/// Clears O_NONBLOCK: the pipe threads block in read/write, the dispatcher never does.
fn set_blocking(fd: &OwnedFd) {
    use nix::fcntl::{fcntl, FcntlArg, OFlag};
    use std::os::fd::AsRawFd;
    let raw = fd.as_raw_fd();
    if let Ok(bits) = fcntl(raw, FcntlArg::F_GETFL) {
        let flags = OFlag::from_bits_truncate(bits) - OFlag::O_NONBLOCK;
        let _ = fcntl(raw, FcntlArg::F_SETFL(flags));
    }
}

fn spawn_reader(tx: Sender<Msg>, group: &str, name: &str, pid: i32, stdout: OwnedFd) {
    set_blocking(&stdout);
    let (g, n) = (group.to_string(), name.to_string());
    let spawned = std::thread::Builder::new()
        .name(format!("listener-out-{name}"))
        .stack_size(THREAD_STACK)
        .spawn(move || {
            let mut pipe = File::from(stdout);
            let mut buf = vec![0u8; READ_CHUNK];
            loop {
                let len = match pipe.read(&mut buf) {
                    Ok(0) => return,
                    Ok(n) => n,
                    Err(e) if e.kind() == std::io::ErrorKind::Interrupted => continue,
                    Err(_) => return,
                };
                let data = buf[..len].to_vec();
                let msg = Msg::Output {
                    group: g.clone(),
                    name: n.clone(),
                    pid,
                    data,
                };
                if tx.send(msg).is_err() {
                    return;
                }
            }
        });
    if let Err(e) = spawned {
        log::error!("could not start the stdout reader of event listener {name}: {e}");
    }
}

/// Writes events to one listener process; a stuck listener blocks only this thread.
struct Writer {
    pid: i32,
    tx: Sender<Vec<u8>>,
}

fn spawn_writer(
    bus: Sender<Msg>,
    group: &str,
    name: &str,
    pid: i32,
    stdin: OwnedFd,
) -> Option<Writer> {
    set_blocking(&stdin);
    let (tx, rx) = unbounded::<Vec<u8>>();
    let (g, n) = (group.to_string(), name.to_string());
    let spawned = std::thread::Builder::new()
        .name(format!("listener-in-{name}"))
        .stack_size(THREAD_STACK)
        .spawn(move || {
            let mut pipe = File::from(stdin);
            for bytes in rx {
                if pipe.write_all(&bytes).is_err() {
                    let _ = bus.send(Msg::SendFailed {
                        group: g,
                        name: n,
                        pid,
                    });
                    return;
                }
            }
        });
    match spawned {
        Ok(_) => Some(Writer { pid, tx }),
        Err(e) => {
            log::error!("could not start the stdin writer of event listener {name}: {e}");
            None
        }
    }
}

struct Dispatcher {
    router: Router,
    ticks: Ticks,
    writers: HashMap<(String, String), Writer>,
    /// For the pipe threads to report back.
    tx: Sender<Msg>,
}

impl Dispatcher {
    fn run(mut self, rx: Receiver<Msg>) {
        loop {
            let timer = match self.ticks.next_deadline() {
                Some(epoch) => at(instant_at(epoch)),
                None => never(),
            };
            let mut out = Vec::new();
            select! {
                recv(rx) -> msg => match msg {
                    Ok(Msg::Stop) | Err(_) => return,
                    Ok(msg) => self.handle(msg, &mut out),
                },
                recv(timer) -> _ => {
                    for tick in self.ticks.due(unix_secs_f64()) {
                        self.router.publish(tick, &mut out);
                    }
                }
            }
            self.execute(out);
        }
    }

    fn handle(&mut self, msg: Msg, out: &mut Vec<Action>) {
        match msg {
            Msg::Publish(event) => self.router.publish(event, out),
            Msg::SetIdentifier(id) => self.router.set_identifier(&id),
            Msg::Attach {
                group,
                name,
                pid,
                stdin,
            } => {
                let writer = spawn_writer(self.tx.clone(), &group, &name, pid, stdin);
                let key = (group.clone(), name.clone());
                match writer {
                    Some(w) => self.writers.insert(key, w),
                    None => self.writers.remove(&key),
                };
                self.router.attached(&group, &name, pid, out);
            }
            Msg::Output {
                group,
                name,
                pid,
                data,
            } => {
                log::debug!(
                    "{} stdout output:\n{}",
                    repr(&name),
                    decode_or_undecodable(&data)
                );
                self.router.output(&group, &name, pid, &data, out);
            }
            Msg::SendFailed { group, name, pid } => {
                self.router.send_failed(&group, &name, pid, out)
            }
            Msg::AddPool(pool) => {
                self.router.add_pool(*pool);
                self.update_ticks();
            }
            Msg::RemovePool(name) => {
                self.router.remove_pool(&name);
                self.writers.retain(|(g, _), _| *g != name);
                self.update_ticks();
            }
            Msg::QueryState { group, name, reply } => {
                let _ = reply.send(self.router.listener_state(&group, &name));
            }
            Msg::Stop => {}
        }
    }

    fn update_ticks(&mut self) {
        let periods = self.router.subscriptions().tick_periods();
        self.ticks.set_periods(&periods, unix_secs_f64());
    }

    /// Runs actions; a send that cannot even be queued is reported back to the router, which
    /// may produce more actions.
    fn execute(&mut self, mut out: Vec<Action>) {
        while !out.is_empty() {
            let mut more = Vec::new();
            for action in out {
                match action {
                    Action::Log { level, message } => log::log!(level, "{message}"),
                    Action::Send {
                        pool,
                        listener,
                        pid,
                        bytes,
                    } => {
                        let key = (pool, listener);
                        let queued = match self.writers.get(&key) {
                            Some(w) if w.pid == pid => w.tx.send(bytes).is_ok(),
                            _ => false,
                        };
                        if !queued {
                            self.router.send_failed(&key.0, &key.1, pid, &mut more);
                        }
                    }
                }
            }
            out = more;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::{EventListenerConfig, GroupKind};
    use crate::events::event::StateChange;
    use crate::events::testutil::attach;
    use crate::state::ProcessState;

    fn group(name: &str, events: &[&str]) -> GroupConfig {
        GroupConfig {
            name: name.into(),
            priority: -1,
            kind: GroupKind::EventListener(EventListenerConfig {
                events: events.iter().map(|s| s.to_string()).collect(),
                buffer_size: 10,
                result_handler: String::new(),
            }),
            processes: Vec::new(),
        }
    }

    fn running(group: &str, name: &str, pid: i32) -> Event {
        Event::ProcessState(StateChange {
            process: name.into(),
            group: group.into(),
            from: ProcessState::Starting,
            to: ProcessState::Running,
            tries: 0,
            expected: true,
            pid,
        })
    }

    #[test]
    fn subscriptions_of_groups_are_known_to_publishers() {
        let bus = EventBus::start("t").unwrap();
        bus.add_group(&group("lis", &["REMOTE_COMMUNICATION", "tick_60"]))
            .unwrap();
        assert!(bus.wants(EventType::RemoteCommunication));
        assert!(bus.wants(EventType::Tick60));
        assert!(!bus.wants(EventType::Tick5));
        assert!(bus
            .add_group(&group("bad", &["NOPE"]))
            .unwrap_err()
            .contains("NOPE"));
        bus.remove_group("lis");
        assert!(!bus.wants(EventType::RemoteCommunication));
        bus.stop();
    }

    #[test]
    fn publish_without_subscribers_is_dropped_early() {
        let bus = EventBus::start("t").unwrap();
        bus.publish(Event::RemoteCommunication {
            kind: "k".into(),
            data: "d".into(),
        });
        assert_eq!(bus.listener_state("x", "y"), None);
        bus.stop();
    }

    #[test]
    fn listener_over_pipes() {
        let bus = EventBus::start("ident").unwrap();
        let mask = EventMask::parse(&["REMOTE_COMMUNICATION"]).unwrap();
        bus.add_pool(Pool::new("lis", mask, 10, &["lis".to_string()]));
        let mut l = attach(&bus, "lis", "lis", 4242);
        bus.publish(running("lis", "lis", 4242));
        l.replies.write_all(b"READY\n").unwrap();
        bus.publish(Event::RemoteCommunication {
            kind: "k".into(),
            data: "one".into(),
        });
        let (h, body) = l.read_event();
        assert_eq!(
            h,
            "ver:3.0 server:ident serial:0 pool:lis poolserial:0 eventname:REMOTE_COMMUNICATION len:10\n"
        );
        assert_eq!(body, "type:k\none");
        l.replies.write_all(b"RESULT 4\nFAILREADY\n").unwrap();
        let (h, _) = l.read_event();
        assert!(
            h.contains("serial:0 pool:lis poolserial:0"),
            "redelivered: {h}"
        );
        l.replies.write_all(b"RESULT 2\nOKREADY\n").unwrap();
        bus.publish(Event::RemoteCommunication {
            kind: "k".into(),
            data: "two".into(),
        });
        let (h, body) = l.read_event();
        assert!(h.contains("serial:1 pool:lis poolserial:1"), "{h}");
        assert_eq!(body, "type:k\ntwo");
        assert_eq!(bus.listener_state("lis", "lis"), Some(ListenerState::Busy));
        bus.stop();
    }
}

#[cfg(test)]
mod throughput {
    use super::*;
    use crate::events::testutil::attach;
    use crate::state::ProcessState;
    use std::io::Write;

    /// Publishes a burst into a pool whose listener (a thread here) answers at once; every
    /// event must arrive, in order. Prints the rate for the record.
    #[test]
    fn burst_is_delivered_in_order() {
        const N: u64 = 5000;
        let bus = EventBus::start("t").unwrap();
        let mask = EventMask::parse(&["REMOTE_COMMUNICATION"]).unwrap();
        bus.add_pool(Pool::new("lis", mask, N as usize, &["lis".to_string()]));
        let mut l = attach(&bus, "lis", "lis", 5);
        bus.publish(Event::ProcessState(crate::events::StateChange {
            process: "lis".into(),
            group: "lis".into(),
            from: ProcessState::Starting,
            to: ProcessState::Running,
            tries: 0,
            expected: true,
            pid: 5,
        }));
        let started = Instant::now();
        for i in 0..N {
            bus.publish(Event::RemoteCommunication {
                kind: "k".into(),
                data: i.to_string(),
            });
        }
        l.replies.write_all(b"READY\n").unwrap();
        for i in 0..N {
            let (header, body) = l.read_event();
            assert!(header.contains(&format!(" serial:{i} ")), "{header}");
            assert_eq!(body, format!("type:k\n{i}"));
            l.replies.write_all(b"RESULT 2\nOKREADY\n").unwrap();
        }
        let secs = started.elapsed().as_secs_f64();
        println!(
            "{N} events delivered one at a time in {secs:.3} s ({:.0}/s)",
            N as f64 / secs
        );
        bus.stop();
    }
}
