//! `environment_file`: every rule of the syntax reaches the program's environment, the
//! program's own `environment=` wins, optional files may be missing, and a changed env file
//! makes the program "changed" for `reread`/`update`. (Every error is in the bad-config
//! corpus: tests/configs/bad/envfile_*.conf.)

use super::service_util::*;
use crate::support::temp::TempDir;
use crate::support::wait::wait_for;

const ENV_A: &str = "\
# a comment, then a blank line

PLAIN=value with spaces   
export EXPORTED=yes
SINGLE='keeps \\ and \"quotes\" and $HOME'
DOUBLE=\"tab\\there \\\"quoted\\\" back\\\\slash\"  # trailing comment
EMPTY=
HASH=a#b
PERCENT=%(here)s and $PATH
OVERRIDDEN=from file
LATER=from a\r
";

const ENV_B: &str = "LATER=from b\n";

fn env_of(dump: &str, key: &str) -> Option<String> {
    dump.lines()
        .find_map(|l| l.strip_prefix(&format!("{key}=")).map(str::to_string))
}

#[test]
fn env_files_reach_the_program_and_reread_sees_changes() {
    let dir = TempDir::new("svc-envfile");
    std::fs::write(dir.join("a.env"), ENV_A).unwrap();
    std::fs::write(dir.join("b.env"), ENV_B).unwrap();
    let conf = format!(
        "[program:app]\ncommand={{prog}} env={d}/env.out sleep=100\nstartsecs=0\n\
         environment_file=a.env, -{d}/missing.env, b.env\nenvironment=OVERRIDDEN=\"from program\"\n",
        d = dir.0.display()
    );
    let sup = launch(dir, &conf);
    assert!(
        wait_for(10.0, || sup.file("env.out").contains("LATER=")),
        "{}",
        sup.log()
    );
    let dump = sup.file("env.out");
    let want = [
        ("PLAIN", "value with spaces"),
        ("EXPORTED", "yes"),
        ("SINGLE", "keeps \\ and \"quotes\" and $HOME"),
        ("DOUBLE", "tab\\there \"quoted\" back\\slash"),
        ("EMPTY", ""),
        ("HASH", "a#b"),
        ("PERCENT", "%(here)s and $PATH"),
        ("OVERRIDDEN", "from program"),
        ("LATER", "from b"),
    ];
    for (k, v) in want {
        assert_eq!(env_of(&dump, k).as_deref(), Some(v), "{k} in\n{dump}");
    }
    // Same files: nothing changed. A changed file: the program is changed.
    let (_, out) = ctl(&sup, &["reread"]);
    assert_eq!(out.trim(), "No config updates to processes", "{out}");
    std::fs::write(sup.dir.join("b.env"), "LATER=changed\n").unwrap();
    let (_, out) = ctl(&sup, &["reread"]);
    assert_eq!(out.trim(), "app: changed", "{out}");
    std::fs::remove_file(sup.dir.join("env.out")).unwrap();
    let (_, out) = ctl(&sup, &["update"]);
    assert!(out.contains("app: updated process group"), "{out}");
    assert!(
        wait_for(10.0, || sup.file("env.out").contains("LATER=changed")),
        "{}",
        sup.log()
    );
}
