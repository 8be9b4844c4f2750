//! Shared by the ctl integration tests: a mock engine (`Backend`) with programmable processes,
//! a config builder, and a harness that serves it on a temporary unix socket.

use std::path::{Path, PathBuf};
use std::process::{Command, Output};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};

use supervisor_rs::config::*;
use supervisor_rs::ctl::backend::{Backend, Channel, ConfigDiff, ProcessResult};
use supervisor_rs::ctl::protocol::faults::{self, Fault};
use supervisor_rs::ctl::{ServerHandle, ServerOptions};
use supervisor_rs::state::{ProcessInfo, ProcessState, SupervisorState};

use super::temp::TempDir;

static COUNTER: AtomicUsize = AtomicUsize::new(0);

pub fn log_config(file: LogFile) -> LogConfig {
    LogConfig {
        file,
        maxbytes: 50 * 1024 * 1024,
        backups: 10,
        capture_maxbytes: 0,
        events_enabled: false,
        syslog: false,
        prefix: None,
    }
}

pub fn process_config(group: &str, name: &str, priority: i64, dir: &Path) -> ProcessConfig {
    ProcessConfig {
        name: name.into(),
        group: group.into(),
        program_name: name.into(),
        command: format!("/bin/{name}"),
        argv: vec![format!("/bin/{name}")],
        priority,
        autostart: true,
        autorestart: AutoRestart::Unexpected,
        startsecs: 1,
        startretries: 3,
        exitcodes: vec![0],
        stopsignal: 15,
        stopwaitsecs: 10,
        stopasgroup: false,
        killasgroup: false,
        user: None,
        directory: None,
        umask: None,
        environment: vec![],
        serverurl: None,
        redirect_stderr: false,
        stdout: log_config(LogFile::Path(dir.join(format!("{name}.out")))),
        stderr: log_config(LogFile::Path(dir.join(format!("{name}.err")))),
        here: dir.to_path_buf(),
        essential: false,
        depends_on: vec![],
        healthcheck: None,
        memory_limit: None,
        memory_check_interval: 60,
        service: Default::default(),
    }
}

/// (group, name, priority) triples → groups sorted like the config builder does.
pub fn make_config(dir: &Path, procs: &[(&str, &str, i64)], auth: Option<Auth>) -> Config {
    let mut groups: Vec<GroupConfig> = Vec::new();
    for (g, n, p) in procs {
        let pc = std::sync::Arc::new(process_config(g, n, *p, dir));
        match groups.iter_mut().find(|x| x.name == *g) {
            Some(grp) => grp.processes.push(pc),
            None => groups.push(GroupConfig {
                name: g.to_string(),
                priority: *p,
                kind: GroupKind::Program,
                processes: vec![pc],
            }),
        }
    }
    groups.sort_by(|a, b| (a.priority, &a.name).cmp(&(b.priority, &b.name)));
    Config {
        source: dir.join("supervisord.conf"),
        supervisord: SupervisordConfig {
            logfile: MainLogFile::Path(dir.join("supervisord.log")),
            logfile_maxbytes: 0,
            logfile_backups: 0,
            loglevel: LogLevel::Info,
            pidfile: dir.join("supervisord.pid"),
            umask: 0o22,
            nodaemon: true,
            silent: false,
            minfds: 1024,
            minprocs: 200,
            nocleanup: false,
            childlogdir: dir.to_path_buf(),
            user: None,
            directory: None,
            strip_ansi: false,
            environment: vec![],
            identifier: "supervisor".into(),
            shutdown_grace_secs: 5,
        },
        groups,
        unix_http_server: Some(UnixServerConfig {
            file: dir.join("supervisor.sock"),
            chmod: 0o700,
            chown: None,
            auth,
        }),
        inet_http_server: None,
        supervisorctl: CtlConfig::default(),
        rpcinterface_supervisor: true,
        notes: vec![],
    }
}

