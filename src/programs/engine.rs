//! The running set of process groups and supervisord's own state, shared by the main loop and
//! the RPC backend.

use std::ffi::OsString;
use std::io;
use std::path::PathBuf;
use std::sync::atomic::{AtomicI32, Ordering};
use std::sync::{Arc, Mutex, RwLock};

use crossbeam_channel::Sender;

use super::container::{self, CommandSpec};
use super::spawn;
use super::worker::Role;
use super::{Command, ProcessHandle, Shared};
use crate::config::{Config, GroupConfig, GroupKind, LogConfig, LogFile, ProcessConfig};
use crate::events::EventBus;
use crate::logs::{Sink, SinkSpec};
use crate::reaper::Reaper;
use crate::state::SupervisorState;
use crate::util::{lock, read, write};

use super::deps;
use super::fcgi_socket::FcgiSocket;

/// Requests only the main loop may carry out.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Request {
    Shutdown,
    Restart,
}

/// One active group and its process handles (in the group's process order).
pub struct Group {
    pub config: GroupConfig,
    pub procs: Vec<Arc<ProcessHandle>>,
}

pub struct Engine {
    config: RwLock<Arc<Config>>,
    /// The config last read by reloadConfig, for avail/add.
    pending: Mutex<Option<Arc<Config>>>,
    groups: RwLock<Vec<Group>>,
    state: AtomicI32,
    shared: RwLock<Arc<Shared>>,
    reaper: Arc<Reaper>,
    events: Option<EventBus>,
    /// Autostart processes waiting for their `depends_on` programs to be RUNNING.
    held: Mutex<Vec<Arc<ProcessHandle>>>,
    /// Start requests (RPC) waiting for their `depends_on` programs.
    pub(crate) waiting: super::waiting::Waiting,
    pub requests: Sender<Request>,
}

/// SUPERVISOR_SERVER_URL for children: the first unix server, else the inet one.
pub fn server_url(config: &Config) -> Option<String> {
    if let Some(u) = &config.unix_http_server {
        return Some(format!("unix://{}", u.file.display()));
    }
    config.inet_http_server.as_ref().map(|i| {
        let host = if i.host.is_empty() {
            "localhost"
        } else {
            i.host.as_str()
        };
        format!("http://{host}:{}", i.port)
    })
}

/// The workers' shared context for `config`: channels and handles from `template`,
/// environment and server URL from the config.
fn shared_for(config: &Config, template: &Shared) -> Shared {
    let mut env: Vec<(OsString, OsString)> = std::env::vars_os().collect();
    let mut set = |k: &str, v: &str| {
        let k = OsString::from(k);
        match env.iter_mut().find(|(ek, _)| *ek == k) {
            Some(e) => e.1 = OsString::from(v),
            None => env.push((k, OsString::from(v))),
        }
    };
    set("SUPERVISOR_ENABLED", "1");
    for (k, v) in &config.supervisord.environment {
        set(k, v);
    }
    Shared {
        reaper: template.reaper.clone(),
        pump: template.pump.clone(),
        base_envp: Arc::new(spawn::env_entries(&env)),
        base_env: env,
        server_url: server_url(config),
        max_fd: template.max_fd,
        changes: template.changes.clone(),
        events: template.events.clone(),
        failures: template.failures.clone(),
    }
}

impl Engine {
    /// `template` carries the reaper, pump, channels and event bus every worker shares.
    pub fn new(config: Arc<Config>, template: Shared, requests: Sender<Request>) -> Engine {
        let shared = Arc::new(shared_for(&config, &template));
        let reaper = template.reaper.clone();
        let events = template.events.clone();
        Engine {
            config: RwLock::new(config),
            pending: Mutex::new(None),
            groups: RwLock::new(Vec::new()),
            state: AtomicI32::new(SupervisorState::Running.code()),
            shared: RwLock::new(shared),
            reaper,
            events,
            held: Mutex::new(Vec::new()),
            waiting: Default::default(),
            requests,
        }
    }

    pub fn config(&self) -> Arc<Config> {
        read(&self.config).clone()
    }

