//! The client side of one SMTP delivery, as keepalived holds it: banner,
//! HELO, MAIL FROM, RCPT TO per recipient, DATA, message, QUIT. No TLS, no
//! AUTH, no pipelining. Pure: bytes and connection events in, bytes to
//! send and an outcome out; time is passed in.

use std::fmt;
use std::time::{Duration, Instant};

use super::message::Mail;
use super::reply::{parse_reply, Reply, ReplyError, MAX_REPLY};

/// How long we wait for QUIT's answer once the outcome is known: the
/// slot is worth more than the server's goodbye.
pub const QUIT_WAIT: Duration = Duration::from_secs(2);

/// Where in the dialogue we are; also names the step a failure happened in.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Step {
    Connect,
    Banner,
    Helo,
    MailFrom,
    /// Waiting for the answer to `RCPT TO` for recipient number `n`.
    Rcpt(usize),
    Data,
    Message,
    /// The outcome is known; waiting for QUIT's answer or the close.
    Quit,
    Done,
}

impl fmt::Display for Step {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Step::Connect => "connect",
            Step::Banner => "banner",
            Step::Helo => "HELO",
            Step::MailFrom => "MAIL FROM",
            Step::Rcpt(_) => "RCPT TO",
            Step::Data => "DATA",
            Step::Message => "end of message",
            Step::Quit => "QUIT",
            Step::Done => "done",
        })
    }
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub enum SendError {
    /// socket(2)/connect(2) failed, or the connection was refused.
    Connect(String),
    /// No progress within the step's or the message's deadline.
    Timeout(Step),
    /// The server answered with a code the step does not accept.
    Rejected {
        step: Step,
        reply: Reply,
    },
    BadReply {
        step: Step,
        error: ReplyError,
    },
    /// The server closed the connection before the message was accepted.
    Closed(Step),
    /// A read or write failed.
    Io(String),
}

impl fmt::Display for SendError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            SendError::Connect(e) => write!(f, "cannot connect to SMTP server: {e}"),
            SendError::Timeout(step) => write!(f, "timeout waiting for SMTP server ({step})"),
            SendError::Rejected { step, reply } => write!(f, "SMTP server answered {step} with {reply}"),
            SendError::BadReply { step, error } => write!(f, "{error} ({step})"),
            SendError::Closed(step) => write!(f, "SMTP server closed the connection ({step})"),
            SendError::Io(e) => write!(f, "SMTP connection error: {e}"),
        }
    }
}

/// Deadlines of one delivery.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Timeouts {
    /// For the connect and for each reply (keepalived's smtp_connect_timeout).
    pub step: Duration,
    /// For the whole delivery, so a server that answers slowly but just in
    /// time cannot hold a connection slot for long.
    pub total: Duration,
}

impl Timeouts {
    /// `step` per step and three times that in all.
    pub fn from_step(step: Duration) -> Timeouts {
        Timeouts { step, total: step.saturating_mul(3) }
    }
}

#[derive(Debug)]
pub struct Client {
    mail: Mail,
    helo: String,
    step: Step,
    timeouts: Timeouts,
    step_deadline: Instant,
    total_deadline: Instant,
    rx: Vec<u8>,
    tx: Vec<u8>,
    /// Set once; taken by `poll_outcome`.
    outcome: Option<Result<(), SendError>>,
    reported: bool,
}

impl Client {
    /// A delivery whose connect was started at `now`.
    pub fn new(mail: Mail, helo: &str, timeouts: Timeouts, now: Instant) -> Client {
        Client {
            mail,
            helo: helo.chars().filter(|c| !c.is_whitespace() && !c.is_control()).collect(),
            step: Step::Connect,
            timeouts,
            step_deadline: now + timeouts.step,
            total_deadline: now + timeouts.total,
            rx: Vec::new(),
            tx: Vec::new(),
            outcome: None,
            reported: false,
        }
    }

    pub fn step(&self) -> &Step {
        &self.step
    }

    pub fn mail(&self) -> &Mail {
        &self.mail
    }

    /// The connect completed: the banner is next.
    pub fn connected(&mut self, now: Instant) {
        if self.step == Step::Connect {
            self.advance(Step::Banner, now);
        }
    }

    /// The connect failed (refused, unreachable, socket error).
    pub fn connect_failed(&mut self, reason: String) {
        self.fail(SendError::Connect(reason));
    }

