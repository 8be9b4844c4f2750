//! `config::load` on real files: defaults, expansions, includes, groups and the notes it
//! collects, checked on the returned model.

use log::Level;
use std::path::{Path, PathBuf};
use supervisor_rs::config::{
    self, AutoRestart, Config, GroupKind, LogFile, LogLevel, MainLogFile, Overrides,
};

use crate::support::temp::TempDir;

/// Writes `text` to `rel` under `dir`, creating parent directories.
fn write_file(dir: &Path, rel: &str, text: &str) -> PathBuf {
    let p = dir.join(rel);
    if let Some(parent) = p.parent() {
        std::fs::create_dir_all(parent).expect("mkdir");
    }
    std::fs::write(&p, text).expect("write config");
    p
}

fn env() -> Vec<(String, String)> {
    vec![
        ("HOME".into(), "/root".into()),
        ("APP".into(), "shop".into()),
    ]
}

fn load_text(tag: &str, text: &str) -> (TempDir, Result<Config, config::ConfigError>) {
    let dir = TempDir::new(tag);
    let path = write_file(&dir, "supervisord.conf", text);
    let result = config::load(&path, &env());
    (dir, result)
}

fn ok(tag: &str, text: &str) -> (TempDir, Config) {
    let (dir, r) = load_text(tag, text);
    match r {
        Ok(c) => (dir, c),
        Err(e) => panic!("config should load: {e}"),
    }
}

fn process<'a>(c: &'a Config, namespec: &str) -> &'a config::ProcessConfig {
    c.groups
        .iter()
        .flat_map(|g| g.processes.iter())
        .find(|p| p.namespec() == namespec)
        .unwrap_or_else(|| panic!("no process {namespec}"))
}

fn has_note(c: &Config, level: Level, needle: &str) -> bool {
    c.notes
        .iter()
        .any(|(l, m)| *l == level && m.contains(needle))
}

#[test]
fn supervisord_defaults() {
    let (_d, c) = ok("defaults", "[supervisord]\n");
    let s = &c.supervisord;
    let cwd = std::env::current_dir().expect("cwd");
    assert_eq!(s.logfile, MainLogFile::Path(cwd.join("supervisord.log")));
    assert_eq!(s.pidfile, cwd.join("supervisord.pid"));
    assert_eq!(
        (s.logfile_maxbytes, s.logfile_backups),
        (50 * 1024 * 1024, 10)
    );
    assert_eq!(s.loglevel, LogLevel::Info);
    assert_eq!(s.umask, 0o22);
    assert!(!s.nodaemon && !s.silent && !s.nocleanup && !s.strip_ansi);
    assert_eq!((s.minfds, s.minprocs), (1024, 200));
    assert_eq!(s.childlogdir, PathBuf::from("/tmp"));
    assert_eq!(s.identifier, "supervisor");
    assert_eq!(s.shutdown_grace_secs, 3);
    assert!(s.user.is_none() && s.directory.is_none());
    assert!(c.groups.is_empty() && c.unix_http_server.is_none() && c.inet_http_server.is_none());
    assert!(!c.rpcinterface_supervisor);
    assert_eq!(c.supervisorctl.serverurl, "http://localhost:9001");
}

#[test]
fn supervisord_values() {
    let (d, c) = ok(
        "supvals",
        "[supervisord]\nlogfile=%(here)s/main.log\nlogfile_maxbytes=5 KB\nlogfile_backups=0\nloglevel=BLATHER\n\
         umask=0o77\nnodaemon=on\nminfds=4096\nchildlogdir=%(here)s\nuser=root\nidentifier=%(ENV_APP)s\n\
         shutdown_grace=7\nenvironment=A=1,B=\"x,y\"\n",
    );
    let s = &c.supervisord;
    assert_eq!(s.logfile, MainLogFile::Path(d.0.join("main.log")));
    assert_eq!((s.logfile_maxbytes, s.logfile_backups), (5120, 0));
    assert_eq!(s.loglevel, LogLevel::Blather);
    assert_eq!(s.umask, 0o77);
    assert!(s.nodaemon);
    assert_eq!(s.minfds, 4096);
    assert_eq!(s.childlogdir, d.0);
    assert_eq!(s.user.as_ref().map(|u| (u.uid, u.gid)), Some((0, 0)));
    assert_eq!(s.identifier, "shop");
    assert_eq!(s.shutdown_grace_secs, 7);
    assert_eq!(
        s.environment,
        vec![("A".into(), "1".into()), ("B".into(), "x,y".into())]
    );
}

