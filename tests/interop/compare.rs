//! Comparing supervisorctl runs with Python's: its supervisorctl, and output normalisation.

use std::path::Path;
use std::process::Output;

use crate::support::mock_engine::run_ctl;

/// Runs the Python supervisorctl of `venv` against `url`.
pub fn py_ctl(venv: &Path, url: &str, args: &[&str], stdin: Option<&str>) -> Output {
    run_ctl(&venv.join("bin/supervisorctl"), url, args, stdin)
}

/// Makes outputs of two runs comparable: uptimes, and the site-packages part of Python's
/// error lines.
pub fn normalize(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for line in text.split_inclusive('\n') {
        let mut line = line.to_string();
        if let Some(i) = line.find("uptime ") {
            let end = line[i + 7..]
                .find(|c: char| !(c.is_ascii_digit() || c == ':'))
                .map(|e| i + 7 + e)
                .unwrap_or(line.len());
            line.replace_range(i + 7..end, "H:MM:SS");
        }
        // Python prints absolute paths of its modules; keep them from the package on.
        if let Some(i) = line.find(": file: ") {
            let path_start = i + 8;
            let rest = &line[path_start..];
            let cut = rest
                .find("site-packages/")
                .map(|j| j + "site-packages/".len())
                .or_else(|| {
                    rest.find("/lib/python3")
                        .and_then(|j| rest[j + 5..].find('/').map(|k| j + 5 + k + 1))
                });
            if let Some(c) = cut {
                line.replace_range(path_start..path_start + c, "");
            }
        }
        out.push_str(&line);
    }
    out
}
