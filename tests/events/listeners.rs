//! Event listeners driven by the real supervisord: state sequences, rejection, protocol
//! violations and ticks.

use crate::support::listener::*;
use crate::support::wait::wait_for;

/// Payloads of recorded events about process `name`, as `EVENTNAME payload`.
fn about(records: &[String], name: &str) -> Vec<String> {
    let needle = format!("processname:{name} ");
    records
        .iter()
        .filter_map(|r| {
            let (head, payload) = r.split_once('|')?;
            let event = head.split(' ').next()?;
            payload
                .starts_with(&needle)
                .then(|| format!("{event} {payload}"))
        })
        .collect()
}

#[test]
fn crash_loop_state_sequence_reaches_listener() {
    let dir = TestDir::new("crash");
    let sections = format!(
        "{}\n[program:crash]\ncommand=/bin/sh -c 'exit 1'\nstartsecs=1\nstartretries=2\n\
         autorestart=false\n",
        recording_listener(&dir, "lis", "PROCESS_STATE", "", "buffer_size=50")
    );
    let _daemon = Daemon::start(&dir.config(&sections));
    let fatal = "PROCESS_STATE_FATAL processname:crash groupname:crash from_state:BACKOFF";
    let done = wait_for(30.0, || {
        about(&dir.records("lis.rec"), "crash")
            .iter()
            .any(|e| e == fatal)
    });
    let seen = about(&dir.records("lis.rec"), "crash");
    assert!(
        done,
        "no FATAL event; got {seen:#?}\nlog:\n{}",
        dir.main_log()
    );
    let expected = [
        "PROCESS_STATE_STARTING processname:crash groupname:crash from_state:STOPPED tries:0",
        "PROCESS_STATE_BACKOFF processname:crash groupname:crash from_state:STARTING tries:1",
        "PROCESS_STATE_STARTING processname:crash groupname:crash from_state:BACKOFF tries:1",
        "PROCESS_STATE_BACKOFF processname:crash groupname:crash from_state:STARTING tries:2",
        "PROCESS_STATE_STARTING processname:crash groupname:crash from_state:BACKOFF tries:2",
        "PROCESS_STATE_BACKOFF processname:crash groupname:crash from_state:STARTING tries:3",
        fatal,
    ];
    assert_eq!(seen, expected);
    // Serials increase by event and pool serials agree with them in a single pool.
    let serials: Vec<u64> = dir
        .records("lis.rec")
        .iter()
        .filter_map(|r| r.split(" serial:").nth(1)?.split(' ').next()?.parse().ok())
        .collect();
    assert!(
        serials.windows(2).all(|w| w[1] == w[0] + 1),
        "serials {serials:?}"
    );
}

#[test]
fn rejected_event_is_redelivered_to_its_own_pool_only() {
    let dir = TestDir::new("reject");
    // Two pools of the same priority; Supervisor would duplicate the rejected event into both.
    let sections = format!(
        "{}\n{}",
        recording_listener(
            &dir,
            "rej",
            "REMOTE_COMMUNICATION",
            ",REJECT_ONCE=\"1\"",
            "priority=5"
        ),
        recording_listener(&dir, "acc", "REMOTE_COMMUNICATION", "", "priority=5"),
    );
    let _daemon = Daemon::start(&dir.config(&sections));
    let sock = dir.socket();
    let up = wait_for(20.0, || {
        xmlrpc(&sock, "supervisor.sendRemoteCommEvent", &["first", "one"])
            .map(|r| r.contains("<boolean>1</boolean>"))
            .unwrap_or(false)
    });
    assert!(up, "sendRemoteCommEvent failed; log:\n{}", dir.main_log());
    let twice = wait_for(20.0, || {
        dir.records("rej.rec")
            .iter()
            .filter(|r| r.contains("type:first"))
            .count()
            >= 2
    });
    assert!(twice, "rej records: {:#?}", dir.records("rej.rec"));
    // Same numbers on redelivery.
    let rej: Vec<String> = dir
        .records("rej.rec")
        .into_iter()
        .filter(|r| r.contains("type:first"))
        .collect();
    let header = |r: &str| r.split('|').next().map(str::to_string);
    assert_eq!(header(&rej[0]), header(&rej[1]));
    // A marker sent afterwards: once acc has it, anything duplicated would have come before it.
    xmlrpc(&sock, "supervisor.sendRemoteCommEvent", &["marker", "two"]).expect("second event");
    let marked = wait_for(20.0, || {
        dir.records("acc.rec")
            .iter()
            .any(|r| r.contains("type:marker"))
    });
    assert!(marked, "acc records: {:#?}", dir.records("acc.rec"));
    let acc_first = dir
        .records("acc.rec")
        .iter()
        .filter(|r| r.contains("type:first"))
        .count();
    assert_eq!(acc_first, 1, "acc records: {:#?}", dir.records("acc.rec"));
    assert!(
        dir.main_log().contains("WARN rej: event was rejected"),
        "{}",
        dir.main_log()
    );
}

