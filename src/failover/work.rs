//! The engine's queue of work (FRR's vrrpd and OpenBSD's carp queue events
//! likewise rather than recurse): one input to the engine may move other
//! instances (a sync group drags its members), and those moves are done
//! after the current instance's actions, first in, first out, so the order
//! of effects does not depend on call depth.

use std::collections::VecDeque;

use crate::vrrp::State;

/// Engine work caused by an input.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(super) enum Work {
    /// Apply the actions instance `i`'s core has queued.
    Drain(usize),
    /// Instance `i` changed state: alerts and its sync group.
    StateChanged { i: usize, from: State, to: State },
}

#[derive(Debug, Default)]
pub(super) struct WorkQueue {
    queued: VecDeque<Work>,
    running: bool,
}

impl WorkQueue {
    pub(super) fn push(&mut self, w: Work) {
        self.queued.push_back(w);
    }

    /// Take the queue to run it; false when it is already being run (the
    /// caller is inside the work itself: what it pushed runs in turn).
    pub(super) fn start(&mut self) -> bool {
        !std::mem::replace(&mut self.running, true)
    }

    /// Whether a run is under way (a new input would only add to it).
    pub(super) fn is_running(&self) -> bool {
        self.running
    }

    /// The next work, or `None` (and the run is over) when none is left.
    pub(super) fn next(&mut self) -> Option<Work> {
        let w = self.queued.pop_front();
        self.running = w.is_some();
        w
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Runs the queue as `VrrpEngine::run_queue` does; handling `Drain(i)`
    /// of a master drags instance i + 1 (a sync group), re-entering `run`.
    fn run(q: &mut WorkQueue, done: &mut Vec<Work>) {
        if !q.start() {
            return;
        }
        while let Some(w) = q.next() {
            done.push(w);
            if let Work::Drain(i) = w {
                if i < 2 {
                    q.push(Work::StateChanged { i, from: State::Master, to: State::Backup });
                    q.push(Work::Drain(i + 1));
                    run(q, done);
                }
            }
        }
    }

    #[test]
    fn work_caused_by_work_runs_after_it_in_order() {
        let mut q = WorkQueue::default();
        let mut done = Vec::new();
        q.push(Work::Drain(0));
        run(&mut q, &mut done);
        let changed = |i| Work::StateChanged { i, from: State::Master, to: State::Backup };
        assert_eq!(done, [Work::Drain(0), changed(0), Work::Drain(1), changed(1), Work::Drain(2)]);
        assert!(q.start(), "the run is over: the next input starts a new one");
    }
}
