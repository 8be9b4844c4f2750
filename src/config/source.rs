//! Reading the main file and the files its `[include]` names into one merged [`Ini`].

use super::expand::{expand, Names, Val};
use super::glob::glob;
use super::ini::Ini;
use super::ConfigError;
use log::Level;
use std::path::{Component, Path, PathBuf};

/// The merged document plus the notes collected while including files.
pub struct Source {
    pub ini: Ini,
    /// Absolute path of the main file.
    pub main: PathBuf,
    /// Its directory (`%(here)s` for the main file).
    pub here: PathBuf,
    pub notes: Vec<(Level, String)>,
}

/// `os.path.normpath(os.path.abspath(p))` without touching the filesystem.
pub fn normalize(p: &Path) -> PathBuf {
    let abs = if p.is_absolute() {
        p.to_path_buf()
    } else {
        std::env::current_dir()
            .map(|d| d.join(p))
            .unwrap_or_else(|_| p.to_path_buf())
    };
    let mut out = PathBuf::from("/");
    for c in abs.components() {
        match c {
            Component::ParentDir => {
                out.pop();
            }
            Component::Normal(n) => out.push(n),
            _ => {}
        }
    }
    out
}

/// The message already names the file, so the error carries no location (the output then
/// reads exactly like Supervisor's).
fn file_error(message: String) -> ConfigError {
    ConfigError {
        file: None,
        line: None,
        section: None,
        option: None,
        message,
    }
}

pub fn read_text(path: &Path) -> Result<String, ConfigError> {
    if std::fs::symlink_metadata(path).is_err() && !path.exists() {
        return Err(file_error(format!(
            "could not find config file {}",
            path.display()
        )));
    }
    match std::fs::read(path) {
        // Valid UTF-8 (the usual case) is kept as read, without a copy.
        Ok(bytes) => Ok(String::from_utf8(bytes)
            .unwrap_or_else(|e| String::from_utf8_lossy(e.as_bytes()).into_owned())),
        Err(_) => Err(file_error(format!(
            "could not read config file {}",
            path.display()
        ))),
    }
}

/// Supervisor replaces `%(here)s` literally in every value read so far, each time a file has
/// been read, so a value gets the directory of the file that set it.
fn expand_here(ini: &mut Ini, here: &Path) {
    let here = here.to_string_lossy();
    let entries = ini
        .sections
        .iter_mut()
        .flat_map(|s| s.entries.iter_mut())
        .chain(ini.defaults.iter_mut());
    for e in entries {
        if e.value.contains("%(here)s") {
            e.value = e.value.replace("%(here)s", &here);
        }
    }
}

/// Reads `path` and, when it has an `[include]` section, every file that section names.
/// `names` are the expansions for `files=` (`here`, `host_node_name`, `ENV_*`).
pub fn read_all(path: &Path, env_names: &Names, host: &str) -> Result<Source, ConfigError> {
    let text = read_text(path)?;
    let main = normalize(path);
    let here = main
        .parent()
        .map(Path::to_path_buf)
        .unwrap_or_else(|| PathBuf::from("/"));
    let mut ini = Ini::default();
    ini.read_str(&text, &main)?;
    let mut notes = Vec::new();
    let Some(include) = ini.section("include").cloned() else {
        return Ok(Source {
            ini,
            main,
            here,
            notes,
        });
    };
    expand_here(&mut ini, &here);
    let Some(files) = ini.section("include").and_then(|s| s.get("files")).cloned() else {
        return Err(ConfigError {
            file: Some(include.file.to_path_buf()),
            line: Some(include.line),
            section: Some("include".into()),
            option: Some("files".into()),
            message: ".ini file has [include] section, but no files setting".into(),
        });
    };
    let mut names = env_names.clone();
    names.insert("here".into(), Val::Str(here.to_string_lossy().into_owned()));
    names.insert("host_node_name".into(), Val::Str(host.to_string()));
    let expanded =
        expand(&files.value, &names, "include.files").map_err(|message| ConfigError {
            file: Some(files.file.to_path_buf()),
            line: Some(files.line),
            section: Some("include".into()),
            option: Some("files".into()),
            message,
        })?;
    for pattern in expanded.split_whitespace() {
        let joined = here.join(pattern);
        let joined = joined.to_string_lossy();
        let mut matches = glob(&joined);
        if matches.is_empty() {
            notes.push((
                Level::Warn,
                format!("No file matches via include \"{joined}\""),
            ));
            continue;
        }
        matches.sort();
        for file in matches {
            notes.push((
                Level::Info,
                format!("Included extra file \"{}\" during parsing", file.display()),
            ));
            let Ok(bytes) = std::fs::read(&file) else {
                // Python's parser silently skips files it cannot open; make it visible.
                notes.push((
                    Level::Warn,
                    format!("Could not read included file \"{}\"", file.display()),
                ));
                continue;
            };
            let abs = normalize(&file);
            let text = String::from_utf8_lossy(&bytes);
            note_nested_include(&text, &abs, &mut notes);
            ini.read_str(&text, &abs)?;
            expand_here(&mut ini, abs.parent().unwrap_or(Path::new("/")));
        }
    }
    Ok(Source {
        ini,
        main,
        here,
        notes,
    })
}

/// Only the main file's `[include]` is honoured; say so when an included file has one.
fn note_nested_include(text: &str, file: &Path, notes: &mut Vec<(Level, String)>) {
    let mut own = Ini::default();
    if own.read_str(text, file).is_err() {
        return; // The merge below reports the parse error.
    }
    if let Some(sec) = own.section("include") {
        notes.push((
            Level::Warn,
            format!(
                "{}:{}: [include] in an included file is ignored (only the main file's [include] is used)",
                file.display(),
                sec.line
            ),
        ));
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn normalizes_paths() {
        assert_eq!(
            normalize(Path::new("/a/b/../c/./d")),
            PathBuf::from("/a/c/d")
        );
        assert_eq!(normalize(Path::new("/..")), PathBuf::from("/"));
    }
}