#[test]
fn syslog_main_logfile() {
    let (_d, c) = ok("syslog", "[supervisord]\nlogfile=syslog\n");
    assert_eq!(c.supervisord.logfile, MainLogFile::Syslog);
}

#[test]
fn program_defaults() {
    let (d, c) = ok(
        "progdef",
        "[supervisord]\n[program:web]\ncommand=/bin/cat\n",
    );
    let p = process(&c, "web");
    assert_eq!(
        (p.name.as_str(), p.group.as_str(), p.program_name.as_str()),
        ("web", "web", "web")
    );
    assert_eq!(p.argv, vec!["/bin/cat".to_string()]);
    assert_eq!(p.priority, 999);
    assert!(p.autostart);
    assert_eq!(p.autorestart, AutoRestart::Unexpected);
    assert_eq!((p.startsecs, p.startretries, p.stopwaitsecs), (1, 3, 10));
    assert_eq!(p.exitcodes, vec![0]);
    assert_eq!(p.stopsignal, 15);
    assert!(!p.stopasgroup && !p.killasgroup && !p.redirect_stderr);
    assert_eq!(p.stdout.file, LogFile::Auto);
    assert_eq!(
        (
            p.stdout.maxbytes,
            p.stdout.backups,
            p.stdout.capture_maxbytes
        ),
        (50 * 1024 * 1024, 10, 0)
    );
    assert!(!p.stdout.events_enabled && !p.stdout.syslog && p.stdout.prefix.is_none());
    assert_eq!(p.stderr.file, LogFile::Auto);
    assert!(
        p.serverurl.is_none() && p.user.is_none() && p.umask.is_none() && p.directory.is_none()
    );
    assert!(p.environment.is_empty());
    assert_eq!(p.here, d.0);
    assert!(!p.essential && p.depends_on.is_empty() && p.healthcheck.is_none());
    assert_eq!(c.groups[0].priority, 999);
    assert_eq!(c.groups[0].kind, GroupKind::Program);
}

#[test]
fn program_values_and_extensions() {
    let (_d, c) = ok(
        "progvals",
        "[supervisord]\n[program:db]\ncommand=/bin/db\n[program:api]\ncommand = /bin/api --port %(process_num)d\n\
         Autorestart=TRUE\nstartsecs=0\nexitcodes=0,2\nstopsignal=sigint\nstopasgroup=true\nuser=root\numask=002\n\
         directory=/nonexistent/ok\nserverurl=AUTO\nstdout_logfile=NONE\nstderr_logfile=syslog\nstdout_prefix=[%(program_name)s] \n\
         essential=yes\ndepends_on=db\nhealthcheck_command=/bin/check --fast\nhealthcheck_retries=5\n",
    );
    let p = process(&c, "api");
    assert_eq!(p.argv, vec!["/bin/api", "--port", "0"]);
    assert_eq!(p.autorestart, AutoRestart::Always);
    assert_eq!(p.startsecs, 0);
    assert_eq!(p.exitcodes, vec![0, 2]);
    assert_eq!(p.stopsignal, 2);
    assert!(
        p.stopasgroup && p.killasgroup,
        "killasgroup follows stopasgroup"
    );
    assert_eq!(p.user.as_ref().map(|u| u.name.as_str()), Some("root"));
    assert_eq!(p.umask, Some(0o2));
    assert_eq!(p.directory, Some(PathBuf::from("/nonexistent/ok")));
    assert!(p.serverurl.is_none());
    assert_eq!(p.stdout.file, LogFile::None);
    assert_eq!(p.stdout.prefix.as_deref(), Some("[api]"));
    assert_eq!(
        (p.stderr.file.clone(), p.stderr.syslog),
        (LogFile::None, true)
    );
    assert!(has_note(
        &c,
        Level::Warn,
        "For [program:api], stderr_logfile=syslog but this is deprecated"
    ));
    assert!(p.essential);
    assert_eq!(p.depends_on, vec!["db".to_string()]);
    let hc = p.healthcheck.as_ref().expect("healthcheck");
    assert_eq!(hc.argv, vec!["/bin/check", "--fast"]);
    assert_eq!((hc.interval_secs, hc.timeout_secs, hc.retries), (10, 5, 5));
}

