//! Fork and exec of one program instance.
//!
//! Everything the child needs (argv, envp, paths, ids, messages) is built before the child is
//! created; the child then makes only async-signal-safe calls (raw syscalls where libc would
//! touch process-wide state). A CLOEXEC status pipe tells the parent for certain whether
//! `execve` succeeded (EOF) or failed (the child writes its errno).

use std::ffi::{CString, OsStr, OsString};
use std::io;
use std::os::fd::{AsRawFd, FromRawFd, OwnedFd, RawFd};
use std::os::unix::ffi::OsStrExt;
use std::path::Path;
use std::sync::Arc;

use crate::config::UserSpec;

use crate::state::names::errno_name;

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
        let (envp, envp_ptrs) = layered_envp(spec.env.base, spec.env.over)?;
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
        })
    }
}

/// The parent's ends of a new child's pipes.
pub struct ChildPipes {
    pub stdin: OwnedFd,
    pub stdout: OwnedFd,
    pub stderr: Option<OwnedFd>,
    /// Readable end of the exec status pipe.
    pub status: OwnedFd,
}

/// Both ends of the pipes, created before fork.
pub struct PipeSet {
    parent: ChildPipes,
    child_stdin: OwnedFd,
    child_stdout: OwnedFd,
    child_stderr: Option<OwnedFd>,
    child_status: OwnedFd,
}

fn pipe() -> io::Result<(OwnedFd, OwnedFd)> {
    let mut fds = [0; 2];
    // SAFETY: valid out array of two ints.
    if unsafe { libc::pipe2(fds.as_mut_ptr(), libc::O_CLOEXEC) } != 0 {
        return Err(io::Error::last_os_error());
    }
    // SAFETY: pipe2 just returned these fds, owned by nobody else.
    unsafe { Ok((OwnedFd::from_raw_fd(fds[0]), OwnedFd::from_raw_fd(fds[1]))) }
}

impl PipeSet {
    pub fn new(redirect_stderr: bool) -> io::Result<PipeSet> {
        let (child_stdin, stdin) = pipe()?;
        let (stdout, child_stdout) = pipe()?;
        let (stderr, child_stderr) = if redirect_stderr {
            (None, None)
        } else {
            let (r, w) = pipe()?;
            (Some(r), Some(w))
        };
        let (status, child_status) = pipe()?;
        set_nonblocking(stdin.as_raw_fd())?;
        Ok(PipeSet {
            parent: ChildPipes {
                stdin,
                stdout,
                stderr,
                status,
            },
            child_stdin,
            child_stdout,
            child_stderr,
            child_status,
        })
    }
}

impl PipeSet {
    /// Standard streams on /dev/null (for commands whose output nobody reads); the parent
    /// ends are /dev/null too.
    pub fn null() -> io::Result<PipeSet> {
        let open = |write: bool| -> io::Result<OwnedFd> {
            let f = std::fs::OpenOptions::new()
                .read(!write)
                .write(write)
                .open("/dev/null")?;
            Ok(OwnedFd::from(f))
        };
        let (status, child_status) = pipe()?;
        Ok(PipeSet {
            parent: ChildPipes {
                stdin: open(true)?,
                stdout: open(false)?,
                stderr: None,
                status,
            },
            child_stdin: open(false)?,
            child_stdout: open(true)?,
            child_stderr: None,
            child_status,
        })
    }
}

fn set_nonblocking(fd: RawFd) -> io::Result<()> {
    // SAFETY: fcntl on an fd we own.
    unsafe {
        let flags = libc::fcntl(fd, libc::F_GETFL);
        if flags < 0 || libc::fcntl(fd, libc::F_SETFL, flags | libc::O_NONBLOCK) < 0 {
            return Err(io::Error::last_os_error());
        }
    }
    Ok(())
}

/// The child's side of a spawn, as passed through `clone`.
struct ChildArgs<'a> {
    prep: &'a Prepared,
    stdin: RawFd,
    stdout: RawFd,
    stderr: Option<RawFd>,
    status: RawFd,
}

/// Stack for the child between clone and exec (only the child setup runs on it).
const CHILD_STACK: usize = 64 * 1024;

