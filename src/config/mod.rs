//! Parsing `supervisord.conf` (and its includes) into a validated [`Config`].
//!
//! A pure function from files + environment to `Config` or [`ConfigError`]; no other module
//! reads config text.

mod model;

pub use model::*;

use std::fmt;
use std::path::{Path, PathBuf};

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
    let _ = (path, env);
    Err(ConfigError {
        file: Some(path.to_path_buf()),
        line: None,
        section: None,
        option: None,
        message: "config loading is not implemented yet".into(),
    })
}