    /// Replaces the config in force (reload); groups must have been removed first.
    pub fn set_config(&self, config: Arc<Config>) {
        let shared = shared_for(&config, &read(&self.shared));
        *write(&self.shared) = Arc::new(shared);
        if let Some(bus) = &self.events {
            bus.set_identifier(&config.supervisord.identifier);
        }
        *write(&self.config) = config;
        *lock(&self.pending) = None;
    }

    pub fn pending(&self) -> Option<Arc<Config>> {
        self.pending
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .clone()
    }

    pub fn set_pending(&self, config: Arc<Config>) {
        *lock(&self.pending) = Some(config);
    }

    pub fn state(&self) -> SupervisorState {
        match self.state.load(Ordering::SeqCst) {
            1 => SupervisorState::Running,
            0 => SupervisorState::Restarting,
            -1 => SupervisorState::Shutdown,
            _ => SupervisorState::Fatal,
        }
    }

    pub fn set_state(&self, s: SupervisorState) {
        self.state.store(s.code(), Ordering::SeqCst);
    }

    pub fn events(&self) -> Option<&EventBus> {
        self.events.as_ref()
    }

    pub fn reaper(&self) -> &Arc<Reaper> {
        &self.reaper
    }

    /// Creates the group's workers (processes start STOPPED); fails if the name is taken.
    pub fn add_group(&self, gc: GroupConfig) -> io::Result<()> {
        let role = match gc.kind {
            GroupKind::EventListener(_) => Role::Listener,
            _ => Role::Program,
        };
        self.add_group_as(gc, role)
    }

    /// Creates the container command's group ([`container::NAME`], STOPPED until started).
    pub fn add_command(&self, spec: &CommandSpec) -> io::Result<()> {
        self.add_group_as(container::group_config(spec), Role::Command)
    }

    /// The container command's process, when there is one.
    pub fn command(&self) -> Option<Arc<ProcessHandle>> {
        read(&self.groups)
            .iter()
            .find(|g| Self::is_command(g))
            .and_then(|g| g.procs.first().cloned())
    }

    fn is_command(g: &Group) -> bool {
        g.procs.first().is_some_and(|p| p.role() == Role::Command)
    }

    /// Whether `name` is the container command's group (not part of any config).
    pub fn is_command_group(&self, name: &str) -> bool {
        read(&self.groups)
            .iter()
            .any(|g| g.config.name == name && Self::is_command(g))
    }

    fn add_group_as(&self, gc: GroupConfig, role: Role) -> io::Result<()> {
        let config = self.config();
        let running = self.all();
        let processes = running
            .iter()
            .map(|p| &*p.config)
            .chain(gc.processes.iter().map(|p| &**p));
        super::capacity::check(processes, &config.supervisord).map_err(io::Error::other)?;
        let shared = read(&self.shared).clone();
        if self.group_config(&gc.name).is_some() {
            // Checked before the socket is made: making it would replace the group's unix file.
            return Err(io::Error::new(io::ErrorKind::AlreadyExists, gc.name));
        }
        let fcgi = match &gc.kind {
            GroupKind::Fcgi(socket) => {
                let user = gc.processes.first().and_then(|p| p.user.as_ref());
                Some(FcgiSocket::open(socket, user)?)
            }
            _ => None,
        };
        let mut procs = Vec::with_capacity(gc.processes.len());
        for pc in &gc.processes {
            let (out, err) = open_sinks(&config, pc);
            procs.push(ProcessHandle::start(
                pc.clone(),
                shared.clone(),
                out,
                err,
                role,
                fcgi.clone(),
            )?);
        }
        let mut groups = write(&self.groups);
        if groups.iter().any(|g| g.config.name == gc.name) {
            drop(groups);
            procs.iter().for_each(|p| p.quit());
            return Err(io::Error::new(io::ErrorKind::AlreadyExists, gc.name));
        }
        let key = (gc.priority, gc.name.clone());
        let at = groups.partition_point(|g| (g.config.priority, g.config.name.clone()) < key);
        if let Some(bus) = &self.events {
            if let Err(e) = bus.group_added(&gc) {
                log::error!("event listener pool {}: {e}", gc.name);
            }
        }
        // The processes' configurations live in their handles (group_config puts them back).
        let mut gc = gc;
        gc.processes = Vec::new();
        groups.insert(at, Group { config: gc, procs });
        Ok(())
    }

