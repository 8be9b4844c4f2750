//! The generated-input machinery: a small PRNG, the run loop (bounded by executions and
//! time, catching panics and keeping the inputs that cause them), a mutator over bytes and
//! a dictionary of tokens, and structured generators for each input language.
//!
//! Hand-rolled rather than proptest: a million executions per target must fit in minutes
//! on a shared 2-core machine, which rules out shrinking machinery per case, and nightly
//! (cargo-fuzz) is not available.

#![allow(dead_code)]

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use supervisor_rs::config::Auth;
use supervisor_rs::ctl::protocol::xmlrpc::Value;

pub struct Rng(u64);

impl Rng {
    pub fn next(&mut self) -> u64 {
        // xorshift64*
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        self.0.wrapping_mul(0x2545_F491_4F6C_DD1D)
    }

    pub fn below(&mut self, n: usize) -> usize {
        (self.next() % n.max(1) as u64) as usize
    }

    pub fn pick<'a, T>(&mut self, items: &'a [T]) -> &'a T {
        &items[self.below(items.len())]
    }
}

fn env_or(name: &str, default: u64) -> u64 {
    std::env::var(name)
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(default)
}

thread_local! {
    static LAST_INPUT: std::cell::RefCell<Vec<u8>> = const { std::cell::RefCell::new(Vec::new()) };
}

/// Notes the input about to be checked, so a panic can be saved with it.
pub fn record(input: &[u8]) {
    LAST_INPUT.with(|l| {
        let mut l = l.borrow_mut();
        l.clear();
        l.extend_from_slice(input);
    });
}

/// Writes a crashing input to `target/fuzz-found/<target>-<n>.bin`.
fn save_crash(name: &str, n: u64) -> PathBuf {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("target/fuzz-found");
    let _ = std::fs::create_dir_all(&dir);
    let path = dir.join(format!("{name}-{n}.bin"));
    LAST_INPUT.with(|l| {
        let _ = std::fs::write(&path, &*l.borrow());
    });
    path
}

/// Runs `target` on generated inputs until `FUZZ_EXECS` executions or `FUZZ_SECONDS`; the
/// closure returns a label for the outcome, counted in the summary line.
pub fn run(name: &str, mut target: impl FnMut(&mut Rng) -> &'static str) {
    let execs = env_or("FUZZ_EXECS", 3000);
    let limit = Duration::from_secs(env_or("FUZZ_SECONDS", 20));
    let seed = env_or("FUZZ_SEED", 0x9E37_79B9_7F4A_7C15);
    let started = Instant::now();
    let mut outcomes: BTreeMap<&str, u64> = BTreeMap::new();
    let mut crashes = Vec::new();
    let mut done = 0;
    let quiet_hook = std::panic::take_hook();
    std::panic::set_hook(Box::new(|_| {}));
    // FUZZ_ONLY=n replays execution n alone.
    let only: Option<u64> = std::env::var("FUZZ_ONLY").ok().and_then(|v| v.parse().ok());
    if let Some(n) = only {
        done = n;
    }
    while done < execs && started.elapsed() < limit && only.is_none_or(|n| done == n) {
        // Each execution has its own seed, so a crash is replayed from its number alone.
        let case_seed = seed ^ done.wrapping_mul(0xD6E8_FEB8_6659_FD93) | 1;
        let mut rng = Rng(case_seed);
        match std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| target(&mut rng))) {
            Ok(label) => *outcomes.entry(label).or_default() += 1,
            Err(e) => {
                let why = e
                    .downcast_ref::<String>()
                    .cloned()
                    .or_else(|| e.downcast_ref::<&str>().map(|s| s.to_string()))
                    .unwrap_or_default();
                let saved = save_crash(name, done);
                crashes.push((
                    done,
                    case_seed,
                    format!("{why} (input in {})", saved.display()),
                ));
            }
        }
        done += 1;
    }
    std::panic::set_hook(quiet_hook);
    let secs = started.elapsed().as_secs_f64();
    let done = done - only.unwrap_or(0);
    eprintln!(
        "fuzz {name}: {done} executions in {secs:.1}s ({:.0}/s), {} crashes; outcomes {outcomes:?}",
        done as f64 / secs.max(1e-9),
        crashes.len()
    );
    for (n, case_seed, why) in &crashes {
        eprintln!("fuzz {name}: execution {n} (case seed {case_seed:#x}) panicked: {why}");
    }
    assert!(
        crashes.is_empty(),
        "{name}: {} crashing inputs",
        crashes.len()
    );
}

