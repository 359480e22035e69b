//! Engines: the glue that runs a pure protocol core against the I/O edge
//! inside a child's event loop (`runtime::Subsystem`).

pub mod vrrp;