    /// Starts the autostart processes of one group (without waiting for them).
    /// Starts the autostart processes of one group (without waiting for them); a process
    /// with `depends_on` is held until its dependencies are RUNNING.
    pub fn autostart_group(&self, name: &str) {
        let procs = self.group_procs(name).unwrap_or_default();
        for p in procs.into_iter().filter(|p| p.config.autostart) {
            if p.config.depends_on.is_empty() {
                p.send(Command::Start {
                    reply: None,
                    wait: false,
                });
            } else {
                log::info!(
                    "{} waits for {} to be RUNNING",
                    p.config.name,
                    p.config.depends_on.join(", ")
                );
                lock(&self.held).push(p);
            }
        }
        self.release_held();
    }

    /// Starts the held processes whose dependencies are now all RUNNING.
    pub fn release_held(&self) {
        let mut held = lock(&self.held);
        if held.is_empty() {
            return;
        }
        let all = self.all();
        held.retain(|p| {
            if !deps::ready(p, &all) {
                return true;
            }
            p.send(Command::Start {
                reply: None,
                wait: false,
            });
            false
        });
    }

    /// Whether `p` has a pending start (boot hold or held request).
    pub fn is_held(&self, p: &Arc<ProcessHandle>) -> bool {
        lock(&self.held).iter().any(|h| Arc::ptr_eq(h, p)) || self.waiting.holds(p)
    }

    /// Forgets every pending start of `p` (boot hold and held requests), as stopping it
    /// must; true if there was one.
    pub fn unhold(&self, p: &Arc<ProcessHandle>) -> bool {
        let mut held = lock(&self.held);
        let before = held.len();
        held.retain(|h| !Arc::ptr_eq(h, p));
        let was_held = held.len() != before;
        drop(held);
        self.waiting.cancel(p) || was_held
    }

    /// Removes a group and ends its workers (its processes must be stopped).
    pub fn remove_group(&self, name: &str) -> Option<Group> {
        let group = {
            let mut groups = write(&self.groups);
            let at = groups.iter().position(|g| g.config.name == name)?;
            groups.remove(at)
        };
        lock(&self.held).retain(|p| p.config.group != name);
        group.procs.iter().for_each(|p| p.quit());
        if let Some(bus) = &self.events {
            bus.group_removed(name);
        }
        Some(group)
    }

    pub fn group_names(&self) -> Vec<String> {
        read(&self.groups)
            .iter()
            .map(|g| g.config.name.clone())
            .collect()
    }

    pub fn group_config(&self, name: &str) -> Option<GroupConfig> {
        read(&self.groups)
            .iter()
            .find(|g| g.config.name == name)
            .map(|g| GroupConfig {
                processes: g.procs.iter().map(|p| p.config.clone()).collect(),
                ..g.config.clone()
            })
    }

    pub fn group_procs(&self, name: &str) -> Option<Vec<Arc<ProcessHandle>>> {
        read(&self.groups)
            .iter()
            .find(|g| g.config.name == name)
            .map(|g| g.procs.clone())
    }

    /// Every handle, groups in (priority, name) order.
    pub fn all(&self) -> Vec<Arc<ProcessHandle>> {
        read(&self.groups)
            .iter()
            .flat_map(|g| g.procs.iter().cloned())
            .collect()
    }

