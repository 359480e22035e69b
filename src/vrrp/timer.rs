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
}

impl TimerTable {
    pub fn set(&mut self, timer: Timer, at: Instant) {
        self.data[timer.index()] = Some(at);
    }

    pub fn get(&self, timer: Timer) -> Option<Instant> {
        self.data[timer.index()]
    }

    pub fn stop(&mut self, timer: Timer) {
        self.data[timer.index()] = None;
    }

    pub fn stop_all(&mut self) {
        self.data = [None; Timer::VALUES.len()];
    }

    pub fn next_timeout(&self) -> Option<Instant> {
        self.data.iter().flatten().min().copied()
    }

    pub fn is_expired(&self, timer: Timer, now: Instant) -> bool {
        self.get(timer).is_some_and(|at| at <= now)
    }
}
