//! Tests of the VRRP core: codec fixtures and round trips, validation,
//! fuzzing, and the state machine alone and on a simulated LAN.

mod ah;
mod codec;
mod fuzz;
mod hmac;
mod machine;
mod pcap;
mod reconfigure;
mod reject;
mod scenarios;
mod sync;
