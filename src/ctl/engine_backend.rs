//! The control plane's view of the engine: snapshots are read from the workers' shared state
//! without a round trip; actions go to the workers, blocking only the calling thread.

use std::collections::HashSet;
use std::path::PathBuf;
use std::sync::{Arc, Mutex};

use crossbeam_channel::bounded;

use crate::config::{Config, GroupConfig, Loader};
use crate::programs::{dep_order, dispatch, Command, Engine, ProcessHandle, Reply, Request};
use crate::state::{ProcessInfo, SupervisorState};
use crate::util::lock;

use super::backend::{Backend, Channel, ConfigDiff, ProcessResult};
use super::protocol::faults::{self, Fault};
pub struct EngineBackend {
    engine: Arc<Engine>,
    loader: Arc<Loader>,
    /// Groups added since the last `reloadConfig` (their AUTO log paths count as resolved).
    added_since_reread: Mutex<HashSet<String>>,
}

impl EngineBackend {
    pub fn new(engine: Arc<Engine>, loader: Arc<Loader>) -> EngineBackend {
        EngineBackend {
            engine,
            loader,
            added_since_reread: Mutex::new(HashSet::new()),
        }
    }

    fn running(&self) -> Result<(), Fault> {
        match self.engine.state() {
            SupervisorState::Running => Ok(()),
            _ => Err(Fault::new(faults::SHUTDOWN_STATE, None)),
        }
    }

    fn handle(&self, namespec: &str) -> Result<Arc<ProcessHandle>, Fault> {
        self.engine
            .find(namespec)
            .ok_or_else(|| Fault::new(faults::BAD_NAME, Some(namespec)))
    }

    /// Sends one request per process and collects the answers in order, as faults.
    fn each<F>(&self, namespecs: &[String], make: F) -> Vec<ProcessResult>
    where
        F: Fn(Reply) -> Command,
    {
        faults_of(dispatch::each(&self.engine, namespecs, make))
    }

    fn config_in_force(&self) -> Arc<Config> {
        self.engine
            .pending()
            .unwrap_or_else(|| self.engine.config())
    }
}

/// The engine's per-process outcomes as Supervisor's faults.
fn faults_of(results: Vec<crate::programs::ProcessResult>) -> Vec<ProcessResult> {
    results
        .into_iter()
        .map(|(n, r)| (n, r.map_err(Fault::from)))
        .collect()
}

/// Group names that changed between the active groups and a newly read config.
pub fn diff(active: &[GroupConfig], new: &Config) -> ConfigDiff {
    let mut d = ConfigDiff::default();
    for g in &new.groups {
        match active.iter().find(|a| a.name == g.name) {
            None => d.added.push(g.name.clone()),
            Some(a) if a != g => d.changed.push(g.name.clone()),
            Some(_) => {}
        }
    }
    for a in active {
        if !new.groups.iter().any(|g| g.name == a.name) {
            d.removed.push(a.name.clone());
        }
    }
    d
}

impl Backend for EngineBackend {
    fn state(&self) -> SupervisorState {
        self.engine.state()
    }

    fn identification(&self) -> String {
        self.engine.config().supervisord.identifier.clone()
    }

    fn pid(&self) -> i32 {
        std::process::id() as i32
    }

    fn config(&self) -> Arc<Config> {
        self.config_in_force()
    }

    fn active_groups(&self) -> Vec<String> {
        self.engine.group_names()
    }

    fn all_process_info(&self) -> Vec<ProcessInfo> {
        let mut all: Vec<ProcessInfo> = self.engine.all().iter().map(|p| p.info()).collect();
        all.sort_by(|a, b| (&a.group, &a.name).cmp(&(&b.group, &b.name)));
        all
    }

    fn process_info(&self, namespec: &str) -> Result<ProcessInfo, Fault> {
        Ok(self.handle(namespec)?.info())
    }

    fn start(&self, namespecs: &[String], wait: bool) -> Vec<ProcessResult> {
        if let Some(r) = dep_order::start(&self.engine, namespecs, wait) {
            return faults_of(r);
        }
        self.each(namespecs, |reply| Command::Start {
            reply: Some(reply),
            wait,
        })
    }

    fn stop(&self, namespecs: &[String], wait: bool) -> Vec<ProcessResult> {
        // A process held until its dependencies are up is pending a start: stopping it
        // cancels that start, and succeeds although the process itself never ran.
        let unheld: Vec<bool> = namespecs
            .iter()
            .map(|n| {
                self.engine.state() == SupervisorState::Running
                    && self.handle(n).is_ok_and(|h| self.engine.unhold(&h))
            })
            .collect();
        let results = dep_order::stop(&self.engine, namespecs, wait)
            .map(faults_of)
            .unwrap_or_else(|| {
                self.each(namespecs, |reply| Command::Stop {
                    reply: Some(reply),
                    wait,
                })
            });
        results
            .into_iter()
            .zip(unheld)
            .map(|((n, r), unheld)| match r {
                Err(f) if unheld && f.code == faults::NOT_RUNNING => {
                    log::info!("{n}: pending start cancelled");
                    (n, Ok(()))
                }
                r => (n, r),
            })
            .collect()
    }

