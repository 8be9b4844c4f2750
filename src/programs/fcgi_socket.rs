//! The listening socket of an `[fcgi-program:x]` group, made as Supervisor's socket manager
//! makes it (`socket=tcp://host:port` with SO_REUSEADDR, or `unix:///path` with
//! `socket_owner`/`socket_mode`, listening with `socket_backlog` or SOMAXCONN). Every process
//! of the group gets it as its fd 0 and calls accept() on it.
//!
//! One socket per group, for the group's whole life: made when the group is added, closed
//! (and a unix socket's file removed) when the last holder lets go, which is when the group is
//! removed (by `update` or `removeProcessGroup`) or at exit. Supervisor instead closes it
//! whenever no process of the group is running and makes it again at the next spawn; keeping
//! it means a restart loses no queued connection and refuses none.

use std::io;
use std::os::fd::{AsFd, AsRawFd, BorrowedFd, OwnedFd};
use std::os::unix::fs::{MetadataExt, PermissionsExt};
use std::path::{Path, PathBuf};
use std::sync::Arc;

use nix::sys::socket::{
    bind, listen, setsockopt, socket, sockopt, AddressFamily, Backlog, SockFlag, SockType,
    SockaddrIn, UnixAddr,
};

use crate::config::convert::colon_separated_user_group;
use crate::config::{FcgiConfig, UserSpec};

pub struct FcgiSocket {
    fd: OwnedFd,
    url: String,
    /// A unix socket's file and its inode, removed on close unless something replaced it.
    unix_file: Option<(PathBuf, u64)>,
}

impl FcgiSocket {
    /// Creates, binds and listens. `user` is the group's `user=`: a unix socket belongs to it
    /// by default when it is not supervisord's own user, as in Supervisor.
    pub fn open(cfg: &FcgiConfig, user: Option<&UserSpec>) -> io::Result<Arc<FcgiSocket>> {
        let made = match cfg.socket.strip_prefix("unix://") {
            Some(path) => open_unix(Path::new(path), cfg, user),
            None => open_tcp(&cfg.socket),
        };
        let socket = made.and_then(|s| listen_on(&s.fd, cfg).map(|()| s));
        let socket = socket.map_err(|e| {
            io::Error::new(
                e.kind(),
                format!("Could not create FastCGI socket {}: {e}", cfg.socket),
            )
        })?;
        log::info!("Creating socket {}", socket.url);
        Ok(Arc::new(socket))
    }

    /// The listening socket, for the child's fd 0.
    pub fn fd(&self) -> BorrowedFd<'_> {
        self.fd.as_fd()
    }

    pub fn url(&self) -> &str {
        &self.url
    }
}

impl Drop for FcgiSocket {
    fn drop(&mut self) {
        log::info!("Closing socket {}", self.url);
        if let Some((path, ino)) = &self.unix_file {
            // Only our own file: a newer group may already have bound the same path.
            let ours = std::fs::symlink_metadata(path).is_ok_and(|m| m.ino() == *ino);
            if ours {
                if let Err(e) = std::fs::remove_file(path) {
                    log::warn!("cannot remove socket file {}: {e}", path.display());
                }
            }
        }
    }
}

fn listen_on(fd: &OwnedFd, cfg: &FcgiConfig) -> io::Result<()> {
    let backlog = match cfg.socket_backlog {
        Some(n) => Backlog::new(n as i32)?,
        None => Backlog::MAXCONN,
    };
    Ok(listen(fd, backlog)?)
}

/// A bound AF_INET socket with SO_REUSEADDR (so a group re-added by `update` can bind again
/// at once).
fn open_tcp(url: &str) -> io::Result<FcgiSocket> {
    let rest = url.trim_start_matches("tcp://");
    let bad = || io::Error::new(io::ErrorKind::InvalidInput, "bad socket url");
    let (host, port) = rest.rsplit_once(':').ok_or_else(bad)?;
    let port: u16 = port.parse().map_err(|_| bad())?;
    // Supervisor binds AF_INET: the first IPv4 address the host resolves to.
    let addr = std::net::ToSocketAddrs::to_socket_addrs(&(host, port))?
        .find_map(|a| match a {
            std::net::SocketAddr::V4(v4) => Some(v4),
            std::net::SocketAddr::V6(_) => None,
        })
        .ok_or_else(|| io::Error::new(io::ErrorKind::NotFound, "no IPv4 address"))?;
    let fd = socket(
        AddressFamily::Inet,
        SockType::Stream,
        SockFlag::SOCK_CLOEXEC,
        None,
    )?;
    setsockopt(&fd, sockopt::ReuseAddr, &true)?;
    bind(fd.as_raw_fd(), &SockaddrIn::from(addr))?;
    Ok(FcgiSocket {
        fd,
        url: url.to_string(),
        unix_file: None,
    })
}