#[test]
fn numprocs_make_a_homogeneous_group() {
    let (_d, c) = ok(
        "numprocs",
        "[supervisord]\n[program:multi]\ncommand=/bin/sleep %(process_num)s\nnumprocs=3\nnumprocs_start=8\n\
         process_name=%(program_name)s_%(process_num)02d\n",
    );
    let g = &c.groups[0];
    assert_eq!(g.name, "multi");
    let names: Vec<String> = g.processes.iter().map(|p| p.namespec()).collect();
    assert_eq!(
        names,
        ["multi:multi_08", "multi:multi_09", "multi:multi_10"]
    );
    assert_eq!(g.processes[2].argv, vec!["/bin/sleep", "10"]);
}

#[test]
fn groups_sorted_by_priority_then_name() {
    let (_d, c) = ok(
        "order",
        "[supervisord]\n[program:zeta]\ncommand=/bin/z\npriority=1\n[program:alpha]\ncommand=/bin/a\npriority=1\n\
         [program:late]\ncommand=/bin/l\n[eventlistener:lis]\ncommand=/bin/cat\nevents=TICK_60\n\
         [program:b]\ncommand=/bin/b\n[program:a]\ncommand=/bin/a\npriority=50\n[group:grp]\nprograms=b,a\npriority=10\n",
    );
    let order: Vec<(&str, i64)> = c
        .groups
        .iter()
        .map(|g| (g.name.as_str(), g.priority))
        .collect();
    assert_eq!(
        order,
        [
            ("lis", -1),
            ("alpha", 1),
            ("zeta", 1),
            ("grp", 10),
            ("late", 999)
        ]
    );
    // Programs of a [group:] keep the programs= order, not their priorities.
    let grp: Vec<String> = c.groups[3].processes.iter().map(|p| p.namespec()).collect();
    assert_eq!(grp, ["grp:b", "grp:a"]);
    match &c.groups[0].kind {
        GroupKind::EventListener(l) => {
            assert_eq!(l.events, vec!["TICK_60".to_string()]);
            assert_eq!(l.buffer_size, 10);
        }
        other => panic!("expected an event listener pool, got {other:?}"),
    }
}

#[test]
fn environment_expansion_and_merge() {
    let (_d, c) = ok(
        "env",
        "[supervisord]\nenvironment=GLOBAL=g,SHARED=from_supervisord\n\
         [program:p]\ncommand=/bin/echo %(ENV_GLOBAL)s %(ENV_OWN)s %(ENV_APP)s %(group_name)s %(host_node_name)s\n\
         environment=OWN=\"o w n\",SHARED=mine\n",
    );
    let p = process(&c, "p");
    let host = nix::unistd::gethostname()
        .expect("hostname")
        .to_string_lossy()
        .into_owned();
    assert_eq!(
        p.argv,
        vec!["/bin/echo", "g", "o", "w", "n", "shop", "p", host.as_str()]
    );
    assert_eq!(
        p.environment,
        vec![
            ("GLOBAL".into(), "g".into()),
            ("SHARED".into(), "mine".into()),
            ("OWN".into(), "o w n".into())
        ]
    );
}

#[test]
fn continuation_lines_are_split_like_a_shell() {
    let (_d, c) = ok("cont", "[supervisord]\n[program:p]\ncommand=/bin/echo\n    first \"second word\"\n\n    third ; comment\n");
    assert_eq!(
        process(&c, "p").argv,
        vec!["/bin/echo", "first", "second word", "third"]
    );
}

