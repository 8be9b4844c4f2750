//! Bringing supervisord up: fds, limits, privileges, daemonizing, logging, pidfile, the
//! signal/reaper thread, the engine and the first spawns.

use std::path::PathBuf;
use std::sync::Arc;

use crossbeam_channel::{unbounded, Receiver, Sender};
use nix::sys::resource::Resource;

use crate::config::Config;
use crate::ctl::{self, server::ServerHandle};
use crate::events::{Event, EventBus};
use crate::logs::{self, OutputPump};
use crate::programs::{Failure, Shared, StateChange};
use crate::reaper::{self, Notice, Reaper};

use super::command::CommandMode;
use super::command_opts::Settings;
use super::system;
use crate::config::Loader;
use crate::ctl::engine_backend::EngineBackend;
use crate::programs::{Engine, Request};

/// Everything the main loop works with.
pub struct Runtime {
    pub engine: Arc<Engine>,
    pub notices: Receiver<Notice>,
    pub notice_tx: Sender<Notice>,
    pub changes: Receiver<StateChange>,
    pub failures: Receiver<Failure>,
    pub requests: Receiver<Request>,
    pub loader: Arc<Loader>,
    pub pid1: bool,
    pub subreaper: bool,
    pub pidfile: Option<PathBuf>,
    /// The RPC servers (closed at shutdown, reopened on reload).
    pub server: Option<ServerHandle>,
    /// When free heap was last released (see `system::release_free_heap`).
    pub last_trim: std::cell::Cell<Option<std::time::Instant>>,
    /// The shutdown was asked for over RPC (its reply must get out before the exit).
    pub rpc_shutdown: std::cell::Cell<bool>,
    /// A trim waiting for things to quiet down after every process settled.
    pub trim_at: std::cell::Cell<Option<std::time::Instant>>,
    /// A thread of supervisord died (a panic): the exit status is [`super::FAULT_STATUS`].
    pub fault: std::cell::Cell<bool>,
    /// A second exit request came: everything must be over by this instant.
    pub hurry: std::cell::Cell<Option<std::time::Instant>>,
    /// The container's command (`supervisord -- CMD`), when there is one.
    pub command: Option<CommandMode>,
}

const ROOT_WARNING: &str = "Supervisor is running as root.  Privileges were not dropped because \
    no user is specified in the config file.  If you intend to run as root, you can set \
    user=root in the config file to avoid this message.";

/// Raises RLIMIT_NOFILE / RLIMIT_NPROC to minfds / minprocs; returns the lines to log.
fn raise_limits(config: &Config) -> Result<Vec<String>, String> {
    let mut notes = Vec::new();
    let sd = &config.supervisord;
    match system::raise_limit(Resource::RLIMIT_NOFILE, sd.minfds) {
        Ok(Some(n)) => notes.push(format!("Increased RLIMIT_NOFILE limit to {n}")),
        Ok(None) => {}
        Err(hard) => {
            return Err(format!(
                "The minimum number of file descriptors required to run this process is {} as \
                 per the \"minfds\" command-line argument or config file setting. The current \
                 environment will only allow you to open {hard} file descriptors.  Either raise \
                 the number of usable file descriptors in your environment (see README.rst) or \
                 lower the minfds setting in the config file to allow the process to start.",
                sd.minfds
            ))
        }
    }
    match system::raise_limit(Resource::RLIMIT_NPROC, sd.minprocs) {
        Ok(Some(n)) => notes.push(format!("Increased RLIMIT_NPROC limit to {n}")),
        Ok(None) => {}
        Err(hard) => {
            return Err(format!(
                "The minimum number of available processes required to run this program is {} \
                 as per the \"minprocs\" command-line argument or config file setting. The \
                 current environment will only allow you to open {hard} processes.  Either \
                 raise the number of usable processes in your environment (see README.rst) or \
                 lower the minprocs setting in the config file to allow the program to start.",
                sd.minprocs
            ))
        }
    }
    Ok(notes)
}

fn init_logging(config: &Config) -> Result<(), String> {
    let sd = &config.supervisord;
    logs::init_main_log(sd, sd.nodaemon).map_err(|e| format!("cannot open the main log: {e}"))
}

/// Logs the start-up lines Supervisor prints (again on every reload).
pub fn log_startup(config: &Config, extra: &[String]) {
    // A plain init (a command, no config) has no file to set `user=` in: root is its job.
    let plain_init = super::command_opts::is_builtin(config);
    if nix::unistd::getuid().is_root() && config.supervisord.user.is_none() && !plain_init {
        log::error!(target: "crit", "{ROOT_WARNING}");
    }
    for line in extra {
        log::info!("{line}");
    }
    for (level, note) in &config.notes {
        log::log!(*level, "{note}");
    }
}

/// The container's command takes the name `main`: a config group of that name would clash.
fn check_command_name(config: &Config) -> Result<(), String> {
    let name = crate::programs::container::NAME;
    if config.groups.iter().any(|g| g.name == name) {
        return Err(format!(
            "the command runs as the process '{name}': rename the group or program '{name}' \
             of {}",
            config.source.display()
        ));
    }
    Ok(())
}

