//! Restart policy: the crash-loop floor (about one spawn a second by default), immediate
//! restarts after long runs, `restart_delay` doubling up to `restart_delay_max`, and
//! `retry_forever`.

use std::time::{Duration, Instant};

use super::service_util::*;
use crate::support::daemon::*;
use crate::support::wait::wait_for;

#[test]
fn crash_loop_is_held_to_about_one_spawn_a_second() {
    let conf = "[program:crash]\ncommand=/bin/false\nstartsecs=0\nautorestart=true\n\
                stdout_logfile=NONE\nstderr_logfile=NONE\n";
    let sup = Sup::start("svc-floor", conf);
    assert!(sup.wait_log("spawned: 'crash'", 10.0), "{}", sup.log());
    let spawns0 = sup.count("spawned: 'crash'");
    let cpu0 = cpu_ticks(sup.pid);
    let t0 = Instant::now();
    std::thread::sleep(Duration::from_secs(6));
    let spawns = sup.count("spawned: 'crash'") - spawns0;
    let cpu = (cpu_ticks(sup.pid) - cpu0) as f64 / clock_ticks();
    let share = cpu / t0.elapsed().as_secs_f64();
    assert!(spawns <= 12, "{spawns} spawns in 6 s");
    assert!(spawns >= 4, "{spawns} spawns in 6 s: the loop stopped");
    assert!(
        share < 0.05,
        "supervisord used {:.1}% of a CPU",
        share * 100.0
    );
    // Each respawn waits until about 1 s after the previous spawn.
    let times = sup.times_of("spawned: 'crash'");
    for g in gaps(&times[times.len().saturating_sub(5)..]) {
        assert!(g >= 0.95, "respawn after {g:.3} s: {}", sup.log());
    }
}

#[test]
fn a_run_over_a_second_restarts_at_once() {
    let conf = "[program:slow]\ncommand=/bin/sh -c 'sleep 1.2; exit 1'\nstartsecs=0\n\
                autorestart=true\n";
    let sup = Sup::start("svc-long-run", conf);
    assert!(
        wait_for(15.0, || sup.count("spawned: 'slow'") >= 3),
        "{}",
        sup.log()
    );
    let exits = sup.times_of("exited: slow");
    let spawns = sup.times_of("spawned: 'slow'");
    for (e, s) in exits.iter().zip(&spawns[1..]) {
        assert!(
            s - e < 0.3,
            "respawn {:.3} s after exit: {}",
            s - e,
            sup.log()
        );
    }
}

#[test]
fn restart_delay_doubles_up_to_the_cap() {
    let conf = format!(
        "{}[program:crash]\ncommand=/bin/false\nstartsecs=0\nautorestart=true\n\
         restart_delay=1\nrestart_delay_max=4\n",
        ctl_sections()
    );
    let sup = Sup::start("svc-delay", &conf);
    assert!(
        wait_for(30.0, || sup.count("spawned: 'crash'") >= 5),
        "{}",
        sup.log()
    );
    // During a delay: EXITED, with the next try in the description and in the JSON (the
    // fifth spawn's /bin/false may not have exited yet when its log line shows).
    let mut text = String::new();
    assert!(
        wait_for(5.0, || {
            text = ctl(&sup, &["status", "crash"]).1;
            text.contains("EXITED")
        }),
        "{text}"
    );
    let (_, json) = ctl(&sup, &["status", "--json", "crash"]);
    let times = sup.times_of("spawned: 'crash'");
    let g = gaps(&times[..5]);
    let want = [1.0, 2.0, 4.0, 4.0];
    for (got, want) in g.iter().zip(want) {
        assert!(
            *got >= want - 0.05 && *got <= want + 0.75,
            "gaps {g:?}, want {want:?}: {}",
            sup.log()
        );
    }
    assert!(text.contains("EXITED"), "{text}");
    assert!(text.contains("next try in"), "{text}");
    assert!(json.contains("\"next_start\": "), "{json}");
}

#[test]
fn retry_forever_never_gives_up() {
    let conf = "[program:flaky]\ncommand=/bin/false\nstartsecs=1\nstartretries=1\n\
                retry_forever=true\n";
    let sup = Sup::start("svc-forever", conf);
    assert!(
        wait_for(20.0, || sup.count("spawned: 'flaky'") >= 4),
        "{}",
        sup.log()
    );
    assert!(!sup.log().contains("gave up"), "{}", sup.log());
    // The BACKOFF wait holds at startretries seconds (1 s) instead of growing.
    let times = sup.times_of("spawned: 'flaky'");
    for g in gaps(&times) {
        assert!(g < 2.0, "gap {g:.3} s: {}", sup.log());
    }
}
