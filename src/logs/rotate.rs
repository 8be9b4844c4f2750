//! A log file that rotates by size: after a write leaves it at `maxbytes` or more, `f.N-1 → f.N`
//! … `f → f.1` and a new empty `f` (Supervisor's rule, so a file may exceed maxbytes by one
//! chunk). `backups == 0` truncates in place; `maxbytes == 0` never rotates.

use std::fs::{File, OpenOptions};
use std::io;
use std::os::fd::{AsRawFd, RawFd};
use std::os::unix::fs::OpenOptionsExt;
use std::path::{Path, PathBuf};

use super::fdio;

/// Outcome of one write: how much reached the file and the error that stopped the rest.
#[derive(Debug)]
pub struct Written {
    pub bytes: usize,
    pub error: Option<io::Error>,
}

pub struct RotatingFile {
    path: PathBuf,
    file: File,
    maxbytes: u64,
    backups: u32,
    mode: u32,
    /// Why the last rotation failed, for the owner to report (logging from here could recurse
    /// into the main logger, which owns one of these).
    rotate_error: Option<io::Error>,
    /// The last rotation failed: later failures are not reported again until one succeeds.
    rotate_failing: bool,
}

/// Opens `path` in append mode: every write lands at the current end, also after an external
/// truncation (logrotate's copytruncate) or next to another writer of the same file.
fn open_for_log(path: &Path, mode: u32) -> io::Result<File> {
    OpenOptions::new()
        .append(true)
        .create(true)
        .mode(mode)
        .custom_flags(libc::O_CLOEXEC)
        .open(path)
}

fn ignore_missing(r: io::Result<()>) -> io::Result<()> {
    match r {
        Err(e) if e.kind() == io::ErrorKind::NotFound => Ok(()),
        other => other,
    }
}

/// Renames `from` to `to`, removing `to` first. Removing first (as Supervisor does) matters on
/// ext4: a rename over an existing file makes it flush the source's data at once
/// (`auto_da_alloc`), which cost a third of the capture throughput under rotation.
fn move_over(from: &Path, to: &Path) -> io::Result<()> {
    if !from.exists() {
        return Ok(());
    }
    ignore_missing(std::fs::remove_file(to))?;
    ignore_missing(std::fs::rename(from, to))
}

fn numbered(path: &Path, n: u32) -> PathBuf {
    let mut s = path.as_os_str().to_owned();
    s.push(format!(".{n}"));
    PathBuf::from(s)
}

impl RotatingFile {
    /// Opens (creating with `mode`, subject to the umask) the log file at `path`.
    pub fn open(path: &Path, maxbytes: u64, backups: u32, mode: u32) -> io::Result<Self> {
        let file = open_for_log(path, mode)?;
        Ok(RotatingFile {
            path: path.to_path_buf(),
            file,
            maxbytes,
            backups,
            mode,
            rotate_error: None,
            rotate_failing: false,
        })
    }

    pub fn path(&self) -> &Path {
        &self.path
    }

    pub fn fd(&self) -> RawFd {
        self.file.as_raw_fd()
    }

    /// Appends `data`, then rotates if the size reached maxbytes.
    pub fn write(&mut self, data: &[u8]) -> Written {
        let mut done = 0;
        let mut error = None;
        while done < data.len() {
            match fdio::write(self.fd(), &data[done..]) {
                Ok(0) => {
                    error = Some(io::Error::from(io::ErrorKind::WriteZero));
                    break;
                }
                Ok(n) => done += n,
                Err(e) => {
                    error = Some(e);
                    break;
                }
            }
        }
        if done > 0 && self.maxbytes > 0 {
            // After an append the position is the end of the file: its size (Supervisor's tell()).
            match fdio::position(self.fd()) {
                Ok(size) => self.rotate_if_needed(size),
                Err(e) => error = error.or(Some(e)),
            }
        }
        Written { bytes: done, error }
    }

    fn rotate_if_needed(&mut self, size: u64) {
        if size < self.maxbytes {
            return;
        }
        match self.rotate() {
            Ok(()) => self.rotate_failing = false,
            Err(e) if !self.rotate_failing => {
                self.rotate_failing = true;
                self.rotate_error = Some(e);
            }
            Err(_) => {}
        }
    }

    /// The error of a failed rotation since the last call, if any.
    pub fn take_rotate_error(&mut self) -> Option<io::Error> {
        self.rotate_error.take()
    }

    /// Supervisor's doRollover: shift the numbered backups up by one, the live file to `.1`,
    /// then start a new live file. With no backups the live file is just truncated.
    pub fn rotate(&mut self) -> io::Result<()> {
        if self.backups == 0 {
            return self.file.set_len(0);
        }
        for i in (1..self.backups).rev() {
            move_over(&numbered(&self.path, i), &numbered(&self.path, i + 1))?;
        }
        // The live file may have been moved away already (logrotate without a reopen yet).
        move_over(&self.path, &numbered(&self.path, 1))?;
        self.reopen()
    }

