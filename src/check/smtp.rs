//! SMTP_CHECK: a reply parser over bytes (pure, never panics) and the
//! dialogue keepalived holds: banner 220, `HELO name` -> 250, `QUIT`.

use std::fmt;
use std::io::{self, Read, Write};

/// keepalived's line buffer: a reply line longer than this is an error.
pub const MAX_LINE: usize = 512;

pub const DEFAULT_HELO: &str = "smtpchecker.keepalived.org";

#[derive(Clone, Debug, PartialEq, Eq)]
pub enum SmtpError {
    BadReply,
    LineTooLong,
    /// A reply code the dialogue did not expect at this step.
    Unexpected {
        step: &'static str,
        code: u16,
    },
    /// The server closed the connection mid-dialogue.
    Closed,
}

impl fmt::Display for SmtpError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            SmtpError::BadReply => f.write_str("malformed SMTP reply"),
            SmtpError::LineTooLong => f.write_str("SMTP reply line too long"),
            SmtpError::Unexpected { step, code } => write!(f, "SMTP {step} answered {code}"),
            SmtpError::Closed => f.write_str("SMTP server closed the connection"),
        }
    }
}

/// Find the first complete reply in `buf`: `Ok(Some((code, consumed)))`;
/// `Ok(None)` when more bytes are needed. Multi-line replies (`250-...`)
/// end at the first line whose fourth byte is not `-`.
pub fn parse_reply(buf: &[u8]) -> Result<Option<(u16, usize)>, SmtpError> {
    let mut pos = 0;
    loop {
        let rest = &buf[pos..];
        let Some(nl) = rest.iter().position(|&b| b == b'\n') else {
            return if rest.len() > MAX_LINE { Err(SmtpError::LineTooLong) } else { Ok(None) };
        };
        if nl > MAX_LINE {
            return Err(SmtpError::LineTooLong);
        }
        let line = &rest[..nl];
        let line = line.strip_suffix(b"\r").unwrap_or(line);
        let code = line.get(..3).filter(|c| c.iter().all(u8::is_ascii_digit)).ok_or(SmtpError::BadReply)?;
        let code = code.iter().fold(0u16, |n, d| n * 10 + u16::from(d - b'0'));
        pos += nl + 1;
        match line.get(3) {
            Some(b'-') => continue,
            None | Some(b' ') => return Ok(Some((code, pos))),
            Some(_) => return Err(SmtpError::BadReply),
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
                Err(e) => return SmtpProgress::Done(Err(e)),
                Ok(Some((code, used))) => {
                    self.inbuf.drain(..used);
                    match self.dialogue.on_reply(code) {
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
    fn replies() {
        assert_eq!(parse_reply(b"220 mx ESMTP\r\n"), Ok(Some((220, 14))));
        assert_eq!(parse_reply(b"250-mx\r\n250-SIZE\r\n250 OK\r\nrest"), Ok(Some((250, 26))));
        assert_eq!(parse_reply(b"250-mx\r\n250 O"), Ok(None));
        assert_eq!(parse_reply(b"221\n"), Ok(Some((221, 4))));
        assert_eq!(parse_reply(b"22"), Ok(None));
        assert_eq!(parse_reply(b"2x0 hi\r\n"), Err(SmtpError::BadReply));
        assert_eq!(parse_reply(b"220xhi\r\n"), Err(SmtpError::BadReply));
        assert_eq!(parse_reply(&[b'2'; MAX_LINE + 2]), Err(SmtpError::LineTooLong));
    }

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

    #[test]
    fn random_bytes_never_panic() {
        let mut rng = 0x2545_f491_4f6c_dd1du64;
        let mut next = move || {
            rng ^= rng << 13;
            rng ^= rng >> 7;
            rng ^= rng << 17;
            rng
        };
        let alphabet = b"0123456789 -\r\n";
        for _ in 0..5000 {
            let len = (next() % 700) as usize;
            let bytes: Vec<u8> = (0..len)
                .map(|_| {
                    let r = next();
                    if r % 4 != 0 {
                        alphabet[(r >> 8) as usize % alphabet.len()]
                    } else {
                        (r >> 16) as u8
                    }
                })
                .collect();
            if let Ok(Some((code, used))) = parse_reply(&bytes) {
                assert!(code <= 999 && used <= bytes.len());
            }
        }
    }
}
