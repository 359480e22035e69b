//! A timerfd that wakes the poll loop at a deadline to the microsecond.
//! epoll_wait's timeout is whole milliseconds and mio rounds it up, which
//! would make every VRRP timer (the master-down timer that decides a
//! failover included) up to 1 ms late.

use std::io;
use std::os::fd::{AsRawFd, FromRawFd, OwnedFd, RawFd};
use std::time::{Duration, Instant};

const YEAR_SECS: u64 = 365 * 86_400;

pub struct DeadlineTimer {
    fd: OwnedFd,
    /// The deadline the timer is set for, until it fires.
    armed: Option<Instant>,
}

impl DeadlineTimer {
    pub fn new() -> io::Result<DeadlineTimer> {
        // SAFETY: plain syscall; the fd is owned from here on.
        let fd =
            unsafe { libc::timerfd_create(libc::CLOCK_MONOTONIC, libc::TFD_NONBLOCK | libc::TFD_CLOEXEC) };
        if fd < 0 {
            return Err(io::Error::last_os_error());
        }
        // SAFETY: a fresh fd nobody else owns.
        Ok(DeadlineTimer { fd: unsafe { OwnedFd::from_raw_fd(fd) }, armed: None })
    }

    /// Fire at `deadline` (std's Instant is CLOCK_MONOTONIC too), unless
    /// already set for it or for an earlier instant: then it fires early,
    /// the loop finds nothing due and sets it again. A backup's deadlines
    /// only move later (every advert pushes its Master_Down timer on), so
    /// this saves a timerfd_settime on nearly every wakeup for one early
    /// wakeup per Master_Down interval. `now` is a recent reading of the
    /// clock: the timer is relative to the moment it is set, so it never
    /// fires after `deadline`.
    pub fn arm(&mut self, deadline: Instant, now: Instant) -> io::Result<()> {
        if self.armed.is_some_and(|armed| armed <= deadline) {
            return Ok(());
        }
        // A zero value would disarm the timer instead.
        let d = deadline.saturating_duration_since(now).max(Duration::from_nanos(1));
        let spec = libc::itimerspec {
            it_interval: libc::timespec { tv_sec: 0, tv_nsec: 0 },
            // Both fit every target's field types: no deadline is a year off.
            it_value: libc::timespec {
                tv_sec: d.as_secs().min(YEAR_SECS) as _,
                tv_nsec: d.subsec_nanos() as _,
            },
        };
        // SAFETY: a valid timerfd and a valid itimerspec.
        if unsafe { libc::timerfd_settime(self.fd.as_raw_fd(), 0, &spec, std::ptr::null_mut()) } < 0 {
            return Err(io::Error::last_os_error());
        }
        self.armed = Some(deadline);
        Ok(())
    }

    /// It fired: consume the expiry so the fd stops being readable.
    pub fn fired(&mut self) {
        let mut count = [0u8; 8];
        // SAFETY: reading 8 bytes into an 8-byte buffer; EAGAIN is harmless.
        unsafe { libc::read(self.fd.as_raw_fd(), count.as_mut_ptr().cast(), count.len()) };
        self.armed = None;
    }

    pub fn fd(&self) -> RawFd {
        self.fd.as_raw_fd()
    }
}

#[cfg(test)]
mod test {
    use super::*;

    #[test]
    fn fires_at_the_deadline_not_before() {
        let mut t = DeadlineTimer::new().unwrap();
        let now = Instant::now();
        let deadline = now + Duration::from_micros(1500);
        t.arm(deadline, now).unwrap();
        let mut pfd = libc::pollfd { fd: t.fd(), events: libc::POLLIN, revents: 0 };
        // SAFETY: one valid pollfd.
        let n = unsafe { libc::poll(&mut pfd, 1, 1000) };
        assert_eq!(n, 1, "the timer fired");
        assert!(Instant::now() >= deadline, "not early");
        t.fired();
        // SAFETY: as above; nothing pending after the read.
        assert_eq!(unsafe { libc::poll(&mut pfd, 1, 0) }, 0);
        assert_eq!(t.armed, None);
    }

    #[test]
    fn a_later_deadline_keeps_the_earlier_setting() {
        let mut t = DeadlineTimer::new().unwrap();
        let now = Instant::now();
        let early = now + Duration::from_millis(2);
        t.arm(early, now).unwrap();
        t.arm(now + Duration::from_secs(60), now).unwrap();
        assert_eq!(t.armed, Some(early), "kept: it fires early, never late");
        let mut pfd = libc::pollfd { fd: t.fd(), events: libc::POLLIN, revents: 0 };
        // SAFETY: one valid pollfd.
        assert_eq!(unsafe { libc::poll(&mut pfd, 1, 1000) }, 1, "fired at the earlier instant");
        t.fired();
        let sooner = Instant::now() + Duration::from_millis(1);
        t.arm(sooner, Instant::now()).unwrap();
        assert_eq!(t.armed, Some(sooner), "an earlier deadline is always set");
    }
}
