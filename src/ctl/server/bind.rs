//! Opening the listening sockets: TCP, and the unix socket with Supervisor's stale-socket
//! rules (a live server's socket is never replaced).

use std::io;
use std::net::TcpListener;
use std::os::unix::fs::{MetadataExt, PermissionsExt};
use std::os::unix::net::{UnixListener, UnixStream};
use std::path::{Path, PathBuf};

pub const ADDRESS_IN_USE: &str = "Another program is already listening on a port that one of our HTTP servers is configured to use.  Shut this program down first before starting supervisord.";

pub fn announce(section: &str, has_auth: bool, supervisor_ns: bool) {
    if supervisor_ns {
        log::info!("RPC interface 'supervisor' initialized");
    }
    if !has_auth {
        log::error!(target: "crit", "Server '{section}' running without any HTTP authentication checking");
    }
}

fn bind_error(e: io::Error) -> io::Error {
    if e.raw_os_error() == Some(libc::EADDRINUSE) {
        return io::Error::new(io::ErrorKind::AddrInUse, ADDRESS_IN_USE);
    }
    let code = e.raw_os_error().unwrap_or(0);
    let name = match code {
        libc::EACCES => "EACCES",
        libc::EADDRNOTAVAIL => "EADDRNOTAVAIL",
        libc::ENOENT => "ENOENT",
        libc::ENOTDIR => "ENOTDIR",
        libc::EROFS => "EROFS",
        libc::EPERM => "EPERM",
        libc::ENAMETOOLONG => "ENAMETOOLONG",
        _ => "",
    };
    let msg = if name.is_empty() {
        format!("Cannot open an HTTP server: socket.error reported {code}")
    } else {
        format!("Cannot open an HTTP server: socket.error reported errno.{name} ({code})")
    };
    io::Error::new(e.kind(), msg)
}

pub fn bind_tcp(host: &str, port: u16) -> io::Result<TcpListener> {
    let host = if host.is_empty() || host == "*" {
        "0.0.0.0"
    } else {
        host
    };
    TcpListener::bind((host, port)).map_err(bind_error)
}

/// Whether something accepts connections on the socket at `path`.
fn socket_in_use(path: &Path) -> bool {
    UnixStream::connect(path).is_ok()
}

/// Binds `<file>.<pid>`, sets its mode and owner, then hard-links it to `<file>` (so a live
/// server's socket is never replaced); a stale `<file>` is unlinked with a note on stderr.
pub fn bind_unix(
    file: &Path,
    chmod: u32,
    chown: Option<(u32, u32)>,
) -> io::Result<(UnixListener, u64)> {
    let mut temp = file.as_os_str().to_owned();
    temp.push(format!(".{}", std::process::id()));
    let temp = PathBuf::from(temp);
    let _ = std::fs::remove_file(&temp);
    let mut attempts = 0;
    loop {
        attempts += 1;
        let listener = UnixListener::bind(&temp).map_err(bind_error)?;
        let outcome = (|| -> io::Result<u64> {
            std::fs::set_permissions(&temp, std::fs::Permissions::from_mode(chmod))?;
            match std::fs::hard_link(&temp, file) {
                Ok(()) => {}
                Err(e) if e.kind() == io::ErrorKind::AlreadyExists => {
                    return Err(e);
                }
                Err(e) => return Err(bind_error(e)),
            }
            if let Some((uid, gid)) = chown {
                nix::unistd::chown(file, Some(uid.into()), Some(gid.into())).map_err(|e| {
                    io::Error::other(format!(
                        "Not permitted to chown {} to uid/gid ({uid}, {gid}): {e}",
                        file.display()
                    ))
                })?;
            }
            Ok(std::fs::metadata(file)?.ino())
        })();
        let _ = std::fs::remove_file(&temp);
        match outcome {
            Ok(ino) => return Ok((listener, ino)),
            Err(e) if e.kind() == io::ErrorKind::AlreadyExists && attempts < 5 => {
                drop(listener);
                if socket_in_use(file) {
                    return Err(io::Error::new(io::ErrorKind::AddrInUse, ADDRESS_IN_USE));
                }
                if file.symlink_metadata().is_ok_and(|m| m.is_dir()) {
                    return Err(io::Error::new(
                        io::ErrorKind::AlreadyExists,
                        format!(
                            "Cannot open an HTTP server: {} is a directory, not a socket",
                            file.display()
                        ),
                    ));
                }
                crate::util::write_stderr(&format!("Unlinking stale socket {}\n", file.display()));
                match std::fs::remove_file(file) {
                    Err(e) if e.kind() != io::ErrorKind::NotFound => {
                        return Err(io::Error::new(
                            e.kind(),
                            format!(
                                "Cannot open an HTTP server: cannot remove the stale socket {}: {e}",
                                file.display()
                            ),
                        ));
                    }
                    _ => {}
                }
            }
            Err(e) if e.kind() == io::ErrorKind::AlreadyExists => {
                return Err(io::Error::new(io::ErrorKind::AddrInUse, ADDRESS_IN_USE));
            }
            Err(e) => return Err(e),
        }
    }
}