/// A private mapping for the child's stack: only the pages the child touches become resident,
/// and they are returned to the system right after the spawn (a heap buffer would stay
/// resident in supervisord).
struct ChildStack(*mut libc::c_void);

impl ChildStack {
    fn new() -> io::Result<ChildStack> {
        // SAFETY: an anonymous private mapping, owned by the returned value.
        let p = unsafe {
            libc::mmap(
                std::ptr::null_mut(),
                CHILD_STACK,
                libc::PROT_READ | libc::PROT_WRITE,
                libc::MAP_PRIVATE | libc::MAP_ANONYMOUS | libc::MAP_STACK,
                -1,
                0,
            )
        };
        if p == libc::MAP_FAILED {
            return Err(io::Error::last_os_error());
        }
        Ok(ChildStack(p))
    }

    /// The initial stack pointer (stacks grow down), 16-byte aligned.
    fn top(&self) -> *mut libc::c_void {
        ((self.0 as usize + CHILD_STACK) & !15) as *mut libc::c_void
    }
}

impl Drop for ChildStack {
    fn drop(&mut self) {
        // SAFETY: unmapping the mapping created in new(), no longer in use.
        unsafe { libc::munmap(self.0, CHILD_STACK) };
    }
}

extern "C" fn child_main(arg: *mut libc::c_void) -> libc::c_int {
    // SAFETY: `arg` points at the ChildArgs that the parent keeps alive (it is suspended until
    // the child execs or exits).
    unsafe {
        let a = &*(arg as *const ChildArgs<'_>);
        child_exec(a.prep, a.stdin, a.stdout, a.stderr, a.status)
    }
}

/// Starts the child like `posix_spawn` does: `clone(CLONE_VM | CLONE_VFORK)` on a separate
/// stack, so no page tables are copied and the calling thread resumes once the child has
/// exec'd (or failed). Returns the pid and the parent's pipe ends (the child's ends are
/// closed). Must be called with every signal blocked in the calling thread (see
/// [`SignalsBlocked`]) so no handler runs in the child before its dispositions are reset.
pub fn spawn_child(prep: &Prepared, pipes: PipeSet) -> io::Result<(i32, ChildPipes)> {
    let args = ChildArgs {
        prep,
        stdin: pipes.child_stdin.as_raw_fd(),
        stdout: pipes.child_stdout.as_raw_fd(),
        stderr: pipes.child_stderr.as_ref().map(|f| f.as_raw_fd()),
        status: pipes.child_status.as_raw_fd(),
    };
    let stack = ChildStack::new()?;
    // SAFETY: the stack top is inside the mapping (aligned down to 16 bytes) and outlives the
    // child's use of it: CLONE_VFORK suspends us until the child execs or exits.
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
        // SAFETY: reading into a local buffer from an fd we own.
        let n = unsafe { libc::read(status.as_raw_fd(), buf[got..].as_mut_ptr().cast(), 4 - got) };
        if n < 0 && io::Error::last_os_error().raw_os_error() == Some(libc::EINTR) {
            continue;
        }
        if n <= 0 {
            break;
        }
        got += n as usize;
    }
    (got == 4).then(|| i32::from_ne_bytes(buf))
}

unsafe fn write_all(fd: RawFd, b: &[u8]) {
    let mut off = 0;
    while off < b.len() {
        let n = libc::write(fd, b[off..].as_ptr().cast(), b.len() - off);
        if n <= 0 {
            if n < 0 && *libc::__errno_location() == libc::EINTR {
                continue;
            }
            return;
        }
        off += n as usize;
    }
}

/// Reports a failure on the child's stderr and exits 127 like Supervisor's child.
unsafe fn child_fail(prefix: &[u8], err: i32, status_fd: RawFd) -> ! {
    child_fail_text(prefix, errno_name(err).as_bytes(), err, status_fd)
}

unsafe fn child_fail_text(prefix: &[u8], text: &[u8], err: i32, status_fd: RawFd) -> ! {
    write_all(2, prefix);
    write_all(2, text);
    write_all(2, b"\n");
    write_all(2, b"supervisor: child process was not spawned\n");
    write_all(status_fd, &err.to_ne_bytes());
    libc::_exit(127)
}

unsafe fn errno() -> i32 {
    *libc::__errno_location()
}

