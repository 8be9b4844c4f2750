//! Every directory in `tests/configs/good/` holds a `supervisord.conf` that must pass
//! `supervisord --check-config` with exit status 0 and print exactly `expected.txt`.

use std::path::{Path, PathBuf};
use std::process::Command;

fn good_dirs() -> Vec<PathBuf> {
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/configs/good");
    let mut dirs: Vec<PathBuf> = std::fs::read_dir(root)
        .expect("good dir")
        .flatten()
        .map(|e| e.path())
        .filter(|p| p.is_dir())
        .collect();
    dirs.sort();
    dirs
}

fn check(dir: &Path) -> Result<(), String> {
    let conf = dir.join("supervisord.conf");
    let expected = std::fs::read_to_string(dir.join("expected.txt"))
        .map_err(|e| format!("{}: {e}", dir.display()))?;
    let out = Command::new(env!("CARGO_BIN_EXE_supervisord"))
        .args(["--check-config", "-c"])
        .arg(&conf)
        .env("APP_ENV", "production")
        .output()
        .map_err(|e| format!("cannot run supervisord: {e}"))?;
    let stdout = String::from_utf8_lossy(&out.stdout);
    let stderr = String::from_utf8_lossy(&out.stderr);
    if out.status.code() != Some(0) {
        return Err(format!(
            "{}: exit {:?}\n{stderr}",
            conf.display(),
            out.status.code()
        ));
    }
    if stdout != expected {
        return Err(format!(
            "{}: output differs\n--- got ---\n{stdout}--- expected ---\n{expected}",
            conf.display()
        ));
    }
    if let Ok(notes) = std::fs::read_to_string(dir.join("expected-notes.txt")) {
        for line in notes.lines().filter(|l| !l.is_empty()) {
            let line = line.replace("@DIR@", &dir.display().to_string());
            if !stderr.lines().any(|l| l == line) {
                return Err(format!(
                    "{}: missing note `{line}`\n--- stderr ---\n{stderr}",
                    conf.display()
                ));
            }
        }
    }
    Ok(())
}

#[test]
fn every_good_config_passes_check_config() {
    let dirs = good_dirs();
    let failures: Vec<String> = dirs.iter().filter_map(|d| check(d).err()).collect();
    assert!(failures.is_empty(), "{}", failures.join("\n\n"));
    assert!(dirs.len() >= 2, "only {} good configs", dirs.len());
}

#[test]
fn check_config_output_is_in_start_order() {
    let conf =
        Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/configs/good/nginx_php/supervisord.conf");
    let out = Command::new(env!("CARGO_BIN_EXE_supervisord"))
        .args(["--check-config", "-c"])
        .arg(&conf)
        .env("APP_ENV", "production")
        .output()
        .expect("run supervisord");
    let stdout = String::from_utf8_lossy(&out.stdout);
    let first: Vec<&str> = stdout
        .lines()
        .map(|l| l.split(' ').next().unwrap_or(""))
        .collect();
    assert_eq!(
        first,
        [
            "php-fpm",
            "nginx",
            "cron",
            "queue:queue_00",
            "queue:queue_01"
        ]
    );
}
