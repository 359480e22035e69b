//! Running a subsystem (the checker or VRRP engine) in a real mio loop
//! inside a test process, the way the daemon's child loop does.

use std::time::{Duration, Instant};

use vigil::runtime::{Subsystem, TokenAlloc};

/// Drive `sub` until `step` (given the time since the start) says stop, or
/// `limit` passes; then shut it down. True when `step` stopped it.
pub fn drive(sub: &mut dyn Subsystem, limit: Duration, mut step: impl FnMut(Duration) -> bool) -> bool {
    let mut poll = mio::Poll::new().unwrap();
    let mut events = mio::Events::with_capacity(64);
    sub.register(poll.registry(), &mut TokenAlloc::new()).unwrap();
    let start = Instant::now();
    let mut stopped = false;
    while start.elapsed() < limit {
        if step(start.elapsed()) {
            stopped = true;
            break;
        }
        let now = Instant::now();
        let wait = sub.poll_timeout().map_or(Duration::from_millis(50), |t| t.saturating_duration_since(now));
        poll.poll(&mut events, Some(wait.min(Duration::from_millis(50)))).unwrap();
        for ev in &events {
            sub.handle_event(poll.registry(), ev, Instant::now());
        }
        if sub.poll_timeout().is_some_and(|t| t <= Instant::now()) {
            sub.handle_timeout(poll.registry(), Instant::now());
        }
    }
    sub.shutdown(poll.registry(), Instant::now());
    stopped
}