#[test]
fn protocol_violation_puts_listener_in_unknown_with_warning() {
    let dir = TestDir::new("garbage");
    let script = dir.write(
        "garbage.sh",
        "echo 'this is not the protocol'\nexec sleep 1000\n",
    );
    let sections = format!(
        "[eventlistener:garbage]\ncommand=/bin/sh {}\nevents=PROCESS_STATE\nstartsecs=0\n",
        script.display()
    );
    let _daemon = Daemon::start(&dir.config(&sections));
    let warning = "WARN garbage: has entered the UNKNOWN state and will no longer receive events, \
                   this usually indicates the process violated the eventlistener protocol";
    let seen = wait_for(20.0, || dir.main_log().contains(warning));
    assert!(seen, "log:\n{}", dir.main_log());
}

#[test]
fn tick_5_arrives_within_about_five_seconds() {
    let dir = TestDir::new("tick");
    let sections = recording_listener(&dir, "ticker", "TICK_5", "", "");
    let _daemon = Daemon::start(&dir.config(&sections));
    // At most 5 s to the next boundary, plus startup on a busy machine.
    let got = wait_for(15.0, || !dir.records("ticker.rec").is_empty());
    assert!(got, "no tick; log:\n{}", dir.main_log());
    let rec = &dir.records("ticker.rec")[0];
    assert!(
        rec.starts_with("TICK_5 ver:3.0 server:evtest serial:"),
        "{rec}"
    );
    assert!(
        rec.contains(" pool:ticker poolserial:0 eventname:TICK_5 len:15|when:"),
        "{rec}"
    );
    let when: u64 = rec
        .rsplit("when:")
        .next()
        .and_then(|w| w.parse().ok())
        .expect("when");
    assert_eq!(when % 5, 0);
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_secs())
        .unwrap_or(0);
    assert!(now.abs_diff(when) <= 15, "when {when}, now {now}");
}

/// Event names a listener recorded, in order.
fn names(records: &[String]) -> Vec<String> {
    records
        .iter()
        .filter_map(|r| r.split(' ').next().map(str::to_string))
        .collect()
}

#[test]
fn startup_announces_groups_then_running() {
    let dir = TestDir::new("startup");
    let sections = format!(
        "{}\n[program:prog]\ncommand=/bin/sleep 1000\n",
        recording_listener(&dir, "lis", "PROCESS_GROUP,SUPERVISOR_STATE_CHANGE", "", "")
    );
    let _daemon = Daemon::start(&dir.config(&sections));
    let done = wait_for(20.0, || dir.records("lis.rec").len() >= 3);
    let records = dir.records("lis.rec");
    assert!(done, "records: {records:#?}\nlog:\n{}", dir.main_log());
    assert_eq!(
        names(&records),
        [
            "PROCESS_GROUP_ADDED",
            "PROCESS_GROUP_ADDED",
            "SUPERVISOR_STATE_CHANGE_RUNNING"
        ]
    );
    assert!(
        records[0].ends_with("len:14|groupname:lis\\n"),
        "{records:#?}"
    );
    assert!(
        records[1].ends_with("len:15|groupname:prog\\n"),
        "{records:#?}"
    );
    assert!(records[2].ends_with("len:0|"), "{records:#?}");
}

