//! Fork and exec of one program instance.
//!
//! Everything the child needs (argv, envp, paths, ids, messages) is built before the child is
//! created; the child then makes only async-signal-safe calls (raw syscalls where libc would
//! touch process-wide state). A CLOEXEC status pipe tells the parent for certain whether
//! `execve` succeeded (EOF) or failed (the child writes its errno).

mod child;
mod pipes;
mod signals;
mod stack;

pub use pipes::{ChildPipes, PipeSet};
pub use signals::SignalsBlocked;

use super::pid_slot::PidSlot;
use std::ffi::{CString, OsStr, OsString};
use std::io;
use std::os::fd::{AsRawFd, OwnedFd, RawFd};
use std::os::unix::ffi::OsStrExt;
use std::path::Path;
use std::sync::Arc;

use nix::errno::Errno;

use crate::config::UserSpec;

use child::child_main;
use stack::ChildStack;

/// What the child runs and how, ready for fork.
pub struct Prepared {
    path: CString,
    _argv: Vec<CString>,
    argv_ptrs: Vec<*const libc::c_char>,
    _envp: Vec<CString>,
    _env_base: Option<Arc<Vec<CString>>>,
    envp_ptrs: Vec<*const libc::c_char>,
    cwd: Option<CString>,
    umask: Option<libc::mode_t>,
    user: Option<PreparedUser>,
    redirect_stderr: bool,
    /// Highest fd to close when close_range is not available.
    max_fd: i32,
    exec_fail_msg: Vec<u8>,
    chdir_fail_msg: Vec<u8>,
    setuid_fail_msg: Vec<u8>,
    /// An entry the child completes with its own pid.
    pid_slot: Option<PidSlot>,
}

struct PreparedUser {
    uid: libc::uid_t,
    gid: libc::gid_t,
    groups: Vec<libc::gid_t>,
}

/// A child's environment.
#[derive(Clone, Copy)]
pub struct Env<'a> {
    /// `KEY=value` entries shared by every spawn.
    pub base: &'a Arc<Vec<CString>>,
    /// The variables that replace or add to them (later ones win). Spawning then allocates
    /// only for these few.
    pub over: &'a [(String, String)],
    /// A variable of `over` whose value the child sets to its own pid (`WATCHDOG_PID`).
    pub pid_var: Option<&'a str>,
}

/// Builds the shared `KEY=value` entries of an environment (entries with NUL bytes are left
/// out: they cannot be passed to a child).
pub fn env_entries(env: &[(OsString, OsString)]) -> Vec<CString> {
    env.iter()
        .filter_map(|(k, v)| env_entry(k, v).ok())
        .collect()
}

fn entry_key(entry: &CString) -> &[u8] {
    let b = entry.as_bytes();
    b.split(|c| *c == b'=').next().unwrap_or(b)
}

/// The entries of `over` (later wins) and the pointer list: the base entries not replaced,
/// then the new ones.
fn layered_envp(
    base: &Arc<Vec<CString>>,
    over: &[(String, String)],
) -> io::Result<(Vec<CString>, Vec<*const libc::c_char>)> {
    let mut own: Vec<CString> = Vec::with_capacity(over.len());
    for (k, v) in over {
        let e = env_entry(OsStr::new(k), OsStr::new(v))?;
        match own.iter_mut().find(|o| entry_key(o) == k.as_bytes()) {
            Some(slot) => *slot = e,
            None => own.push(e),
        }
    }
    let replaced = |e: &CString| own.iter().any(|o| entry_key(o) == entry_key(e));
    let mut ptrs: Vec<*const libc::c_char> = Vec::with_capacity(base.len() + own.len() + 1);
    ptrs.extend(base.iter().filter(|e| !replaced(e)).map(|e| e.as_ptr()));
    ptrs.extend(own.iter().map(|e| e.as_ptr()));
    ptrs.push(std::ptr::null());
    Ok((own, ptrs))
}

/// What one spawn needs to know.
pub struct SpawnSpec<'a> {
    pub path: &'a Path,
    pub argv: &'a [String],
    pub env: Env<'a>,
    pub directory: Option<&'a Path>,
    pub umask: Option<u32>,
    pub user: Option<&'a UserSpec>,
    pub redirect_stderr: bool,
    pub max_fd: i32,
}

fn cstring(bytes: &[u8], what: &str) -> io::Result<CString> {
    CString::new(bytes).map_err(|_| {
        io::Error::new(
            io::ErrorKind::InvalidInput,
            format!("{what} contains a NUL byte"),
        )
    })
}

fn env_entry(k: &OsStr, v: &OsStr) -> io::Result<CString> {
    let mut b = k.as_bytes().to_vec();
    b.push(b'=');
    b.extend_from_slice(v.as_bytes());
    cstring(&b, "environment entry")
}

