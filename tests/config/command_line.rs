//! The supervisord command line as a user meets it: help, version, usage errors and
//! `--check-config` with command-line overrides, run through the real binary.

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

use crate::support::temp::TempDir;

const BIN: &str = env!("CARGO_BIN_EXE_supervisord");

fn run(args: &[&str], cwd: &Path) -> Output {
    Command::new(BIN)
        .args(args)
        .current_dir(cwd)
        .output()
        .expect("run supervisord")
}

fn text(b: &[u8]) -> String {
    String::from_utf8_lossy(b).into_owned()
}

fn good_conf() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/configs/good/nginx_php/supervisord.conf")
}

#[test]
fn help_goes_to_stdout_with_status_0() {
    let out = run(&["-h"], Path::new("/"));
    assert_eq!(out.status.code(), Some(0));
    let stdout = text(&out.stdout);
    assert!(
        stdout.starts_with("supervisord -- run a set of applications as daemons."),
        "{stdout}"
    );
    assert!(
        stdout.contains(&format!("Usage: {BIN} [options]")),
        "{stdout}"
    );
    assert!(out.stderr.is_empty());
}

#[test]
fn version_prints_supervisor_version() {
    let out = run(&["--version"], Path::new("/"));
    assert_eq!(out.status.code(), Some(0));
    assert_eq!(text(&out.stdout), "4.3.0\n");
}

#[test]
fn usage_errors_print_two_lines_and_exit_2() {
    let cases: &[(&[&str], &str)] = &[
        (&["--bogus"], "Error: option --bogus not recognized"),
        (
            &["--remap-exit", "3"],
            "Error: the options --wait-services, --main-stopwait, --forward-to-group, --rewrite \
             and --remap-exit need a command: supervisord [options] -- COMMAND [ARG...]",
        ),
        (&["-n", "-n"], "Error: conflicting command line option '-n'"),
        (&["-c"], "Error: option -c requires argument"),
        (
            &["-y", "5M"],
            "Error: invalid value for -y '5M': invalid literal for int() with base 10: '5m'",
        ),
    ];
    for (args, first) in cases {
        let out = run(args, Path::new("/"));
        assert_eq!(out.status.code(), Some(2), "{args:?}");
        assert_eq!(
            text(&out.stderr),
            format!("{first}\nFor help, use {BIN} -h\n"),
            "{args:?}"
        );
    }
}

#[test]
fn missing_and_directory_config_files() {
    let out = run(
        &["--check-config", "-c", "/nonexistent/supervisord.conf"],
        Path::new("/"),
    );
    assert_eq!(out.status.code(), Some(2));
    assert!(text(&out.stderr).contains("could not find config file /nonexistent/supervisord.conf"));
    let out = run(&["--check-config", "-c", "/tmp"], Path::new("/"));
    assert_eq!(out.status.code(), Some(2));
    assert!(text(&out.stderr).contains("could not read config file /tmp"));
}

#[test]
fn no_config_found_lists_the_search_paths() {
    if ["/etc/supervisord.conf", "/etc/supervisor/supervisord.conf"]
        .iter()
        .any(|p| Path::new(p).exists())
    {
        return; // The machine has a system-wide config; the search would find it.
    }
    let dir = TempDir::new("search");
    let out = run(&["--check-config"], &dir.0);
    assert_eq!(out.status.code(), Some(2));
    let stderr = text(&out.stderr);
    assert!(
        stderr.contains("Error: No config file found at default paths ("),
        "{stderr}"
    );
    assert!(stderr.contains("supervisord.conf, etc/supervisord.conf, /etc/supervisord.conf, /etc/supervisor/supervisord.conf); use the -c option to specify a config file at a different path"), "{stderr}");
}

#[test]
fn search_finds_config_in_working_directory() {
    let dir = TempDir::new("cwd");
    std::fs::write(
        dir.0.join("supervisord.conf"),
        "[supervisord]\n[program:here]\ncommand=/bin/true\n",
    )
    .expect("write");
    let out = run(&["--check-config"], &dir.0);
    assert_eq!(out.status.code(), Some(0), "{}", text(&out.stderr));
    assert_eq!(
        text(&out.stdout),
        "here priority=999 autostart=true command=/bin/true\n"
    );
}

#[test]
fn check_config_applies_command_line_values() {
    let conf = good_conf();
    let conf = conf.to_str().expect("utf-8 path");
    let out = Command::new(BIN)
        .args(["--check-config", "-c", conf, "-u", "nosuchuser"])
        .env("APP_ENV", "production")
        .output()
        .expect("run");
    assert_eq!(out.status.code(), Some(2));
    assert_eq!(
        text(&out.stderr),
        format!("Error: Invalid user name nosuchuser\nFor help, use {BIN} -h\n")
    );
    let out = Command::new(BIN)
        .args([
            "--check-config",
            "--configuration",
            conf,
            "-n",
            "-e",
            "debug",
            "-u",
            "root",
        ])
        .env("APP_ENV", "production")
        .output()
        .expect("run");
    assert_eq!(out.status.code(), Some(0), "{}", text(&out.stderr));
    assert_eq!(text(&out.stdout).lines().count(), 5);
}

#[test]
fn check_config_reports_unknown_keys_as_warnings() {
    let dir = TempDir::new("typo");
    let conf = dir.0.join("supervisord.conf");
    std::fs::write(
        &conf,
        "[supervisord]\n[program:web]\ncommand=/bin/true\nautorestrat=true\n",
    )
    .expect("write");
    let out = run(
        &["--check-config", "-c", conf.to_str().expect("utf-8")],
        &dir.0,
    );
    assert_eq!(out.status.code(), Some(0));
    assert_eq!(
        text(&out.stderr),
        format!(
            "WARN {}:4: [program:web] unknown option 'autorestrat' ignored\n",
            conf.display()
        )
    );
}

#[test]
fn command_line_user_replaces_an_invalid_file_user() {
    let dir = TempDir::new("useropt");
    let conf = dir.0.join("supervisord.conf");
    std::fs::write(
        &conf,
        "[supervisord]\nuser=nosuchuser\n[program:p]\ncommand=/bin/true\n",
    )
    .expect("write");
    let conf = conf.to_str().expect("utf-8");
    let out = run(&["--check-config", "-c", conf], &dir.0);
    assert_eq!(out.status.code(), Some(2));
    assert!(text(&out.stderr).contains("[supervisord] user: Invalid user name nosuchuser"));
    let out = run(&["--check-config", "-c", conf, "-u", "root"], &dir.0);
    assert_eq!(out.status.code(), Some(0), "{}", text(&out.stderr));
}
