//! vigil: a keepalived-compatible high-availability daemon.
//!
//! Layering (see README): `config` turns keepalived.conf into a typed model;
//! `vrrp` holds the pure protocol core (codecs and state machines that take
//! bytes and time and return actions); `sys` is the I/O edge (raw sockets,
//! rtnetlink, ARP/ND); `daemon` wires them into processes and poll loops.

pub mod check;
pub mod cli;
pub mod config;
pub mod daemon;
pub mod engine;
pub mod genhash;
pub mod ipvs;
pub mod runtime;
pub mod script;
pub mod smtp;
pub mod sys;
pub mod time;
pub mod vrrp;
