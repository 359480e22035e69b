//! Signals as poll events. A handler writes the signal number into a
//! non-blocking self-pipe whose read end sits in the mio `Poll`; the loop
//! then reacts to signals like to any other input, outside handler context.

use std::io;
use std::os::unix::io::{AsRawFd, FromRawFd, OwnedFd, RawFd};
use std::sync::atomic::{AtomicI32, Ordering};

use libc::c_int;

/// The write end of the current process's pipe; -1 until installed.
static PIPE_WRITE: AtomicI32 = AtomicI32::new(-1);

extern "C" fn on_signal(sig: c_int) {
    let fd = PIPE_WRITE.load(Ordering::Relaxed);
    if fd < 0 {
        return;
    }
    // SAFETY: write(2) and errno access are async-signal-safe; errno is
    // restored so the interrupted code does not see ours.
    unsafe {
        let errno = libc::__errno_location();
        let saved = *errno;
        let byte = sig as u8;
        libc::write(fd, (&byte as *const u8).cast(), 1);
        *errno = saved;
    }
}

/// SIGRTMIN+2: JSON state dump. 36 under glibc (SIGRTMIN 34), 37 under musl
/// (SIGRTMIN 35); keepalived's docs quote the glibc number.
pub fn sig_json() -> c_int {
    libc::SIGRTMIN() + 2
}

/// SIGRTMAX-1: statistics dump, then clear the counters.
pub fn sig_stats_clear() -> c_int {
    libc::SIGRTMAX() - 1
}

/// keepalived's `--signum=NAME` names.
pub fn signum(name: &str) -> Option<c_int> {
    Some(match name.to_ascii_uppercase().as_str() {
        "RELOAD" => libc::SIGHUP,
        "STOP" => libc::SIGTERM,
        "DATA" => libc::SIGUSR1,
        "STATS" => libc::SIGUSR2,
        "STATS_CLEAR" => sig_stats_clear(),
        "JSON" => sig_json(),
        _ => return None,
    })
}

static IGNORE_SIGINT: std::sync::atomic::AtomicBool = std::sync::atomic::AtomicBool::new(false);

/// `--ignore-sigint`: SIGINT (a ^C at the terminal, which reaches the whole
/// process group) stops neither the parent nor the children forked later.
pub fn ignore_sigint() {
    IGNORE_SIGINT.store(true, std::sync::atomic::Ordering::Relaxed);
    // SAFETY: SIG_IGN is a valid disposition; inherited across fork.
    unsafe { libc::signal(libc::SIGINT, libc::SIG_IGN) };
}

/// The signals both the parent and the children take through the pipe.
pub fn handled() -> Vec<c_int> {
    let mut v = vec![
        libc::SIGHUP,
        libc::SIGTERM,
        libc::SIGINT,
        libc::SIGUSR1,
        libc::SIGUSR2,
        libc::SIGCHLD,
        sig_json(),
        sig_stats_clear(),
    ];
    if IGNORE_SIGINT.load(std::sync::atomic::Ordering::Relaxed) {
        v.retain(|&s| s != libc::SIGINT);
    }
    v
}

pub struct SignalPipe {
    read: OwnedFd,
    _write: OwnedFd,
}

impl SignalPipe {
    /// Create the pipe and route `signals` into it. Only one pipe is live per
    /// process: a forked child calls this again to get its own.
    pub fn install(signals: &[c_int]) -> io::Result<SignalPipe> {
        let mut fds = [0; 2];
        // SAFETY: fds has room for two descriptors.
        if unsafe { libc::pipe2(fds.as_mut_ptr(), libc::O_NONBLOCK | libc::O_CLOEXEC) } != 0 {
            return Err(io::Error::last_os_error());
        }
        // SAFETY: pipe2 just returned these two fresh descriptors.
        let (read, write) = unsafe { (OwnedFd::from_raw_fd(fds[0]), OwnedFd::from_raw_fd(fds[1])) };
        PIPE_WRITE.store(write.as_raw_fd(), Ordering::Relaxed);
        for &sig in signals {
            // SAFETY: a zeroed sigaction plus handler and flags is a valid value.
            let rc = unsafe {
                let mut sa: libc::sigaction = std::mem::zeroed();
                sa.sa_sigaction = on_signal as extern "C" fn(c_int) as usize;
                sa.sa_flags = libc::SA_RESTART | if sig == libc::SIGCHLD { libc::SA_NOCLDSTOP } else { 0 };
                libc::sigemptyset(&mut sa.sa_mask);
                libc::sigaction(sig, &sa, std::ptr::null_mut())
            };
            if rc != 0 {
                return Err(io::Error::last_os_error());
            }
        }
        Ok(SignalPipe { read, _write: write })
    }

    pub fn fd(&self) -> RawFd {
        self.read.as_raw_fd()
    }

    /// Every signal received since the last call, in arrival order.
    pub fn drain(&self) -> Vec<c_int> {
        let mut out = Vec::new();
        let mut buf = [0u8; 64];
        loop {
            // SAFETY: buf is valid for its length.
            let n = unsafe { libc::read(self.read.as_raw_fd(), buf.as_mut_ptr().cast(), buf.len()) };
            if n <= 0 {
                if n < 0 && io::Error::last_os_error().kind() == io::ErrorKind::Interrupted {
                    continue;
                }
                return out;
            }
            out.extend(buf[..n as usize].iter().map(|&b| c_int::from(b)));
        }
    }
}

impl Drop for SignalPipe {
    fn drop(&mut self) {
        PIPE_WRITE.store(-1, Ordering::Relaxed);
    }
}

/// Block every signal; returns the previous mask for [`restore_mask`].
/// Used around fork so no signal lands in a pipe the child is about to drop.
pub fn block_all() -> libc::sigset_t {
    // SAFETY: both sets are valid for sigprocmask to read and write.
    unsafe {
        let mut all: libc::sigset_t = std::mem::zeroed();
        let mut old: libc::sigset_t = std::mem::zeroed();
        libc::sigfillset(&mut all);
        libc::sigprocmask(libc::SIG_SETMASK, &all, &mut old);
        old
    }
}

/// The empty signal set: what [`restore_mask`] takes to unblock everything.
pub fn empty_set() -> libc::sigset_t {
    // SAFETY: sigemptyset initialises the set.
    unsafe {
        let mut s: libc::sigset_t = std::mem::zeroed();
        libc::sigemptyset(&mut s);
        s
    }
}

pub fn restore_mask(old: &libc::sigset_t) {
    // SAFETY: old came from block_all.
    unsafe { libc::sigprocmask(libc::SIG_SETMASK, old, std::ptr::null_mut()) };
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rt_signal_numbers_follow_sigrtmin() {
        let rtmin = libc::SIGRTMIN();
        // glibc reserves two RT signals for NPTL, musl three.
        assert!(rtmin == 34 || rtmin == 35, "SIGRTMIN {rtmin}");
        assert_eq!(signum("json"), Some(rtmin + 2));
        assert_eq!(signum("RELOAD"), Some(1));
        assert_eq!(signum("STOP"), Some(15));
        assert_eq!(signum("bogus"), None);
        assert_eq!(signum("TDATA"), None, "SIGRTMAX is not handled: offering it would kill the daemon");
    }
}
