//! vigil: a keepalived-compatible high-availability daemon.
//!
//! Layers, top to bottom (ARCHITECTURE.md; `tests/architecture.rs` keeps
//! the direction): `cli` -> `daemon` (processes and loops) -> the engines
//! (`failover`, `check`) -> the pure cores (`vrrp`, `smtp`, `script`) and
//! the edge (`sys`, `ipvs`) -> `config`, `runtime`, `time`.

pub mod check;
pub mod cli;
pub mod config;
pub mod daemon;
pub mod failover;
pub mod genhash;
pub mod ipvs;
pub mod runtime;
pub mod script;
pub mod smtp;
pub mod sys;
pub mod time;
pub mod vrrp;