/// Random edits: byte flips, cuts, duplications, and dictionary tokens spliced in.
pub fn mutate(rng: &mut Rng, seed: &[u8], tokens: &[&str]) -> Vec<u8> {
    let mut out = seed.to_vec();
    for _ in 0..=rng.below(6) {
        let i = rng.below(out.len() + 1);
        match rng.below(6) {
            0 if i < out.len() => out[i] = rng.next() as u8,
            1 => out.truncate(i),
            2 => {
                let end = (i + rng.below(64)).min(out.len());
                let piece = out[i..end].to_vec();
                for _ in 0..=rng.below(3) {
                    out.splice(i..i, piece.iter().copied());
                }
            }
            3 if i < out.len() => {
                let end = (i + rng.below(16)).min(out.len());
                out.drain(i..end);
            }
            _ => {
                let t = rng.pick(tokens).as_bytes();
                out.splice(i..i, t.iter().copied());
            }
        }
    }
    out
}

pub const HTTP_TOKENS: &[&str] = &[
    "\r\n",
    "\n",
    "\r\n\r\n",
    ": ",
    "Content-Length: 0\r\n",
    "Content-Length: +1\r\n",
    "Content-Length: 18446744073709551616\r\n",
    "Transfer-Encoding: chunked\r\n",
    "Expect: 100-continue\r\n",
    "Connection: close\r\n",
    "Authorization: Basic dXNlcjoxMjM=\r\n",
    "%",
    "%zz",
    "%41",
    " ",
    "HTTP/1.1",
    "HTTP/2.0",
    "FFFFFFFF\r\n",
    "0\r\n\r\n",
    "\u{ff}",
];

pub const XML_TOKENS: &[&str] = &[
    "<value>",
    "</value>",
    "<value/>",
    "<array><data>",
    "</data></array>",
    "<struct><member><name>a</name>",
    "</member></struct>",
    "<int>",
    "</int>",
    "<string>",
    "<base64>",
    "<a/>",
    "&amp;",
    "&#x10FFFF;",
    "&#0;",
    "&bogus;",
    "<![CDATA[x]]>",
    "<!-- c -->",
    "<?pi x?>",
    "<!DOCTYPE x>",
    "<params><param>",
    "</param></params>",
    "<fault>",
    "<methodName>",
];

pub const CONFIG_TOKENS: &[&str] = &[
    "%(ENV_X)s",
    "%(ENV_NOPE)s",
    "%(here)s",
    "%(program_name)s",
    "%(process_num)02d",
    "%(group_name)s",
    "%(host_node_name)s",
    "%(",
    "%%",
    ")s",
    "\n[program:p]\ncommand=/bin/true\n",
    "\n[group:g]\nprograms=p\n",
    "\n[eventlistener:e]\ncommand=/bin/cat\nevents=PROCESS_STATE\n",
    "\n[include]\nfiles=extra.conf\n",
    "\n  continued",
    "=",
    ";",
    "#",
    "\n",
    "numprocs=2\n",
    "process_name=%(program_name)s_%(process_num)d\n",
    "environment=A=\"1\",B='%(ENV_X)s'\n",
    "9223372036854775807",
    "-1",
    "\u{1F600}",
];

/// Text of printable characters, some XML- or shell-special, a few non-ASCII.
pub fn gen_text(rng: &mut Rng, max: usize) -> String {
    const CHARS: &[char] = &[
        'a',
        'b',
        'Z',
        '0',
        '9',
        ' ',
        '&',
        '<',
        '>',
        '"',
        '\'',
        ';',
        '%',
        '\n',
        '\t',
        'é',
        '€',
        '\u{1F600}',
        ']',
        '=',
    ];
    (0..rng.below(max + 1)).map(|_| *rng.pick(CHARS)).collect()
}