    fn start_pending(&self, namespec: &str) -> bool {
        self.handle(namespec)
            .is_ok_and(|h| h.state().is_stopped() && self.engine.is_held(&h))
    }

    fn signal(&self, namespecs: &[String], signal: i32) -> Vec<ProcessResult> {
        self.each(namespecs, |reply| Command::Signal { signal, reply })
    }

    fn send_stdin(&self, namespec: &str, data: &[u8]) -> Result<(), Fault> {
        self.running()?;
        let (tx, rx) = bounded(1);
        self.handle(namespec)?.send(Command::Stdin { reply: tx });
        let gone = || Fault::new(faults::NOT_RUNNING, Some(namespec));
        let pipe = rx.recv().map_err(|_| gone())??;
        crate::programs::stdin::write_all(
            &pipe,
            data,
            namespec,
            crate::programs::stdin::STALL_LIMIT,
        )
        .map_err(Fault::from)
    }

    fn shutdown(&self) -> Result<(), Fault> {
        self.running()?;
        // Refuse further requests at once, as Supervisor does when it changes its mood.
        self.engine.set_state(SupervisorState::Shutdown);
        let _ = self.engine.requests.send(Request::Shutdown);
        Ok(())
    }

    fn restart(&self) -> Result<(), Fault> {
        self.running()?;
        self.engine.set_state(SupervisorState::Restarting);
        let _ = self.engine.requests.send(Request::Restart);
        Ok(())
    }

    fn reload_config(&self) -> Result<ConfigDiff, Fault> {
        self.running()?;
        let new = (self.loader)().map_err(|e| Fault::new(faults::CANT_REREAD, Some(&e)))?;
        let active: Vec<GroupConfig> = self
            .engine
            .group_names()
            .iter()
            // The container's command is no group of any config: `update` leaves it alone.
            .filter(|n| !self.engine.is_command_group(n))
            .filter_map(|n| self.engine.group_config(n))
            .collect();
        let d = diff(&active, &new);
        lock(&self.added_since_reread).clear();
        self.engine.set_pending(Arc::new(new));
        Ok(d)
    }

    fn auto_logs_resolved(&self, group: &str) -> bool {
        // Without a pending reread (none yet, or a restart since) the configs in force are
        // the ones the groups were created from.
        self.engine.pending().is_none() || lock(&self.added_since_reread).contains(group)
    }

    fn pending_groups(&self) -> Vec<GroupConfig> {
        self.config_in_force().groups.clone()
    }

    fn add_group(&self, name: &str) -> Result<(), Fault> {
        self.running()?;
        let config = self.config_in_force();
        let Some(gc) = config.groups.iter().find(|g| g.name == name) else {
            return Err(Fault::new(faults::BAD_NAME, Some(name)));
        };
        if self.engine.group_config(name).is_some() {
            return Err(Fault::new(faults::ALREADY_ADDED, Some(name)));
        }
        self.engine.add_group(gc.clone()).map_err(|e| {
            if e.kind() == std::io::ErrorKind::AlreadyExists {
                Fault::new(faults::ALREADY_ADDED, Some(name))
            } else {
                Fault::new(
                    faults::FAILED,
                    Some(&format!("cannot add group {name}: {e}")),
                )
            }
        })?;
        lock(&self.added_since_reread).insert(name.to_string());
        self.engine.autostart_group(name);
        Ok(())
    }

    fn remove_group(&self, name: &str) -> Result<(), Fault> {
        self.running()?;
        let procs = self
            .engine
            .group_procs(name)
            .ok_or_else(|| Fault::new(faults::BAD_NAME, Some(name)))?;
        if procs.iter().any(|p| !p.state().is_stopped()) {
            return Err(Fault::new(faults::STILL_RUNNING, Some(name)));
        }
        self.engine.remove_group(name);
        Ok(())
    }

    fn log_path(&self, namespec: &str, channel: Channel) -> Result<Option<PathBuf>, Fault> {
        let h = self.handle(namespec)?;
        Ok(match channel {
            Channel::Stdout => h.stdout_sink.path(),
            Channel::Stderr => h.stderr_sink.as_ref().and_then(|s| s.path()),
        })
    }

    fn clear_process_logs(&self, namespec: &str) -> Result<(), Fault> {
        self.running()?;
        let h = self.handle(namespec)?;
        let failed = |e: std::io::Error| Fault::new(faults::FAILED, Some(&e.to_string()));
        h.stdout_sink.clear().map_err(failed)?;
        if let Some(s) = &h.stderr_sink {
            s.clear().map_err(failed)?;
        }
        Ok(())
    }

    fn main_log_path(&self) -> Option<PathBuf> {
        crate::logs::main_log_path()
    }

    fn clear_main_log(&self) -> Result<(), Fault> {
        self.running()?;
        crate::logs::clear_main_log().map_err(|e| Fault::new(faults::FAILED, Some(&e.to_string())))
    }

    fn send_remote_comm_event(&self, kind: &str, data: &str) -> Result<(), Fault> {
        if let Some(bus) = self.engine.events() {
            bus.publish(crate::events::Event::RemoteCommunication {
                kind: kind.to_string(),
                data: data.to_string(),
            });
        }
        Ok(())
    }
}
