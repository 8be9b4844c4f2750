//! Every file in `tests/configs/bad/*.conf` must make `supervisord --check-config -c FILE` exit
//! with status 2 and an error naming the right file, line and option.
//!
//! Each bad config states what is expected in leading comment lines:
//! `; expect-file: sub/inc.conf` (relative to `bad/`; default: the file itself),
//! `; expect-line: N`, `; expect-option: NAME` (optional), `; expect-message: TEXT`
//! (a substring of the message; repeatable).

use std::path::{Path, PathBuf};
use std::process::Command;

struct Expect {
    file: PathBuf,
    line: Option<usize>,
    option: Option<String>,
    messages: Vec<String>,
}

fn bad_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/configs/bad")
}

fn expectations(path: &Path) -> Expect {
    let text = std::fs::read_to_string(path).expect("read bad config");
    let mut e = Expect {
        file: path.to_path_buf(),
        line: None,
        option: None,
        messages: Vec::new(),
    };
    for line in text.lines() {
        let Some(rest) = line.strip_prefix("; expect-") else {
            continue;
        };
        let Some((key, value)) = rest.split_once(':') else {
            continue;
        };
        let value = value.trim().to_string();
        match key {
            "file" => e.file = bad_dir().join(value),
            "line" => e.line = value.parse().ok(),
            "option" => e.option = Some(value),
            "message" => e.messages.push(value),
            other => panic!("{}: unknown expectation {other}", path.display()),
        }
    }
    e
}

fn check(path: &Path) -> Result<(), String> {
    let e = expectations(path);
    let out = Command::new(env!("CARGO_BIN_EXE_supervisord"))
        .arg("--check-config")
        .arg("-c")
        .arg(path)
        .output()
        .map_err(|err| format!("cannot run supervisord: {err}"))?;
    let stderr = String::from_utf8_lossy(&out.stderr);
    let fail = |why: &str| {
        Err(format!(
            "{}: {why}\n--- stderr ---\n{stderr}",
            path.display()
        ))
    };
    if out.status.code() != Some(2) {
        return fail(&format!("exit status {:?}, expected 2", out.status.code()));
    }
    let Some(first) = stderr.lines().find(|l| l.starts_with("Error: ")) else {
        return fail("no `Error: ` line");
    };
    let location = match e.line {
        Some(n) => format!("Error: {}:{n}: ", e.file.display()),
        None => format!("Error: {}", e.file.display()),
    };
    if !first.starts_with(&location) {
        return fail(&format!("error does not start with `{location}`"));
    }
    if let Some(opt) = &e.option {
        if !first.contains(&format!("] {opt}: ")) {
            return fail(&format!("error does not name option `{opt}`"));
        }
    }
    for m in &e.messages {
        if !stderr.contains(m.as_str()) {
            return fail(&format!("message does not contain `{m}`"));
        }
    }
    if !stderr.contains("For help, use ") {
        return fail("missing `For help, use` line");
    }
    Ok(())
}

#[test]
fn every_bad_config_is_rejected_with_its_location() {
    let mut files: Vec<PathBuf> = std::fs::read_dir(bad_dir())
        .expect("bad dir")
        .flatten()
        .map(|e| e.path())
        .filter(|p| p.extension().is_some_and(|x| x == "conf"))
        .collect();
    files.sort();
    let failures: Vec<String> = files.iter().filter_map(|f| check(f).err()).collect();
    assert!(
        failures.is_empty(),
        "{} of {} bad configs misreported:\n{}",
        failures.len(),
        files.len(),
        failures.join("\n\n")
    );
    assert!(files.len() >= 40, "only {} bad configs", files.len());
}
