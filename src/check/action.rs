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
    /// A log line in keepalived's wording.
    Log {
        level: log::Level,
        line: String,
    },
}
