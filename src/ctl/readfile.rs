//! Supervisor's `readFile` / `tailFile` rules for reading log files by path.

use std::fs::File;
use std::io::{Read, Seek, SeekFrom};
use std::path::Path;

use super::protocol::faults::{self, Fault};

/// Most bytes one read may return: the answer limit. A read asking for more is a FAILED fault
/// before anything is read (Supervisor has no cap; a whole multi-gigabyte log would exhaust
/// the daemon's memory).
pub const MAX_READ: u64 = super::rpc::MAX_ANSWER as u64;

/// Opens a log file for reading without ever blocking (a FIFO would block `open` until a
/// writer appears) and only if it is a regular file.
pub fn open_regular(path: &Path) -> std::io::Result<File> {
    use std::os::unix::fs::OpenOptionsExt;
    let f = std::fs::OpenOptions::new()
        .read(true)
        .custom_flags(libc::O_NONBLOCK)
        .open(path)?;
    if !f.metadata()?.is_file() {
        return Err(std::io::Error::other(format!(
            "{} is not a regular file",
            path.display()
        )));
    }
    Ok(f)
}

/// `readFile(path, offset, length)`: negative offset with length 0 → the last |offset| bytes;
/// offset ≥ 0 → from offset, `length` bytes (0 = to EOF). Other combinations → BAD_ARGUMENTS;
/// I/O errors → FAILED.
pub fn read_file(path: &Path, offset: i64, length: i64) -> Result<Vec<u8>, Fault> {
    let failed = |_| Fault::new(faults::FAILED, None);
    let mut f = open_regular(path).map_err(failed)?;
    let size = f.metadata().map_err(failed)?.len();
    let (start, want) = if offset < 0 {
        if length != 0 {
            return Err(Fault::new(faults::BAD_ARGUMENTS, None));
        }
        let back = offset.unsigned_abs();
        (size.saturating_sub(back), back)
    } else {
        if length < 0 {
            return Err(Fault::new(faults::BAD_ARGUMENTS, None));
        }
        let start = offset as u64;
        let want = if length == 0 {
            size.saturating_sub(start)
        } else {
            length as u64
        };
        (start, want)
    };
    let want = want.min(size.saturating_sub(start));
    if want > MAX_READ {
        let detail = format!(
            "reading {want} bytes would exceed the answer limit of {MAX_READ} bytes; read the log in pieces (offset, length)"
        );
        return Err(Fault::new(faults::FAILED, Some(&detail)));
    }
    read_range(&mut f, start, want).map_err(failed)
}

/// `tailFile(path, offset, length)` → (data, new offset = file size, overflow).
/// A missing or unreadable file gives `("", offset, false)`.
pub fn tail_file(path: &Path, offset: i64, length: i64) -> (Vec<u8>, i64, bool) {
    let Ok(mut f) = open_regular(path) else {
        return (Vec::new(), offset, false);
    };
    let Ok(meta) = f.metadata() else {
        return (Vec::new(), offset, false);
    };
    let sz = meta.len() as i64;
    let (mut offset, mut length) = (offset, length);
    let mut overflow = false;
    if sz > offset.saturating_add(length) {
        overflow = true;
        offset = sz - 1;
    }
    if offset.saturating_add(length) > sz {
        if offset > sz - 1 {
            length = 0;
        }
        offset = sz - length;
    }
    offset = offset.max(0);
    length = length.max(0);
    let data = if length == 0 {
        Vec::new()
    } else {
        // One byte past the limit is enough for the answer limit to refuse it.
        match read_range(&mut f, offset as u64, (length as u64).min(MAX_READ + 1)) {
            Ok(d) => d,
            Err(_) => return (Vec::new(), offset, false),
        }
    };
    (data, sz, overflow)
}

fn read_range(f: &mut File, start: u64, len: u64) -> std::io::Result<Vec<u8>> {
    f.seek(SeekFrom::Start(start))?;
    let mut data = Vec::with_capacity(len.min(16 * 1024 * 1024) as usize);
    f.take(len).read_to_end(&mut data)?;
    Ok(data)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn temp_file(content: &[u8]) -> (std::path::PathBuf, impl Drop) {
        struct Rm(std::path::PathBuf);
        impl Drop for Rm {
            fn drop(&mut self) {
                let _ = std::fs::remove_file(&self.0);
            }
        }
        let path = std::env::temp_dir().join(format!(
            "ctl-readfile-{}-{:?}",
            std::process::id(),
            std::thread::current().id()
        ));
        std::fs::write(&path, content).unwrap();
        (path.clone(), Rm(path))
    }

    #[test]
    fn read_rules() {
        let (p, _g) = temp_file(b"0123456789");
        assert_eq!(read_file(&p, -3, 0).unwrap(), b"789");
        assert_eq!(read_file(&p, -30, 0).unwrap(), b"0123456789");
        assert_eq!(read_file(&p, 2, 0).unwrap(), b"23456789");
        assert_eq!(read_file(&p, 2, 3).unwrap(), b"234");
        assert_eq!(read_file(&p, 20, 3).unwrap(), b"");
        assert_eq!(
            read_file(&p, -3, 1).unwrap_err().code,
            faults::BAD_ARGUMENTS
        );
        assert_eq!(
            read_file(&p, 0, -1).unwrap_err().code,
            faults::BAD_ARGUMENTS
        );
        assert_eq!(
            read_file(Path::new("/nonexistent/x"), 0, 0)
                .unwrap_err()
                .string,
            "FAILED"
        );
    }

    #[test]
    fn tail_rules() {
        let (p, _g) = temp_file(b"0123456789");
        assert_eq!(tail_file(&p, 0, 100), (b"0123456789".to_vec(), 10, false));
        assert_eq!(tail_file(&p, 0, 4), (b"6789".to_vec(), 10, true));
        assert_eq!(tail_file(&p, 10, 4), (b"".to_vec(), 10, false));
        assert_eq!(tail_file(&p, 8, 4), (b"6789".to_vec(), 10, false));
        assert_eq!(
            tail_file(Path::new("/nonexistent/x"), 5, 4),
            (Vec::new(), 5, false)
        );
    }
}
