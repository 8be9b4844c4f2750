//! Command-line values that replace `[supervisord]` settings (command line > file > defaults).

use super::model::{Config, LogLevel, MainLogFile, UserSpec};
use super::source::normalize;
use std::path::PathBuf;

/// Already-validated `[supervisord]` values from the command line; `None` keeps the file's.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Overrides {
    pub nodaemon: Option<bool>,
    pub silent: Option<bool>,
    pub user: Option<UserSpec>,
    pub umask: Option<u32>,
    pub directory: Option<PathBuf>,
    pub logfile: Option<PathBuf>,
    pub logfile_maxbytes: Option<u64>,
    pub logfile_backups: Option<u32>,
    pub loglevel: Option<LogLevel>,
    pub pidfile: Option<PathBuf>,
    pub identifier: Option<String>,
    pub childlogdir: Option<PathBuf>,
    pub nocleanup: Option<bool>,
    pub minfds: Option<u64>,
    pub minprocs: Option<u64>,
    pub strip_ansi: Option<bool>,
}

impl Overrides {
    pub fn apply(&self, config: &mut Config) {
        let s = &mut config.supervisord;
        set(&mut s.nodaemon, self.nodaemon);
        set(&mut s.silent, self.silent);
        if let Some(u) = &self.user {
            s.user = Some(u.clone());
        }
        set(&mut s.umask, self.umask);
        if let Some(d) = &self.directory {
            s.directory = Some(d.clone());
        }
        if let Some(l) = &self.logfile {
            // Like Supervisor: the literal value `syslog` means syslog, anything else a path.
            s.logfile = if l.as_os_str() == "syslog" {
                MainLogFile::Syslog
            } else {
                MainLogFile::Path(normalize(l))
            };
        }
        set(&mut s.logfile_maxbytes, self.logfile_maxbytes);
        set(&mut s.logfile_backups, self.logfile_backups);
        set(&mut s.loglevel, self.loglevel);
        if let Some(p) = &self.pidfile {
            s.pidfile = normalize(p);
        }
        if let Some(i) = &self.identifier {
            s.identifier = i.clone();
        }
        if let Some(c) = &self.childlogdir {
            s.childlogdir = c.clone();
        }
        set(&mut s.nocleanup, self.nocleanup);
        set(&mut s.minfds, self.minfds);
        set(&mut s.minprocs, self.minprocs);
        set(&mut s.strip_ansi, self.strip_ansi);
    }
}

fn set<T: Copy>(slot: &mut T, value: Option<T>) {
    if let Some(v) = value {
        *slot = v;
    }
}
