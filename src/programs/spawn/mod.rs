//! Fork and exec of one program instance.
//!
//! Everything the child needs (argv, envp, paths, ids, messages) is built before the child is
//! created; the child then makes only async-signal-safe calls (raw syscalls where libc would
//! touch process-wide state). A CLOEXEC status pipe tells the parent for certain whether
//! `execve` succeeded (EOF) or failed (the child writes its errno).

use super::pid_slot::PidSlot;
use std::ffi::{CString, OsStr, OsString};
use std::io;
use std::os::fd::{AsRawFd, BorrowedFd, OwnedFd, RawFd};
use std::os::unix::ffi::OsStrExt;
use std::path::Path;
use std::sync::Arc;

use nix::errno::Errno;
use nix::fcntl::{fcntl, FcntlArg, OFlag};
use nix::sys::signal::{SigSet, SigmaskHow};

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

/// The parent's ends of a new child's pipes.
pub struct ChildPipes {
    pub stdin: OwnedFd,
    pub stdout: OwnedFd,
    pub stderr: Option<OwnedFd>,
    /// Readable end of the exec status pipe.
    pub status: OwnedFd,
    /// Readable end of the readiness pipe (`notify_fd`).
    pub notify: Option<OwnedFd>,
}

/// Both ends of the pipes, created before fork.
pub struct PipeSet {
    parent: ChildPipes,
    child_stdin: OwnedFd,
    child_stdout: OwnedFd,
    child_stderr: Option<OwnedFd>,
    child_status: OwnedFd,
    /// The readiness pipe's write end and the fd number the child gets it on.
    child_notify: Option<(OwnedFd, i32)>,
    /// The child takes the terminal on its stdin as its foreground process group.
    take_tty: bool,
}

fn pipe() -> io::Result<(OwnedFd, OwnedFd)> {
    Ok(nix::unistd::pipe2(OFlag::O_CLOEXEC)?)
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
                notify: None,
            },
            child_stdin,
            child_stdout,
            child_stderr,
            child_status,
            child_notify: None,
            take_tty: false,
        })
    }

    /// Adds an s6-style readiness pipe: the child gets its write end on fd `at`.
    pub fn with_notify_fd(mut self, at: i32) -> io::Result<PipeSet> {
        let (r, w) = pipe()?;
        self.parent.notify = Some(r);
        self.child_notify = Some((w, at));
        Ok(self)
    }
}

impl PipeSet {
    /// Gives the child a duplicate of `fd` as its stdin instead of the pipe (an fcgi-program's
    /// listening socket); the parent keeps its end of the unused pipe, as Supervisor does.
    pub fn with_stdin(mut self, fd: BorrowedFd<'_>) -> io::Result<PipeSet> {
        self.child_stdin = fd.try_clone_to_owned()?;
        Ok(self)
    }

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
                notify: None,
            },
            child_stdin: open(false)?,
            child_stdout: open(true)?,
            child_stderr: None,
            child_status,
            child_notify: None,
            take_tty: false,
        })
    }

    /// supervisord's own stdin, stdout and stderr for the child (the container's command);
    /// the parent ends are /dev/null. When stdin is a terminal the child makes its process
    /// group the terminal's foreground group, as tini's child does: that is what lets Ctrl-C
    /// and job control reach it.
    pub fn inherit() -> io::Result<PipeSet> {
        use std::io::IsTerminal;
        use std::os::fd::AsFd;
        let mut set = PipeSet::null()?;
        // Duplicates at fd 3 or above, close-on-exec (the child's dup2 onto 0-2 clears that).
        set.child_stdin = io::stdin().as_fd().try_clone_to_owned()?;
        set.child_stdout = io::stdout().as_fd().try_clone_to_owned()?;
        set.child_stderr = Some(io::stderr().as_fd().try_clone_to_owned()?);
        set.take_tty = io::stdin().is_terminal();
        Ok(set)
    }
}