/// A random XML-RPC value (doubles finite, datetimes without surrounding spaces).
pub fn gen_value(rng: &mut Rng, depth: usize) -> Value {
    let kinds = if depth == 0 { 7 } else { 9 };
    match rng.below(kinds) {
        0 => Value::Int(rng.next() as i64 >> rng.below(64)),
        1 => Value::Bool(rng.below(2) == 0),
        2 => Value::Str(gen_text(rng, 40)),
        3 => Value::Double((rng.next() as i64 >> 20) as f64 / 1024.0),
        4 => Value::DateTime("20261207T20:15:00".into()),
        5 => Value::Base64((0..rng.below(100)).map(|_| rng.next() as u8).collect()),
        6 => Value::Nil,
        7 => Value::Array(
            (0..rng.below(5))
                .map(|_| gen_value(rng, depth - 1))
                .collect(),
        ),
        _ => Value::Struct(
            (0..rng.below(5))
                .map(|_| (gen_text(rng, 10), gen_value(rng, depth - 1)))
                .collect(),
        ),
    }
}

/// A request head (+ body) with random framing choices.
pub fn gen_http_request(rng: &mut Rng) -> Vec<u8> {
    let eol = *rng.pick(&["\r\n", "\n"]);
    let method = *rng.pick(&["GET", "POST", "PUT", "G3T", ""]);
    let target = format!("/{}", gen_text(rng, 12).replace([' ', '\n'], "%20"));
    let version = *rng.pick(&["HTTP/1.1", "HTTP/1.0", "", "HTTP/1.9", "HTTP/2"]);
    let mut head = format!("{method} {target} {version}{eol}");
    let body_len = rng.below(64);
    for _ in 0..rng.below(6) {
        let line = match rng.below(8) {
            0 => format!("Content-Length: {body_len}"),
            1 => format!(
                "Content-Length: {}",
                rng.pick(&["+5", "-1", "5,5", " 7", "", "99999999999999999999"])
            ),
            2 => "Expect: 100-continue".into(),
            3 => "Connection: keep-alive".into(),
            4 => format!(
                "Authorization: Basic {}",
                supervisor_rs::ctl::protocol::base64::encode(gen_text(rng, 12).as_bytes())
            ),
            5 => "Transfer-Encoding: chunked".into(),
            6 => format!(
                "X-{}: {}",
                rng.below(100),
                gen_text(rng, 20).replace('\n', " ")
            ),
            _ => format!("Content-Length: {}", rng.below(64)),
        };
        head.push_str(&line);
        head.push_str(eol);
    }
    head.push_str(eol);
    let mut raw = head.into_bytes();
    raw.extend((0..body_len + rng.below(8)).map(|_| b'x'));
    raw
}

/// An HTTP answer around `body`: Content-Length, chunked, or to the end; with whether the
/// framing is right (then the parser must return the body's value).
pub fn gen_http_answer(rng: &mut Rng, body: &[u8]) -> (Vec<u8>, bool) {
    let status = *rng.pick(&["200 OK", "200 OK", "401 Unauthorized", "500 Oops", "abc"]);
    let mut raw = format!("HTTP/1.1 {status}\r\nServer: x\r\n").into_bytes();
    if rng.below(4) == 0 {
        raw = [b"HTTP/1.1 100 Continue\r\n\r\n".to_vec(), raw].concat();
    }
    let valid = status.starts_with("200");
    match rng.below(3) {
        0 => {
            raw.extend(format!("Content-Length: {}\r\n\r\n", body.len()).bytes());
            raw.extend_from_slice(body);
        }
        1 => {
            raw.extend(b"Transfer-Encoding: chunked\r\n\r\n");
            let mut rest = body;
            while !rest.is_empty() {
                let n = (1 + rng.below(200)).min(rest.len());
                raw.extend(format!("{n:x}\r\n").bytes());
                raw.extend_from_slice(&rest[..n]);
                raw.extend(b"\r\n");
                rest = &rest[n..];
            }
            raw.extend(b"0\r\n\r\n");
        }
        _ => {
            raw.extend(b"\r\n");
            raw.extend_from_slice(body);
        }
    }
    (raw, valid)
}

