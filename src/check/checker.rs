//! One checker's schedule and retry state, keepalived's. Pure: time is
//! passed in, and the I/O edge runs the probe between `begin` and `finish`.

use std::borrow::Cow;
use std::time::Duration;

use crate::time::Instant;

/// Every checker's first run waits this long, plus a random part of `warmup`.
pub const FIRST_RUN_DELAY: Duration = Duration::from_secs(1);

/// The engine starts, in one pass, every check due within this window
/// (wakeups, not checks, are the checker's cost at 1,000 real servers: ten
/// checks started together cost one wakeup instead of ten). A check so
/// started runs at most this much early, and never more than its own
/// timing tolerance allows (`CheckerCore::early_start_allowance`).
pub const BATCH_WINDOW: Duration = Duration::from_millis(10);

/// A check's timing tolerance: this fraction of its shortest period
/// (`delay_loop` or `delay_before_retry`), so 10 ms for a 1 s delay_loop.
const TOLERANCE_DIVISOR: u32 = 100;

/// Which wording the log lines use.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Wording {
    Tcp,
    Http,
    Smtp,
    Misc,
    /// `DNS_CHECK ([rs]:udp:53) <what happened>`.
    Dns,
    /// UDP_CHECK: `UDP connection to [rs]:udp:port success.`
    Udp,
    /// PING_CHECK: `ICMP connection to [rs] success.`
    Ping,
    /// FILE_CHECK: `FILE_CHECK ([rs]:tcp:80 track_file NAME) ...`.
    File,
    /// A checker vigil cannot run (its keyword): it never passes.
    Unrunnable(&'static str),
}

impl Wording {
    /// The checker type in `vigil status`.
    pub fn name(self) -> &'static str {
        match self {
            Wording::Tcp => "TCP",
            Wording::Http => "HTTP",
            Wording::Smtp => "SMTP",
            Wording::Misc => "MISC",
            Wording::Dns => "DNS",
            Wording::Udp => "UDP",
            Wording::Ping => "PING",
            Wording::File => "FILE",
            Wording::Unrunnable(keyword) => keyword,
        }
    }
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct CheckerParams {
    pub wording: Wording,
    /// `[198.18.1.2]:tcp:80` (MISC: `[[rs] VS [vs]] by [path]`).
    pub target: String,
    pub delay_loop: Duration,
    pub retry: u32,
    pub delay_before_retry: Duration,
    pub warmup: Duration,
    /// Start DOWN and need one success (`alpha`).
    pub alpha: bool,
    pub log_all_failures: bool,
}

impl CheckerParams {
    /// MISC_CHECK measures its period from the previous start, the others
    /// from the end of the previous check.
    fn period_from_start(&self) -> bool {
        self.wording == Wording::Misc
    }
}

/// What a probe found.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct CheckResult {
    pub ok: bool,
    /// `misc_dynamic`: the weight the script asked for.
    pub weight: Option<u32>,
    /// Why it failed, or what it saw ("exited with status 1", "url(/health)").
    /// Fixed words are borrowed: a passing TCP_CHECK allocates nothing.
    pub detail: Cow<'static, str>,
}

impl CheckResult {
    pub fn success(detail: impl Into<Cow<'static, str>>) -> CheckResult {
        CheckResult { ok: true, weight: None, detail: detail.into() }
    }

    pub fn failure(detail: impl Into<Cow<'static, str>>) -> CheckResult {
        CheckResult { ok: false, weight: None, detail: detail.into() }
    }
}

/// What one finished check did to the checker.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Step {
    /// A success; `came_up` when the checker was DOWN, `first` on its first run.
    Success { came_up: bool, first: bool },
    /// A failure that will be retried `delay_before_retry` later.
    Retrying { attempt: u32 },
    /// The failure that marks the checker DOWN (or a first failure).
    WentDown,
    /// Another failure of a checker that is already DOWN.
    StillDown,
}

/// A checker's state as a successor child resumes it (`check::resume`).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct SavedChecker {
    pub up: bool,
    pub has_run: bool,
    pub retry_it: u32,
    pub consecutive_failures: u32,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Phase {
    Idle { next: Instant },
    Running { started: Instant },
    Stopped,
}