    /// Handles grouped by group priority, highest priority value first (shutdown order).
    /// Handles by shutdown level: group priority, raised above the programs each one depends
    /// on; highest first.
    pub fn levels_descending(&self) -> Vec<Vec<Arc<ProcessHandle>>> {
        let (procs, base): (Vec<_>, Vec<_>) = read(&self.groups)
            .iter()
            .flat_map(|g| g.procs.iter().rev().map(|p| (p.clone(), g.config.priority)))
            .unzip();
        let ranks = deps::stop_ranks(&procs, &base);
        let mut levels: Vec<i64> = ranks.clone();
        levels.sort_unstable();
        levels.dedup();
        levels
            .iter()
            .rev()
            .map(|l| {
                procs
                    .iter()
                    .zip(&ranks)
                    .filter(|(_, r)| *r == l)
                    .map(|(p, _)| p.clone())
                    .collect()
            })
            .collect()
    }

    pub fn find(&self, namespec: &str) -> Option<Arc<ProcessHandle>> {
        let (group, name) = match namespec.split_once(':') {
            Some((g, n)) => (g, n),
            None => (namespec, namespec),
        };
        let groups = read(&self.groups);
        let g = groups.iter().find(|g| g.config.name == group)?;
        g.procs.iter().find(|p| p.config.name == name).cloned()
    }

    /// Ends every worker and forgets every group (all processes stopped).
    pub fn clear(&self) {
        self.clear_where(|_| true);
    }

    /// [`Engine::clear`] for the groups of the config: the container's command stays (a
    /// reload keeps it running).
    pub fn clear_programs(&self) {
        self.clear_where(|g| !Self::is_command(g));
    }

    fn clear_where(&self, remove: impl Fn(&Group) -> bool) {
        lock(&self.held).clear();
        self.waiting.clear();
        let groups = {
            let mut all = write(&self.groups);
            let (gone, kept) = std::mem::take(&mut *all)
                .into_iter()
                .partition(|g| remove(g));
            *all = kept;
            gone
        };
        for g in groups {
            g.procs.iter().for_each(|p| p.quit());
            if let Some(bus) = &self.events {
                bus.group_removed(&g.config.name);
            }
        }
    }
}

fn sink_spec(
    config: &Config,
    pc: &ProcessConfig,
    log: &LogConfig,
    channel: &'static str,
) -> SinkSpec {
    SinkSpec {
        config: log.clone(),
        process_name: pc.name.clone(),
        group_name: pc.group.clone(),
        channel,
        childlogdir: config.supervisord.childlogdir.clone(),
        identifier: config.supervisord.identifier.clone(),
        strip_ansi: config.supervisord.strip_ansi,
    }
}

/// Opens a sink; on failure logs why and drains into nothing, so the child never blocks.
fn open_sink(spec: SinkSpec) -> Arc<Sink> {
    match Sink::open(&spec) {
        Ok(s) => s,
        Err(e) => {
            let path: Option<PathBuf> = match &spec.config.file {
                LogFile::Path(p) => Some(p.clone()),
                _ => None,
            };
            log::error!(
                "cannot open {} log of {} ({}): {e}; its output is dropped",
                spec.channel,
                spec.process_name,
                path.map(|p| p.display().to_string())
                    .unwrap_or_else(|| "AUTO".into())
            );
            let mut none = spec;
            none.config.file = LogFile::None;
            Sink::open(&none).unwrap_or_else(|_| unreachable_sink())
        }
    }
}

fn unreachable_sink() -> Arc<Sink> {
    // Opening a NONE sink touches no file; should it ever fail, fall back to /dev/null.
    let spec = SinkSpec {
        config: LogConfig {
            file: LogFile::Path("/dev/null".into()),
            ..LogConfig::none()
        },
        process_name: String::new(),
        group_name: String::new(),
        channel: "stdout",
        childlogdir: "/tmp".into(),
        identifier: String::new(),
        strip_ansi: false,
    };
    match Sink::open(&spec) {
        Ok(s) => s,
        Err(e) => panic!("cannot open /dev/null as a log sink: {e}"),
    }
}

fn open_sinks(config: &Config, pc: &ProcessConfig) -> (Arc<Sink>, Option<Arc<Sink>>) {
    let out = open_sink(sink_spec(config, pc, &pc.stdout, "stdout"));
    let err = if pc.redirect_stderr {
        None
    } else {
        Some(open_sink(sink_spec(config, pc, &pc.stderr, "stderr")))
    };
    (out, err)
}
