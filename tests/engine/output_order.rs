//! A process's main-log lines follow cause and effect, as in Supervisor: `spawned:`, then the
//! output it wrote (non-UTF-8 output as `Undecodable: b'...'`), then `received SIGCHLD
//! indicating a child quit`, then `exited:`.

use crate::support::daemon::*;
use crate::support::wait::wait_for;

#[test]
fn spawn_output_sigchld_and_exit_are_logged_in_order() {
    let sup = Sup::start(
        "order",
        "[program:p]\ncommand=printf '\\x88\\n'\nprocess_name=%(program_name)s_%(process_num)d\n\
         numprocs=4\nstartsecs=1\nstartretries=2\nautorestart=false\n",
    );
    let gave_up = |log: &str| log.matches("gave up: p_").count() == 4;
    assert!(wait_for(30.0, || gave_up(&sup.log())), "{}", sup.log());
    let log = sup.log();
    let lines: Vec<&str> = log.lines().collect();
    // The SIGCHLD line names no process: each exit claims the earliest unclaimed one logged
    // after that process's output (exits taken in log order, so this matching is exact).
    let mut sigchld: Vec<usize> = Vec::new();
    let mut output_at: [Option<usize>; 4] = [None; 4];
    let mut spawned = [false; 4];
    let mut cycles = 0;
    for (i, line) in lines.iter().enumerate() {
        if line.contains("received SIGCHLD indicating a child quit") {
            sigchld.push(i);
        }
        for n in 0..4 {
            let name = format!("p_{n}");
            if line.contains(&format!("spawned: '{name}' with pid")) {
                assert!(!spawned[n], "line {i}: spawned twice:\n{log}");
                spawned[n] = true;
            } else if line.ends_with(&format!("'{name}' stdout output:")) {
                assert!(spawned[n] && output_at[n].is_none(), "line {i}:\n{log}");
                assert_eq!(lines.get(i + 1), Some(&"Undecodable: b'\\x88\\n'"), "{log}");
                output_at[n] = Some(i);
            } else if line.contains(&format!("exited: {name} (")) {
                let out = output_at[n].unwrap_or_else(|| panic!("line {i}: no output:\n{log}"));
                let claim = sigchld.iter().position(|&s| s > out);
                let claim = claim.unwrap_or_else(|| panic!("line {i}: no SIGCHLD line:\n{log}"));
                sigchld.remove(claim);
                (spawned[n], output_at[n]) = (false, None);
                cycles += 1;
            }
        }
    }
    // 4 processes, each spawned 3 times (startretries=2).
    assert_eq!(cycles, 12, "{log}");
}
