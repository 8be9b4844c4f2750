//! Parsing `supervisord.conf` (and its includes) into a validated [`Config`].
//!
//! A pure function from files + environment to `Config` or [`ConfigError`]; no other module
//! reads config text.
//!
//! Pipeline: `source` reads the main file and its `[include]`s with the `ini` reader (which
//! keeps file and line of every key) → `load` builds the sections in Supervisor's order
//! (`supervisord`, `servers`, `groups` → `program`), reading values through `section`, which
//! expands `%(name)s` (`expand`) and converts them (`datatypes`, `users`). Everything
//! Supervisor would silently ignore (unknown sections and options) becomes a WARN note.

mod ctx;
mod datatypes;
mod envfile;
mod expand;
mod glob;
mod groups;
mod ini;
mod load;
mod model;
mod overrides;
mod passwd;
mod program;
pub mod pystr;
mod search;
mod section;
mod servers;
mod service;
mod source;
mod supervisord;
mod users;

pub use model::*;
pub use overrides::Overrides;
pub use search::{search_default, search_paths};

use std::fmt;
use std::path::{Path, PathBuf};

/// Re-reads the configuration (same files, same command line) for a reload.
pub type Loader = Box<dyn Fn() -> Result<Config, String> + Send + Sync>;

/// A configuration problem, located as precisely as the parser knows it.
#[derive(Debug, Clone, PartialEq)]
pub struct ConfigError {
    pub file: Option<PathBuf>,
    pub line: Option<usize>,
    pub section: Option<String>,
    pub option: Option<String>,
    /// What is wrong, in Supervisor's wording where it has one (value included).
    pub message: String,
}

impl fmt::Display for ConfigError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if let Some(file) = &self.file {
            write!(f, "{}", file.display())?;
            if let Some(line) = self.line {
                write!(f, ":{line}")?;
            }
            write!(f, ": ")?;
        }
        if let Some(section) = &self.section {
            write!(f, "[{section}] ")?;
        }
        if let Some(option) = &self.option {
            write!(f, "{option}: ")?;
        }
        write!(f, "{}", self.message)
    }
}

impl std::error::Error for ConfigError {}

/// Loads and validates the config at `path` using `env` for `%(ENV_X)s` expansions.
pub fn load(path: &Path, env: &[(String, String)]) -> Result<Config, ConfigError> {
    load::load(path, env, None)
}

/// [`load`] with the command line's `-u USER` taking the place of `[supervisord] user=`.
pub fn load_with_user(
    path: &Path,
    env: &[(String, String)],
    user: Option<&str>,
) -> Result<Config, ConfigError> {
    load::load(path, env, user)
}

/// Reads only `[supervisorctl]` of the config at `path` (what supervisorctl needs), strictly:
/// expansion errors in that section are errors here.
pub fn load_ctl(path: &Path, env: &[(String, String)]) -> Result<CtlConfig, ConfigError> {
    load::load_ctl(path, env)
}

/// Converters shared with the command line (same syntax and messages as the config file).
pub mod convert {
    pub use super::datatypes::{
        boolean, byte_size, count, existing_directory, existing_dirpath, integer, logging_level,
        octal, signal_name, signal_number, unsigned, MAX_COUNT,
    };
    pub use super::users::{colon_separated_user_group, resolve_user};
}

impl ConfigError {
    /// An error that is not tied to a place in a file (command line, missing file...).
    pub fn plain(message: impl Into<String>) -> Self {
        ConfigError {
            file: None,
            line: None,
            section: None,
            option: None,
            message: message.into(),
        }
    }
}
