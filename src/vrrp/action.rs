//! Outputs of the state machine: plain data the I/O edge applies in order.

use std::fmt;
use std::time::Duration;

use crate::time::Instant;

#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum State {
    Init,
    Backup,
    Master,
    Fault,
    /// Reached on shutdown; reported for notify scripts ("STOP").
    Stop,
}

impl State {
    /// The word keepalived's `notify` script receives.
    pub fn as_str(self) -> &'static str {
        match self {
            State::Init => "INIT",
            State::Backup => "BACKUP",
            State::Master => "MASTER",
            State::Fault => "FAULT",
            State::Stop => "STOP",
        }
    }
}

impl fmt::Display for State {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// Why a transition happened.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Reason {
    Startup,
    /// No advert accepted within Master_Down_Interval (or skew after priority 0).
    MasterDownTimeout,
    /// A master saw a higher priority (or equal priority from a higher address).
    HigherPriority,
    Fault,
    FaultCleared,
    Shutdown,
    /// Moved with the other members of its sync group.
    Sync,
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Action {
    /// Send one advert for this instance with this priority (0: resigning).
    /// Build it with `Instance::advert(priority)`; with AH, behind an AH
    /// header carrying `ah_seq` (`ah::build_datagram`), once per destination.
    /// `due` is the instant a periodic advert was scheduled for (its Advert
    /// timer), so the edge can measure how late it really leaves; `None` for
    /// adverts sent at once (becoming master, resigning, answering a peer).
    /// With `auth_hmac` (and a mode that sends), `hmac_seq` is the trailer's
    /// sequence: append `hmac::sign(..)` of the message, one signature for
    /// every destination.
    SendAdvert { priority: u8, ah_seq: Option<u32>, hmac_seq: Option<u64>, due: Option<Instant> },
    /// Add the virtual addresses (and routes/rules) to the system.
    AddVips,
    /// Remove them.
    RemoveVips,
    /// A burst of `repeat` gratuitous ARPs / unsolicited NAs per VIP,
    /// `spacing` apart (`vrrp_garp_interval`).
    SendGratuitous { repeat: u32, spacing: Duration },
    /// For notify scripts, stats and sync groups.
    StateChange { from: State, to: State, reason: Reason },
    /// A log line in keepalived's wording, e.g. "(VI_1) Entering MASTER STATE".
    Log { level: log::Level, line: String },
}
