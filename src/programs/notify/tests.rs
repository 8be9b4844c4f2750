//! The parser is fed random and adversarial bytes (a small deterministic generator stands in
//! for a fuzzer); the socket is exercised with real datagrams from this process.

use super::*;
use crossbeam_channel::unbounded;
use std::os::unix::net::UnixDatagram;
use std::time::Duration;

/// xorshift64*: deterministic, no dependency.
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        self.0.wrapping_mul(0x2545_F491_4F6C_DD1D)
    }
    fn pick<'a>(&mut self, items: &[&'a str]) -> &'a str {
        items[(self.next() % items.len() as u64) as usize]
    }
}

#[test]
fn known_assignments() {
    let got = parse(b"READY=1\nSTATUS=Serving 3 clients\nWATCHDOG=1\nMAINPID=42\nERRNO=5\n");
    assert_eq!(
        got,
        vec![
            Notice::Ready,
            Notice::Status("Serving 3 clients".into()),
            Notice::Watchdog,
            Notice::MainPid(42),
            Notice::Errno(5),
        ]
    );
    assert_eq!(
        parse(b"STOPPING=1\nRELOADING=1\nWATCHDOG=trigger"),
        vec![Notice::Stopping, Notice::Reloading, Notice::WatchdogTrigger]
    );
}

#[test]
fn junk_is_skipped_or_kept_as_other() {
    assert_eq!(parse(b""), vec![]);
    assert_eq!(parse(b"\n\n"), vec![]);
    assert_eq!(parse(b"READY"), vec![]);
    assert_eq!(parse(b"MAINPID=abc"), vec![]);
    assert_eq!(parse(b"READY=0"), vec![Notice::Other("READY=0".into())]);
    assert_eq!(
        parse(b"STATUS=a\tb\x1b[31m"),
        vec![Notice::Status("a b [31m".into())]
    );
}

#[test]
fn random_bytes_never_panic_and_stay_bounded() {
    let mut rng = Rng(0x9E37_79B9_7F4A_7C15);
    for _ in 0..20_000 {
        let len = (rng.next() % 600) as usize;
        let bytes: Vec<u8> = (0..len).map(|_| rng.next() as u8).collect();
        for n in parse(&bytes) {
            if let Notice::Status(s) | Notice::Other(s) = n {
                assert!(s.len() <= MAX_STATUS, "{s:?}");
                assert!(!s.chars().any(char::is_control), "{s:?}");
            }
        }
    }
}

#[test]
fn random_well_formed_messages_parse_back() {
    let keys = [
        "READY=1",
        "STOPPING=1",
        "WATCHDOG=1",
        "STATUS=",
        "MAINPID=7",
        "X=y",
    ];
    let mut rng = Rng(42);
    for _ in 0..5_000 {
        let count = (rng.next() % 6) as usize;
        let mut lines = Vec::new();
        for _ in 0..count {
            let k = rng.pick(&keys);
            let status = format!("s{}", rng.next() % 1000);
            lines.push(if k == "STATUS=" {
                format!("{k}{status}")
            } else {
                k.to_string()
            });
        }
        let msg = lines.join("\n");
        let got = parse(msg.as_bytes());
        assert_eq!(got.len(), lines.len(), "{msg:?}");
        for (n, line) in got.iter().zip(&lines) {
            let ok = match n {
                Notice::Ready => line == "READY=1",
                Notice::Stopping => line == "STOPPING=1",
                Notice::Watchdog => line == "WATCHDOG=1",
                Notice::MainPid(7) => line == "MAINPID=7",
                Notice::Status(s) => *line == format!("STATUS={s}"),
                Notice::Other(s) => s == line,
                _ => false,
            };
            assert!(ok, "{n:?} from {line:?}");
        }
    }
}

#[test]
fn long_status_is_clipped_at_a_char_boundary() {
    let msg = format!("STATUS={}", "é".repeat(300));
    match &parse(msg.as_bytes())[0] {
        Notice::Status(s) => assert!(s.len() <= MAX_STATUS && s.starts_with('é')),
        other => panic!("{other:?}"),
    }
}

fn send(address: &str, msg: &[u8]) {
    let name = address.strip_prefix('@').unwrap();
    let addr =
        <std::os::unix::net::SocketAddr as std::os::linux::net::SocketAddrExt>::from_abstract_name(
            name.as_bytes(),
        )
        .unwrap();
    let s = UnixDatagram::unbound().unwrap();
    s.send_to_addr(msg, &addr).unwrap();
}

#[test]
fn socket_delivers_datagrams_with_the_senders_pid_and_stops_on_drop() {
    let (tx, rx) = unbounded();
    let sock = NotifySocket::open(tx).unwrap();
    assert!(sock.address().starts_with("@supervisord/"));
    send(sock.address(), b"READY=1\nSTATUS=up");
    let d = rx.recv_timeout(Duration::from_secs(5)).unwrap();
    assert_eq!(d.pid, std::process::id() as i32);
    assert_eq!(d.notices, vec![Notice::Ready, Notice::Status("up".into())]);
    let big = vec![b'A'; MAX_DATAGRAM + 10];
    send(sock.address(), &big);
    send(sock.address(), b"WATCHDOG=1");
    let d = rx.recv_timeout(Duration::from_secs(5)).unwrap();
    assert_eq!(d.notices, vec![Notice::Watchdog], "oversized one dropped");
    drop(sock);
    assert!(rx.recv_timeout(Duration::from_secs(5)).is_err());
}

#[test]
fn only_the_process_and_its_descendants_belong() {
    let me = std::process::id() as i32;
    assert!(belongs_to(me, me));
    assert!(!belongs_to(me, 0));
    assert!(!belongs_to(1, me));
    // SAFETY: getppid has no preconditions.
    let parent = unsafe { libc::getppid() };
    assert!(belongs_to(me, parent));
    assert!(!belongs_to(parent, me));
}
