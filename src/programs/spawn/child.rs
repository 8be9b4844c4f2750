//! What runs only in the cloned child, between clone and exec: async-signal-safe calls on
//! memory shared with supervisord (CLONE_VM), then execve or `_exit(127)`.

use std::os::fd::RawFd;

use nix::errno::Errno;

use super::{ChildArgs, Prepared};
use crate::state::names::errno_name;

pub(super) extern "C" fn child_main(arg: *mut libc::c_void) -> libc::c_int {
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
/// [`spawn_child`](super::spawn_child), with every signal blocked: it shares supervisord's memory, so it makes
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
