//! Outputs of a virtual server's core: plain data the engine applies in order.

/// A destination of the virtual server.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum DestRef {
    /// The real server at this index of the configuration.
    Real(usize),
    Sorry,
}

/// A script the configuration names.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum ScriptRef {
    NotifyUp(usize),
    NotifyDown(usize),
    QuorumUp,
    QuorumDown,
}

/// Something worth an SMTP alert; the engine decides whether to send it
/// (`smtp_alert`, `no_checker_emails`).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum AlertRef {
    /// Checker `ck` of real server `rs` went up or down; `rs_changed`: the
    /// real server's state changed with it.
    Checker { rs: usize, ck: usize, up: bool, rs_changed: bool },
    /// Quorum gained or lost at this alive weight.
    Quorum { up: bool, weight: u32 },
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Action {
    /// Create the IPVS service (at start).
    AddService,
    /// Remove it (at shutdown).
    DelService,
    AddDest {
        dest: DestRef,
        weight: u32,
    },
    SetWeight {
        dest: DestRef,
        weight: u32,
    },
    DelDest {
        dest: DestRef,
    },
    RunScript(ScriptRef),
    Alert(AlertRef),
    /// A log line in keepalived's wording.
    Log {
        level: log::Level,
        line: String,
    },
}