    /// Bytes read from the server.
    pub fn receive(&mut self, bytes: &[u8], now: Instant) {
        if matches!(self.step, Step::Connect | Step::Done) {
            return;
        }
        self.rx.extend_from_slice(bytes);
        while !matches!(self.step, Step::Done) {
            match parse_reply(&self.rx) {
                Ok(None) => break,
                Ok(Some((reply, used))) => {
                    self.rx.drain(..used);
                    self.on_reply(reply, now);
                }
                Err(error) => {
                    let step = self.step.clone();
                    self.fail(SendError::BadReply { step, error });
                }
            }
        }
        // parse_reply bounds a reply; this bounds junk after a final one.
        if self.rx.len() > MAX_REPLY {
            self.rx.clear();
        }
    }

    /// The server closed its side.
    pub fn closed(&mut self) {
        match self.step {
            Step::Quit => self.step = Step::Done,
            Step::Done => {}
            _ => {
                let step = self.step.clone();
                self.fail(SendError::Closed(step));
            }
        }
    }

    /// A read or write failed.
    pub fn io_error(&mut self, reason: String) {
        if self.step == Step::Quit {
            self.step = Step::Done;
        } else {
            self.fail(SendError::Io(reason));
        }
    }

    /// Bytes waiting to be written.
    pub fn pending_output(&self) -> &[u8] {
        &self.tx
    }

    /// `n` bytes of `pending_output` were written.
    pub fn consume_output(&mut self, n: usize) {
        self.tx.drain(..n.min(self.tx.len()));
    }

    /// The next instant `handle_timeout` must run at; `None` when done.
    pub fn poll_timeout(&self) -> Option<Instant> {
        match self.step {
            Step::Done => None,
            _ => Some(self.step_deadline.min(self.total_deadline)),
        }
    }

    pub fn handle_timeout(&mut self, now: Instant) {
        if self.poll_timeout().is_some_and(|t| now >= t) {
            if self.step == Step::Quit {
                self.step = Step::Done;
            } else {
                let step = self.step.clone();
                self.fail(SendError::Timeout(step));
            }
        }
    }

    /// The delivery's result, once: `Ok` when the server accepted the
    /// message (QUIT may still be going on).
    pub fn poll_outcome(&mut self) -> Option<Result<(), SendError>> {
        if self.reported {
            return None;
        }
        let out = self.outcome.clone()?;
        self.reported = true;
        Some(out)
    }

    /// Nothing more to read or write: the connection can be closed.
    pub fn is_finished(&self) -> bool {
        self.step == Step::Done
    }

    fn on_reply(&mut self, reply: Reply, now: Instant) {
        let accepted = match self.step {
            Step::Banner => reply.code == 220,
            Step::Helo | Step::MailFrom | Step::Message => reply.code == 250,
            Step::Rcpt(_) => matches!(reply.code, 250 | 251),
            Step::Data => reply.code == 354,
            // Whatever QUIT gets, we are done.
            Step::Quit => {
                self.step = Step::Done;
                return;
            }
            Step::Connect | Step::Done => return,
        };
        if !accepted {
            let step = self.step.clone();
            self.outcome = Some(Err(SendError::Rejected { step, reply }));
            self.quit(now);
            return;
        }
        match self.step {
            Step::Banner => {
                let cmd = format!("HELO {}\r\n", self.helo);
                self.command(&cmd, Step::Helo, now);
            }
            Step::Helo => {
                let cmd = format!("MAIL FROM:<{}>\r\n", self.mail.from);
                self.command(&cmd, Step::MailFrom, now);
            }
            Step::MailFrom => self.next_rcpt(0, now),
            Step::Rcpt(n) => self.next_rcpt(n + 1, now),
            Step::Data => {
                self.tx.extend_from_slice(&self.mail.data);
                self.advance(Step::Message, now);
            }
            Step::Message => {
                self.outcome = Some(Ok(()));
                self.quit(now);
            }
            Step::Connect | Step::Quit | Step::Done => {}
        }
    }

    fn next_rcpt(&mut self, n: usize, now: Instant) {
        match self.mail.to.get(n) {
            Some(addr) => {
                let cmd = format!("RCPT TO:<{addr}>\r\n");
                self.command(&cmd, Step::Rcpt(n), now);
            }
            None => self.command("DATA\r\n", Step::Data, now),
        }
    }

    fn quit(&mut self, now: Instant) {
        self.command("QUIT\r\n", Step::Quit, now);
        self.step_deadline = now + self.timeouts.step.min(QUIT_WAIT);
    }

