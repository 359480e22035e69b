//! Thin wrappers over the process syscalls the supervisor needs.

use std::io;
use std::os::unix::io::{FromRawFd, OwnedFd, RawFd};

pub type Pid = libc::pid_t;

pub enum Fork {
    Parent(Pid),
    Child,
}

/// fork(2). The caller is single-threaded, so the child may keep running
/// Rust code.
pub fn fork() -> io::Result<Fork> {
    // SAFETY: vigil is single-threaded at every fork.
    match unsafe { libc::fork() } {
        -1 => Err(io::Error::last_os_error()),
        0 => Ok(Fork::Child),
        pid => Ok(Fork::Parent(pid)),
    }
}

/// A connected non-blocking AF_UNIX SOCK_SEQPACKET pair: message boundaries
/// are kept, and a closed peer reads as EOF.
pub fn seqpacket_pair() -> io::Result<(OwnedFd, OwnedFd)> {
    let mut fds = [0; 2];
    let ty = libc::SOCK_SEQPACKET | libc::SOCK_NONBLOCK | libc::SOCK_CLOEXEC;
    // SAFETY: fds has room for two descriptors.
    if unsafe { libc::socketpair(libc::AF_UNIX, ty, 0, fds.as_mut_ptr()) } != 0 {
        return Err(io::Error::last_os_error());
    }
    // SAFETY: socketpair just returned these.
    Ok(unsafe { (OwnedFd::from_raw_fd(fds[0]), OwnedFd::from_raw_fd(fds[1])) })
}

/// Close every descriptor except `keep`. Used by a fresh child so it holds
/// nothing of the parent's (pid file lock, other children's sockets, epoll).
pub fn close_fds_except(keep: &[RawFd]) {
    let listed: Vec<RawFd> = match std::fs::read_dir("/proc/self/fd") {
        Ok(dir) => dir.filter_map(|e| e.ok()?.file_name().to_str()?.parse().ok()).collect(),
        // No /proc: walk the whole fd range.
        Err(_) => (0..open_max()).collect(),
    };
    for fd in listed {
        if !keep.contains(&fd) {
            // SAFETY: closing a descriptor no Rust object of this child will use.
            unsafe { libc::close(fd) };
        }
    }
}

fn open_max() -> RawFd {
    // SAFETY: sysconf has no memory arguments.
    let n = unsafe { libc::sysconf(libc::_SC_OPEN_MAX) };
    n.clamp(256, 65536) as RawFd
}

/// Ask the kernel for SIGTERM when the parent dies, then check it has not
/// already died (the request only covers deaths after it is made).
pub fn die_with_parent(parent: Pid) -> bool {
    // SAFETY: prctl with integer arguments only.
    unsafe { libc::prctl(libc::PR_SET_PDEATHSIG, libc::SIGTERM as libc::c_ulong, 0, 0, 0) };
    parent_alive(parent)
}

pub fn parent_alive(parent: Pid) -> bool {
    // SAFETY: no arguments.
    unsafe { libc::getppid() == parent }
}

pub fn kill(pid: Pid, sig: libc::c_int) {
    // SAFETY: no memory arguments; a vanished pid only yields ESRCH.
    unsafe { libc::kill(pid, sig) };
}

pub fn getpid() -> Pid {
    // SAFETY: no arguments.
    unsafe { libc::getpid() }
}

/// How a child ended.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Exit {
    Code(i32),
    Signal(i32),
}

impl std::fmt::Display for Exit {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Exit::Code(c) => write!(f, "exit code {c}"),
            Exit::Signal(s) => write!(f, "signal {s}"),
        }
    }
}

/// Reap every child that has exited, without blocking.
pub fn reap() -> Vec<(Pid, Exit)> {
    let mut out = Vec::new();
    loop {
        let mut status = 0;
        // SAFETY: status is a valid out-pointer.
        let pid = unsafe { libc::waitpid(-1, &mut status, libc::WNOHANG) };
        if pid <= 0 {
            return out;
        }
        let exit = if libc::WIFEXITED(status) {
            Exit::Code(libc::WEXITSTATUS(status))
        } else {
            Exit::Signal(libc::WTERMSIG(status))
        };
        out.push((pid, exit));
    }
}

/// Detach from the terminal: fork, setsid, fork again (so we can never
/// reacquire a controlling tty), chdir /, and point stdio at /dev/null
/// (stdout/stderr stay when logging to the console).
pub fn daemonize(keep_console: bool) -> io::Result<()> {
    for step in 0..2 {
        match fork()? {
            // SAFETY: _exit skips atexit handlers and buffers the child also owns.
            Fork::Parent(_) => unsafe { libc::_exit(0) },
            Fork::Child => {}
        }
        // SAFETY: no arguments.
        if step == 0 && unsafe { libc::setsid() } < 0 {
            return Err(io::Error::last_os_error());
        }
    }
    std::env::set_current_dir("/")?;
    let null = std::fs::OpenOptions::new().read(true).write(true).open("/dev/null")?;
    let null_fd = std::os::unix::io::AsRawFd::as_raw_fd(&null);
    let targets: &[RawFd] = if keep_console { &[0] } else { &[0, 1, 2] };
    for &fd in targets {
        // SAFETY: both descriptors are open.
        if unsafe { libc::dup2(null_fd, fd) } < 0 {
            return Err(io::Error::last_os_error());
        }
    }
    Ok(())
}

/// `-m`: unlimited core files for the daemon and its children (not scripts).
pub fn unlimit_core() -> io::Result<()> {
    // SAFETY: valid rlimit out-parameter and input.
    unsafe {
        let mut old: libc::rlimit = std::mem::zeroed();
        if libc::getrlimit(libc::RLIMIT_CORE, &mut old) != 0 {
            return Err(io::Error::last_os_error());
        }
        let unlimited = libc::rlimit { rlim_cur: libc::RLIM_INFINITY, rlim_max: libc::RLIM_INFINITY };
        if libc::setrlimit(libc::RLIMIT_CORE, &unlimited) != 0 {
            return Err(io::Error::last_os_error());
        }
        // Set once per process; a second `-m` call keeps the first limit,
        // the one the daemon started with, which is what scripts get back.
        let _ = crate::script::SCRIPT_CORE_LIMIT.set(old);
    }
    Ok(())
}

/// `-s NAME`: move this (single-threaded) process into the network
/// namespace `ip netns` made as /var/run/netns/NAME. Children forked later
/// inherit it, so every socket vigil opens is in that namespace.
pub fn enter_netns(name: &str) -> std::io::Result<()> {
    use std::os::unix::fs::OpenOptionsExt;
    let path = std::path::Path::new("/var/run/netns").join(name);
    let f = std::fs::OpenOptions::new()
        .read(true)
        .custom_flags(libc::O_CLOEXEC)
        .open(&path)
        .map_err(|e| std::io::Error::new(e.kind(), format!("{}: {e}", path.display())))?;
    // SAFETY: f is an open namespace file (setns checks that it is one).
    if unsafe { libc::setns(std::os::unix::io::AsRawFd::as_raw_fd(&f), libc::CLONE_NEWNET) } != 0 {
        let e = std::io::Error::last_os_error();
        return Err(std::io::Error::new(e.kind(), format!("setns {}: {e}", path.display())));
    }
    Ok(())
}
