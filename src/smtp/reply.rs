//! SMTP server replies (RFC 5321 4.2): `250 ok`, or several lines
//! `250-first` ... `250 last` sharing one code. Pure; never panics.

use std::fmt;

/// Longest reply line we accept, CRLF included (RFC 5321 4.5.3.1.5).
pub const MAX_LINE: usize = 512;

/// Longest whole reply (all its lines); a server streaming continuation
/// lines forever is an error, not an unbounded buffer.
pub const MAX_REPLY: usize = 8 * 1024;

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Reply {
    /// Three digits, 100..=999.
    pub code: u16,
    /// The lines' text after the code, joined with spaces; control
    /// characters and invalid UTF-8 replaced so it is safe to log.
    pub text: String,
}

impl Reply {
    /// 2xx.
    pub fn is_positive(&self) -> bool {
        (200..300).contains(&self.code)
    }
}

impl fmt::Display for Reply {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if self.text.is_empty() {
            write!(f, "{}", self.code)
        } else {
            write!(f, "{} {}", self.code, self.text)
        }
    }
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ReplyError {
    /// A line that does not start with three digits followed by ` `, `-`
    /// or the end of the line.
    Malformed,
    /// The lines of one multi-line reply carry different codes.
    MixedCodes,
    LineTooLong,
    ReplyTooLong,
}

impl fmt::Display for ReplyError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            ReplyError::Malformed => "malformed SMTP reply",
            ReplyError::MixedCodes => "SMTP reply lines with different codes",
            ReplyError::LineTooLong => "SMTP reply line too long",
            ReplyError::ReplyTooLong => "SMTP reply too long",
        })
    }
}

/// Parse the first complete reply in `buf`. `Ok(Some((reply, consumed)))`
/// with `consumed > 0` bytes used; `Ok(None)` when more bytes are needed.
/// Lines end in CRLF or a bare LF (lenient, like most clients).
pub fn parse_reply(buf: &[u8]) -> Result<Option<(Reply, usize)>, ReplyError> {
    let mut pos = 0;
    let mut code = None;
    let mut text = String::new();
    loop {
        let rest = &buf[pos..];
        let Some(nl) = rest.iter().position(|&b| b == b'\n') else {
            if rest.len() >= MAX_LINE {
                return Err(ReplyError::LineTooLong);
            }
            // Reject garbage early rather than waiting for a newline.
            check_prefix(rest)?;
            return if pos + rest.len() >= MAX_REPLY { Err(ReplyError::ReplyTooLong) } else { Ok(None) };
        };
        if nl + 1 > MAX_LINE {
            return Err(ReplyError::LineTooLong);
        }
        let line = rest[..nl].strip_suffix(b"\r").unwrap_or(&rest[..nl]);
        pos += nl + 1;
        if pos > MAX_REPLY {
            return Err(ReplyError::ReplyTooLong);
        }
        let (line_code, last) = parse_line_head(line)?;
        if *code.get_or_insert(line_code) != line_code {
            return Err(ReplyError::MixedCodes);
        }
        let line_text = clean(line.get(4..).unwrap_or_default());
        if !line_text.is_empty() {
            if !text.is_empty() {
                text.push(' ');
            }
            text.push_str(&line_text);
        }
        if last {
            return Ok(Some((Reply { code: line_code, text }, pos)));
        }
    }
}

/// The code of a complete line and whether it ends the reply.
fn parse_line_head(line: &[u8]) -> Result<(u16, bool), ReplyError> {
    let code = digits(line).ok_or(ReplyError::Malformed)?;
    match line.get(3) {
        None | Some(b' ') => Ok((code, true)),
        Some(b'-') => Ok((code, false)),
        Some(_) => Err(ReplyError::Malformed),
    }
}

/// An incomplete line can already be known to be garbage.
fn check_prefix(partial: &[u8]) -> Result<(), ReplyError> {
    let ok = partial.iter().take(3).all(u8::is_ascii_digit)
        && partial.get(3).is_none_or(|b| matches!(b, b' ' | b'-' | b'\r'));
    if ok {
        Ok(())
    } else {
        Err(ReplyError::Malformed)
    }
}

fn digits(line: &[u8]) -> Option<u16> {
    let d = line.get(..3)?;
    if !d.iter().all(u8::is_ascii_digit) || d[0] == b'0' {
        return None;
    }
    Some(d.iter().fold(0u16, |n, &b| n * 10 + u16::from(b - b'0')))
}

