//! Time, below everything that keeps it.
//!
//! - [`Instant`]: the pure cores' clock type (the VRRP state machine, the
//!   checkers' schedules), microseconds since an [`Epoch`] the caller picks.
//!   The cores never read a clock; tests drive them with a virtual one.
//! - [`Monotonic`]: what the event loops read once per wakeup
//!   (`std::time::Instant`, CLOCK_MONOTONIC), and [`Epoch`] converts it to
//!   and from [`Instant`], once for both engines.
//! - [`clock_us`], [`monotonic_us`], [`monotonic_at`]: CLOCK_MONOTONIC as
//!   plain microseconds, the same in every process of the host, for what
//!   one process writes and another reads (upgrade handover, state files).

use std::fmt;
use std::ops::{Add, AddAssign, Sub};
use std::time::Duration;

/// A duration in seconds as keepalived.conf and its logs write it: "5",
/// "1.5", "0.001" (`--dump`, log lines, `-t`'s bounds). The
/// digits come from the integer parts, so float formatting (about 10 KB of
/// a router binary) is not linked for a log line.
pub struct Secs(pub Duration);

impl fmt::Display for Secs {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let (s, mut frac) = (self.0.as_secs(), self.0.subsec_nanos());
        if frac == 0 {
            return write!(f, "{s}");
        }
        let mut width = 9;
        while frac % 10 == 0 {
            frac /= 10;
            width -= 1;
        }
        write!(f, "{s}.{frac:0width$}")
    }
}

/// A reading of CLOCK_MONOTONIC, as the event loops pass it down.
pub use std::time::Instant as Monotonic;

#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Instant(u64);

impl Instant {
    pub const ZERO: Instant = Instant(0);

    pub const fn from_micros(us: u64) -> Instant {
        Instant(us)
    }

    pub const fn from_millis(ms: u64) -> Instant {
        Instant(ms.saturating_mul(1000))
    }

    pub const fn from_secs(s: u64) -> Instant {
        Instant(s.saturating_mul(1_000_000))
    }

    pub const fn as_micros(self) -> u64 {
        self.0
    }

    /// Time from `earlier` to `self`, zero if `earlier` is later.
    pub fn saturating_duration_since(self, earlier: Instant) -> Duration {
        Duration::from_micros(self.0.saturating_sub(earlier.0))
    }
}

fn micros(d: Duration) -> u64 {
    u64::try_from(d.as_micros()).unwrap_or(u64::MAX)
}

impl Add<Duration> for Instant {
    type Output = Instant;
    fn add(self, d: Duration) -> Instant {
        Instant(self.0.saturating_add(micros(d)))
    }
}

impl AddAssign<Duration> for Instant {
    fn add_assign(&mut self, d: Duration) {
        *self = *self + d;
    }
}

impl Sub<Instant> for Instant {
    type Output = Duration;
    fn sub(self, earlier: Instant) -> Duration {
        self.saturating_duration_since(earlier)
    }
}

impl fmt::Display for Instant {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}.{:06}s", self.0 / 1_000_000, self.0 % 1_000_000)
    }
}

/// Where an engine's [`Instant`]s count from: the [`Monotonic`] reading at
/// its start.
#[derive(Clone, Copy, Debug)]
pub struct Epoch(Monotonic);

impl Epoch {
    pub fn new(at: Monotonic) -> Epoch {
        Epoch(at)
    }

    pub fn now() -> Epoch {
        Epoch(Monotonic::now())
    }

    /// `t` as an [`Instant`] (zero before the epoch).
    pub fn instant(&self, t: Monotonic) -> Instant {
        Instant(micros(t.saturating_duration_since(self.0)))
    }

    /// The [`Monotonic`] reading an [`Instant`] stands for.
    pub fn monotonic(&self, t: Instant) -> Monotonic {
        self.0 + Duration::from_micros(t.0)
    }
}

/// CLOCK_MONOTONIC in microseconds: the clock of [`Monotonic`], the same in
/// every process, and running on while no child lives.
pub fn clock_us() -> u64 {
    let mut ts = libc::timespec { tv_sec: 0, tv_nsec: 0 };
    // SAFETY: ts is a valid out-parameter; CLOCK_MONOTONIC always exists.
    unsafe { libc::clock_gettime(libc::CLOCK_MONOTONIC, &mut ts) };
    (ts.tv_sec as u64) * 1_000_000 + (ts.tv_nsec as u64) / 1000
}

/// `t` on the [`clock_us`] scale.
pub fn monotonic_us(t: Monotonic) -> u64 {
    clock_us().saturating_sub(micros(Monotonic::now().saturating_duration_since(t)))
}

/// The [`Monotonic`] reading at [`clock_us`] microseconds `us` (not in the future).
pub fn monotonic_at(us: u64) -> Monotonic {
    let ago = Duration::from_micros(clock_us().saturating_sub(us));
    let now = Monotonic::now();
    now.checked_sub(ago).unwrap_or(now)
}

/// A wall-clock reading in the host's zone, as localtime_r(3) gives it.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct LocalTime {
    pub year: i32,
    /// 0..=11
    pub mon: usize,
    pub mday: u32,
    /// 0 = Sunday
    pub wday: usize,
    pub hour: u32,
    pub min: u32,
    pub sec: u32,
    /// Seconds east of UTC.
    pub utc_offset: i32,
}

/// `unix` (seconds since 1970) in the host's zone; `None` if the C library
/// cannot convert it. The one caller of localtime_r: log lines, mail dates.
pub fn local_time(unix: i64) -> Option<LocalTime> {
    // Typed by localtime_r's argument: libc deprecates naming time_t on
    // 32-bit musl, where the conversion can fail; on 64-bit it cannot.
    #[allow(clippy::useless_conversion)]
    let t = unix.try_into().unwrap_or_default();
    // SAFETY: tm is plain data; localtime_r writes it and keeps no pointer.
    let mut tm: libc::tm = unsafe { std::mem::zeroed() };
    // SAFETY: both pointers are valid for the call.
    if unsafe { libc::localtime_r(&t, &mut tm) }.is_null() {
        return None;
    }
    Some(LocalTime {
        year: tm.tm_year + 1900,
        mon: tm.tm_mon.clamp(0, 11) as usize,
        mday: tm.tm_mday as u32,
        wday: tm.tm_wday.clamp(0, 6) as usize,
        hour: tm.tm_hour as u32,
        min: tm.tm_min as u32,
        sec: tm.tm_sec as u32,
        utc_offset: i32::try_from(tm.tm_gmtoff).unwrap_or(0),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn secs_print_as_keepalived_logs_them() {
        for (d, text) in [
            (Duration::from_secs(5), "5"),
            (Duration::from_millis(1500), "1.5"),
            (Duration::from_millis(1), "0.001"),
            (Duration::from_micros(100_250), "0.10025"),
            (Duration::from_nanos(1_000_000_001), "1.000000001"),
        ] {
            assert_eq!(Secs(d).to_string(), text);
            assert_eq!(
                Secs(d).to_string(),
                d.as_secs_f64().to_string(),
                "as `{{}}` of as_secs_f64 printed it"
            );
        }
        // The config parser's bounds are f64 literals.
        for (f, text) in
            [(0.000_001, "0.000001"), (0.01, "0.01"), (86_400.0, "86400"), (2_678_400.0, "2678400")]
        {
            assert_eq!(Secs(Duration::from_secs_f64(f)).to_string(), text);
        }
    }
}