/// A fake engine: processes change state instantly; a few names misbehave on purpose:
/// `nofile` (NO_FILE on start), `spawnfail` (SPAWN_ERROR), `nolog` (no log files).
pub struct MockBackend {
    pub config: Arc<Config>,
    pub procs: Mutex<Vec<ProcessInfo>>,
    pub state: Mutex<SupervisorState>,
    pub calls: Mutex<Vec<String>>,
    pub stdin: Mutex<Vec<u8>>,
    pub main_log: PathBuf,
    pub pending: Mutex<Option<ConfigDiff>>,
}

impl MockBackend {
    pub fn new(config: Config) -> Arc<MockBackend> {
        let mut procs: Vec<ProcessInfo> = Vec::new();
        for g in &config.groups {
            for p in &g.processes {
                let path = |l: &LogConfig| match &l.file {
                    LogFile::Path(p)
                        if p.file_name()
                            .is_some_and(|n| !n.to_string_lossy().starts_with("nolog")) =>
                    {
                        p.display().to_string()
                    }
                    _ => String::new(),
                };
                procs.push(ProcessInfo {
                    name: p.name.clone(),
                    group: g.name.clone(),
                    state: ProcessState::Stopped,
                    pid: 0,
                    start: 0,
                    stop: 0,
                    exitstatus: 0,
                    spawnerr: String::new(),
                    stdout_logfile: path(&p.stdout),
                    stderr_logfile: path(&p.stderr),
                    health: None,
                    spawns: 0,
                    log_bytes_written: 0,
                    log_bytes_dropped: 0,
                    service: Default::default(),
                });
            }
        }
        procs.sort_by(|a, b| (&a.group, &a.name).cmp(&(&b.group, &b.name)));
        let main_log = config.supervisord.childlogdir.join("supervisord.log");
        Arc::new(MockBackend {
            config: Arc::new(config),
            procs: Mutex::new(procs),
            state: Mutex::new(SupervisorState::Running),
            calls: Mutex::new(vec![]),
            stdin: Mutex::new(vec![]),
            main_log,
            pending: Mutex::new(None),
        })
    }

    pub fn set_state(&self, namespec: &str, state: ProcessState, pid: i32) {
        let mut procs = self.procs.lock().unwrap();
        if let Some(p) = procs.iter_mut().find(|p| p.namespec() == namespec) {
            p.state = state;
            p.pid = pid;
            p.start = now() - 7;
            if state.is_stopped() {
                p.stop = now();
            }
        }
    }

    fn record(&self, call: String) {
        self.calls.lock().unwrap().push(call);
    }

    fn with_proc<T>(
        &self,
        namespec: &str,
        f: impl FnOnce(&mut ProcessInfo) -> T,
    ) -> Result<T, Fault> {
        let mut procs = self.procs.lock().unwrap();
        match procs.iter_mut().find(|p| p.namespec() == namespec) {
            Some(p) => Ok(f(p)),
            None => Err(Fault::new(faults::BAD_NAME, Some(namespec))),
        }
    }
}

pub fn now() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_secs() as i64
}