fn clean(text: &[u8]) -> String {
    String::from_utf8_lossy(text)
        .chars()
        .map(|c| if c.is_control() { ' ' } else { c })
        .collect::<String>()
        .trim()
        .to_string()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn one(s: &str) -> Result<Option<(Reply, usize)>, ReplyError> {
        parse_reply(s.as_bytes())
    }

    #[test]
    fn single_line() {
        let (r, n) = one("220 mail.example ESMTP\r\nrest").unwrap().unwrap();
        assert_eq!((r.code, r.text.as_str(), n), (220, "mail.example ESMTP", 24));
        assert!(r.is_positive());
    }

    #[test]
    fn multi_line_joined_and_bare_lf_accepted() {
        let (r, n) = one("250-hello\r\n250-SIZE 100\n250 HELP\r\n").unwrap().unwrap();
        assert_eq!(r.code, 250);
        assert_eq!(r.text, "hello SIZE 100 HELP");
        assert_eq!(n, 34);
    }

    #[test]
    fn code_alone_on_a_line() {
        let (r, _) = one("354\r\n").unwrap().unwrap();
        assert_eq!((r.code, r.text.as_str()), (354, ""));
        assert_eq!(r.to_string(), "354");
    }

    #[test]
    fn incomplete_needs_more() {
        assert_eq!(one(""), Ok(None));
        assert_eq!(one("2"), Ok(None));
        assert_eq!(one("250-a\r\n250"), Ok(None));
        assert_eq!(one("550 no such user"), Ok(None));
    }

    #[test]
    fn garbage_rejected() {
        assert_eq!(one("HTTP/1.1 400\r\n"), Err(ReplyError::Malformed));
        assert_eq!(one("HT"), Err(ReplyError::Malformed));
        assert_eq!(one("25x ok\r\n"), Err(ReplyError::Malformed));
        assert_eq!(one("250x\r\n"), Err(ReplyError::Malformed));
        assert_eq!(one("050 zero\r\n"), Err(ReplyError::Malformed));
        assert_eq!(one("\r\n"), Err(ReplyError::Malformed));
        assert_eq!(one("250-a\r\n251 b\r\n"), Err(ReplyError::MixedCodes));
    }

    #[test]
    fn line_limit() {
        let ok = format!("250 {}\r\n", "a".repeat(MAX_LINE - 6));
        assert_eq!(ok.len(), MAX_LINE);
        assert!(one(&ok).unwrap().is_some());
        let long = format!("250 {}\r\n", "a".repeat(MAX_LINE - 5));
        assert_eq!(one(&long), Err(ReplyError::LineTooLong));
        let unterminated = format!("250 {}", "a".repeat(MAX_LINE));
        assert_eq!(one(&unterminated), Err(ReplyError::LineTooLong));
    }

    #[test]
    fn endless_continuation_is_bounded() {
        let lines = "250-more more more\r\n".repeat(MAX_REPLY / 10);
        assert_eq!(one(&lines), Err(ReplyError::ReplyTooLong));
    }

    #[test]
    fn control_characters_cleaned() {
        let (r, _) = parse_reply(b"550 bad\x1b[31m \xff user\r\n").unwrap().unwrap();
        assert_eq!(r.text, "bad [31m \u{fffd} user");
    }

    struct XorShift(u64);

    impl XorShift {
        fn next(&mut self) -> u64 {
            self.0 ^= self.0 << 13;
            self.0 ^= self.0 >> 7;
            self.0 ^= self.0 << 17;
            self.0
        }
    }

    /// Random bytes, biased towards the characters that matter, never
    /// panic and always give a self-consistent answer.
    #[test]
    fn random_bytes_never_panic() {
        const ALPHABET: &[u8] = b"0123456789 -\r\n25a\xff";
        let mut rng = XorShift(0x9e37_79b9_7f4a_7c15);
        for _ in 0..20_000 {
            let len = (rng.next() % 700) as usize;
            let biased = rng.next() % 2 == 0;
            let buf: Vec<u8> = (0..len)
                .map(|_| {
                    let r = rng.next();
                    if biased {
                        ALPHABET[(r % ALPHABET.len() as u64) as usize]
                    } else {
                        r as u8
                    }
                })
                .collect();
            match parse_reply(&buf) {
                Ok(Some((reply, used))) => {
                    assert!(used > 0 && used <= buf.len());
                    assert!((100..=999).contains(&reply.code));
                    assert_eq!(buf[used - 1], b'\n');
                    assert!(!reply.text.chars().any(char::is_control));
                    // The reply is complete on its own: the prefix parses the same.
                    assert_eq!(parse_reply(&buf[..used]), Ok(Some((reply, used))));
                }
                Ok(None) => assert!(buf.len() < MAX_REPLY),
                Err(_) => {}
            }
        }
    }

    /// Well-formed replies built from random parts parse back exactly.
    #[test]
    fn random_valid_replies_round_trip() {
        let mut rng = XorShift(42);
        for _ in 0..20_000 {
            let code = 100 + (rng.next() % 900) as u16;
            let lines = 1 + (rng.next() % 4) as usize;
            let mut wire = String::new();
            let mut words = Vec::new();
            for i in 0..lines {
                let word = format!("w{}", rng.next() % 1000);
                let sep = if i + 1 == lines { ' ' } else { '-' };
                wire.push_str(&format!("{code}{sep}{word}\r\n"));
                words.push(word);
            }
            let split = (rng.next() as usize) % wire.len();
            assert_eq!(parse_reply(&wire.as_bytes()[..split]), Ok(None), "{wire:?} cut at {split}");
            wire.push_str("999 trailing");
            let (reply, used) = parse_reply(wire.as_bytes()).unwrap().unwrap();
            assert_eq!(reply, Reply { code, text: words.join(" ") });
            assert_eq!(used, wire.len() - "999 trailing".len());
        }
    }
}
