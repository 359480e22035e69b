//! The I/O edge: raw sockets, rtnetlink, ARP and neighbour discovery, and
//! the host's other sources and sinks the engines use (inotify, the process
//! connector and /proc, sysctls, FIFOs, the passwd/group files, the files
//! the daemon writes for itself).
//!
//! Everything here moves opaque bytes plus metadata between the kernel and
//! the pure protocol core; no VRRP payload is parsed or built here. Sockets
//! are opened non-blocking and close-on-exec and expose their fd so the
//! daemon can register them with mio through `mio::unix::SourceFd`.
//! Replies from the kernel are untrusted input: malformed bytes become an
//! [`Error`], never a panic.

pub mod addr;
pub mod fifo;
pub mod file;
pub mod garp;
pub mod heap;
pub mod icmp;
pub mod inotify;
pub mod link;
pub mod macvlan;
pub mod netlink;
pub mod nftables;
pub mod proc_connector;
pub mod proc_scan;
pub mod route;
pub mod rule;
pub mod state_file;
pub mod sysctl;
pub mod track_file;
pub mod users;
pub mod vrrp_socket;

mod fd;

use std::borrow::Cow;
use std::fmt;

/// An errno plus what we were doing when it happened.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Error {
    errno: i32,
    /// Borrowed when fixed: an EAGAIN on every drained socket allocates nothing.
    context: Cow<'static, str>,
}

pub type Result<T> = std::result::Result<T, Error>;

impl Error {
    pub fn new(errno: i32, context: impl Into<Cow<'static, str>>) -> Error {
        Error { errno, context: context.into() }
    }

    /// The calling thread's current `errno`.
    pub fn last(context: impl Into<Cow<'static, str>>) -> Error {
        let errno = std::io::Error::last_os_error().raw_os_error().unwrap_or(libc::EIO);
        Error::new(errno, context)
    }

    /// A malformed message from the kernel or the wire.
    pub fn malformed(context: impl Into<Cow<'static, str>>) -> Error {
        Error::new(libc::EBADMSG, context)
    }

    /// An argument we refuse before asking the kernel.
    pub fn invalid(context: impl Into<Cow<'static, str>>) -> Error {
        Error::new(libc::EINVAL, context)
    }

    pub fn errno(&self) -> i32 {
        self.errno
    }

    pub fn context(&self) -> &str {
        &self.context
    }

    /// A non-blocking socket has nothing more to give: stop draining.
    pub fn is_would_block(&self) -> bool {
        self.errno == libc::EAGAIN || self.errno == libc::EWOULDBLOCK
    }
}

impl fmt::Display for Error {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}: {}", self.context, std::io::Error::from_raw_os_error(self.errno))
    }
}

impl std::error::Error for Error {}

impl From<Error> for std::io::Error {
    fn from(e: Error) -> std::io::Error {
        std::io::Error::new(std::io::Error::from_raw_os_error(e.errno).kind(), e.to_string())
    }
}

#[cfg(test)]
mod test {
    use super::*;

    #[test]
    fn display_has_context_and_reason() {
        let e = Error::new(libc::EEXIST, "add 198.18.0.1/32 on eth0");
        assert!(e.to_string().starts_with("add 198.18.0.1/32 on eth0: "));
        assert!(e.to_string().contains("exists"));
        assert!(Error::new(libc::EAGAIN, "x").is_would_block());
    }
}