/// Brings everything up; an `Err` is a usage-level error (exit status 2).
pub fn start(
    config: Arc<Config>,
    loader: Loader,
    command: Option<Settings>,
) -> Result<Runtime, String> {
    super::faults::install_panic_hook();
    system::limit_malloc_arenas();
    system::ensure_std_fds();
    system::ignore_sigpipe();
    let pid1 = system::is_pid1();
    let command = command.map(CommandMode::new);
    if let Some(c) = &command {
        check_command_name(&config)?;
        // The command takes the terminal's foreground: supervisord, in the background
        // then, must not be stopped when it logs to the terminal.
        if c.has_tty() && !pid1 {
            system::ignore_job_control();
        }
    }
    if pid1 {
        system::ignore_job_control();
    }
    let mut notes = Vec::new();
    if let Some(user) = &config.supervisord.user {
        system::drop_privileges(user)
            .map_err(|e| format!("Could not set user to {}: {e}", user.name))?;
        notes.push(format!("Set uid to user {} succeeded", user.uid));
    }
    notes.extend(raise_limits(&config)?);
    if command.is_some() {
        // stdout is the command's: supervisord's own lines go to stderr, like tini's.
        logs::echo_to_stderr();
    }
    let daemon = !config.supervisord.nodaemon && !pid1 && command.is_none();
    // The log is opened first so that an unusable log file is reported on the terminal.
    init_logging(&config)?;
    log_startup(&config, &notes);
    if pid1 && !config.supervisord.nodaemon {
        log::info!("not daemonizing: running as PID 1, a container init stays in the foreground");
    }
    if daemon {
        log::info!("daemonizing the supervisord process");
        system::daemonize(
            config.supervisord.directory.as_deref(),
            config.supervisord.umask,
        )
        .map_err(|e| format!("could not daemonize: {e}"))?;
    }

    let reaper = Arc::new(Reaper::new());
    let (notice_tx, notices) = unbounded();
    reaper::start_signal_thread(reaper.clone(), notice_tx.clone())
        .map_err(|e| format!("could not install signal handlers: {e}"))?;
    let subreaper = !pid1 && reaper::become_subreaper().is_ok();
    let pump = OutputPump::new().map_err(|e| format!("could not start output capture: {e}"))?;
    let (change_tx, changes) = unbounded();
    let (request_tx, requests) = unbounded();
    let events = match EventBus::start(&config.supervisord.identifier) {
        Ok(bus) => Some(bus),
        Err(e) => {
            log::error!("could not start the event system: {e}");
            None
        }
    };
    let (failure_tx, failures) = unbounded();
    let template = Shared {
        reaper,
        pump,
        base_env: Vec::new(),
        base_envp: Arc::new(Vec::new()),
        server_url: None,
        max_fd: system::max_fd(),
        changes: change_tx,
        events,
        failures: failure_tx,
    };
    let engine = Arc::new(Engine::new(config.clone(), template, request_tx));
    let loader = Arc::new(loader);
    let server = start_server(&engine, &loader, &config).map_err(|e| {
        log::error!(target: "crit", "{e}");
        e
    })?;
    // An empty path: the built-in config of a plain init, which writes none.
    let pidfile = Some(config.supervisord.pidfile.clone()).filter(|p| !p.as_os_str().is_empty());
    if let Some(pidfile) = &pidfile {
        if let Err(e) = system::write_pidfile(pidfile) {
            log::error!("could not write pidfile {}: {e}", pidfile.display());
        }
    }
    if !config.supervisord.nocleanup {
        logs::cleanup_auto_logs(
            &config.supervisord.childlogdir,
            &config.supervisord.identifier,
        );
    }
    log::info!("supervisord started with pid {}", std::process::id());
    if let Some(c) = &command {
        engine
            .add_command(&c.settings.spec)
            .map_err(|e| format!("could not set up the command: {e}"))?;
    }
    start_groups(&engine, &config);
    Ok(Runtime {
        engine,
        notices,
        notice_tx,
        changes,
        failures,
        requests,
        loader,
        pid1,
        subreaper,
        pidfile,
        server: Some(server),
        last_trim: std::cell::Cell::new(None),
        trim_at: std::cell::Cell::new(None),
        rpc_shutdown: std::cell::Cell::new(false),
        fault: std::cell::Cell::new(false),
        hurry: std::cell::Cell::new(None),
        command,
    })
}

/// Opens the configured HTTP servers (unix socket, TCP) with the engine as their backend.
pub fn start_server(
    engine: &Arc<Engine>,
    loader: &Arc<Loader>,
    config: &Arc<Config>,
) -> Result<ServerHandle, String> {
    let backend = Arc::new(EngineBackend::new(engine.clone(), loader.clone()));
    ctl::server::start(config.clone(), backend).map_err(|e| e.to_string())
}

/// Creates every group and spawns the autostart processes in (priority, name) order without
/// waiting between priorities.
pub fn start_groups(engine: &Engine, config: &Config) {
    for gc in &config.groups {
        let name = gc.name.clone();
        if let Err(e) = engine.add_group(gc.clone()) {
            log::error!("could not create group {name}: {e}");
        }
    }
    if let Some(bus) = engine.events() {
        bus.publish(Event::SupervisorRunning);
    }
    for gc in &config.groups {
        engine.autostart_group(&gc.name);
    }
}