impl Backend for MockBackend {
    fn state(&self) -> SupervisorState {
        *self.state.lock().unwrap()
    }
    fn identification(&self) -> String {
        "supervisor".into()
    }
    fn pid(&self) -> i32 {
        std::process::id() as i32
    }
    fn config(&self) -> Arc<Config> {
        self.config.clone()
    }
    fn active_groups(&self) -> Vec<String> {
        let mut g: Vec<String> = self
            .procs
            .lock()
            .unwrap()
            .iter()
            .map(|p| p.group.clone())
            .collect();
        g.dedup();
        g
    }
    fn all_process_info(&self) -> Vec<ProcessInfo> {
        self.procs.lock().unwrap().clone()
    }
    fn process_info(&self, namespec: &str) -> Result<ProcessInfo, Fault> {
        self.with_proc(namespec, |p| p.clone())
    }
    fn start(&self, namespecs: &[String], wait: bool) -> Vec<ProcessResult> {
        self.record(format!("start {} wait={wait}", namespecs.join(",")));
        namespecs
            .iter()
            .map(|ns| {
                let r = self
                    .with_proc(ns, |p| {
                        if p.state.is_running() {
                            return Err(Fault::new(faults::ALREADY_STARTED, Some(ns)));
                        }
                        match p.name.as_str() {
                            "unknownstate" => Err(Fault::new(
                                faults::FAILED,
                                Some(&format!("{ns} is in an unknown process state")),
                            )),
                            "nofile" => Err(Fault::new(
                                faults::NO_FILE,
                                Some("can't find command '/bin/nofile'"),
                            )),
                            "spawnfail" => {
                                p.state = ProcessState::Backoff;
                                p.spawnerr = "spawn failed".into();
                                Err(Fault::new(faults::SPAWN_ERROR, Some(ns)))
                            }
                            _ => {
                                p.state = ProcessState::Running;
                                p.pid = 4242;
                                p.start = now();
                                Ok(())
                            }
                        }
                    })
                    .and_then(|r| r);
                (ns.clone(), r)
            })
            .collect()
    }
    fn stop(&self, namespecs: &[String], wait: bool) -> Vec<ProcessResult> {
        self.record(format!("stop {} wait={wait}", namespecs.join(",")));
        namespecs
            .iter()
            .map(|ns| {
                let r = self.with_proc(ns, |p| {
                    p.state = ProcessState::Stopped;
                    p.pid = 0;
                    p.stop = now();
                    p.exitstatus = -1;
                });
                (ns.clone(), r)
            })
            .collect()
    }
    fn signal(&self, namespecs: &[String], signal: i32) -> Vec<ProcessResult> {
        self.record(format!("signal {} {signal}", namespecs.join(",")));
        namespecs
            .iter()
            .map(|ns| (ns.clone(), self.with_proc(ns, |_| ())))
            .collect()
    }
    fn send_stdin(&self, namespec: &str, data: &[u8]) -> Result<(), Fault> {
        self.record(format!("stdin {namespec}"));
        self.stdin.lock().unwrap().extend_from_slice(data);
        Ok(())
    }
    fn shutdown(&self) -> Result<(), Fault> {
        self.record("shutdown".into());
        *self.state.lock().unwrap() = SupervisorState::Shutdown;
        Ok(())
    }
    fn restart(&self) -> Result<(), Fault> {
        self.record("restart".into());
        Ok(())
    }
    fn reload_config(&self) -> Result<ConfigDiff, Fault> {
        match self.pending.lock().unwrap().clone() {
            Some(d) => Ok(d),
            None => Ok(ConfigDiff::default()),
        }
    }
    fn pending_groups(&self) -> Vec<GroupConfig> {
        self.config.groups.clone()
    }
    fn add_group(&self, name: &str) -> Result<(), Fault> {
        self.record(format!("add {name}"));
        if self.active_groups().iter().any(|g| g == name) {
            return Err(Fault::new(faults::ALREADY_ADDED, Some(name)));
        }
        Err(Fault::new(faults::BAD_NAME, Some(name)))
    }
    fn remove_group(&self, name: &str) -> Result<(), Fault> {
        self.record(format!("remove {name}"));
        let procs = self.procs.lock().unwrap();
        if !procs.iter().any(|p| p.group == name) {
            return Err(Fault::new(faults::BAD_NAME, Some(name)));
        }
        if procs
            .iter()
            .any(|p| p.group == name && p.state.is_running())
        {
            return Err(Fault::new(faults::STILL_RUNNING, Some(name)));
        }
        Ok(())
    }
    fn log_path(&self, namespec: &str, channel: Channel) -> Result<Option<PathBuf>, Fault> {
        self.with_proc(namespec, |p| {
            let s = match channel {
                Channel::Stdout => &p.stdout_logfile,
                Channel::Stderr => &p.stderr_logfile,
            };
            if s.is_empty() {
                None
            } else {
                Some(PathBuf::from(s))
            }
        })
    }
    fn clear_process_logs(&self, namespec: &str) -> Result<(), Fault> {
        self.record(format!("clear {namespec}"));
        self.with_proc(namespec, |_| ())
    }
    fn main_log_path(&self) -> Option<PathBuf> {
        Some(self.main_log.clone())
    }
    fn clear_main_log(&self) -> Result<(), Fault> {
        Ok(())
    }
    fn send_remote_comm_event(&self, kind: &str, _data: &str) -> Result<(), Fault> {
        self.record(format!("event {kind}"));
        Ok(())
    }
}

