//! The validated, immutable configuration model. Everything downstream (engine, logs, control
//! plane) reads only these types; nothing else parses config text.

use std::path::PathBuf;
use std::sync::Arc;

/// A whole `supervisord.conf` (plus includes), validated.
#[derive(Debug, Clone, PartialEq)]
pub struct Config {
    /// Absolute path of the main config file.
    pub source: PathBuf,
    pub supervisord: SupervisordConfig,
    /// Process groups sorted by (priority, name): programs, homogeneous groups, `[group:x]`,
    /// event listener pools and fcgi programs.
    pub groups: Vec<GroupConfig>,
    pub unix_http_server: Option<UnixServerConfig>,
    pub inet_http_server: Option<InetServerConfig>,
    pub supervisorctl: CtlConfig,
    /// Whether `[rpcinterface:supervisor]` is present (without it only `system.*` is served).
    pub rpcinterface_supervisor: bool,
    /// Messages to log once the main logger exists (level, text): unknown keys, include notes...
    pub notes: Vec<(log::Level, String)>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum LogLevel {
    Critical,
    Error,
    Warn,
    Info,
    Debug,
    Trace,
    Blather,
}

#[derive(Debug, Clone, PartialEq)]
pub enum MainLogFile {
    Path(PathBuf),
    Syslog,
}

#[derive(Debug, Clone, PartialEq)]
pub struct SupervisordConfig {
    pub logfile: MainLogFile,
    pub logfile_maxbytes: u64,
    pub logfile_backups: u32,
    pub loglevel: LogLevel,
    pub pidfile: PathBuf,
    pub umask: u32,
    pub nodaemon: bool,
    pub silent: bool,
    pub minfds: u64,
    pub minprocs: u64,
    pub nocleanup: bool,
    pub childlogdir: PathBuf,
    pub user: Option<UserSpec>,
    pub directory: Option<PathBuf>,
    pub strip_ansi: bool,
    /// `[supervisord] environment=`, in written order.
    pub environment: Vec<(String, String)>,
    pub identifier: String,
    /// Extension: grace between SIGTERM and SIGKILL for leftover descendants at shutdown.
    pub shutdown_grace_secs: u64,
}

/// A resolved user: name, uid, primary gid, supplementary groups, home.
#[derive(Debug, Clone, PartialEq)]
pub struct UserSpec {
    pub name: String,
    pub uid: u32,
    pub gid: u32,
    pub groups: Vec<u32>,
    pub home: PathBuf,
}

#[derive(Debug, Clone, PartialEq)]
pub enum GroupKind {
    Program,
    EventListener(EventListenerConfig),
    Fcgi(FcgiConfig),
}

#[derive(Debug, Clone, PartialEq)]
pub struct EventListenerConfig {
    /// Subscribed event type names, upper-case as written in the spec (`PROCESS_STATE`, `TICK_5`).
    pub events: Vec<String>,
    pub buffer_size: usize,
    pub result_handler: String,
}

#[derive(Debug, Clone, PartialEq)]
pub struct FcgiConfig {
    pub socket: String,
    pub socket_owner: Option<String>,
    pub socket_mode: u32,
    pub socket_backlog: Option<u32>,
}

#[derive(Debug, Clone, PartialEq)]
pub struct GroupConfig {
    pub name: String,
    pub priority: i64,
    pub kind: GroupKind,
    /// Processes in Supervisor's order for the group. Shared: the worker that runs a process
    /// holds the same one (a configuration is about 1 KiB per process).
    pub processes: Vec<Arc<ProcessConfig>>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum AutoRestart {
    Never,
    Unexpected,
    Always,
}

#[derive(Debug, Clone, PartialEq)]
pub enum LogFile {
    /// `NONE`/`OFF`: drained and dropped.
    None,
    /// `AUTO`: a file in `childlogdir` named at group creation.
    Auto,
    /// Deprecated `syslog` value.
    Syslog,
    Path(PathBuf),
}

#[derive(Debug, Clone, PartialEq)]
pub struct LogConfig {
    pub file: LogFile,
    pub maxbytes: u64,
    pub backups: u32,
    pub capture_maxbytes: u64,
    pub events_enabled: bool,
    pub syslog: bool,
    /// Extension: text put in front of every line written to the sink (already expanded).
    pub prefix: Option<String>,
}

impl LogConfig {
    /// No log file, no rotation, no capture, no events: output is drained and dropped.
    pub fn none() -> LogConfig {
        LogConfig {
            file: LogFile::None,
            maxbytes: 0,
            backups: 0,
            capture_maxbytes: 0,
            events_enabled: false,
            syslog: false,
            prefix: None,
        }
    }
}

/// Extension: a health check run while the process is RUNNING.
#[derive(Debug, Clone, PartialEq)]
pub struct HealthCheck {
    pub argv: Vec<String>,
    pub interval_secs: u64,
    pub timeout_secs: u64,
    pub retries: u32,
}

/// One process instance (a program with numprocs=3 yields three).
#[derive(Debug, Clone, PartialEq)]
pub struct ProcessConfig {
    pub name: String,
    pub group: String,
    pub program_name: String,
    /// The `command` value after expansion, as written.
    pub command: String,
    /// `command` split by POSIX shell rules (non-empty; checked at load time).
    pub argv: Vec<String>,
    pub priority: i64,
    pub autostart: bool,
    pub autorestart: AutoRestart,
    pub startsecs: u64,
    pub startretries: u32,
    pub exitcodes: Vec<i32>,
    pub stopsignal: i32,
    pub stopwaitsecs: u64,
    pub stopasgroup: bool,
    pub killasgroup: bool,
    pub user: Option<UserSpec>,
    pub directory: Option<PathBuf>,
    pub umask: Option<u32>,
    /// `[supervisord] environment=` overlaid with the program's `environment=` (program keys
    /// win), in written order, as Supervisor merges them at load time.
    pub environment: Vec<(String, String)>,
    /// `None` for AUTO.
    pub serverurl: Option<String>,
    pub redirect_stderr: bool,
    pub stdout: LogConfig,
    pub stderr: LogConfig,
    /// Directory of the file holding the section (`%(here)s`).
    pub here: PathBuf,
    // Extensions beyond Supervisor.
    pub essential: bool,
    pub depends_on: Vec<String>,
    pub healthcheck: Option<HealthCheck>,
    /// `memory_limit`: restart the process when its tree's resident memory is above this many
    /// bytes (`None`: no limit, no checks).
    pub memory_limit: Option<u64>,
    /// `memory_check_interval`: seconds between two memory checks (with a limit).
    pub memory_check_interval: u64,
    /// Service type, readiness, restart policy and env files (systemd-style extensions).
    pub service: ServiceConfig,
}

/// `type=`: what "started" means for the process.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum ServiceType {
    /// Supervisor's meaning: alive for `startsecs`.
    #[default]
    Simple,
    /// Runs to completion; a successful exit is the start.
    Oneshot,
    /// Started once it says so (sd_notify `READY=1`, or a newline on `notify_fd`).
    Notify,
}

impl ServiceType {
    pub fn name(self) -> &'static str {
        match self {
            ServiceType::Simple => "simple",
            ServiceType::Oneshot => "oneshot",
            ServiceType::Notify => "notify",
        }
    }
}

