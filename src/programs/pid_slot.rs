//! An environment entry the child completes with its own pid (`WATCHDOG_PID=`): the pid is
//! not known when the environment is built, before the fork, and the child may not allocate.
//! The entry is a buffer with room for any pid; the child, which shares our memory until it
//! execs (CLONE_VM | CLONE_VFORK, the parent suspended), writes its pid's digits into it with
//! plain stores, which is async-signal-safe.

use std::ffi::CStr;

/// Room for the digits of any pid (pid_max is at most 2^22) and the NUL.
const DIGITS: usize = 11;

pub struct PidSlot {
    /// `NAME=` followed by DIGITS zero bytes; owned (from `Box::into_raw`), freed on drop.
    buf: *mut u8,
    len: usize,
    /// Where the digits go.
    value: usize,
}

impl PidSlot {
    /// A slot for variable `name`; `ptr()` is its entry for the envp array.
    pub fn new(name: &str) -> PidSlot {
        let mut v = Vec::with_capacity(name.len() + 1 + DIGITS);
        v.extend_from_slice(name.as_bytes());
        v.push(b'=');
        let value = v.len();
        v.resize(value + DIGITS, 0);
        let boxed = v.into_boxed_slice();
        let len = boxed.len();
        PidSlot {
            buf: Box::into_raw(boxed).cast::<u8>(),
            len,
            value,
        }
    }

    pub fn ptr(&self) -> *const libc::c_char {
        self.buf as *const libc::c_char
    }

    /// Whether `entry` (an envp pointer) is a `NAME=` entry for this slot's variable.
    ///
    /// # Safety
    /// `entry` must point at a NUL-terminated string.
    pub unsafe fn same_name(&self, entry: *const libc::c_char) -> bool {
        // SAFETY: the caller passes a NUL-terminated string (this function's contract).
        let e = unsafe { CStr::from_ptr(entry) }.to_bytes();
        // SAFETY: buf holds `len` >= `value` initialised bytes that we own.
        let name = unsafe { std::slice::from_raw_parts(self.buf, self.value) };
        e.starts_with(name)
    }

    /// Writes `pid` in decimal into the slot. Called in the child between fork and exec:
    /// no allocation, no locks.
    ///
    /// # Safety
    /// Only while the slot is alive and nobody else reads or writes it (the parent is
    /// suspended by CLONE_VFORK).
    pub unsafe fn fill(&self, pid: i32) {
        let mut digits = [0u8; DIGITS];
        let mut n = pid.max(0) as u32;
        let mut i = DIGITS - 1;
        loop {
            i -= 1;
            digits[i] = b'0' + (n % 10) as u8;
            n /= 10;
            if n == 0 || i == 0 {
                break;
            }
        }
        let text = &digits[i..DIGITS - 1];
        // SAFETY: value + at most 10 digits + the NUL stay within the DIGITS bytes after
        // `value`; nobody else touches the slot meanwhile (this function's contract).
        unsafe {
            for (k, b) in text.iter().enumerate() {
                *self.buf.add(self.value + k) = *b;
            }
            *self.buf.add(self.value + text.len()) = 0;
        }
    }
}

impl Drop for PidSlot {
    fn drop(&mut self) {
        // SAFETY: buf/len come from Box::into_raw of a boxed slice of that length.
        unsafe {
            drop(Box::from_raw(std::ptr::slice_from_raw_parts_mut(
                self.buf, self.len,
            )))
        };
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn text(s: &PidSlot) -> String {
        // SAFETY: the slot is a NUL-terminated string we own.
        unsafe { CStr::from_ptr(s.ptr()) }
            .to_string_lossy()
            .into_owned()
    }

    #[test]
    fn fills_any_pid() {
        let s = PidSlot::new("WATCHDOG_PID");
        assert_eq!(text(&s), "WATCHDOG_PID=");
        for (pid, want) in [
            (1, "1"),
            (42, "42"),
            (4_194_304, "4194304"),
            (i32::MAX, "2147483647"),
        ] {
            // SAFETY: single-threaded test, the slot is alive.
            unsafe { s.fill(pid) };
            assert_eq!(text(&s), format!("WATCHDOG_PID={want}"));
        }
        // SAFETY: NUL-terminated literals.
        let (same, other) = unsafe {
            (
                s.same_name(c"WATCHDOG_PID=9".as_ptr()),
                s.same_name(c"WATCHDOG_USEC=9".as_ptr()),
            )
        };
        assert!(same && !other);
    }
}
