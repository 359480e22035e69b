//! The sockets a running process holds, read from outside it: pidfd_getfd(2)
//! duplicates each socket into the test, getsockopt(2) and getsockname(2)
//! describe it (the kernel reports SO_RCVBUF as twice what was set, for its
//! bookkeeping).

use std::os::fd::{FromRawFd, OwnedFd};

/// One socket of a process: (domain, protocol, netlink groups, SO_RCVBUF).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct SockInfo {
    pub domain: i32,
    pub protocol: i32,
    pub groups: u32,
    pub rcvbuf: i32,
}

pub fn getsockopt_int(fd: &OwnedFd, name: i32) -> i32 {
    use std::os::fd::AsRawFd;
    let mut v: i32 = 0;
    let mut len = std::mem::size_of::<i32>() as libc::socklen_t;
    // SAFETY: v and len are valid for the kernel to write an int.
    let rc = unsafe {
        libc::getsockopt(fd.as_raw_fd(), libc::SOL_SOCKET, name, (&mut v as *mut i32).cast(), &mut len)
    };
    assert_eq!(rc, 0, "getsockopt {name}: {}", std::io::Error::last_os_error());
    v
}

pub fn netlink_groups(fd: &OwnedFd) -> u32 {
    use std::os::fd::AsRawFd;
    // SAFETY: sockaddr_nl is plain data; getsockname fills at most len bytes.
    let mut sa: libc::sockaddr_nl = unsafe { std::mem::zeroed() };
    let mut len = std::mem::size_of::<libc::sockaddr_nl>() as libc::socklen_t;
    let rc =
        unsafe { libc::getsockname(fd.as_raw_fd(), (&mut sa as *mut libc::sockaddr_nl).cast(), &mut len) };
    assert_eq!(rc, 0, "getsockname: {}", std::io::Error::last_os_error());
    sa.nl_groups
}

/// Every socket `pid` holds, duplicated into this process and examined.
pub fn sockets_of(pid: u32) -> Vec<SockInfo> {
    // SAFETY: plain syscalls; the returned descriptors are owned here.
    let pidfd = unsafe { libc::syscall(libc::SYS_pidfd_open, pid as libc::pid_t, 0) };
    assert!(pidfd >= 0, "pidfd_open {pid}: {}", std::io::Error::last_os_error());
    let pidfd = unsafe { OwnedFd::from_raw_fd(pidfd as i32) };
    let mut out = Vec::new();
    for e in std::fs::read_dir(format!("/proc/{pid}/fd")).expect("fd dir").flatten() {
        let is_socket =
            std::fs::read_link(e.path()).is_ok_and(|t| t.to_string_lossy().starts_with("socket:"));
        let Some(n) = e.file_name().to_str().and_then(|n| n.parse::<i32>().ok()) else { continue };
        if !is_socket {
            continue;
        }
        use std::os::fd::AsRawFd;
        let fd = unsafe { libc::syscall(libc::SYS_pidfd_getfd, pidfd.as_raw_fd(), n, 0) };
        assert!(fd >= 0, "pidfd_getfd {pid}/{n}: {}", std::io::Error::last_os_error());
        let fd = unsafe { OwnedFd::from_raw_fd(fd as i32) };
        let domain = getsockopt_int(&fd, libc::SO_DOMAIN);
        let groups = if domain == libc::AF_NETLINK { netlink_groups(&fd) } else { 0 };
        out.push(SockInfo {
            domain,
            protocol: getsockopt_int(&fd, libc::SO_PROTOCOL),
            groups,
            rcvbuf: getsockopt_int(&fd, libc::SO_RCVBUF),
        });
    }
    out
}