/// A config file with random sections, options and expansions (numbers kept small where
/// they size the process table: capacity is checked elsewhere).
pub fn gen_config(rng: &mut Rng, dir: &Path) -> String {
    let mut out = String::from("[supervisord]\n");
    let expansions = [
        "%(here)s",
        "%(ENV_HOME)s",
        "%(ENV_X)s",
        "%(ENV_EMPTY)s",
        "%(host_node_name)s",
        "%(ENV_MISSING)s",
        "%%",
        "%(here",
    ];
    let value = |rng: &mut Rng| -> String {
        let mut v = gen_text(rng, 8).replace('\n', "");
        for _ in 0..rng.below(3) {
            let e: &str = expansions[rng.below(expansions.len())];
            v.push_str(e);
        }
        v
    };
    out.push_str(&format!("logfile={}/main-%(ENV_X)s.log\n", dir.display()));
    out.push_str(&format!("pidfile={}/sd.pid\n", dir.display()));
    if rng.below(2) == 0 {
        out.push_str(&format!("identifier={}\n", value(rng)));
    }
    for p in 0..rng.below(4) {
        out.push_str(&format!(
            "\n[program:p{p}]\ncommand=/bin/echo {}\n",
            value(rng)
        ));
        let options: &[(&str, &[&str])] = &[
            ("numprocs", &["1", "2", "3", "0", "x"]),
            (
                "process_name",
                &[
                    "%(program_name)s_%(process_num)02d",
                    "%(process_num)d",
                    "x%(bad)s",
                ],
            ),
            (
                "environment",
                &["A=1,B=\"%(ENV_X)s\"", "A", "A=1,,", "K='%(here)s'"],
            ),
            ("directory", &["%(here)s", "/nonexistent", "~"]),
            ("startsecs", &["1", "-1", "9999999999999999999999", "1.5"]),
            ("autorestart", &["true", "unexpected", "maybe"]),
            ("stopsignal", &["TERM", "SIGKILL", "99", "NOPE"]),
            (
                "stdout_logfile",
                &["AUTO", "NONE", "%(here)s/%(program_name)s.log"],
            ),
            ("exitcodes", &["0,2", "", "a"]),
            ("priority", &["1", "-5", "x"]),
        ];
        for _ in 0..rng.below(5) {
            let (k, vals) = rng.pick(options);
            out.push_str(&format!("{k}={}\n", rng.pick(vals)));
        }
    }
    if rng.below(3) == 0 {
        out.push_str("\n[group:g]\nprograms=p0,p1\n");
    }
    if rng.below(3) == 0 {
        out.push_str("\n[include]\nfiles=extra.conf %(here)s/none*.conf\n");
    }
    if rng.below(3) == 0 {
        out.push_str(&format!(
            "\n[unix_http_server]\nfile={}/s.sock\nchmod={}\n",
            dir.display(),
            rng.pick(&["0700", "x", "99999"])
        ));
    }
    out
}

/// Keeps `numprocs` and `numprocs_start` small in mutated configs: the process table's size
/// is bounded by the capacity check, not by this reader, and a million processes per input
/// would only measure memory.
pub fn bounded_counts(text: &str) -> String {
    text.lines()
        .map(|line| {
            let key = line.split('=').next().unwrap_or("").trim();
            if key.starts_with("numprocs") {
                let digits: String = line.chars().filter(char::is_ascii_digit).collect();
                if digits.len() > 2 {
                    return format!("{key}=3");
                }
            }
            line.to_string()
        })
        .collect::<Vec<_>>()
        .join("\n")
}

pub fn fuzz_auth() -> Auth {
    Auth {
        username: "user".into(),
        password: "123".into(),
    }
}

pub struct TempDir(pub PathBuf);

impl TempDir {
    /// In memory (`/dev/shm`) when there is one: a million config files must not wait on a disk.
    pub fn new(tag: &str) -> TempDir {
        let shm = Path::new("/dev/shm");
        let base = if shm.is_dir() {
            shm.to_path_buf()
        } else {
            std::env::temp_dir()
        };
        let p = base.join(format!("sv-{tag}-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&p);
        std::fs::create_dir_all(&p).unwrap();
        TempDir(p)
    }
}

impl Drop for TempDir {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}
