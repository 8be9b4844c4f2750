//! Test helpers: the test plays a listener process on the far ends of two pipes.

use std::fs::File;
use std::io::{BufRead, BufReader, Read};

use super::bus::EventBus;

pub struct FakeListener {
    pub events_in: BufReader<File>,
    pub replies: File,
}

/// Attaches pipes as listener `group:name` running as `pid`.
pub fn attach(bus: &EventBus, group: &str, name: &str, pid: i32) -> FakeListener {
    let (stdin_r, stdin_w) = nix::unistd::pipe().expect("pipe");
    let (stdout_r, stdout_w) = nix::unistd::pipe().expect("pipe");
    bus.attach_listener(group, name, pid, stdin_w, stdout_r);
    FakeListener {
        events_in: BufReader::new(File::from(stdin_r)),
        replies: File::from(stdout_w),
    }
}

impl FakeListener {
    /// Reads one event: (header line with its newline, payload).
    pub fn read_event(&mut self) -> (String, String) {
        let mut header = String::new();
        self.events_in.read_line(&mut header).expect("header");
        let len: usize = header
            .trim_end()
            .rsplit("len:")
            .next()
            .and_then(|l| l.parse().ok())
            .expect("len");
        let mut body = vec![0u8; len];
        self.events_in.read_exact(&mut body).expect("payload");
        (header, String::from_utf8_lossy(&body).into_owned())
    }
}
