//! Spawning the child: its command and environment, the fork through the reaper, and handing
//! its pipes to the log pump or the event bus.

use std::io;
use std::os::fd::OwnedFd;
use std::path::{Path, PathBuf};
use std::time::Instant;

use crate::events::{self, Stream};
use crate::state::names::errno_name;
use crate::util::{lock, unix_secs};

use super::super::command::{resolve, CommandError};
use super::super::machine::Event;
use super::super::spawn::{
    exec_result, spawn_child, ChildPipes, Env, PipeSet, Prepared, SignalsBlocked, SpawnSpec,
};
use super::{Role, Worker};

impl Worker {
    pub(super) fn search_path(&self) -> Option<String> {
        let from_program = self.cfg.environment.iter().rev().find(|(k, _)| k == "PATH");
        if let Some((_, v)) = from_program {
            return Some(v.clone());
        }
        let base = self.shared.base_env.iter().rev().find(|(k, _)| k == "PATH");
        base.map(|(_, v)| v.to_string_lossy().into_owned())
    }

    pub(super) fn resolve_command(&self) -> Result<PathBuf, CommandError> {
        let argv0 = self.cfg.argv.first().map(String::as_str).unwrap_or("");
        resolve(argv0, self.search_path().as_deref())
    }

    /// What this process adds to supervisord's environment (later entries win).
    pub(super) fn env_overrides(&self) -> Vec<(String, String)> {
        let mut over = Vec::with_capacity(3 + self.cfg.environment.len());
        if let Some(url) = self
            .cfg
            .serverurl
            .as_ref()
            .or(self.shared.server_url.as_ref())
        {
            over.push(("SUPERVISOR_SERVER_URL".to_string(), url.clone()));
        }
        over.push(("SUPERVISOR_PROCESS_NAME".to_string(), self.cfg.name.clone()));
        over.push(("SUPERVISOR_GROUP_NAME".to_string(), self.cfg.group.clone()));
        over.extend(self.cfg.environment.iter().cloned());
        over
    }

    #[cold]
    #[inline(never)]
    pub(super) fn spawnerr(&mut self, msg: String) -> Event {
        log::info!("spawnerr: {msg}");
        lock(&self.info).spawnerr = msg;
        Event::SpawnFailed
    }

    /// Performs a spawn; returns `Spawned` or `SpawnFailed` for the table. The two halves
    /// stay separate calls so the logging after the fork does not stack on the fork's locals
    /// (this is the deepest path of a worker thread, and its depth is resident memory).
    pub(super) fn spawn(&mut self) -> Event {
        {
            let mut info = lock(&self.info);
            info.spawnerr.clear();
            info.exitstatus = 0;
            info.service.status_text = None;
            info.start = unix_secs();
        }
        self.started_at = Instant::now();
        // Looking the command up (stat, access) is the deepest call: keep it off the fork's
        // frame.
        let path = match self.resolve_command() {
            Ok(p) => p,
            Err(e) => return self.spawnerr(e.message),
        };
        match self.fork_child(&path) {
            Ok((pid, parent)) => self.spawned(pid, parent, &path),
            Err(ev) => ev,
        }
    }

