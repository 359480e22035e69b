//! What the process connector socket reads (`vrrp_track_process`): one
//! netlink message holding a `cn_msg` and a `proc_event`.
//!
//! Input: the datagram. Checked: nothing panics; a name change carries at
//! most the 16 bytes of the kernel's `comm` and no NUL; bytes after the
//! message's length change nothing.

#![no_main]

use libfuzzer_sys::fuzz_target;
use vigil::sys::proc_connector::{parse_event, Event};

fuzz_target!(|data: &[u8]| {
    match parse_event(data) {
        Ok(Some(Event::Comm(_, name))) => {
            assert!(name.len() <= 16 && !name.contains(&0));
        }
        Ok(_) | Err(_) => {}
    }
    // The length field bounds what is read: anything after the message is ignored.
    if let Ok(first) = parse_event(data) {
        let mut longer = data.to_vec();
        longer.extend_from_slice(&[0xff; 32]);
        assert_eq!(parse_event(&longer), Ok(first));
    }
});