    /// Opens the file at the path again (after an external rename, a new file is created).
    pub fn reopen(&mut self) -> io::Result<()> {
        self.file = open_for_log(&self.path, self.mode)?;
        Ok(())
    }

    /// Removes the file and starts a new empty one (clearLog / clearProcessLogs).
    pub fn clear(&mut self) -> io::Result<()> {
        match std::fs::remove_file(&self.path) {
            Ok(()) => {}
            Err(e) if e.kind() == io::ErrorKind::NotFound => {}
            Err(e) => return Err(e),
        }
        self.reopen()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A temporary directory removed on drop, also when the test fails.
    struct TempDir(PathBuf);

    impl Drop for TempDir {
        fn drop(&mut self) {
            let _ = std::fs::remove_dir_all(&self.0);
        }
    }

    impl std::ops::Deref for TempDir {
        type Target = Path;
        fn deref(&self) -> &Path {
            &self.0
        }
    }

    fn tempdir(tag: &str) -> TempDir {
        let d = std::env::temp_dir().join(format!("sv-rot-{tag}-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&d);
        std::fs::create_dir_all(&d).unwrap();
        TempDir(d)
    }

    fn size(p: &Path) -> u64 {
        std::fs::metadata(p).map(|m| m.len()).unwrap_or(0)
    }

    #[test]
    fn rotates_after_the_write_that_reaches_maxbytes() {
        let d = tempdir("rot");
        let p = d.join("a.log");
        let mut f = RotatingFile::open(&p, 10, 2, 0o644).unwrap();
        f.write(b"12345");
        assert_eq!(size(&p), 5);
        f.write(b"1234567"); // 12 >= 10: rotated, whole chunk in .1
        assert_eq!(size(&p), 0);
        assert_eq!(size(&numbered(&p, 1)), 12);
        f.write(b"abcdefghij");
        assert_eq!(size(&numbered(&p, 2)), 12);
        assert_eq!(size(&numbered(&p, 1)), 10);
        f.write(b"ABCDEFGHIJ"); // oldest is dropped
        assert_eq!(std::fs::read(numbered(&p, 2)).unwrap(), b"abcdefghij");
        assert!(!numbered(&p, 3).exists());
    }

    #[test]
    fn rotation_after_an_external_move_starts_a_new_file() {
        let d = tempdir("moved");
        let p = d.join("a.log");
        let mut f = RotatingFile::open(&p, 10, 2, 0o644).unwrap();
        f.write(b"12345");
        std::fs::rename(&p, d.join("elsewhere")).unwrap();
        f.write(b"1234567"); // rotation: nothing to move, a new live file
        assert!(f.take_rotate_error().is_none());
        assert!(p.exists());
        f.write(b"ab");
        assert_eq!(std::fs::read(&p).unwrap(), b"ab");
    }

    #[test]
    fn a_failing_rotation_is_reported_once_until_it_works() {
        let d = tempdir("rofail");
        let p = d.join("a.log");
        let mut f = RotatingFile::open(&p, 10, 1, 0o644).unwrap();
        // A directory where the first backup must go makes every rotation fail.
        std::fs::create_dir(numbered(&p, 1)).unwrap();
        std::fs::write(numbered(&p, 1).join("x"), b"x").unwrap();
        f.write(b"0123456789");
        assert!(f.take_rotate_error().is_some());
        f.write(b"0123456789");
        assert!(f.take_rotate_error().is_none());
        std::fs::remove_dir_all(numbered(&p, 1)).unwrap();
        f.write(b"0123456789");
        assert!(f.take_rotate_error().is_none());
        assert!(numbered(&p, 1).is_file());
    }

    #[test]
    fn zero_backups_truncate_in_place() {
        let d = tempdir("trunc");
        let p = d.join("a.log");
        let mut f = RotatingFile::open(&p, 10, 0, 0o644).unwrap();
        f.write(b"0123456789AB");
        assert_eq!(size(&p), 0);
        f.write(b"xyz");
        assert_eq!(std::fs::read(&p).unwrap(), b"xyz");
        assert!(!numbered(&p, 1).exists());
    }

    #[test]
    fn zero_maxbytes_never_rotates() {
        let d = tempdir("never");
        let p = d.join("a.log");
        let mut f = RotatingFile::open(&p, 0, 3, 0o644).unwrap();
        for _ in 0..100 {
            f.write(b"0123456789");
        }
        assert_eq!(size(&p), 1000);
    }

    #[test]
    fn writes_land_at_the_end_after_external_truncation() {
        let d = tempdir("copytrunc");
        let p = d.join("a.log");
        let mut f = RotatingFile::open(&p, 0, 0, 0o644).unwrap();
        f.write(b"0123456789");
        std::fs::OpenOptions::new()
            .write(true)
            .open(&p)
            .unwrap()
            .set_len(0)
            .unwrap();
        f.write(b"ab");
        assert_eq!(std::fs::read(&p).unwrap(), b"ab");
    }
}