impl Prepared {
    pub fn new(spec: &SpawnSpec<'_>) -> io::Result<Prepared> {
        let path = cstring(spec.path.as_os_str().as_bytes(), "command")?;
        let argv = spec
            .argv
            .iter()
            .map(|a| cstring(a.as_bytes(), "command argument"))
            .collect::<io::Result<Vec<_>>>()?;
        let (envp, mut envp_ptrs) = layered_envp(spec.env.base, spec.env.over)?;
        let pid_slot = spec.env.pid_var.map(PidSlot::new);
        if let Some(slot) = &pid_slot {
            // SAFETY: every non-null envp pointer points at one of our NUL-terminated entries.
            let at = envp_ptrs
                .iter()
                .position(|p| !p.is_null() && unsafe { slot.same_name(*p) });
            match at {
                Some(i) => envp_ptrs[i] = slot.ptr(),
                None => envp_ptrs.insert(envp_ptrs.len() - 1, slot.ptr()),
            }
        }
        let env_base = Some(spec.env.base.clone());
        let cwd = match spec.directory {
            Some(d) => Some(cstring(d.as_os_str().as_bytes(), "directory")?),
            None => None,
        };
        let argv0 = spec.argv.first().map(String::as_str).unwrap_or("");
        let dir = spec
            .directory
            .map(|d| d.display().to_string())
            .unwrap_or_default();
        let uid = spec.user.map(|u| u.uid).unwrap_or(0);
        let mut argv_ptrs: Vec<_> = argv.iter().map(|a| a.as_ptr()).collect();
        argv_ptrs.push(std::ptr::null());
        Ok(Prepared {
            path,
            _argv: argv,
            argv_ptrs,
            _envp: envp,
            _env_base: env_base,
            envp_ptrs,
            cwd,
            umask: spec.umask.map(|m| m as libc::mode_t),
            user: spec.user.map(|u| PreparedUser {
                uid: u.uid,
                gid: u.gid,
                groups: u.groups.clone(),
            }),
            redirect_stderr: spec.redirect_stderr,
            max_fd: spec.max_fd,
            exec_fail_msg: format!("supervisor: couldn't exec {argv0}: ").into_bytes(),
            chdir_fail_msg: format!("supervisor: couldn't chdir to {dir}: ").into_bytes(),
            setuid_fail_msg: format!("supervisor: couldn't setuid to {uid}: ").into_bytes(),
            pid_slot,
        })
    }
}

/// The child's side of a spawn, as passed through `clone`.
struct ChildArgs<'a> {
    prep: &'a Prepared,
    stdin: RawFd,
    stdout: RawFd,
    stderr: Option<RawFd>,
    status: RawFd,
    /// (write end, fd number in the child) of the readiness pipe.
    notify: Option<(RawFd, i32)>,
    take_tty: bool,
}

/// Starts the child like `posix_spawn` does: `clone(CLONE_VM | CLONE_VFORK)` on a separate
/// stack, so no page tables are copied and the calling thread resumes once the child has
/// exec'd (or failed). Returns the pid and the parent's pipe ends (the child's ends are
/// closed). `_blocked` proves every signal is blocked in the calling thread, so no handler
/// runs in the child (on memory shared with supervisord) before its dispositions are reset.
pub fn spawn_child(
    prep: &Prepared,
    pipes: PipeSet,
    _blocked: &SignalsBlocked,
) -> io::Result<(i32, ChildPipes)> {
    let args = ChildArgs {
        prep,
        stdin: pipes.child_stdin.as_raw_fd(),
        stdout: pipes.child_stdout.as_raw_fd(),
        stderr: pipes.child_stderr.as_ref().map(|f| f.as_raw_fd()),
        status: pipes.child_status.as_raw_fd(),
        notify: pipes
            .child_notify
            .as_ref()
            .map(|(w, at)| (w.as_raw_fd(), *at)),
        take_tty: pipes.take_tty,
    };
    let stack = ChildStack::new()?;
    // SAFETY: the stack top is inside the mapping (aligned down to 16 bytes), above its guard
    // page, and outlives the child's use of it: CLONE_VFORK suspends us until the child execs
    // or exits. `args` lives on our stack for as long. Signals are blocked (`_blocked`), so no
    // handler runs on the child's side of the shared memory; child_main resets them.
    let pid = unsafe {
        libc::clone(
            child_main,
            stack.top(),
            libc::CLONE_VM | libc::CLONE_VFORK | libc::SIGCHLD,
            &args as *const ChildArgs<'_> as *mut libc::c_void,
        )
    };
    if pid < 0 {
        return Err(io::Error::last_os_error());
    }
    drop(stack);
    let PipeSet { parent, .. } = pipes;
    Ok((pid, parent))
}

/// Reads the exec status pipe: `None` when exec succeeded, else the child's errno.
pub fn exec_result(status: OwnedFd) -> Option<i32> {
    let mut buf = [0u8; 4];
    let mut got = 0;
    while got < 4 {
        match nix::unistd::read(status.as_raw_fd(), &mut buf[got..]) {
            Err(Errno::EINTR) => continue,
            Ok(0) | Err(_) => break,
            Ok(n) => got += n,
        }
    }
    (got == 4).then(|| i32::from_ne_bytes(buf))
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::ffi::CStr;

    #[test]
    fn layered_environment_replaces_and_adds() {
        let base: Vec<(OsString, OsString)> = [("PATH", "/bin"), ("HOME", "/root"), ("A", "1")]
            .iter()
            .map(|(k, v)| (OsString::from(k), OsString::from(v)))
            .collect();
        let base = Arc::new(env_entries(&base));
        let over: Vec<(String, String)> = [("A", "2"), ("NEW", "x"), ("A", "3")]
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect();
        let (_own, ptrs) = layered_envp(&base, &over).unwrap();
        assert!(ptrs.last().unwrap().is_null());
        let got: Vec<String> = ptrs[..ptrs.len() - 1]
            .iter()
            // SAFETY: the pointers point into `base` and `_own`, both alive here.
            .map(|p| unsafe { CStr::from_ptr(*p) }.to_string_lossy().into_owned())
            .collect();
        assert_eq!(got, vec!["PATH=/bin", "HOME=/root", "A=3", "NEW=x"]);
    }
}