    /// Prepares the exec of `path` and starts the child.
    #[inline(never)]
    pub(super) fn fork_child(&mut self, path: &Path) -> Result<(i32, ChildPipes), Event> {
        let mut over = self.env_overrides();
        self.notify_env(&mut over);
        let spec = SpawnSpec {
            path,
            argv: &self.cfg.argv,
            env: Env {
                base: &self.shared.base_envp,
                over: &over,
                pid_var: self.cfg.service.watchdog_ms.map(|_| "WATCHDOG_PID"),
            },
            directory: self.cfg.directory.as_deref(),
            umask: self.cfg.umask,
            user: self.cfg.user.as_ref(),
            redirect_stderr: self.cfg.redirect_stderr,
            max_fd: self.shared.max_fd,
        };
        let name = self.cfg.name.clone();
        let prepared = match Prepared::new(&spec) {
            Ok(p) => p,
            Err(e) => {
                return Err(self.spawnerr(format!(
                    "unknown error making dispatchers for '{name}': {e}"
                )))
            }
        };
        let pipes = if self.role == Role::Command {
            PipeSet::inherit()
        } else {
            PipeSet::new(self.cfg.redirect_stderr)
        };
        let pipes = match (pipes, self.cfg.service.notify_fd) {
            (Ok(p), Some(at)) => p.with_notify_fd(at),
            (p, _) => p,
        };
        let pipes = match &self.fcgi {
            Some(socket) => pipes.and_then(|p| p.with_stdin(socket.fd())),
            None => pipes,
        };
        let pipes = match pipes {
            Ok(p) => p,
            Err(e) if e.raw_os_error() == Some(libc::EMFILE) => {
                return Err(self.spawnerr(format!("too many open files to spawn '{name}'")))
            }
            Err(e) => {
                let code = errno_name(e.raw_os_error().unwrap_or(0));
                return Err(self.spawnerr(format!(
                    "unknown error making dispatchers for '{name}': {code}"
                )));
            }
        };
        let forked = self.start_child(&prepared, pipes);
        let (pid, parent) = match forked {
            Ok(r) => r,
            Err(e) if e.raw_os_error() == Some(libc::EAGAIN) => {
                return Err(self.spawnerr(format!(
                    "Too many processes in process table to spawn '{name}'"
                )))
            }
            Err(e) => {
                let code = errno_name(e.raw_os_error().unwrap_or(0));
                return Err(
                    self.spawnerr(format!("unknown error during fork for '{name}': {code}"))
                );
            }
        };
        Ok((pid, parent))
    }

    /// Starts the child with every signal blocked, registered with the reaper before it can
    /// exit. Out of line: the signal masks need not sit under `Prepared::new`.
    #[inline(never)]
    pub(super) fn start_child(
        &self,
        prepared: &Prepared,
        pipes: PipeSet,
    ) -> io::Result<(i32, ChildPipes)> {
        let blocked = SignalsBlocked::new();
        self.shared
            .reaper
            .spawn_registered(self.exit_tx.clone(), || {
                spawn_child(prepared, pipes, &blocked)
            })
    }

    /// Hands the new child's pipes over and records the spawn.
    #[inline(never)]
    pub(super) fn spawned(&mut self, pid: i32, parent: ChildPipes, path: &Path) -> Event {
        self.pid = pid;
        // Before the pipes reach the pump: the child's output is logged after its spawn.
        log::info!("spawned: '{}' with pid {pid}", self.cfg.name);
        if let Some(r) = parent.notify {
            self.watch_ready_fd(pid, r);
        }
        if self.role != Role::Command {
            self.attach_output(pid, parent.stdin, parent.stdout);
        }
        if let Some(err) = parent.stderr {
            let sink = self
                .stderr_sink
                .clone()
                .unwrap_or_else(|| self.stdout_sink.clone());
            self.shared.pump.attach(err, sink);
        }
        if let Some(errno) = exec_result(parent.status) {
            log::debug!(
                "couldn't exec {}: {} (pid {pid})",
                path.display(),
                errno_name(errno)
            );
        }
        {
            let mut info = lock(&self.info);
            info.pid = pid;
            info.spawns += 1;
        }
        Event::Spawned
    }

    /// Hands the child's stdin/stdout to the event bus (listeners) or to the log pump, and
    /// installs the output observers that turn output into events.
    /// Kept out of line: inlined, its locals would deepen every path through `spawn`.
    #[inline(never)]
    pub(super) fn attach_output(&mut self, pid: i32, stdin: OwnedFd, stdout: OwnedFd) {
        let bus = self.shared.events.as_ref();
        if let (Role::Listener, Some(bus)) = (self.role, bus) {
            bus.attach_listener(&self.cfg.group, &self.cfg.name, pid, stdin, stdout);
            return;
        }
        if let Some(bus) = bus {
            let out = events::observe::output_observer(bus, &self.cfg, Stream::Stdout, pid);
            self.stdout_sink.set_observer(out);
            let filter = events::observe::capture_filter(&self.cfg, Stream::Stdout);
            self.stdout_sink.set_filter(filter);
            if let Some(sink) = &self.stderr_sink {
                let err = events::observe::output_observer(bus, &self.cfg, Stream::Stderr, pid);
                sink.set_observer(err);
                sink.set_filter(events::observe::capture_filter(&self.cfg, Stream::Stderr));
            }
        }
        self.stdin = Some(stdin);
        self.shared.pump.attach(stdout, self.stdout_sink.clone());
    }
}