#[test]
fn includes_merge_sections_and_expand_here_per_file() {
    let d = TempDir::new("incl");
    write_file(
        &d,
        "conf.d/b.conf",
        "[program:p]\nstartretries=9\n[include]\nfiles=nothing/*.conf\n",
    );
    write_file(
        &d,
        "conf.d/a.conf",
        "[program:p]\ncommand=/bin/ls %(here)s\nstartretries=1\n",
    );
    write_file(
        &d,
        "conf.d/.hidden.conf",
        "[program:hidden]\ncommand=/bin/true\n",
    );
    let main = write_file(
        &d,
        "supervisord.conf",
        "[supervisord]\n[include]\nfiles=conf.d/*.conf missing/*.ini\n",
    );
    let c = config::load(&main, &env()).expect("loads");
    let p = process(&c, "p");
    assert_eq!(
        p.argv,
        vec![
            "/bin/ls".to_string(),
            d.0.join("conf.d").display().to_string()
        ]
    );
    assert_eq!(p.startretries, 9, "the later file wins");
    assert_eq!(p.here, d.0.join("conf.d"));
    assert_eq!(c.groups.len(), 1, "hidden files are not matched by *");
    let a = d.0.join("conf.d/a.conf");
    assert!(has_note(
        &c,
        Level::Info,
        &format!("Included extra file \"{}\" during parsing", a.display())
    ));
    let missing = d.0.join("missing/*.ini");
    assert!(has_note(
        &c,
        Level::Warn,
        &format!("No file matches via include \"{}\"", missing.display())
    ));
    assert!(
        !has_note(&c, Level::Warn, "nothing/*.conf"),
        "[include] of an included file is ignored"
    );
    let b = d.0.join("conf.d/b.conf");
    let nested = format!(
        "{}:3: [include] in an included file is ignored",
        b.display()
    );
    assert!(has_note(&c, Level::Warn, &nested));
}

#[test]
fn errors_in_included_files_name_that_file() {
    let d = TempDir::new("inclerr");
    let inc = write_file(
        &d,
        "conf.d/x.conf",
        "[program:x]\ncommand=/bin/true\n\nstartsecs=-\n",
    );
    let main = write_file(
        &d,
        "supervisord.conf",
        "[supervisord]\n[include]\nfiles=conf.d/x.conf\n",
    );
    let e = config::load(&main, &env()).expect_err("must fail");
    assert_eq!(e.file.as_deref(), Some(inc.as_path()));
    assert_eq!(e.line, Some(4));
    assert_eq!(e.section.as_deref(), Some("program:x"));
    assert_eq!(e.option.as_deref(), Some("startsecs"));
    assert_eq!(e.message, "invalid literal for int() with base 10: '-'");
    assert_eq!(
        e.to_string(),
        format!("{}:4: [program:x] startsecs: {}", inc.display(), e.message)
    );
}

#[test]
fn unknown_sections_and_options_are_noted_with_location() {
    let (d, c) = ok("unknown", "[supervisord]\nloglevel=info\nnodaemons=true\n[Program:x]\ncommand=/bin/true\n[program:y]\ncommand=/bin/true\ncomand=oops\n");
    let f = d.0.join("supervisord.conf");
    assert!(has_note(
        &c,
        Level::Warn,
        &format!(
            "{}:3: [supervisord] unknown option 'nodaemons'",
            f.display()
        )
    ));
    assert!(has_note(
        &c,
        Level::Warn,
        &format!("{}:4: unknown section [Program:x]", f.display())
    ));
    assert!(has_note(
        &c,
        Level::Warn,
        &format!("{}:8: [program:y] unknown option 'comand'", f.display())
    ));
    assert_eq!(c.groups.len(), 1, "section names are case-sensitive");
}

#[test]
fn supervisor_parse_warnings() {
    let (_d, c) = ok(
        "warnings",
        "[supervisord]\n[program:p]\ncommand=/bin/true\nredirect_stderr=true\nstderr_logfile=/tmp/e.log\nstdout_logfile_maxbytes=0\n",
    );
    assert!(has_note(
        &c,
        Level::Warn,
        "For [program:p], redirect_stderr=true but stderr_logfile has also been set to a filename, the filename has been ignored"
    ));
    assert!(has_note(
        &c,
        Level::Warn,
        "For [program:p], AUTO logging used for stdout_logfile without rollover, set maxbytes > 0 to avoid filling up filesystem unintentionally"
    ));
    assert_eq!(process(&c, "p").stderr.file, LogFile::None);
}

