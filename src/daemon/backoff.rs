//! keepalived's respawn rate limit for a child that keeps dying.

use std::time::Duration;

/// A child that ran longer than this is restarted at once.
pub const STABLE_RUN: Duration = Duration::from_secs(60);

/// The delay before the next restart, from how long the last run lasted.
/// A crash loop is restarted after 0, 1, 2, 4, 8, 16, 32, then 60 s for ever;
/// any run longer than [`STABLE_RUN`] starts the series again.
#[derive(Clone, Debug)]
pub struct Backoff {
    fast_deaths: u32,
    stable_run: Duration,
}

impl Default for Backoff {
    fn default() -> Self {
        Backoff { fast_deaths: 0, stable_run: STABLE_RUN }
    }
}

impl Backoff {
    /// keepalived's limit, or `VIGIL_STABLE_RUN_MS` milliseconds: a test-only
    /// knob, so a test can kill a child many times in a row without waiting
    /// a minute between kills.
    pub fn from_env() -> Backoff {
        let ms = std::env::var("VIGIL_STABLE_RUN_MS").ok().and_then(|v| v.parse().ok());
        Backoff { fast_deaths: 0, stable_run: ms.map_or(STABLE_RUN, Duration::from_millis) }
    }

    pub fn on_death(&mut self, ran_for: Duration) -> Duration {
        if ran_for > self.stable_run {
            self.fast_deaths = 0;
        }
        let secs = match self.fast_deaths {
            0 => 0,
            n @ 1..=6 => 1u64 << (n - 1),
            _ => 60,
        };
        self.fast_deaths = self.fast_deaths.saturating_add(1);
        Duration::from_secs(secs)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn crash_loop_schedule() {
        let mut b = Backoff::default();
        let fast = Duration::from_secs(3);
        let got: Vec<u64> = (0..10).map(|_| b.on_death(fast).as_secs()).collect();
        assert_eq!(got, [0, 1, 2, 4, 8, 16, 32, 60, 60, 60]);
    }

    #[test]
    fn a_long_run_resets_the_series() {
        let mut b = Backoff::default();
        for _ in 0..5 {
            b.on_death(Duration::from_secs(1));
        }
        assert_eq!(b.on_death(Duration::from_secs(61)), Duration::ZERO);
        assert_eq!(b.on_death(Duration::from_secs(1)), Duration::from_secs(1));
        // Exactly 60 s is not "more than 60 s".
        assert_eq!(b.on_death(STABLE_RUN), Duration::from_secs(2));
    }
}
