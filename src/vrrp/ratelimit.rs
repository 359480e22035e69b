//! "Log once per reason per period" (RFC 9568 asks for rate-limited logging
//! of bad adverts). Pure: the caller passes `now`.

use std::time::Duration;

use crate::time::Instant;

#[derive(Clone, Debug)]
pub struct LogLimiter<K> {
    period: Duration,
    last: Vec<(K, Instant)>,
}

impl<K: Copy + Eq> LogLimiter<K> {
    pub fn new(period: Duration) -> LogLimiter<K> {
        LogLimiter { period, last: Vec::new() }
    }

    /// True if `key` was not allowed within the last period; records `now`.
    pub fn allow(&mut self, key: K, now: Instant) -> bool {
        match self.last.iter_mut().find(|(k, _)| *k == key) {
            Some((_, at)) if now.saturating_duration_since(*at) < self.period => false,
            Some((_, at)) => {
                *at = now;
                true
            }
            None => {
                self.last.push((key, now));
                true
            }
        }
    }

    /// Forget everything, as keepalived does on a state or master change.
    pub fn reset(&mut self) {
        self.last.clear();
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn once_per_period_per_key() {
        let mut l = LogLimiter::new(Duration::from_secs(10));
        assert!(l.allow(1, Instant::from_secs(0)));
        assert!(!l.allow(1, Instant::from_secs(9)));
        assert!(l.allow(2, Instant::from_secs(9)));
        assert!(l.allow(1, Instant::from_secs(10)));
        assert!(!l.allow(1, Instant::from_secs(19)));
        l.reset();
        assert!(l.allow(1, Instant::from_secs(19)));
    }
}
