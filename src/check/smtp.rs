//! SMTP_CHECK: the dialogue keepalived holds (banner 220, `HELO name` ->
//! 250, `QUIT`) over the SMTP client's reply parser (`smtp::reply`, pure and
//! fuzzed).

use std::fmt;
use std::io::{self, Read, Write};

use crate::smtp::reply::{parse_reply, ReplyError};

pub const DEFAULT_HELO: &str = "smtpchecker.keepalived.org";

#[derive(Clone, Debug, PartialEq, Eq)]
pub enum SmtpError {
    /// Bytes that are not an SMTP reply.
    Reply(ReplyError),
    /// A reply code the dialogue did not expect at this step.
    Unexpected { step: &'static str, code: u16 },
    /// The server closed the connection mid-dialogue.
    Closed,
}

impl fmt::Display for SmtpError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            SmtpError::Reply(e) => e.fmt(f),
            SmtpError::Unexpected { step, code } => write!(f, "SMTP {step} answered {code}"),
            SmtpError::Closed => f.write_str("SMTP server closed the connection"),
        }
    }
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Step {
    Banner,
    Helo,
    Quit,
    Done,
}

/// The dialogue as a state machine over reply codes.
#[derive(Clone, Debug)]
pub struct SmtpDialogue {
    step: Step,
    helo_name: String,
}

impl SmtpDialogue {
    pub fn new(helo_name: &str) -> SmtpDialogue {
        let clean: String = helo_name.chars().filter(|c| !c.is_control()).collect();
        SmtpDialogue { step: Step::Banner, helo_name: clean }
    }

    pub fn is_done(&self) -> bool {
        self.step == Step::Done
    }

    /// After QUIT any reply (or the server closing) is success.
    pub fn quit_sent(&self) -> bool {
        self.step == Step::Quit
    }

    /// Consume one reply code; returns the next command to send, if any.
    pub fn on_reply(&mut self, code: u16) -> Result<Option<Vec<u8>>, SmtpError> {
        match self.step {
            Step::Banner if code == 220 => {
                self.step = Step::Helo;
                Ok(Some(format!("HELO {}\r\n", self.helo_name).into_bytes()))
            }
            Step::Banner => Err(SmtpError::Unexpected { step: "banner", code }),
            Step::Helo if code == 250 => {
                self.step = Step::Quit;
                Ok(Some(b"QUIT\r\n".to_vec()))
            }
            Step::Helo => Err(SmtpError::Unexpected { step: "HELO", code }),
            Step::Quit | Step::Done => {
                self.step = Step::Done;
                Ok(None)
            }
        }
    }
}

/// The dialogue over a byte stream, with its buffers.
#[derive(Clone, Debug)]
pub struct SmtpExchange {
    dialogue: SmtpDialogue,
    inbuf: Vec<u8>,
    out: Vec<u8>,
    sent: usize,
}

#[derive(Debug)]
pub enum SmtpProgress {
    Pending,
    Done(Result<(), SmtpError>),
    Failed(io::Error),
}

impl SmtpExchange {
    pub fn new(helo_name: &str) -> SmtpExchange {
        SmtpExchange { dialogue: SmtpDialogue::new(helo_name), inbuf: Vec::new(), out: Vec::new(), sent: 0 }
    }

    pub fn drive<S: Read + Write>(&mut self, stream: &mut S) -> SmtpProgress {
        loop {
            while self.sent < self.out.len() {
                match stream.write(&self.out[self.sent..]) {
                    Ok(0) => return SmtpProgress::Failed(io::ErrorKind::WriteZero.into()),
                    Ok(n) => self.sent += n,
                    Err(e) if e.kind() == io::ErrorKind::WouldBlock => return SmtpProgress::Pending,
                    Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
                    Err(e) => return SmtpProgress::Failed(e),
                }
            }
            match parse_reply(&self.inbuf) {
                Err(e) => return SmtpProgress::Done(Err(SmtpError::Reply(e))),
                Ok(Some((reply, used))) => {
                    self.inbuf.drain(..used);
                    match self.dialogue.on_reply(reply.code) {
                        Err(e) => return SmtpProgress::Done(Err(e)),
                        Ok(Some(cmd)) => {
                            self.out = cmd;
                            self.sent = 0;
                        }
                        Ok(None) => return SmtpProgress::Done(Ok(())),
                    }
                    continue;
                }
                Ok(None) => {}
            }
            let mut buf = [0u8; 1024];
            match stream.read(&mut buf) {
                Ok(0) if self.dialogue.quit_sent() => return SmtpProgress::Done(Ok(())),
                Ok(0) => return SmtpProgress::Done(Err(SmtpError::Closed)),
                Ok(n) => self.inbuf.extend_from_slice(&buf[..n]),
                Err(e) if e.kind() == io::ErrorKind::WouldBlock => return SmtpProgress::Pending,
                Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
                Err(e) => return SmtpProgress::Failed(e),
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn dialogue() {
        let mut d = SmtpDialogue::new("checker.example");
        assert_eq!(d.on_reply(220), Ok(Some(b"HELO checker.example\r\n".to_vec())));
        assert_eq!(d.on_reply(250), Ok(Some(b"QUIT\r\n".to_vec())));
        assert_eq!(d.on_reply(221), Ok(None));
        assert!(d.is_done());
        let mut d = SmtpDialogue::new("x");
        assert_eq!(d.on_reply(554), Err(SmtpError::Unexpected { step: "banner", code: 554 }));
        let mut d = SmtpDialogue::new("x");
        d.on_reply(220).unwrap();
        assert_eq!(d.on_reply(501), Err(SmtpError::Unexpected { step: "HELO", code: 501 }));
    }

    /// A server that answers with canned bytes and swallows what is sent.
    struct Canned(io::Cursor<Vec<u8>>);

    impl Read for Canned {
        fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
            self.0.read(buf)
        }
    }

    impl Write for Canned {
        fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
            Ok(buf.len())
        }
        fn flush(&mut self) -> io::Result<()> {
            Ok(())
        }
    }

    #[test]
    fn exchange_reads_multi_line_and_bare_lf_replies() {
        let mut server = Canned(io::Cursor::new(b"220-mx\r\n220 ESMTP\r\n250 ok\n221\n".to_vec()));
        let mut e = SmtpExchange::new("checker.example");
        assert!(matches!(e.drive(&mut server), SmtpProgress::Done(Ok(()))));
        let mut server = Canned(io::Cursor::new(b"2x0 hi\r\n".to_vec()));
        let mut e = SmtpExchange::new("checker.example");
        assert!(matches!(
            e.drive(&mut server),
            SmtpProgress::Done(Err(SmtpError::Reply(ReplyError::Malformed)))
        ));
    }
}