/// The systemd-style extension keys of a program (all optional; the defaults are
/// Supervisor's behaviour plus the crash-loop floor).
#[derive(Debug, Clone, PartialEq, Default)]
pub struct ServiceConfig {
    pub kind: ServiceType,
    /// `start_timeout`: how long a start may take (oneshot: to finish; notify: to be ready).
    pub start_timeout_ms: Option<u64>,
    /// `restart_delay`: wait before every automatic restart.
    pub restart_delay_ms: u64,
    /// `restart_delay_max`: when above `restart_delay`, consecutive short runs double the
    /// delay up to this; a run this long resets it.
    pub restart_delay_max_ms: u64,
    /// `retry_forever`: BACKOFF never turns FATAL.
    pub retry_forever: bool,
    /// `watchdog_secs` (notify only): `WATCHDOG=1` must come at least this often.
    pub watchdog_ms: Option<u64>,
    /// `notify_fd`: readiness is a newline written to this fd (s6 style) instead of sd_notify.
    pub notify_fd: Option<i32>,
    /// `environment_file` as written (the values are merged into `environment`).
    pub environment_files: Vec<String>,
}

#[derive(Debug, Clone, PartialEq)]
pub struct Auth {
    pub username: String,
    /// Cleartext, or `{SHA}` followed by 40 hex digits.
    pub password: String,
}

#[derive(Debug, Clone, PartialEq)]
pub struct UnixServerConfig {
    pub file: PathBuf,
    pub chmod: u32,
    pub chown: Option<(u32, u32)>,
    pub auth: Option<Auth>,
}

#[derive(Debug, Clone, PartialEq)]
pub struct InetServerConfig {
    /// Empty means all interfaces.
    pub host: String,
    pub port: u16,
    pub auth: Option<Auth>,
}

#[derive(Debug, Clone, PartialEq)]
pub struct CtlConfig {
    pub serverurl: String,
    pub username: Option<String>,
    pub password: Option<String>,
    pub prompt: String,
    pub history_file: Option<PathBuf>,
}

impl Default for CtlConfig {
    fn default() -> Self {
        CtlConfig {
            serverurl: "http://localhost:9001".into(),
            username: None,
            password: None,
            prompt: "supervisor".into(),
            history_file: None,
        }
    }
}

impl ProcessConfig {
    /// Supervisor's namespec: `name` when group and process share it, else `group:name`.
    pub fn namespec(&self) -> String {
        if self.group == self.name {
            self.name.clone()
        } else {
            format!("{}:{}", self.group, self.name)
        }
    }
}
