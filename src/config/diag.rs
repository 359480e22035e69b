//! Diagnostics: every finding about a configuration carries where it was
//! found, how bad it is, and (when we can guess) what the user meant.

use std::fmt;
use std::rc::Rc;

/// The hint of an error about something this build cannot do (SSL_GET
/// without the `ssl` feature). The daemon refuses to start with such an
/// error, as it refuses to reload with any error.
pub const NO_TLS: &str = "this vigil was built without TLS (the ssl feature)";

#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub enum Severity {
    Warning,
    Error,
}

/// A position in a configuration file. Lines and columns are 1-based.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Loc {
    pub file: Rc<str>,
    pub line: u32,
    pub col: u32,
}

impl fmt::Display for Loc {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}:{}:{}", self.file, self.line, self.col)
    }
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Diagnostic {
    /// `None` for findings about the configuration as a whole (missing file).
    pub loc: Option<Loc>,
    pub severity: Severity,
    pub message: String,
    /// A did-you-mean or how-to-fix text, shown after the message.
    pub hint: Option<String>,
}

impl Diagnostic {
    pub fn error(loc: Option<Loc>, message: impl Into<String>) -> Self {
        Diagnostic { loc, severity: Severity::Error, message: message.into(), hint: None }
    }

    pub fn warning(loc: Option<Loc>, message: impl Into<String>) -> Self {
        Diagnostic { loc, severity: Severity::Warning, message: message.into(), hint: None }
    }

    pub fn with_hint(mut self, hint: impl Into<String>) -> Self {
        self.hint = Some(hint.into());
        self
    }

    pub fn is_error(&self) -> bool {
        self.severity == Severity::Error
    }

    /// An error the daemon cannot run with (see [`NO_TLS`]).
    pub fn is_unrunnable(&self) -> bool {
        self.is_error() && self.hint.as_deref() == Some(NO_TLS)
    }
}

impl fmt::Display for Diagnostic {
    /// `file:line:col: error: message (hint: ...)`, the form editors and
    /// `grep -n` users expect.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if let Some(loc) = &self.loc {
            write!(f, "{loc}: ")?;
        }
        let sev = match self.severity {
            Severity::Error => "error",
            Severity::Warning => "warning",
        };
        write!(f, "{sev}: {}", self.message)?;
        if let Some(h) = &self.hint {
            write!(f, " (hint: {h})")?;
        }
        Ok(())
    }
}