/// A bound unix socket at `path` (a stale file there is removed first), chowned and chmodded.
fn open_unix(path: &Path, cfg: &FcgiConfig, user: Option<&UserSpec>) -> io::Result<FcgiSocket> {
    if std::fs::symlink_metadata(path).is_ok() {
        std::fs::remove_file(path)?;
    }
    let fd = socket(
        AddressFamily::Unix,
        SockType::Stream,
        SockFlag::SOCK_CLOEXEC,
        None,
    )?;
    bind(fd.as_raw_fd(), &UnixAddr::new(path)?)?;
    let ino = std::fs::symlink_metadata(path)?.ino();
    let socket = FcgiSocket {
        fd,
        url: format!("unix://{}", path.display()),
        unix_file: Some((path.to_path_buf(), ino)),
    };
    // From here on a failure drops `socket`, which removes the file again.
    if let Some((uid, gid)) = owner(cfg, user)? {
        std::os::unix::fs::lchown(path, Some(uid), (gid != u32::MAX).then_some(gid))?;
    }
    std::fs::set_permissions(path, std::fs::Permissions::from_mode(cfg.socket_mode)).map_err(
        |e| {
            io::Error::new(
                e.kind(),
                format!("Could not change permissions of socket file: {e}"),
            )
        },
    )?;
    Ok(socket)
}

/// `socket_owner` (`user[:group]`), else the group's user when it is not ours.
fn owner(cfg: &FcgiConfig, user: Option<&UserSpec>) -> io::Result<Option<(u32, u32)>> {
    if let Some(spec) = &cfg.socket_owner {
        let pair = colon_separated_user_group(spec)
            .map_err(|m| io::Error::new(io::ErrorKind::InvalidInput, m))?;
        return Ok(Some(pair));
    }
    let me = nix::unistd::getuid().as_raw();
    Ok(user.filter(|u| u.uid != me).map(|u| (u.uid, u.gid)))
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::os::unix::fs::FileTypeExt;

    fn cfg(socket: &str) -> FcgiConfig {
        FcgiConfig {
            socket: socket.into(),
            socket_owner: None,
            socket_mode: 0o660,
            socket_backlog: Some(5),
        }
    }

    #[test]
    fn unix_socket_file_lives_as_long_as_the_socket() {
        let dir = std::env::temp_dir().join(format!("fcgi-sock-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let path = dir.join("app.sock");
        std::fs::write(&path, "stale").unwrap();
        let sock = FcgiSocket::open(&cfg(&format!("unix://{}", path.display())), None).unwrap();
        let meta = std::fs::symlink_metadata(&path).unwrap();
        assert!(meta.file_type().is_socket());
        assert_eq!(meta.mode() & 0o777, 0o660);
        std::os::unix::net::UnixStream::connect(&path).expect("connect while open");
        drop(sock);
        assert!(!path.exists());
        let _ = std::fs::remove_dir_all(&dir);
    }

    #[test]
    fn tcp_socket_accepts_and_binds_again_after_close() {
        let probe = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        let port = probe.local_addr().unwrap().port();
        drop(probe);
        let url = format!("tcp://127.0.0.1:{port}");
        let sock = FcgiSocket::open(&cfg(&url), None).unwrap();
        std::net::TcpStream::connect(("127.0.0.1", port)).expect("connect");
        drop(sock);
        let again = FcgiSocket::open(&cfg(&url), None).expect("bind again");
        assert_eq!(again.url(), url);
    }

    #[test]
    fn errors_name_the_socket() {
        let e = FcgiSocket::open(&cfg("unix:///nonexistent-dir/x.sock"), None)
            .err()
            .unwrap();
        assert!(
            e.to_string()
                .starts_with("Could not create FastCGI socket unix:///nonexistent-dir/x.sock: "),
            "{e}"
        );
    }
}
