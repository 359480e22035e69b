//! What an HTTP_GET checker reads from a real server: the status line
//! parser, the streaming response parser and the exchange over a stream
//! that returns the bytes in arbitrary pieces.
//!
//! Input: `[split] [bytes...]`; `split` sets the piece size. Checked:
//! nothing panics; a code is three digits; the parser gives the same
//! status, Content-Length and (without a Content-Length) body digest
//! whether the bytes come at once or in pieces; a url `regex` gives the same
//! verdict at once and in pieces.

#![no_main]

use std::io::{self, Read, Write};
use std::sync::{Arc, LazyLock};

use libfuzzer_sys::fuzz_target;
use vigil::check::body_regex::{BodyMatcher, Regex, WINDOW};
use vigil::config::regex::compile;
use vigil::check::http::{
    parse_status_line, request, HttpExchange, Progress, Response, ResponseParser, MAX_HEAD,
};
use vigil::config::model::HttpProtocol;

/// A server socket: hands out `data` in pieces of `piece` bytes with a
/// would-block between pieces, then end of stream.
struct Server<'a> {
    data: &'a [u8],
    piece: usize,
    blocked: bool,
}

impl Read for Server<'_> {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        if self.blocked {
            self.blocked = false;
            return Err(io::ErrorKind::WouldBlock.into());
        }
        let n = self.piece.min(buf.len()).min(self.data.len());
        buf[..n].copy_from_slice(&self.data[..n]);
        self.data = &self.data[n..];
        self.blocked = n > 0;
        Ok(n)
    }
}

impl Write for Server<'_> {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        Ok(buf.len().min(7))
    }
    fn flush(&mut self) -> io::Result<()> {
        Ok(())
    }
}

/// Anchors and word boundaries at read edges, a match that spans reads.
static REGEX: LazyLock<Arc<Regex>> =
    LazyLock::new(|| Arc::new(compile(r"^H|\bok\b|a[^z]{0,40}z$|(?m)^end$", &[]).expect("pattern")));

fn parse(pieces: &mut dyn Iterator<Item = &[u8]>) -> Result<Response, vigil::check::http::HttpError> {
    let mut p = ResponseParser::new();
    for piece in pieces {
        if p.feed(piece)? {
            break;
        }
    }
    p.finish()
}

fuzz_target!(|data: &[u8]| {
    let Some((&split, data)) = data.split_first() else { return };
    let piece = usize::from(split % 64) + 1;

    let first_line = data.split(|&b| b == b'\n').next().unwrap_or(&[]);
    if let Ok(code) = parse_status_line(first_line) {
        assert!(code <= 999);
    }

    let whole = parse(&mut std::iter::once(data));
    let pieces = parse(&mut data.chunks(piece));
    if data.len() <= MAX_HEAD {
        match (&whole, &pieces) {
            (Ok(a), Ok(b)) => {
                assert_eq!((a.status, a.content_length), (b.status, b.content_length));
                if a.content_length.is_none() {
                    assert_eq!((a.digest, a.body_len), (b.digest, b.body_len));
                }
            }
            (Err(a), Err(b)) => assert_eq!(a, b),
            _ => panic!("at once {whole:?}, in pieces of {piece}: {pieces:?}"),
        }
    }

    let regex = REGEX.clone();
    let verdict = |pieces: &mut dyn Iterator<Item = &[u8]>| {
        let mut m = BodyMatcher::new(regex.clone(), u64::from(split % 5), None, split % 2 == 0);
        pieces.for_each(|p| m.feed(p));
        m.finish()
    };
    if data.len() as u64 <= WINDOW {
        assert_eq!(verdict(&mut std::iter::once(data)), verdict(&mut data.chunks(piece)), "pieces of {piece}");
    }

    let mut server = Server { data, piece, blocked: false };
    let request: std::rc::Rc<[u8]> = request("/", "198.18.0.1", HttpProtocol::V1_1).into();
    let mut exchange = HttpExchange::new(request, ResponseParser::new());
    // Each call makes progress (a would-block is followed by data), so this ends.
    for _ in 0..=data.len() + 2 {
        match exchange.drive(&mut server, true) {
            Progress::Pending => continue,
            Progress::Done(_) | Progress::Failed(_) => return,
        }
    }
    panic!("exchange never finished");
});