/// The kernel's sigset size, as the full-width argument variadic `syscall` needs (a plain
/// integer literal would be passed as a 32-bit int with undefined upper bits).
const SIGSET_BYTES: libc::size_t = 8;

/// Default dispositions for every signal and an empty mask. The raw syscall also resets the
/// signals libc reserves for itself (32, 33), which its `sigaction` refuses to touch; an
/// all-zero kernel sigaction is SIG_DFL with no flags on every architecture.
unsafe fn reset_signals() {
    let dfl = [0u64; 4];
    for sig in 1..=64 {
        if sig != libc::SIGKILL && sig != libc::SIGSTOP {
            libc::syscall(
                libc::SYS_rt_sigaction,
                sig,
                dfl.as_ptr(),
                std::ptr::null::<u64>(),
                SIGSET_BYTES,
            );
        }
    }
    let empty = 0u64;
    libc::syscall(
        libc::SYS_rt_sigprocmask,
        libc::SIG_SETMASK,
        &empty as *const u64,
        std::ptr::null::<u64>(),
        SIGSET_BYTES,
    );
}

unsafe fn close_other_fds(keep: RawFd, max_fd: i32) {
    // The status pipe moves to fd 3 so one close_range covers everything else.
    if keep != 3 {
        libc::dup3(keep, 3, libc::O_CLOEXEC);
    }
    let rc = libc::syscall(libc::SYS_close_range, 4u32, u32::MAX, 0u32);
    if rc != 0 {
        for fd in 4..max_fd {
            libc::close(fd);
        }
    }
}

unsafe fn child_exec(
    p: &Prepared,
    stdin: RawFd,
    stdout: RawFd,
    stderr: Option<RawFd>,
    status: RawFd,
) -> ! {
    libc::setpgid(0, 0);
    reset_signals();
    libc::dup2(stdin, 0);
    libc::dup2(stdout, 1);
    libc::dup2(
        if p.redirect_stderr {
            stdout
        } else {
            stderr.unwrap_or(stdout)
        },
        2,
    );
    close_other_fds(status, p.max_fd);
    let status = 3;
    if let Some(u) = &p.user {
        let switch = libc::geteuid() != u.uid;
        if switch && libc::geteuid() != 0 {
            let text = b"Can't drop privilege as nonroot user";
            child_fail_text(&p.setuid_fail_msg, text, libc::EPERM, status);
        }
        // Raw syscalls: libc's wrappers would apply the change to every thread of the
        // (shared-memory) parent.
        if switch
            && (libc::syscall(libc::SYS_setgroups, u.groups.len(), u.groups.as_ptr()) != 0
                || libc::syscall(libc::SYS_setgid, u.gid) != 0
                || libc::syscall(libc::SYS_setuid, u.uid) != 0)
        {
            child_fail(&p.setuid_fail_msg, errno(), status);
        }
    }
    if let Some(cwd) = &p.cwd {
        if libc::chdir(cwd.as_ptr()) != 0 {
            child_fail(&p.chdir_fail_msg, errno(), status);
        }
    }
    if let Some(m) = p.umask {
        libc::umask(m);
    }
    libc::execve(p.path.as_ptr(), p.argv_ptrs.as_ptr(), p.envp_ptrs.as_ptr());
    child_fail(&p.exec_fail_msg, errno(), status)
}

/// Blocks every signal in the calling thread until dropped (around fork).
pub struct SignalsBlocked {
    old: libc::sigset_t,
}

impl SignalsBlocked {
    pub fn new() -> SignalsBlocked {
        // SAFETY: sigset operations on local values.
        unsafe {
            let mut all: libc::sigset_t = std::mem::zeroed();
            let mut old: libc::sigset_t = std::mem::zeroed();
            libc::sigfillset(&mut all);
            libc::pthread_sigmask(libc::SIG_SETMASK, &all, &mut old);
            SignalsBlocked { old }
        }
    }
}

impl Default for SignalsBlocked {
    fn default() -> Self {
        SignalsBlocked::new()
    }
}

impl Drop for SignalsBlocked {
    fn drop(&mut self) {
        // SAFETY: restoring the mask saved in new().
        unsafe {
            libc::pthread_sigmask(libc::SIG_SETMASK, &self.old, std::ptr::null_mut());
        }
    }
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
