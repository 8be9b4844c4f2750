//! The engine as the control plane sees it (`Backend`), driven in-process with real programs:
//! start/stop with and without wait, faults, signals, stdin, reread/add/remove, snapshots.

// Own test binary: its reaper thread owns SIGCHLD and reaps every child of the process, so it
// would steal the children that other tests wait for.

#[path = "../support"]
mod support {
    pub mod supervisord;
    pub mod temp;
    pub mod wait;
}

use std::sync::Arc;
use std::time::{Duration, Instant};

use crossbeam_channel::{unbounded, Receiver};
use supervisor_rs::config::Loader;
use supervisor_rs::config::{self, Config};
use supervisor_rs::ctl::backend::Backend;
use supervisor_rs::ctl::engine_backend::EngineBackend;
use supervisor_rs::ctl::protocol::faults::{self, Fault};
use supervisor_rs::logs::OutputPump;
use supervisor_rs::programs::Shared;
use supervisor_rs::programs::{Engine, Request};
use supervisor_rs::reaper::{self, Reaper};
use supervisor_rs::state::{ProcessState, SupervisorState};

use support::supervisord::*;
use support::temp::TempDir;
use support::wait::wait_for;

struct Rig {
    dir: TempDir,
    engine: Arc<Engine>,
    backend: EngineBackend,
    requests: Receiver<Request>,
}

fn load(dir: &TempDir) -> Result<Config, String> {
    config::load(&dir.join("sd.conf"), &[]).map_err(|e| e.to_string())
}

fn write_conf(dir: &TempDir, programs: &str) {
    let text = header(dir)
        + &programs
            .replace("{dir}", &dir.0.display().to_string())
            .replace("{prog}", &testprog().display().to_string());
    std::fs::write(dir.join("sd.conf"), text).unwrap();
}

/// One reaper/signal thread for the whole test binary (it owns SIGCHLD).
fn reaper() -> Arc<Reaper> {
    static REAPER: std::sync::OnceLock<Arc<Reaper>> = std::sync::OnceLock::new();
    REAPER
        .get_or_init(|| {
            let r = Arc::new(Reaper::new());
            let (tx, rx) = unbounded();
            reaper::start_signal_thread(r.clone(), tx).unwrap();
            std::mem::forget(rx);
            r
        })
        .clone()
}

impl Rig {
    fn new(tag: &str, programs: &str) -> Rig {
        let dir = TempDir::new(tag);
        write_conf(&dir, programs);
        let config = Arc::new(load(&dir).unwrap());
        let (changes, _) = unbounded();
        let (failures, _) = unbounded();
        let template = Shared {
            reaper: reaper(),
            pump: OutputPump::new().unwrap(),
            base_env: Vec::new(),
            base_envp: Arc::new(Vec::new()),
            server_url: None,
            max_fd: 1024,
            changes,
            events: None,
            failures,
        };
        let (req_tx, requests) = unbounded();
        let engine = Arc::new(Engine::new(config.clone(), template, req_tx));
        for g in &config.groups {
            engine.add_group(g.clone()).unwrap();
        }
        let path = dir.join("sd.conf");
        let loader: Loader = Box::new(move || config::load(&path, &[]).map_err(|e| e.to_string()));
        let backend = EngineBackend::new(engine.clone(), Arc::new(loader));
        Rig {
            dir,
            engine,
            backend,
            requests,
        }
    }

    fn state(&self, name: &str) -> ProcessState {
        self.backend.process_info(name).unwrap().state
    }

    fn start(&self, name: &str, wait: bool) -> Result<(), Fault> {
        self.backend.start(&[name.to_string()], wait).remove(0).1
    }

    fn stop(&self, name: &str, wait: bool) -> Result<(), Fault> {
        self.backend.stop(&[name.to_string()], wait).remove(0).1
    }
}

impl Drop for Rig {
    fn drop(&mut self) {
        for p in self.engine.all() {
            let pid = p.info().pid;
            if pid > 0 {
                kill(-pid, libc::SIGKILL);
            }
        }
        self.engine.clear();
    }
}

fn fault(code: i32, detail: &str) -> Fault {
    Fault::new(code, Some(detail))
}

#[test]
fn start_with_wait_returns_once_running() {
    let rig = Rig::new(
        "bstart",
        "[program:a]\ncommand={prog} sleep=100\nstartsecs=1\nautostart=false\n",
    );
    assert_eq!(rig.state("a"), ProcessState::Stopped);
    let t0 = Instant::now();
    assert_eq!(rig.start("a", true), Ok(()));
    let took = t0.elapsed();
    assert!(
        took >= Duration::from_millis(950) && took < Duration::from_secs(3),
        "{took:?}"
    );
    let info = rig.backend.process_info("a").unwrap();
    assert_eq!(info.state, ProcessState::Running);
    assert!(info.pid > 0 && info.start > 0);
    assert_eq!(
        rig.start("a", true),
        Err(fault(faults::ALREADY_STARTED, "a"))
    );
}

#[test]
fn start_without_wait_returns_at_once() {
    let rig = Rig::new(
        "bnowait",
        "[program:a]\ncommand={prog} sleep=100\nstartsecs=5\nautostart=false\n",
    );
    let t0 = Instant::now();
    assert_eq!(rig.start("a", false), Ok(()));
    assert!(t0.elapsed() < Duration::from_millis(500));
    assert_eq!(rig.state("a"), ProcessState::Starting);
}

#[test]
fn start_of_a_crashing_program_is_a_spawn_error() {
    let rig = Rig::new(
        "bcrash",
        "[program:c]\ncommand={prog} exit=1\nstartsecs=1\nstartretries=5\nautostart=false\n",
    );
    assert_eq!(rig.start("c", true), Err(fault(faults::SPAWN_ERROR, "c")));
    let info = rig.backend.process_info("c").unwrap();
    assert_eq!(info.state, ProcessState::Backoff);
    assert_eq!(
        info.spawnerr,
        "Exited too quickly (process log may have details)"
    );
}

