//! The container's command (`supervisord [options] -- COMMAND [ARG...]`) as a process of the
//! engine: one process named `main` in a group of its own, started once (never restarted), with
//! supervisord's own stdin, stdout and stderr. Its group has the highest priority value, so a
//! shutdown stops it first; the programs from the config follow in their usual order.

use std::path::PathBuf;

use crate::config::{AutoRestart, GroupConfig, GroupKind, LogConfig, ProcessConfig};

/// The name of the command's process and of its group.
pub const NAME: &str = "main";

/// Above every priority a config can set (they are Python ints but XML-RPC carries 32 bits):
/// the command stops first.
const PRIORITY: i64 = i32::MAX as i64;

/// How the command is run and stopped.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CommandSpec {
    pub argv: Vec<String>,
    /// The signal a plain stop request (`supervisorctl stop main`) sends.
    pub stopsignal: i32,
    /// How long a stop waits before SIGKILL.
    pub stopwaitsecs: u64,
    /// Signals go to the command's process group (tini `-g`), not only to its pid.
    pub to_group: bool,
}

/// The command as a shell would read it back (for `status` and the log).
fn shell_words(argv: &[String]) -> String {
    let safe = |c: char| c.is_ascii_alphanumeric() || "@%+=:,./-_".contains(c);
    let word = |s: &String| {
        if !s.is_empty() && s.chars().all(safe) {
            s.clone()
        } else {
            format!("'{}'", s.replace('\'', "'\"'\"'"))
        }
    };
    argv.iter().map(word).collect::<Vec<_>>().join(" ")
}

/// The group holding the command's process.
pub fn group_config(spec: &CommandSpec) -> GroupConfig {
    let process = ProcessConfig {
        name: NAME.into(),
        group: NAME.into(),
        program_name: NAME.into(),
        command: shell_words(&spec.argv),
        argv: spec.argv.clone(),
        priority: PRIORITY,
        // Started by init once the programs are up, not by the autostart pass.
        autostart: false,
        autorestart: AutoRestart::Never,
        // RUNNING at once: an early exit is the command's result, not a failed start.
        startsecs: 0,
        startretries: 0,
        exitcodes: vec![0],
        stopsignal: spec.stopsignal,
        stopwaitsecs: spec.stopwaitsecs,
        stopasgroup: spec.to_group,
        killasgroup: spec.to_group,
        user: None,
        directory: None,
        umask: None,
        environment: Vec::new(),
        serverurl: None,
        redirect_stderr: false,
        stdout: LogConfig::none(),
        stderr: LogConfig::none(),
        here: std::env::current_dir().unwrap_or_else(|_| PathBuf::from("/")),
        essential: false,
        depends_on: Vec::new(),
        healthcheck: None,
        memory_limit: None,
        memory_check_interval: 60,
        service: Default::default(),
    };
    GroupConfig {
        name: NAME.into(),
        priority: PRIORITY,
        kind: GroupKind::Program,
        processes: vec![std::sync::Arc::new(process)],
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_command_is_one_process_that_is_never_restarted() {
        let spec = CommandSpec {
            argv: vec!["sh".into(), "-c".into(), "exit 3".into()],
            stopsignal: libc::SIGTERM,
            stopwaitsecs: 10,
            to_group: false,
        };
        let g = group_config(&spec);
        assert_eq!(g.processes.len(), 1);
        let p = &g.processes[0];
        assert_eq!(p.namespec(), "main");
        assert_eq!(p.autorestart, AutoRestart::Never);
        assert!(!p.autostart);
        assert_eq!((p.startsecs, p.startretries), (0, 0));
        assert_eq!(p.argv, spec.argv);
        assert!(g.priority > 999_999);
        assert_eq!(p.command, "sh -c 'exit 3'");
    }
}
