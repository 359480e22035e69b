//! How late periodic adverts leave: from the instant the core scheduled an
//! advert for (its Advert timer) to the moment the engine hands it to the
//! socket. The timer's wake-up latency, whatever the loop did before the
//! timer ran and the advert's encoding are all in it. Plain counters: no
//! allocation per advert.

use std::time::Duration;

#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Lateness {
    /// Periodic adverts measured.
    adverts: u64,
    /// The sum of their lateness in microseconds, for the mean.
    sum_us: u64,
    /// The worst, in microseconds.
    max_us: u64,
    /// Adverts later than a quarter of their interval.
    late: u64,
}

impl Lateness {
    /// One periodic advert left `late` after its scheduled instant; the
    /// instance advertises every `interval`.
    pub fn record(&mut self, late: Duration, interval: Duration) {
        let us = u64::try_from(late.as_micros()).unwrap_or(u64::MAX);
        self.adverts += 1;
        self.sum_us = self.sum_us.saturating_add(us);
        self.max_us = self.max_us.max(us);
        if late > interval / 4 {
            self.late += 1;
        }
    }

    pub fn max_us(&self) -> u64 {
        self.max_us
    }

    pub fn mean_us(&self) -> u64 {
        self.sum_us.checked_div(self.adverts).unwrap_or(0)
    }

    /// Adverts later than a quarter of their interval.
    pub fn late(&self) -> u64 {
        self.late
    }

    pub fn clear(&mut self) {
        *self = Lateness::default();
    }
}

#[cfg(test)]
mod test {
    use super::*;

    #[test]
    fn keeps_the_worst_the_mean_and_the_late_ones() {
        let mut l = Lateness::default();
        assert_eq!((l.max_us(), l.mean_us(), l.late(), l.adverts), (0, 0, 0, 0));
        let interval = Duration::from_millis(10);
        for us in [40, 2_500, 60, 2_501] {
            l.record(Duration::from_micros(us), interval);
        }
        // 2.5 ms is a quarter of the interval, not later than it.
        assert_eq!((l.max_us(), l.mean_us(), l.late(), l.adverts), (2_501, 1_275, 1, 4));
        l.clear();
        assert_eq!(l, Lateness::default());
    }
}