#[test]
fn servers_and_rpcinterface() {
    let (d, c) = ok(
        "servers",
        "[supervisord]\n[unix_http_server]\nfile=%(here)s/run/../sv.sock\nchown=root:root\nusername=u\npassword={SHA}abc\n\
         [inet_http_server]\nport=*:9001\n[rpcinterface:supervisor]\nsupervisor.rpcinterface_factory = supervisor.rpcinterface:make_main_rpcinterface\n\
         [supervisorctl]\nserverurl=unix://%(here)s/sv.sock\nprompt=shop\n",
    );
    let u = c.unix_http_server.as_ref().expect("unix server");
    assert_eq!(u.file, d.0.join("sv.sock"));
    assert_eq!(u.chmod, 0o700);
    assert_eq!(u.chown, Some((0, 0)));
    assert_eq!(u.auth.as_ref().map(|a| a.username.as_str()), Some("u"));
    let i = c.inet_http_server.as_ref().expect("inet server");
    assert_eq!(
        (i.host.as_str(), i.port, i.auth.is_none()),
        ("", 9001, true)
    );
    assert!(c.rpcinterface_supervisor);
    assert_eq!(
        c.supervisorctl.serverurl,
        format!("unix://{}", d.0.join("sv.sock").display())
    );
    assert_eq!(c.supervisorctl.prompt, "shop");
}

#[test]
fn fcgi_program_socket() {
    let (_d, c) = ok(
        "fcgi",
        "[supervisord]\n[fcgi-program:php]\ncommand=/usr/bin/php-cgi\nsocket=unix:///tmp/%(program_name)s.sock\nsocket_mode=0770\n",
    );
    match &c.groups[0].kind {
        GroupKind::Fcgi(f) => {
            assert_eq!(f.socket, "unix:///tmp/php.sock");
            assert_eq!(f.socket_mode, 0o770);
        }
        other => panic!("expected fcgi, got {other:?}"),
    }
}

#[test]
fn default_section_values_are_fallbacks() {
    let (_d, c) = ok(
        "default",
        "[DEFAULT]\nstartsecs=0\n[supervisord]\n[program:p]\ncommand=/bin/true\n",
    );
    assert_eq!(process(&c, "p").startsecs, 0);
}

#[test]
fn overrides_replace_file_values() {
    let (_d, mut c) = ok("over", "[supervisord]\nloglevel=debug\nnodaemon=false\n");
    let o = Overrides {
        nodaemon: Some(true),
        loglevel: Some(LogLevel::Warn),
        logfile: Some(PathBuf::from("syslog")),
        minfds: Some(99),
        ..Overrides::default()
    };
    o.apply(&mut c);
    assert!(c.supervisord.nodaemon);
    assert_eq!(c.supervisord.loglevel, LogLevel::Warn);
    assert_eq!(c.supervisord.logfile, MainLogFile::Syslog);
    assert_eq!(c.supervisord.minfds, 99);
}

#[test]
fn missing_and_unreadable_files() {
    let e = config::load(Path::new("/nonexistent/supervisord.conf"), &env()).expect_err("missing");
    assert_eq!(
        e.message,
        "could not find config file /nonexistent/supervisord.conf"
    );
    let e = config::load(Path::new("/tmp"), &env()).expect_err("directory");
    assert_eq!(e.message, "could not read config file /tmp");
}

#[test]
fn supervisorctl_reads_only_its_section() {
    let d = TempDir::new("ctl");
    let conf = write_file(
        &d,
        "supervisord.conf",
        "[supervisord]\n[supervisorctl]\nserverurl=unix://%(here)s/x/../sv.sock\nusername=%(ENV_APP)s\nhistory_file=%(here)s/h\n",
    );
    let c = config::load_ctl(&conf, &env()).expect("ctl config");
    assert_eq!(
        c.serverurl,
        format!("unix://{}", d.0.join("sv.sock").display())
    );
    assert_eq!(c.username.as_deref(), Some("shop"));
    assert_eq!(c.prompt, "supervisor");
    assert_eq!(c.history_file, Some(d.0.join("h")));
    let bare = write_file(&d, "bare.conf", "[supervisord]\n");
    let e = config::load_ctl(&bare, &env()).expect_err("no section");
    assert_eq!(
        e.message,
        ".ini file does not include supervisorctl section"
    );
}

#[test]
fn quoted_prefix_keeps_its_trailing_space() {
    let (_d, c) = ok(
        "qprefix",
        "[supervisord]\n[program:web]\ncommand=/bin/true\nstdout_prefix=\"[%(program_name)s] \"\nstderr_prefix=\"\"\n",
    );
    let p = &c.groups[0].processes[0];
    assert_eq!(p.stdout.prefix.as_deref(), Some("[web] "));
    assert_eq!(p.stderr.prefix.as_deref(), Some(""));
}