#[test]
fn start_of_missing_command_is_no_file() {
    let rig = Rig::new(
        "bnofile",
        "[program:n]\ncommand=no_such_command_xyz\nautostart=false\n",
    );
    let want = fault(faults::NO_FILE, "can't find command 'no_such_command_xyz'");
    assert_eq!(rig.start("n", true), Err(want));
    assert_eq!(rig.state("n"), ProcessState::Stopped);
    assert_eq!(
        rig.start("nosuch", true),
        Err(fault(faults::BAD_NAME, "nosuch"))
    );
}

#[test]
fn stop_with_wait_returns_once_stopped() {
    let rig = Rig::new(
        "bstop",
        "[program:a]\ncommand={prog} stop-delay=0.3 sleep=100\nstartsecs=0\n",
    );
    rig.engine.autostart_group("a");
    assert!(wait_for(5.0, || rig.state("a") == ProcessState::Running));
    let t0 = Instant::now();
    assert_eq!(rig.stop("a", true), Ok(()));
    assert!(t0.elapsed() >= Duration::from_millis(250));
    let info = rig.backend.process_info("a").unwrap();
    assert_eq!(
        (info.state, info.exitstatus, info.pid),
        (ProcessState::Stopped, -1, 0)
    );
    assert!(info.stop >= info.start);
    assert_eq!(rig.stop("a", true), Err(fault(faults::NOT_RUNNING, "a")));
}

#[test]
fn signal_and_stdin_reach_the_process() {
    let rig = Rig::new(
        "bsignal",
        "[program:a]\ncommand={prog} record={dir}/a.sig stdin-line={dir}/a.in sleep=100\n\
         startsecs=0\n",
    );
    rig.engine.autostart_group("a");
    assert!(wait_for(5.0, || rig.dir.join("a.sig").exists()));
    let r = rig.backend.signal(&["a".to_string()], libc::SIGUSR1);
    assert_eq!(r[0].1, Ok(()));
    assert!(wait_for(5.0, || read(&rig.dir.join("a.sig")) == "USR1\n"));
    assert_eq!(rig.backend.send_stdin("a", b"hello\n"), Ok(()));
    assert!(wait_for(5.0, || read(&rig.dir.join("a.in")) == "hello\n"));
    assert_eq!(rig.stop("a", true), Ok(()));
    let r = rig.backend.signal(&["a".to_string()], libc::SIGUSR1);
    assert_eq!(r[0].1, Err(fault(faults::NOT_RUNNING, "a")));
    assert_eq!(
        rig.backend.send_stdin("a", b"x"),
        Err(fault(faults::NOT_RUNNING, "a"))
    );
}

#[test]
fn reread_add_and_remove_groups() {
    let rig = Rig::new(
        "breread",
        "[program:keep]\ncommand={prog} sleep=100\nautostart=false\n\n\
         [program:gone]\ncommand={prog} sleep=100\nautostart=false\n\n\
         [program:change]\ncommand={prog} sleep=100\nautostart=false\n",
    );
    write_conf(
        &rig.dir,
        "[program:keep]\ncommand={prog} sleep=100\nautostart=false\n\n\
         [program:change]\ncommand={prog} sleep=200\nautostart=false\n\n\
         [program:new]\ncommand={prog} sleep=100\nstartsecs=0\n",
    );
    let diff = rig.backend.reload_config().unwrap();
    assert_eq!(diff.added, vec!["new".to_string()]);
    assert_eq!(diff.changed, vec!["change".to_string()]);
    assert_eq!(diff.removed, vec!["gone".to_string()]);
    assert_eq!(
        rig.backend.add_group("keep"),
        Err(fault(faults::ALREADY_ADDED, "keep"))
    );
    assert_eq!(
        rig.backend.add_group("nosuch"),
        Err(fault(faults::BAD_NAME, "nosuch"))
    );
    assert_eq!(rig.backend.add_group("new"), Ok(()));
    assert!(wait_for(5.0, || rig.state("new") == ProcessState::Running));
    assert_eq!(
        rig.backend.remove_group("new"),
        Err(fault(faults::STILL_RUNNING, "new"))
    );
    assert_eq!(rig.stop("new", true), Ok(()));
    assert_eq!(rig.backend.remove_group("new"), Ok(()));
    assert_eq!(rig.backend.remove_group("gone"), Ok(()));
    let names: Vec<String> = rig
        .backend
        .all_process_info()
        .into_iter()
        .map(|p| p.name)
        .collect();
    assert_eq!(names, vec!["change".to_string(), "keep".to_string()]);

    write_conf(&rig.dir, "[program:broken]\n");
    let err = rig.backend.reload_config().unwrap_err();
    assert_eq!(err.code, faults::CANT_REREAD);
}

#[test]
fn requests_are_refused_while_shutting_down() {
    let rig = Rig::new(
        "bshut",
        "[program:a]\ncommand={prog} sleep=100\nautostart=false\n",
    );
    assert_eq!(rig.backend.shutdown(), Ok(()));
    assert_eq!(rig.requests.try_recv(), Ok(Request::Shutdown));
    let refused = Fault::new(faults::SHUTDOWN_STATE, None);
    assert_eq!(rig.start("a", true), Err(refused.clone()));
    assert_eq!(rig.backend.shutdown(), Err(refused.clone()));
    assert_eq!(rig.backend.restart(), Err(refused));
    assert_eq!(rig.backend.state(), SupervisorState::Shutdown);
}