    fn command(&mut self, line: &str, next: Step, now: Instant) {
        self.tx.extend_from_slice(line.as_bytes());
        self.advance(next, now);
    }

    fn advance(&mut self, next: Step, now: Instant) {
        self.step = next;
        self.step_deadline = now + self.timeouts.step;
    }

    fn fail(&mut self, err: SendError) {
        if self.outcome.is_none() {
            self.outcome = Some(Err(err));
        }
        self.step = Step::Done;
        self.tx.clear();
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::smtp::message::{Alert, Envelope, VrrpState};

    fn mail(to: &[&str]) -> Mail {
        let env = Envelope {
            from: "vigil@lb1".into(),
            to: to.iter().map(|s| s.to_string()).collect(),
            router_id: "LB1".into(),
        };
        Mail::compose(
            &env,
            &Alert::vrrp_instance("VI_1", VrrpState::Master),
            "Thu, 01 Jan 1970 00:00:00 +0000",
        )
    }

    fn client(to: &[&str], t0: Instant) -> Client {
        Client::new(mail(to), "lb1.example", Timeouts::from_step(Duration::from_secs(5)), t0)
    }

    /// Take what the client wants to send, as text.
    fn sent(c: &mut Client) -> String {
        let out = String::from_utf8(c.pending_output().to_vec()).unwrap();
        c.consume_output(out.len());
        out
    }

    #[test]
    fn full_dialogue() {
        let t0 = Instant::now();
        let mut c = client(&["a@x", "b@x"], t0);
        assert_eq!(c.poll_timeout(), Some(t0 + Duration::from_secs(5)));
        c.connected(t0);
        assert_eq!(sent(&mut c), "");
        // A multi-line banner split across reads.
        c.receive(b"220-mail.x ESMTP\r\n22", t0);
        assert_eq!(sent(&mut c), "");
        c.receive(b"0 ready\r\n", t0);
        assert_eq!(sent(&mut c), "HELO lb1.example\r\n");
        c.receive(b"250 hi\r\n", t0);
        assert_eq!(sent(&mut c), "MAIL FROM:<vigil@lb1>\r\n");
        c.receive(b"250 ok\r\n", t0);
        assert_eq!(sent(&mut c), "RCPT TO:<a@x>\r\n");
        c.receive(b"250 ok\r\n", t0);
        assert_eq!(sent(&mut c), "RCPT TO:<b@x>\r\n");
        c.receive(b"251 will forward\r\n", t0);
        assert_eq!(sent(&mut c), "DATA\r\n");
        c.receive(b"354 go\r\n", t0);
        let data = sent(&mut c);
        assert!(data.starts_with("Date: "));
        assert!(data.contains("\r\nX-Mailer: Keepalived\r\n"));
        assert!(data.ends_with("\r\n.\r\n"));
        assert_eq!(c.poll_outcome(), None);
        c.receive(b"250 queued\r\n", t0);
        assert_eq!(sent(&mut c), "QUIT\r\n");
        assert_eq!(c.poll_outcome(), Some(Ok(())));
        assert_eq!(c.poll_outcome(), None, "reported once");
        assert!(!c.is_finished());
        c.receive(b"221 bye\r\n", t0);
        assert!(c.is_finished());
        assert_eq!(c.poll_timeout(), None);
    }

    fn to_rcpt(c: &mut Client, t0: Instant) {
        c.connected(t0);
        c.receive(b"220 x\r\n250 x\r\n", t0);
        // The second reply answered HELO early; MAIL FROM is now pending.
        assert_eq!(c.step(), &Step::MailFrom);
        c.receive(b"250 ok\r\n", t0);
        sent(c);
    }

    #[test]
    fn rejected_recipient_reports_the_reply_and_quits() {
        let t0 = Instant::now();
        let mut c = client(&["nobody@x"], t0);
        to_rcpt(&mut c, t0);
        c.receive(b"550 5.1.1 no such user\r\n", t0);
        let err = c.poll_outcome().unwrap().unwrap_err();
        assert_eq!(
            err,
            SendError::Rejected {
                step: Step::Rcpt(0),
                reply: Reply { code: 550, text: "5.1.1 no such user".into() }
            }
        );
        assert_eq!(err.to_string(), "SMTP server answered RCPT TO with 550 5.1.1 no such user");
        assert_eq!(sent(&mut c), "QUIT\r\n");
        c.closed();
        assert!(c.is_finished());
        assert_eq!(c.poll_outcome(), None);
    }

    #[test]
    fn each_step_has_its_own_deadline_and_the_whole_a_cap() {
        let t0 = Instant::now();
        let s = Duration::from_secs(5);
        let mut c = client(&["a@x"], t0);
        c.handle_timeout(t0 + s - Duration::from_millis(1));
        assert_eq!(c.poll_outcome(), None);
        // Progress every 4 s keeps each step alive, but not past 15 s.
        let mut now = t0;
        c.connected(now);
        for reply in [&b"220 x\r\n"[..], b"250 x\r\n", b"250 x\r\n"] {
            now += Duration::from_secs(4);
            c.handle_timeout(now);
            c.receive(reply, now);
        }
        assert_eq!(c.step(), &Step::Rcpt(0));
        assert_eq!(c.poll_timeout(), Some(t0 + 3 * s));
        c.handle_timeout(t0 + 3 * s);
        assert_eq!(c.poll_outcome(), Some(Err(SendError::Timeout(Step::Rcpt(0)))));
        assert!(c.is_finished());
        assert_eq!(c.pending_output(), b"");
    }

    #[test]
    fn silent_server_times_out_on_the_banner() {
        let t0 = Instant::now();
        let mut c = client(&["a@x"], t0);
        c.connected(t0 + Duration::from_secs(1));
        assert_eq!(c.poll_timeout(), Some(t0 + Duration::from_secs(6)));
        c.handle_timeout(t0 + Duration::from_secs(6));
        assert_eq!(c.poll_outcome(), Some(Err(SendError::Timeout(Step::Banner))));
    }

    #[test]
    fn failures() {
        let t0 = Instant::now();
        let mut c = client(&["a@x"], t0);
        c.connect_failed("Connection refused".into());
        assert_eq!(c.poll_outcome(), Some(Err(SendError::Connect("Connection refused".into()))));
        assert!(c.is_finished());

        let mut c = client(&["a@x"], t0);
        c.connected(t0);
        c.receive(b"554 go away\r\n", t0);
        assert!(matches!(c.poll_outcome(), Some(Err(SendError::Rejected { step: Step::Banner, .. }))));

        let mut c = client(&["a@x"], t0);
        c.connected(t0);
        c.receive(b"SSH-2.0-OpenSSH\r\n", t0);
        let err = SendError::BadReply { step: Step::Banner, error: ReplyError::Malformed };
        assert_eq!(c.poll_outcome(), Some(Err(err)));
        assert!(c.is_finished());

        let mut c = client(&["a@x"], t0);
        to_rcpt(&mut c, t0);
        c.closed();
        assert_eq!(c.poll_outcome(), Some(Err(SendError::Closed(Step::Rcpt(0)))));

        let mut c = client(&["a@x"], t0);
        c.connected(t0);
        c.io_error("Broken pipe".into());
        assert_eq!(c.poll_outcome(), Some(Err(SendError::Io("Broken pipe".into()))));
    }

    #[test]
    fn data_refused_after_354_is_a_failure() {
        let t0 = Instant::now();
        let mut c = client(&["a@x"], t0);
        to_rcpt(&mut c, t0);
        c.receive(b"250 ok\r\n354 go\r\n452 no space\r\n", t0);
        assert!(matches!(
            c.poll_outcome(),
            Some(Err(SendError::Rejected { step: Step::Message, reply })) if reply.code == 452
        ));
    }

    #[test]
    fn quit_ends_on_close_or_timeout_without_changing_the_outcome() {
        let t0 = Instant::now();
        let mut c = client(&["a@x"], t0);
        to_rcpt(&mut c, t0);
        c.receive(b"250 ok\r\n354 go\r\n250 queued\r\n", t0);
        assert_eq!(c.poll_outcome(), Some(Ok(())));
        assert_eq!(c.poll_timeout(), Some(t0 + QUIT_WAIT));
        c.handle_timeout(t0 + QUIT_WAIT);
        assert!(c.is_finished());
        assert_eq!(c.poll_outcome(), None);
    }

    #[test]
    fn helo_name_cannot_inject_commands() {
        let t0 = Instant::now();
        let mut c = Client::new(mail(&["a@x"]), "h\r\nRSET", Timeouts::from_step(Duration::from_secs(1)), t0);
        c.connected(t0);
        c.receive(b"220 x\r\n", t0);
        assert_eq!(sent(&mut c), "HELO hRSET\r\n");
    }
}
