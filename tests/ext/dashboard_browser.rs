//! The live dashboard in a real browser: headless Chromium (Debian's `chromium`, installed by
//! `scripts/browser-setup.sh`) driven over the DevTools protocol by
//! `tests/browser/dashboard_check.py`. It checks that every process is shown with its state,
//! that a stop from supervisorctl shows within 1 s without a reload, that a button stops a
//! program and that the log viewer follows new lines. Skipped with a note when Chromium is
//! missing, except under CI=true. `DASHBOARD_SCREENSHOT=path` also saves a screenshot.

use std::path::Path;
use std::process::Command;

use crate::support::daemon::*;
use crate::support::wait::wait_for;

const SUPERVISORCTL: &str = env!("CARGO_BIN_EXE_supervisorctl");

fn chromium() -> Option<String> {
    let name = std::env::var("CHROMIUM").unwrap_or_else(|_| "chromium".into());
    let found = Command::new("sh")
        .args(["-c", &format!("command -v {name}")])
        .output()
        .is_ok_and(|o| o.status.success());
    if found {
        return Some(name);
    }
    assert!(
        std::env::var("CI").as_deref() != Ok("true"),
        "chromium is missing (scripts/browser-setup.sh installs it)"
    );
    eprintln!("note: chromium not installed; dashboard browser test skipped");
    None
}

fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .map(|a| a.port())
        .expect("a free port")
}

#[test]
fn dashboard_in_headless_chromium() {
    let Some(chromium) = chromium() else { return };
    let port = free_port();
    let conf = format!(
        "[unix_http_server]\nfile={{dir}}/sd.sock\n\n\
         [inet_http_server]\nport=127.0.0.1:{port}\n\n\
         [rpcinterface:supervisor]\n\
         supervisor.rpcinterface_factory = supervisor.rpcinterface:make_main_rpcinterface\n\n\
         [supervisorctl]\nserverurl=unix://{{dir}}/sd.sock\n\n\
         [program:feed]\ncommand=tail -n 0 -F {{dir}}/feed\nstdout_logfile={{dir}}/feed.log\n\n\
         [program:victim]\ncommand=sleep 1000\nstartsecs=0\n\n\
         [program:clicked]\ncommand=sleep 1000\nstartsecs=0\n\n\
         [program:worker]\ncommand=sh -c 'while :; do i=0; while [ $i -lt 20000 ]; do i=$((i+1)); done; sleep 0.2; done'\n\
         startsecs=0\n\n\
         [group:web]\nprograms=app,cache\n\n\
         [program:app]\ncommand=sh -c 'sleep 1000 & sleep 1000'\nstartsecs=0\n\n\
         [program:cache]\ncommand=sleep 1000\nautostart=false\n"
    );
    let sup = Sup::start("dash", &conf);
    let conf_path = sup.dir.join("sd.conf");
    let ready = || {
        let out = Command::new(SUPERVISORCTL)
            .arg("-c")
            .arg(&conf_path)
            .arg("status")
            .output()
            .expect("run supervisorctl");
        String::from_utf8_lossy(&out.stdout)
            .matches("RUNNING")
            .count()
            == 5
    };
    assert!(wait_for(15.0, ready), "{}", sup.log());
    let script = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/browser/dashboard_check.py");
    let mut cmd = Command::new("python3");
    cmd.arg(script)
        .arg(format!("http://127.0.0.1:{port}/"))
        .arg(sup.dir.join("feed"));
    if let Ok(shot) = std::env::var("DASHBOARD_SCREENSHOT") {
        cmd.arg(shot);
    }
    cmd.arg("--")
        .arg(SUPERVISORCTL)
        .arg("-c")
        .arg(&conf_path)
        .env("CHROMIUM", chromium);
    let out = cmd.output().expect("run python3");
    let text = format!(
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    eprintln!("{text}");
    assert!(out.status.success(), "{text}\n{}", sup.log());
    assert!(text.matches("ok: ").count() >= 4, "{text}");
}