#[test]
fn output_becomes_log_and_communication_events() {
    let dir = TestDir::new("comm");
    let script = dir.write(
        "talk.sh",
        "printf 'plain\\n'\nsleep 0.2\n\
         printf 'a<!--XSUPERVISOR:BEGIN-->hello listener<!--XSUPERVISOR:END-->b\\n'\n\
         exec sleep 1000\n",
    );
    let sections = format!(
        "{}\n[program:talk]\ncommand=/bin/sh {}\nstdout_capture_maxbytes=1KB\n\
         stdout_events_enabled=true\nstartsecs=0\nstdout_logfile={}\n",
        recording_listener(&dir, "lis", "PROCESS_COMMUNICATION,PROCESS_LOG", "", ""),
        script.display(),
        dir.file("talk.log").display()
    );
    let _daemon = Daemon::start(&dir.config(&sections));
    let comm = "PROCESS_COMMUNICATION_STDOUT";
    let done = wait_for(20.0, || {
        dir.records("lis.rec").iter().any(|r| r.starts_with(comm))
    });
    let records = dir.records("lis.rec");
    assert!(done, "records: {records:#?}\nlog:\n{}", dir.main_log());
    let comm_rec = records
        .iter()
        .find(|r| r.starts_with(comm))
        .cloned()
        .unwrap_or_default();
    let payload = comm_rec.split_once('|').map(|x| x.1).unwrap_or("");
    let pid = payload
        .split(" pid:")
        .nth(1)
        .and_then(|p| p.split("\\n").next())
        .unwrap_or("");
    assert!(pid.parse::<i32>().is_ok(), "{comm_rec}");
    assert_eq!(
        payload,
        format!("processname:talk groupname:talk pid:{pid}\\nhello listener")
    );
    let logged: String = records
        .iter()
        .filter(|r| r.starts_with("PROCESS_LOG_STDOUT"))
        .filter_map(|r| r.split_once("channel:stdout\\n").map(|x| x.1.to_string()))
        .collect();
    assert!(logged.starts_with("plain\\n"), "{records:#?}");
    // The captured text and the markers stay out of the log file.
    let file_done = wait_for(10.0, || {
        std::fs::read_to_string(dir.file("talk.log")).is_ok_and(|t| t.ends_with("ab\n"))
    });
    let file = std::fs::read_to_string(dir.file("talk.log")).unwrap_or_default();
    assert!(file_done && file == "plain\nab\n", "{file:?}");
}

#[test]
fn running_and_exited_events_carry_the_pid() {
    let dir = TestDir::new("exited");
    let sections = format!(
        "{}\n[program:exits]\ncommand=/bin/sh -c 'sleep 2; exit 3'\nstartsecs=1\n\
         autorestart=false\n",
        recording_listener(&dir, "lis", "PROCESS_STATE", "", "")
    );
    let _daemon = Daemon::start(&dir.config(&sections));
    let done = wait_for(20.0, || {
        about(&dir.records("lis.rec"), "exits")
            .iter()
            .any(|e| e.starts_with("PROCESS_STATE_EXITED"))
    });
    let seen = about(&dir.records("lis.rec"), "exits");
    assert!(
        done,
        "no EXITED event; got {seen:#?}\nlog:\n{}",
        dir.main_log()
    );
    let running = seen
        .iter()
        .find(|e| e.starts_with("PROCESS_STATE_RUNNING"))
        .cloned();
    let running = running.unwrap_or_default();
    let pid = running.rsplit("pid:").next().unwrap_or("");
    assert!(
        pid.parse::<i32>().map(|p| p > 0).unwrap_or(false),
        "{seen:#?}"
    );
    assert_eq!(
        running,
        format!(
            "PROCESS_STATE_RUNNING processname:exits groupname:exits from_state:STARTING pid:{pid}"
        )
    );
    assert!(
        seen.contains(&format!(
            "PROCESS_STATE_EXITED processname:exits groupname:exits from_state:RUNNING \
             expected:0 pid:{pid}"
        )),
        "{seen:#?}"
    );
}

#[test]
fn event_held_by_a_listener_that_dies_is_redelivered() {
    let dir = TestDir::new("die");
    let sections = format!(
        "{}\n[program:prog]\ncommand=/bin/sleep 1000\nstartsecs=0\n",
        recording_listener(
            &dir,
            "lis",
            "PROCESS_GROUP",
            ",DIE_ONCE=\"1\"",
            "autorestart=true"
        )
    );
    let _daemon = Daemon::start(&dir.config(&sections));
    // The first event goes to the first process, which dies with it; the next process gets
    // it again with the same numbers, then the rest.
    let done = wait_for(20.0, || dir.records("lis.rec").len() >= 3);
    let records = dir.records("lis.rec");
    assert!(done, "records: {records:#?}\nlog:\n{}", dir.main_log());
    assert_eq!(records[0], records[1], "{records:#?}");
    assert!(
        records[0].contains(" serial:0 pool:lis poolserial:0 "),
        "{records:#?}"
    );
    assert!(
        records[2].contains(" serial:1 pool:lis poolserial:1 "),
        "{records:#?}"
    );
}

#[test]
fn full_buffer_discards_the_oldest_event() {
    let dir = TestDir::new("overflow");
    // A listener that never gets READY: every event stays in its buffer of 2.
    let sections = "[eventlistener:lis]\ncommand=/bin/sleep 1000\nevents=PROCESS_STATE\n\
                    buffer_size=2\nstartsecs=0\n\n[program:a]\ncommand=/bin/sleep 1000\n\
                    startsecs=0\n";
    let _daemon = Daemon::start(&dir.config(sections));
    let line = "ERRO pool lis event buffer overflowed, discarding event 0";
    let seen = wait_for(20.0, || dir.main_log().contains(line));
    assert!(seen, "log:\n{}", dir.main_log());
}
