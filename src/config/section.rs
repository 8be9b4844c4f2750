//! Reading options of one section: lookup, `%(name)s` expansion, conversion, and errors that
//! point at the key's file and line (or the section header when the key is missing).

use super::datatypes::Conv;
use super::expand::{expand, Names};
use super::ini::{Entry, Ini, Section};
use super::ConfigError;

#[derive(Clone, Copy)]
pub struct View<'a> {
    pub ini: &'a Ini,
    pub sec: &'a Section,
}

impl<'a> View<'a> {
    pub fn new(ini: &'a Ini, sec: &'a Section) -> Self {
        View { ini, sec }
    }

    pub fn name(&self) -> &'a str {
        &self.sec.name
    }

    pub fn entry(&self, key: &str) -> Option<&'a Entry> {
        self.ini.get(self.sec, key)
    }

    /// An error about `key`: at its line when set, else at the section header.
    pub fn err(&self, key: &str, message: impl Into<String>) -> ConfigError {
        let (file, line) = match self.entry(key) {
            Some(e) => (e.file.to_path_buf(), e.line),
            None => (self.sec.file.to_path_buf(), self.sec.line),
        };
        ConfigError {
            file: Some(file),
            line: Some(line),
            section: Some(self.sec.name.clone()),
            option: Some(key.to_string()),
            message: message.into(),
        }
    }

    /// An error about the section as a whole, at its header.
    pub fn header_err(&self, message: impl Into<String>) -> ConfigError {
        ConfigError {
            file: Some(self.sec.file.to_path_buf()),
            line: Some(self.sec.line),
            section: Some(self.sec.name.clone()),
            option: None,
            message: message.into(),
        }
    }

    /// The value as written (no expansion).
    pub fn raw(&self, key: &str) -> Option<&'a str> {
        self.entry(key).map(|e| e.value.as_str())
    }

    /// Expands `text` as the value of `key` (Supervisor labels it `section.key`).
    pub fn expand_as(&self, key: &str, text: &str, names: &Names) -> Result<String, ConfigError> {
        self.expand_labeled(key, &format!("{}.{}", self.sec.name, key), text, names)
    }

    /// Expands `text` for `key`, naming it `label` in messages (Supervisor uses the bare key
    /// for values it expands itself, such as `environment` and `process_name`).
    pub fn expand_labeled(
        &self,
        key: &str,
        label: &str,
        text: &str,
        names: &Names,
    ) -> Result<String, ConfigError> {
        expand(text, names, label).map_err(|m| self.err(key, m))
    }

    /// The expanded value, or `None` when the key is absent.
    pub fn get(&self, key: &str, names: &Names) -> Result<Option<String>, ConfigError> {
        match self.raw(key) {
            Some(v) => self.expand_as(key, v, names).map(Some),
            None => Ok(None),
        }
    }

    /// The expanded value or `default` (defaults are expanded too, as Supervisor does).
    pub fn get_or(&self, key: &str, default: &str, names: &Names) -> Result<String, ConfigError> {
        let v = self.raw(key).unwrap_or(default);
        self.expand_as(key, v, names)
    }

    /// Expanded and converted value, `default` when absent.
    pub fn conv<T>(
        &self,
        key: &str,
        default: &str,
        names: &Names,
        f: impl Fn(&str) -> Conv<T>,
    ) -> Result<T, ConfigError> {
        let v = self.get_or(key, default, names)?;
        f(&v).map_err(|m| self.err(key, m))
    }

    /// Expanded and converted value when present.
    pub fn conv_opt<T>(
        &self,
        key: &str,
        names: &Names,
        f: impl Fn(&str) -> Conv<T>,
    ) -> Result<Option<T>, ConfigError> {
        match self.get(key, names)? {
            Some(v) => f(&v).map(Some).map_err(|m| self.err(key, m)),
            None => Ok(None),
        }
    }
}
