//! What the alert mailer reads from a mail server: `smtp::parse_reply` and
//! the delivery state machine (`smtp::Client`) fed arbitrary server bytes
//! in arbitrary pieces, with time passing.
//!
//! Input: `[split] [bytes...]`. Checked: nothing panics; a parsed reply has
//! a three-digit code and uses a non-empty prefix; the client reports its
//! outcome exactly once, and finishes once the server closes or time runs
//! out.

#![no_main]

use std::time::{Duration, Instant};

use libfuzzer_sys::fuzz_target;
use vigil::smtp::{parse_reply, Client, Mail, Timeouts};

fuzz_target!(|data: &[u8]| {
    let Some((&split, data)) = data.split_first() else { return };
    let piece = usize::from(split % 64) + 1;

    let mut rest = data;
    while let Ok(Some((reply, used))) = parse_reply(rest) {
        assert!(used > 0 && used <= rest.len());
        assert!((100..=999).contains(&reply.code), "code {}", reply.code);
        assert!(!reply.text.chars().any(char::is_control), "unsafe log text {:?}", reply.text);
        rest = &rest[used..];
    }

    let mail = Mail {
        from: "vigil@example.org".to_string(),
        to: vec!["noc@example.org".to_string(), "ops@example.org".to_string()],
        subject: "[r1] VRRP Instance VI_1 - Entering MASTER state".to_string(),
        data: b"Subject: x\r\n\r\nbody\r\n.\r\n".to_vec(),
    };
    let mut now = Instant::now();
    let mut client = Client::new(mail, "r1.example.org", Timeouts::from_step(Duration::from_secs(5)), now);
    client.connected(now);
    let mut outcomes = 0;
    for chunk in data.chunks(piece) {
        let n = client.pending_output().len();
        client.consume_output(n);
        client.receive(chunk, now);
        now += Duration::from_millis(u64::from(split));
        client.handle_timeout(now);
        outcomes += usize::from(client.poll_outcome().is_some());
    }
    client.closed();
    outcomes += usize::from(client.poll_outcome().is_some());
    now += Duration::from_secs(60);
    client.handle_timeout(now);
    outcomes += usize::from(client.poll_outcome().is_some());
    assert!(client.is_finished(), "still at {:?}", client.step());
    assert_eq!(outcomes, 1, "outcome reported {outcomes} times");
    assert_eq!(client.poll_timeout(), None);
});