#[derive(Clone, Debug)]
pub struct CheckerCore {
    params: CheckerParams,
    up: bool,
    has_run: bool,
    /// Retries used since the last success; starts exhausted without
    /// `alpha`, so the first failure marks the checker DOWN at once.
    retry_it: u32,
    phase: Phase,
    consecutive_failures: u32,
    last: Option<CheckResult>,
    /// How long the last check took, from `begin` to `finish` (the metrics'
    /// checker latency).
    last_duration: Option<Duration>,
}

impl CheckerCore {
    pub fn new(params: CheckerParams) -> CheckerCore {
        let up = !params.alpha;
        let retry_it = if up { params.retry } else { 0 };
        CheckerCore {
            params,
            up,
            has_run: false,
            retry_it,
            phase: Phase::Stopped,
            consecutive_failures: 0,
            last: None,
            last_duration: None,
        }
    }

    pub fn params(&self) -> &CheckerParams {
        &self.params
    }

    pub fn is_up(&self) -> bool {
        self.up
    }

    pub fn is_running(&self) -> bool {
        matches!(self.phase, Phase::Running { .. })
    }

    pub fn consecutive_failures(&self) -> u32 {
        self.consecutive_failures
    }

    pub fn last_result(&self) -> Option<&CheckResult> {
        self.last.as_ref()
    }

    pub fn last_duration(&self) -> Option<Duration> {
        self.last_duration
    }

    /// Schedule the first run `1 s + jitter` from now; `jitter` is the
    /// caller's uniform draw from [0, warmup] (see `warmup_jitter`).
    pub fn start(&mut self, now: Instant, jitter: Duration) {
        self.phase = Phase::Idle { next: now + FIRST_RUN_DELAY + jitter.min(self.params.warmup) };
    }

    /// Keep the up/down state and counters of `old` (a reload that kept
    /// this checker), with the new parameters.
    pub fn adopt(&mut self, old: &CheckerCore) {
        self.up = old.up;
        self.has_run = old.has_run;
        self.retry_it = old.retry_it.min(self.params.retry);
        self.consecutive_failures = old.consecutive_failures;
        self.last = old.last.clone();
        self.last_duration = old.last_duration;
    }

    /// What a successor needs to go on where this checker is.
    pub fn saved(&self) -> SavedChecker {
        SavedChecker {
            up: self.up,
            has_run: self.has_run,
            retry_it: self.retry_it,
            consecutive_failures: self.consecutive_failures,
        }
    }

    /// Go on from `saved` (a checker child that replaces one that died).
    pub fn restore(&mut self, saved: &SavedChecker) {
        self.up = saved.up;
        self.has_run = saved.has_run;
        self.retry_it = saved.retry_it.min(self.params.retry);
        self.consecutive_failures = saved.consecutive_failures;
    }

    pub fn stop(&mut self) {
        self.phase = Phase::Stopped;
    }

    /// When the next check is due, while none runs.
    #[must_use]
    pub fn poll_timeout(&self) -> Option<Instant> {
        match self.phase {
            Phase::Idle { next } => Some(next),
            _ => None,
        }
    }

    pub fn is_due(&self, now: Instant) -> bool {
        self.poll_timeout().is_some_and(|t| t <= now)
    }

    /// How early this check may start to join a batch: `BATCH_WINDOW`, or
    /// less for a checker whose period is under a second.
    pub fn early_start_allowance(&self) -> Duration {
        let shortest = self.params.delay_loop.min(self.params.delay_before_retry);
        BATCH_WINDOW.min(shortest / TOLERANCE_DIVISOR)
    }

    /// The edge starts the probe now.
    pub fn begin(&mut self, now: Instant) {
        self.phase = Phase::Running { started: now };
    }

    /// A check begun but not probed (its virtual server is suspended,
    /// `check::ha_suspend`): the next one `delay_loop` later, the state and
    /// last result as they were. A checker not running is left alone.
    pub fn skip(&mut self, now: Instant) {
        if self.is_running() {
            self.phase = Phase::Idle { next: now + self.params.delay_loop };
        }
    }

