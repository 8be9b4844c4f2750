//! The child's stack between clone and exec.

use std::io;

/// Stack for the child between clone and exec (only the child setup runs on it).
const CHILD_STACK: usize = 64 * 1024;

/// A private mapping for the child's stack: only the pages the child touches become resident,
/// and they are returned to the system right after the spawn (a heap buffer would stay
/// resident in supervisord). Its lowest page is a PROT_NONE guard: a child that overran the
/// stack would fault there instead of writing into whatever mapping lies below (with
/// CLONE_VM, supervisord's own memory).
pub(super) struct ChildStack {
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
    pub(super) fn new() -> io::Result<ChildStack> {
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
    pub(super) fn top(&self) -> *mut libc::c_void {
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

#[cfg(test)]
mod tests {
    use super::*;

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