/// A mock engine served on `<dir>/supervisor.sock`.
pub struct Harness {
    pub dir: TempDir,
    pub backend: Arc<MockBackend>,
    pub server: Option<ServerHandle>,
    pub socket: PathBuf,
}

impl Harness {
    pub fn new(tag: &str, procs: &[(&str, &str, i64)]) -> Harness {
        Harness::with(tag, procs, None, ServerOptions::default())
    }

    pub fn with(
        tag: &str,
        procs: &[(&str, &str, i64)],
        auth: Option<Auth>,
        options: ServerOptions,
    ) -> Harness {
        Harness::custom(tag, procs, auth, options, |_| {})
    }

    /// Like [`Harness::with`], with a last change to the config before the server starts.
    pub fn custom(
        tag: &str,
        procs: &[(&str, &str, i64)],
        auth: Option<Auth>,
        options: ServerOptions,
        change: impl FnOnce(&mut Config),
    ) -> Harness {
        let dir = TempDir::new(tag);
        let mut config = make_config(&dir.0, procs, auth);
        change(&mut config);
        let socket = dir.0.join("supervisor.sock");
        let backend = MockBackend::new(config);
        let server =
            supervisor_rs::ctl::start_with(backend.config.clone(), backend.clone(), options)
                .expect("start server");
        Harness {
            dir,
            backend,
            server: Some(server),
            socket,
        }
    }

    pub fn url(&self) -> String {
        format!("unix://{}", self.socket.display())
    }

    /// Runs our supervisorctl against this server.
    pub fn ctl(&self, args: &[&str]) -> Output {
        ctl_with_stdin(&self.url(), args, None)
    }
}

impl Drop for Harness {
    fn drop(&mut self) {
        if let Some(s) = self.server.take() {
            s.close();
        }
    }
}

/// Runs our supervisorctl against `url`, feeding `stdin` when given.
pub fn ctl_with_stdin(url: &str, args: &[&str], stdin: Option<&str>) -> Output {
    run_ctl(
        Path::new(env!("CARGO_BIN_EXE_supervisorctl")),
        url,
        args,
        stdin,
    )
}

/// Runs the supervisorctl `exe` (ours or Python's) against `url`, feeding `stdin` when given.
pub fn run_ctl(exe: &Path, url: &str, args: &[&str], stdin: Option<&str>) -> Output {
    use std::io::Write;
    // An explicit config with an empty [supervisorctl] section keeps the default search path
    // (which includes the working directory) out of the test.
    let n = COUNTER.fetch_add(1, Ordering::SeqCst);
    let conf = std::env::temp_dir().join(format!("ctl-test-{}-{n}.conf", std::process::id()));
    std::fs::write(&conf, "[supervisorctl]\n").expect("write ctl config");
    let mut cmd = Command::new(exe);
    cmd.arg("-c").arg(&conf).args(["-s", url]).args(args);
    cmd.stdin(std::process::Stdio::piped())
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped());
    let mut child = cmd
        .spawn()
        .unwrap_or_else(|e| panic!("spawn {}: {e}", exe.display()));
    if let Some(mut pipe) = child.stdin.take() {
        if let Some(s) = stdin {
            let _ = pipe.write_all(s.as_bytes());
        }
    }
    let out = child
        .wait_with_output()
        .unwrap_or_else(|e| panic!("output of {}: {e}", exe.display()));
    let _ = std::fs::remove_file(&conf);
    out
}

pub fn stdout(o: &Output) -> String {
    String::from_utf8_lossy(&o.stdout).into_owned()
}