    /// The probe ended at `now`: update the state and schedule the next run.
    pub fn finish(&mut self, now: Instant, result: CheckResult) -> Step {
        let started = match self.phase {
            Phase::Running { started } => {
                self.last_duration = Some(now.saturating_duration_since(started));
                started
            }
            _ => now,
        };
        let first = !self.has_run;
        self.has_run = true;
        let ok = result.ok;
        self.last = Some(result);
        let (step, delay) = if ok {
            let came_up = !self.up;
            self.up = true;
            self.retry_it = 0;
            self.consecutive_failures = 0;
            (Step::Success { came_up, first }, self.params.delay_loop)
        } else {
            self.consecutive_failures = self.consecutive_failures.saturating_add(1);
            if (self.up || first) && self.retry_it >= self.params.retry {
                self.up = false;
                self.retry_it = 0;
                (Step::WentDown, self.params.delay_loop)
            } else if self.up {
                self.retry_it += 1;
                (Step::Retrying { attempt: self.retry_it }, self.params.delay_before_retry)
            } else {
                (Step::StillDown, self.params.delay_loop)
            }
        };
        let base = if self.params.period_from_start() { started } else { now };
        self.phase = Phase::Idle { next: (base + delay).max(now) };
        step
    }

    /// The line keepalived logs for a success that matters.
    pub fn success_line(&self) -> String {
        let p = &self.params;
        let detail = self.last.as_ref().map(|r| r.detail.as_ref()).unwrap_or("");
        match p.wording {
            Wording::Tcp => format!("TCP connection to {} success.", p.target),
            Wording::Http => format!("HTTP status code success to {} {detail}.", p.target),
            Wording::Smtp => format!("SMTP connection to {} success.", p.target),
            Wording::Misc => format!("Misc check for {} succeeded.", p.target),
            Wording::Dns => format!("DNS_CHECK ({}) succeeded.", p.target),
            Wording::Udp => format!("UDP connection to {} success.", p.target),
            Wording::Ping => format!("ICMP connection to {} success.", p.target),
            Wording::File => format!("FILE_CHECK ({}) leaving FAULT state ({detail}).", p.target),
            Wording::Unrunnable(k) => format!("{k} for {} succeeded.", p.target),
        }
    }

    /// The line keepalived logs when the checker goes DOWN.
    pub fn failure_line(&self) -> String {
        let p = &self.params;
        let detail = self.last.as_ref().map(|r| r.detail.as_ref()).unwrap_or("");
        match p.wording {
            Wording::Misc => {
                let after = match p.retry {
                    0 => String::new(),
                    1 => " after 1 retry".to_string(),
                    n => format!(" after {n} retries"),
                };
                format!("Misc check for {} failed{after} ({detail}).", p.target)
            }
            Wording::Unrunnable(k) => {
                format!("{k} for {} cannot run in vigil ({detail}): the check fails.", p.target)
            }
            Wording::File => format!("FILE_CHECK ({}) now FAULT state ({detail}).", p.target),
            Wording::Dns => match p.retry {
                0 => format!("DNS_CHECK ({}) {detail}", p.target),
                n => format!("DNS_CHECK ({}) {detail} after {n} retries", p.target),
            },
            w => {
                let name = match w {
                    Wording::Http => "HTTP_CHECK",
                    Wording::Smtp => "SMTP_CHECK",
                    Wording::Udp => "UDP_CHECK",
                    Wording::Ping => "ICMP CHECK",
                    _ => "TCP_CHECK",
                };
                match p.retry {
                    0 => format!("{name} on service {} failed.", p.target),
                    n => format!("{name} on service {} failed after {n} retries.", p.target),
                }
            }
        }
    }

    /// The `log_all_failures` line for a failure that is retried.
    pub fn retry_line(&self, attempt: u32) -> String {
        let detail = self.last.as_ref().map(|r| r.detail.as_ref()).unwrap_or("");
        format!(
            "Check on {} failed ({detail}); retry {attempt} of {}.",
            self.params.target, self.params.retry
        )
    }
}

/// A uniform draw from [0, warmup] out of 64 random bits.
pub fn warmup_jitter(warmup: Duration, random: u64) -> Duration {
    let span = u64::try_from(warmup.as_micros()).unwrap_or(u64::MAX);
    match span.checked_add(1) {
        Some(n) => Duration::from_micros(random % n),
        None => Duration::from_micros(random),
    }
}
