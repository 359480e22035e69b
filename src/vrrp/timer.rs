//! Timers as data: one optional deadline per kind; the state machine arms and
//! stops them, `handle_timeout` walks the expired ones in a fixed order.

use crate::time::Instant;

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Timer {
    /// BACKUP: Master_Down_Interval without an accepted advert.
    MasterDown,
    /// MASTER: send the next advert.
    Advert,
    /// MASTER: second GARP burst, `garp_master_delay` after becoming master.
    GarpDelay,
    /// MASTER: periodic GARP refresh (`garp_master_refresh`).
    GarpRefresh,
    /// MASTER: second burst after a lower-priority advert (`garp_lower_prio_delay`).
    GarpLowerPrio,
    /// MASTER: a burst one advert interval after a lower-priority advert.
    GarpSettle,
}

impl Timer {
    pub const VALUES: [Timer; 6] = [
        Timer::MasterDown,
        Timer::Advert,
        Timer::GarpDelay,
        Timer::GarpRefresh,
        Timer::GarpLowerPrio,
        Timer::GarpSettle,
    ];

    fn index(self) -> usize {
        self as usize
    }
}

#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct TimerTable {
    data: [Option<Instant>; Timer::VALUES.len()],
    /// The earliest of `data`, kept on every change: the edge asks every
    /// instance for it on every loop turn, and changes are far rarer.
    next: Option<Instant>,
}

impl TimerTable {
    pub fn set(&mut self, timer: Timer, at: Instant) {
        let old = self.data[timer.index()].replace(at);
        if self.next.is_none_or(|n| at <= n) {
            self.next = Some(at);
        } else if old == self.next {
            // It was the earliest and moved later.
            self.next = self.earliest();
        }
    }

    pub fn get(&self, timer: Timer) -> Option<Instant> {
        self.data[timer.index()]
    }

    pub fn stop(&mut self, timer: Timer) {
        if self.data[timer.index()].take().is_some() {
            self.next = self.earliest();
        }
    }

    fn earliest(&self) -> Option<Instant> {
        self.data.iter().flatten().min().copied()
    }

    pub fn stop_all(&mut self) {
        *self = TimerTable::default();
    }

    pub fn next_timeout(&self) -> Option<Instant> {
        self.next
    }

    pub fn is_expired(&self, timer: Timer, now: Instant) -> bool {
        self.get(timer).is_some_and(|at| at <= now)
    }
}

#[cfg(test)]
mod test {
    use super::*;
    use std::time::Duration;

    #[test]
    fn next_timeout_follows_every_change() {
        let at = |ms| Instant::ZERO + Duration::from_millis(ms);
        let mut t = TimerTable::default();
        assert_eq!(t.next_timeout(), None);
        t.set(Timer::MasterDown, at(30));
        t.set(Timer::GarpRefresh, at(50));
        assert_eq!(t.next_timeout(), Some(at(30)));
        // Moved later: the other timer is now the earliest.
        t.set(Timer::MasterDown, at(70));
        assert_eq!(t.next_timeout(), Some(at(50)));
        t.set(Timer::Advert, at(10));
        assert_eq!(t.next_timeout(), Some(at(10)));
        t.stop(Timer::Advert);
        assert_eq!(t.next_timeout(), Some(at(50)));
        t.stop(Timer::GarpRefresh);
        t.stop(Timer::GarpRefresh);
        assert_eq!(t.next_timeout(), Some(at(70)));
        t.stop_all();
        assert_eq!(t.next_timeout(), None);
    }
}