fn set_nonblocking(fd: RawFd) -> io::Result<()> {
    let flags = OFlag::from_bits_retain(fcntl(fd, FcntlArg::F_GETFL)?);
    fcntl(fd, FcntlArg::F_SETFL(flags | OFlag::O_NONBLOCK))?;
    Ok(())
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

/// Stack for the child between clone and exec (only the child setup runs on it).
const CHILD_STACK: usize = 64 * 1024;

/// A private mapping for the child's stack: only the pages the child touches become resident,
/// and they are returned to the system right after the spawn (a heap buffer would stay
/// resident in supervisord). Its lowest page is a PROT_NONE guard: a child that overran the
/// stack would fault there instead of writing into whatever mapping lies below (with
/// CLONE_VM, supervisord's own memory).
struct ChildStack {
    base: *mut libc::c_void,
    len: usize,
}

fn page_size() -> usize {
    nix::unistd::sysconf(nix::unistd::SysconfVar::PAGE_SIZE)
        .ok()
        .flatten()
        .map_or(4096, |p| p as usize)
}

impl ChildStack {
    fn new() -> io::Result<ChildStack> {
        let guard = page_size();
        let len = CHILD_STACK + guard;
        // SAFETY: a new anonymous private mapping at an address the kernel picks, so no
        // existing memory is touched; the returned value owns it and unmaps it on drop.
        let base = unsafe {
            libc::mmap(
                std::ptr::null_mut(),
                len,
                libc::PROT_READ | libc::PROT_WRITE,
                libc::MAP_PRIVATE | libc::MAP_ANONYMOUS | libc::MAP_STACK,
                -1,
                0,
            )
        };
        if base == libc::MAP_FAILED {
            return Err(io::Error::last_os_error());
        }
        let stack = ChildStack { base, len };
        // SAFETY: the first page lies inside the mapping just created, which nothing else
        // refers to yet.
        if unsafe { libc::mprotect(base, guard, libc::PROT_NONE) } != 0 {
            return Err(io::Error::last_os_error());
        }
        Ok(stack)
    }

    /// The initial stack pointer (stacks grow down), 16-byte aligned.
    fn top(&self) -> *mut libc::c_void {
        ((self.base as usize + self.len) & !15) as *mut libc::c_void
    }
}

impl Drop for ChildStack {
    fn drop(&mut self) {
        // SAFETY: unmaps exactly the mapping created in new(); the child that ran on it has
        // exec'd or exited (CLONE_VFORK), so nothing uses it any more.
        unsafe { libc::munmap(self.base, self.len) };
    }
}

extern "C" fn child_main(arg: *mut libc::c_void) -> libc::c_int {
    // SAFETY: `arg` points at the ChildArgs that spawn_child keeps alive (it is suspended until
    // the child execs or exits), and this function runs only as the entry of the cloned child.
    unsafe {
        let a = &*(arg as *const ChildArgs<'_>);
        if a.take_tty {
            take_terminal();
        }
        child_exec(a.prep, (a.stdin, a.stdout, a.stderr), a.status, a.notify)
    }
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

/// Writes all of `b` with raw `write` calls (async-signal-safe; errors end it silently).
fn write_all(fd: RawFd, b: &[u8]) {
    let mut off = 0;
    while off < b.len() {
        // SAFETY: the pointer and length describe the live slice `b[off..]`.
        let n = unsafe { libc::write(fd, b[off..].as_ptr().cast(), b.len() - off) };
        if n <= 0 {
            if n < 0 && errno() == libc::EINTR {
                continue;
            }
            return;
        }
        off += n as usize;
    }
}

/// Reports a failure on the child's stderr and exits 127 like Supervisor's child.
///
/// # Safety
///
/// Only for the cloned child before exec: it ends the calling process with `_exit`.
unsafe fn child_fail(prefix: &[u8], err: i32, status_fd: RawFd) -> ! {
    // SAFETY: same contract as ours.
    unsafe { child_fail_text(prefix, errno_name(err).as_bytes(), err, status_fd) }
}

/// # Safety
///
/// Only for the cloned child before exec: it ends the calling process with `_exit`, which
/// runs no destructors and no atexit handlers (they belong to supervisord's memory).
unsafe fn child_fail_text(prefix: &[u8], text: &[u8], err: i32, status_fd: RawFd) -> ! {
    write_all(2, prefix);
    write_all(2, text);
    write_all(2, b"\n");
    write_all(2, b"supervisor: child process was not spawned\n");
    write_all(status_fd, &err.to_ne_bytes());
    // SAFETY: the caller is the child; _exit only ends it.
    unsafe { libc::_exit(127) }
}

fn errno() -> i32 {
    Errno::last_raw()
}

/// The kernel's sigset size, as the full-width argument variadic `syscall` needs (a plain
/// integer literal would be passed as a 32-bit int with undefined upper bits).
const SIGSET_BYTES: libc::size_t = 8;

/// Default dispositions for every signal and an empty mask. The raw syscall also resets the
/// signals libc reserves for itself (32, 33), which its `sigaction` refuses to touch; an
/// all-zero kernel sigaction is SIG_DFL with no flags on every architecture.
///
/// # Safety
///
/// Only for the cloned child before exec: in supervisord it would remove the handlers its
/// signal thread relies on.
unsafe fn reset_signals() {
    let dfl = [0u64; 4];
    for sig in 1..=64 {
        if sig != libc::SIGKILL && sig != libc::SIGSTOP {
            // SAFETY: `dfl` is a live, zeroed kernel sigaction (32 bytes, larger than the
            // kernel's struct); the old-action pointer is null, so nothing is written.
            unsafe {
                libc::syscall(
                    libc::SYS_rt_sigaction,
                    sig,
                    dfl.as_ptr(),
                    std::ptr::null::<u64>(),
                    SIGSET_BYTES,
                )
            };
        }
    }
    let empty = 0u64;
    // SAFETY: `empty` is a live 8-byte kernel sigset; the old-mask pointer is null.
    unsafe {
        libc::syscall(
            libc::SYS_rt_sigprocmask,
            libc::SIG_SETMASK,
            &empty as *const u64,
            std::ptr::null::<u64>(),
            SIGSET_BYTES,
        )
    };
}

/// Leaves `keep` as fd 3 (close-on-exec) and closes every descriptor above it.
///
/// # Safety
///
/// Only for the cloned child (it has its own descriptor table): in supervisord it would close
/// descriptors that `OwnedFd`s and files still own.
unsafe fn close_other_fds(keep: RawFd, max_fd: i32) {
    // SAFETY: integer-only syscalls on the child's own descriptor table (see above).
    unsafe {
        // The status pipe moves to fd 3 so one close_range covers everything else.
        if keep != 3 {
            libc::dup3(keep, 3, libc::O_CLOEXEC);
        }
        close_fds(4, u32::MAX, max_fd);
    }
}

/// Closes fds `first..=last` (close_range, or one by one below `max_fd` without it).
///
/// # Safety
///
/// Only for the cloned child, as [`close_other_fds`].
unsafe fn close_fds(first: u32, last: u32, max_fd: i32) {
    if first > last {
        return;
    }
    // SAFETY: integer-only syscalls on the child's own descriptor table.
    unsafe {
        let rc = libc::syscall(libc::SYS_close_range, first, last, 0u32);
        if rc != 0 {
            let end = i64::from(last).min(i64::from(max_fd) - 1);
            for fd in i64::from(first)..=end {
                libc::close(fd as i32);
            }
        }
    }
}

/// Puts the status pipe on 3 (4 when the readiness fd is 3) and the readiness pipe's write
/// end on its fd number (without close-on-exec), and closes every other fd above 2. Both are
/// first copied above either target so that neither dup can clobber the other's source.
/// Returns where the status pipe now is.
///
/// # Safety
///
/// Only for the cloned child, as [`close_other_fds`].
unsafe fn place_fds(status: RawFd, notify: Option<(RawFd, i32)>, max_fd: i32) -> RawFd {
    let Some((write_end, at)) = notify else {
        // SAFETY: we are the child (this function's contract).
        unsafe { close_other_fds(status, max_fd) };
        return 3;
    };
    let status_at = if at == 3 { 4 } else { 3 };
    let above = at.max(status_at) + 1;
    let (lo, hi) = (status_at.min(at) as u32, status_at.max(at) as u32);
    // SAFETY: integer-only syscalls on the child's own descriptor table.
    unsafe {
        let s = libc::fcntl(status, libc::F_DUPFD_CLOEXEC, above);
        let w = libc::fcntl(write_end, libc::F_DUPFD_CLOEXEC, above);
        libc::dup3(s, status_at, libc::O_CLOEXEC);
        libc::dup2(w, at);
        close_fds(3, lo - 1, max_fd);
        close_fds(lo + 1, hi - 1, max_fd);
        close_fds(hi + 1, u32::MAX, max_fd);
    }
    status_at
}

/// Makes the child's own process group the foreground group of the terminal on fd 0. Runs
/// before the signal mask is cleared: a background group calling tcsetpgrp would otherwise be
/// stopped by SIGTTOU (a blocked SIGTTOU lets the call through). A failure (not our
/// controlling terminal) leaves the terminal as it was, as tini does.
///
/// # Safety
///
/// Only in the cloned child, before `child_exec`, with every signal blocked (two
/// async-signal-safe syscalls).
unsafe fn take_terminal() {
    // SAFETY: setpgid, getpid and tcsetpgrp are async-signal-safe syscalls on the calling
    // process and fd 0; their failure is harmless (see above).
    unsafe {
        libc::setpgid(0, 0);
        libc::tcsetpgrp(0, libc::getpid());
    }
}

/// Sets up the child (process group, signals, standard fds, user, directory, umask) and
/// execs; on any failure reports it and exits 127.
///
/// # Safety
///
/// Only as the entry of the child created by `clone(CLONE_VM | CLONE_VFORK)` in
/// [`spawn_child`], with every signal blocked: it shares supervisord's memory, so it makes
/// only async-signal-safe calls and never returns into Rust code of the parent.
unsafe fn child_exec(
    p: &Prepared,
    (stdin, stdout, stderr): (RawFd, RawFd, Option<RawFd>),
    status: RawFd,
    notify: Option<(RawFd, i32)>,
) -> ! {
    let err_fd = match (p.redirect_stderr, stderr) {
        (false, Some(fd)) => fd,
        _ => stdout,
    };
    // SAFETY: integer-only syscalls on the child's own process group and descriptor table;
    // reset_signals and place_fds are called in the child, as they require; the pid slot is
    // ours alone while the parent is suspended (CLONE_VFORK).
    let status = unsafe {
        libc::setpgid(0, 0);
        reset_signals();
        if let Some(slot) = &p.pid_slot {
            slot.fill(libc::getpid());
        }
        libc::dup2(stdin, 0);
        libc::dup2(stdout, 1);
        libc::dup2(err_fd, 2);
        place_fds(status, notify, p.max_fd)
    };
    if let Some(u) = &p.user {
        let euid = nix::unistd::geteuid().as_raw();
        let switch = euid != u.uid;
        if switch && euid != 0 {
            let text = b"Can't drop privilege as nonroot user";
            // SAFETY: we are the child.
            unsafe { child_fail_text(&p.setuid_fail_msg, text, libc::EPERM, status) };
        }
        // Raw syscalls: libc's wrappers would apply the change to every thread of the
        // (shared-memory) parent.
        // SAFETY: `u.groups` is a live slice of gid_t and its length is passed with it; the
        // id syscalls take integers. They change only this (child) process's credentials.
        let failed = switch
            && unsafe {
                libc::syscall(libc::SYS_setgroups, u.groups.len(), u.groups.as_ptr()) != 0
                    || libc::syscall(libc::SYS_setgid, u.gid) != 0
                    || libc::syscall(libc::SYS_setuid, u.uid) != 0
            };
        if failed {
            // SAFETY: we are the child.
            unsafe { child_fail(&p.setuid_fail_msg, errno(), status) };
        }
    }
    if let Some(cwd) = &p.cwd {
        // SAFETY: `cwd` is a live NUL-terminated string.
        if unsafe { libc::chdir(cwd.as_ptr()) } != 0 {
            // SAFETY: we are the child.
            unsafe { child_fail(&p.chdir_fail_msg, errno(), status) };
        }
    }
    if let Some(m) = p.umask {
        // SAFETY: umask takes an integer and changes only this process's mask.
        unsafe { libc::umask(m) };
    }
    // SAFETY: the path and every entry of the NULL-terminated argv and envp arrays point into
    // CStrings that `p` keeps alive; on success execve does not return.
    unsafe { libc::execve(p.path.as_ptr(), p.argv_ptrs.as_ptr(), p.envp_ptrs.as_ptr()) };
    // SAFETY: we are the child.
    unsafe { child_fail(&p.exec_fail_msg, errno(), status) }
}

/// Blocks every signal in the calling thread until dropped (around fork). [`spawn_child`]
/// takes a reference to one, so it cannot be called without signals blocked.
pub struct SignalsBlocked {
    old: SigSet,
}

impl SignalsBlocked {
    pub fn new() -> SignalsBlocked {
        // pthread_sigmask with valid sets cannot fail.
        let old = SigSet::all()
            .thread_swap_mask(SigmaskHow::SIG_SETMASK)
            .unwrap_or_else(|_| SigSet::empty());
        SignalsBlocked { old }
    }
}

impl Default for SignalsBlocked {
    fn default() -> Self {
        SignalsBlocked::new()
    }
}

impl Drop for SignalsBlocked {
    fn drop(&mut self) {
        let _ = self.old.thread_set_mask();
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

    /// Permissions of the mapping of /proc/self/maps that holds `addr`.
    fn perms_at(addr: usize) -> String {
        let maps = std::fs::read_to_string("/proc/self/maps").unwrap();
        for line in maps.lines() {
            let mut f = line.split_whitespace();
            let (range, perms) = (f.next().unwrap(), f.next().unwrap());
            let (lo, hi) = range.split_once('-').unwrap();
            let lo = usize::from_str_radix(lo, 16).unwrap();
            let hi = usize::from_str_radix(hi, 16).unwrap();
            if (lo..hi).contains(&addr) {
                return perms.to_string();
            }
        }
        panic!("{addr:#x} is not mapped");
    }

    #[test]
    fn child_stack_has_a_guard_page_below_it() {
        let stack = ChildStack::new().unwrap();
        let base = stack.base as usize;
        let page = page_size();
        assert_eq!(stack.len, CHILD_STACK + page);
        assert_eq!(perms_at(base), "---p", "guard page");
        assert_eq!(perms_at(base + page), "rw-p", "lowest usable stack page");
        assert_eq!(perms_at(stack.top() as usize - 16), "rw-p", "stack top");
        assert!(stack.top() as usize <= base + stack.len);
    }
}
