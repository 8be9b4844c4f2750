//! `memory_limit` (extension): a program whose process tree's resident memory goes above the
//! limit is stopped the usual way and started again, with the reason in the log; a program
//! under its limit is left alone; a bad size is a config error naming the option.

use std::process::Command;

use crate::support::daemon::*;
use crate::support::supervisord::SUPERVISORD;
use crate::support::temp::TempDir;
use crate::support::wait::wait_for;

const SUPERVISORCTL: &str = env!("CARGO_BIN_EXE_supervisorctl");

fn ctl(sup: &Sup, args: &[&str]) -> String {
    let out = Command::new(SUPERVISORCTL)
        .arg("-c")
        .arg(sup.dir.join("sd.conf"))
        .args(args)
        .output()
        .expect("run supervisorctl");
    String::from_utf8_lossy(&out.stdout).into_owned()
}

const SERVERS: &str = "[unix_http_server]\nfile={dir}/sd.sock\n\n\
    [rpcinterface:supervisor]\n\
    supervisor.rpcinterface_factory = supervisor.rpcinterface:make_main_rpcinterface\n\n\
    [supervisorctl]\nserverurl=unix://{dir}/sd.sock\n\n";

#[test]
fn a_tree_above_its_limit_is_restarted_and_one_below_is_not() {
    let dir = TempDir::new("memlimit");
    // The memory sits in a child of the shell: the limit counts the whole tree.
    std::fs::write(
        dir.join("hog.sh"),
        "python3 -c 'import time; x = b\"x\" * (48 << 20); time.sleep(1000)' &\nwait\n",
    )
    .unwrap();
    let conf = format!(
        "{SERVERS}[program:hog]\ncommand=sh {{dir}}/hog.sh\nmemory_limit=24MB\n\
         memory_check_interval=1\nstartsecs=0\nstopasgroup=true\nstopwaitsecs=2\n\n\
         [program:small]\ncommand=sleep 1000\nmemory_limit=512MB\nmemory_check_interval=1\n\
         startsecs=0\n"
    );
    let sup = Sup::launch(dir, &conf, &[]);
    let restarted = "above its memory_limit of 24.0 MiB: restarting it";
    assert!(sup.wait_log(restarted, 20.0), "{}", sup.log());
    assert!(
        wait_for(10.0, || sup.count("spawned: 'hog'") >= 2),
        "{}",
        sup.log()
    );
    let log = sup.log();
    let line = log.lines().find(|l| l.contains(restarted)).unwrap();
    assert!(
        line.contains("WARN hog uses ") && line.contains("MiB of resident memory (pid "),
        "{line}"
    );
    assert!(
        log.contains("stopped: hog (terminated by SIGTERM)"),
        "{log}"
    );
    assert!(!log.contains("small uses"), "{log}");
    assert_eq!(sup.count("spawned: 'small'"), 1);
    assert!(ctl(&sup, &["status", "small"]).contains("RUNNING"));
}

#[test]
fn a_bad_memory_limit_names_the_option() {
    let dir = TempDir::new("memlimit-bad");
    let conf = dir.join("sd.conf");
    std::fs::write(
        &conf,
        "[supervisord]\nlogfile=/dev/null\n\n[program:x]\ncommand=sleep 1\nmemory_limit=lots\n",
    )
    .unwrap();
    let out = Command::new(SUPERVISORD)
        .arg("--check-config")
        .arg("-c")
        .arg(&conf)
        .output()
        .unwrap();
    let text =
        String::from_utf8_lossy(&out.stderr).into_owned() + &String::from_utf8_lossy(&out.stdout);
    assert!(!out.status.success(), "{text}");
    assert!(
        text.contains("memory_limit") && text.contains("sd.conf"),
        "{text}"
    );
    std::fs::write(
        &conf,
        "[supervisord]\nlogfile=/dev/null\n\n[program:x]\ncommand=sleep 1\nmemory_check_interval=0\n",
    )
    .unwrap();
    let out = Command::new(SUPERVISORD)
        .args(["--check-config", "-c"])
        .arg(&conf)
        .output()
        .unwrap();
    let text = String::from_utf8_lossy(&out.stderr);
    assert!(
        !out.status.success() && text.contains("memory_check_interval"),
        "{text}"
    );
}
