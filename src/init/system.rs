//! Process-wide duties, one small function each: standard fds, resource limits, privileges,
//! daemonizing, the pidfile, PID-1 signal dispositions and the descendant scan.

use std::collections::HashMap;
use std::io;
use std::path::Path;

use nix::fcntl::{fcntl, FcntlArg, OFlag};
use nix::sys::resource::{getrlimit, setrlimit, Resource, RLIM_INFINITY};
use nix::sys::stat::Mode;
use nix::unistd::{Gid, Uid};

use crate::config::UserSpec;

/// Opens /dev/null for reading and writing (not close-on-exec: it becomes a standard fd).
fn open_dev_null() -> nix::Result<i32> {
    nix::fcntl::open("/dev/null", OFlag::O_RDWR, Mode::empty())
}

/// Opens /dev/null on any of fds 0-2 that is closed, so pipes created later never land there.
pub fn ensure_std_fds() {
    for fd in 0..3 {
        if fcntl(fd, FcntlArg::F_GETFD).is_err() {
            if let Ok(null) = open_dev_null() {
                if null != fd {
                    let _ = nix::unistd::dup2(null, fd);
                    let _ = nix::unistd::close(null);
                }
            }
        }
    }
}

/// One malloc arena for all threads: the workers allocate little, and per-thread arenas
/// would multiply the resident memory of a mostly idle daemon.
pub fn limit_malloc_arenas() {
    #[cfg(target_env = "gnu")]
    // SAFETY: mallopt with a documented parameter, before any other thread exists (no safe
    // wrapper exists).
    unsafe {
        libc::mallopt(libc::M_ARENA_MAX, 1);
    }
}

pub fn is_pid1() -> bool {
    std::process::id() == 1
}

/// A container init must not be stopped by terminal job control signals.
pub fn ignore_job_control() {
    // SAFETY: SIG_IGN installs no handler, so no code can run in signal context (nix's
    // `signal` is unsafe for the same reason).
    unsafe {
        libc::signal(libc::SIGTTIN, libc::SIG_IGN);
        libc::signal(libc::SIGTTOU, libc::SIG_IGN);
    }
}

pub fn ignore_sigpipe() {
    // SAFETY: SIG_IGN installs no handler, so no code can run in signal context.
    unsafe {
        libc::signal(libc::SIGPIPE, libc::SIG_IGN);
    }
}

/// Raises a soft limit to `min` (and the hard one when we may, like Supervisor); returns the
/// new limit when it was raised, or on failure the hard limit Supervisor reports.
pub fn raise_limit(resource: Resource, min: u64) -> Result<Option<u64>, u64> {
    let Ok((soft, max)) = getrlimit(resource) else {
        return Ok(None);
    };
    if soft >= min || soft == RLIM_INFINITY {
        return Ok(None);
    }
    let hard = if max < min && max != RLIM_INFINITY {
        min
    } else {
        max
    };
    match setrlimit(resource, min, hard) {
        Ok(()) => Ok(Some(min)),
        Err(_) => Err(hard),
    }
}

/// The soft RLIMIT_NOFILE (where a child's fd cleanup stops when close_range is missing).
pub fn max_fd() -> i32 {
    let soft = getrlimit(Resource::RLIMIT_NOFILE).map_or(0, |(soft, _)| soft);
    soft.min(1 << 20) as i32
}

/// Switches supervisord itself to `user` (groups, gid, then uid).
pub fn drop_privileges(user: &UserSpec) -> Result<(), String> {
    let euid = nix::unistd::geteuid();
    if euid.as_raw() == user.uid {
        return Ok(());
    }
    if !euid.is_root() {
        return Err("Can't drop privilege as nonroot user".into());
    }
    let groups: Vec<Gid> = user.groups.iter().map(|&g| Gid::from_raw(g)).collect();
    nix::unistd::setgroups(&groups)
        .and_then(|()| nix::unistd::setgid(Gid::from_raw(user.gid)))
        .and_then(|()| nix::unistd::setuid(Uid::from_raw(user.uid)))
        .map_err(|e| io::Error::from(e).to_string())
}

/// Supervisor's daemonize: fork (the parent exits 0), new session, chdir, stdio on /dev/null,
/// umask. Must run before any thread is started.
pub fn daemonize(directory: Option<&Path>, umask: u32) -> io::Result<()> {
    // SAFETY: no other thread exists yet, so the child inherits no lock held by another
    // thread; the parent leaves at once with _exit (no destructors, no atexit handlers).
    unsafe {
        match libc::fork() {
            -1 => return Err(io::Error::last_os_error()),
            0 => {}
            _ => libc::_exit(0),
        }
    }
    let _ = nix::unistd::setsid();
    if let Some(dir) = directory {
        std::env::set_current_dir(dir)?;
    }
    if let Ok(null) = open_dev_null() {
        for fd in 0..3 {
            let _ = nix::unistd::dup2(null, fd);
        }
        if null > 2 {
            let _ = nix::unistd::close(null);
        }
    }
    nix::sys::stat::umask(Mode::from_bits_truncate(umask as libc::mode_t));
    Ok(())
}

pub fn write_pidfile(path: &Path) -> io::Result<()> {
    std::fs::write(path, format!("{}\n", std::process::id()))
}

/// Gives the heap pages malloc holds free back to the kernel: start-up (many threads
/// allocating at once) leaves free memory behind that an idle supervisord never reuses.
pub fn release_free_heap() {
    #[cfg(target_env = "gnu")]
    // SAFETY: malloc_trim only releases memory malloc holds free.
    unsafe {
        libc::malloc_trim(0);
    }
}

/// Whether /proc shows our own pid namespace (a pid namespace without its own /proc mount
/// shows another namespace's pids there).
pub fn proc_is_ours() -> bool {
    std::fs::read_link("/proc/self")
        .map(|p| p.to_string_lossy() == std::process::id().to_string())
        .unwrap_or(false)
}

/// Pids of every living (non-zombie) descendant of `root`, from /proc.
pub fn descendants(root: i32) -> Vec<i32> {
    let mut children: HashMap<i32, Vec<i32>> = HashMap::new();
    let Ok(dir) = std::fs::read_dir("/proc") else {
        return Vec::new();
    };
    for entry in dir.flatten() {
        let Some(pid) = entry
            .file_name()
            .to_str()
            .and_then(|s| s.parse::<i32>().ok())
        else {
            continue;
        };
        if let Some((ppid, zombie)) = parent_of(pid) {
            if !zombie {
                children.entry(ppid).or_default().push(pid);
            }
        }
    }
    let mut out = Vec::new();
    let mut todo = vec![root];
    while let Some(p) = todo.pop() {
        if let Some(kids) = children.get(&p) {
            for &k in kids {
                out.push(k);
                todo.push(k);
            }
        }
    }
    out
}

/// (ppid, is zombie) from /proc/<pid>/stat; the command name may hold spaces and parens.
fn parent_of(pid: i32) -> Option<(i32, bool)> {
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).ok()?;
    let rest = &stat[stat.rfind(')')? + 1..];
    let mut fields = rest.split_whitespace();
    let state = fields.next()?;
    let ppid = fields.next()?.parse().ok()?;
    Some((ppid, state == "Z" || state == "X"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn finds_own_children() {
        let mut child = std::process::Command::new("sleep")
            .arg("5")
            .spawn()
            .unwrap();
        let me = std::process::id() as i32;
        assert!(descendants(me).contains(&(child.id() as i32)));
        child.kill().unwrap();
        child.wait().unwrap();
    }
}
