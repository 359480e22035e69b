//! Pure VRRP core: codecs and state machines. No I/O, time passed in.
