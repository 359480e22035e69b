//! What an SMTP_CHECK reads from a real server: the reply parser (the SMTP
//! client's, `smtp::reply`) and the
//! banner/HELO/QUIT dialogue over a stream that returns the bytes in
//! arbitrary pieces.
//!
//! Input: `[split] [bytes...]`. Checked: nothing panics; a parsed reply
//! uses a non-empty prefix of the buffer and parses the same from that
//! prefix alone; the exchange ends.

#![no_main]

use std::io::{self, Read, Write};

use libfuzzer_sys::fuzz_target;
use vigil::check::smtp::{SmtpExchange, SmtpProgress};
use vigil::smtp::reply::parse_reply;

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
        Ok(buf.len())
    }
    fn flush(&mut self) -> io::Result<()> {
        Ok(())
    }
}

fuzz_target!(|data: &[u8]| {
    let Some((&split, data)) = data.split_first() else { return };
    let piece = usize::from(split % 64) + 1;

    let mut rest = data;
    while let Ok(Some((reply, used))) = parse_reply(rest) {
        assert!(used > 0 && used <= rest.len());
        assert!(reply.code <= 999);
        assert_eq!(parse_reply(&rest[..used]), Ok(Some((reply, used))));
        rest = &rest[used..];
    }

    let mut server = Server { data, piece, blocked: false };
    let mut exchange = SmtpExchange::new("fuzz.example");
    for _ in 0..=data.len() + 2 {
        match exchange.drive(&mut server) {
            SmtpProgress::Pending => continue,
            SmtpProgress::Done(_) | SmtpProgress::Failed(_) => return,
        }
    }
    panic!("SMTP exchange never finished");
});
