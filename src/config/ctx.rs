//! What every section builder reads from while a config loads: the INI text, the `%(name)s`
//! expansions common to all sections, and the notes (warnings) gathered on the way.

use std::path::PathBuf;

use log::Level;

use super::expand::{Names, Val};
use super::ini::Ini;

/// What every section builder needs: the document, expansion names, notes.
pub struct Ctx<'a> {
    pub ini: &'a Ini,
    /// `ENV_*` names: supervisord's environment plus `[supervisord] environment=`.
    pub env_names: Names,
    /// Directory of the main file.
    pub here: PathBuf,
    pub host: String,
    pub notes: Vec<(Level, String)>,
}

impl Ctx<'_> {
    pub fn here_str(&self) -> String {
        self.here.to_string_lossy().into_owned()
    }

    /// The `ENV_*` names plus `here`.
    pub fn env_names_with_here(&self) -> Names {
        let mut n = self.env_names.clone();
        n.insert("here".into(), Val::Str(self.here_str()));
        n
    }
}

pub fn hostname() -> String {
    nix::unistd::gethostname()
        .map(|h| h.to_string_lossy().into_owned())
        .unwrap_or_default()
}

pub fn env_expansions(env: &[(String, String)]) -> Names {
    env.iter()
        .map(|(k, v)| (format!("ENV_{k}"), Val::Str(v.clone())))
        .collect()
}
