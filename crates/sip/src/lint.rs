//! `callward sip lint`: the verdict a UAS reaches on one datagram.
//!
//! ```
//! use callward_sip::lint::lint;
//! assert_eq!(lint(b"").to_string(), "reject drop no start line");
//! ```

use std::fmt;

use crate::message::StatusCode;
use crate::validate::{Inspection, UasPolicy, inspect};

/// The verdict on one datagram.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum LintVerdict {
    /// Well-formed and processable.
    Accept,
    /// Refused: answered with `status`, or dropped when `status` is `None`.
    Reject {
        /// The response status, or `None` for a dropped datagram.
        status: Option<StatusCode>,
        /// Why.
        reason: String,
    },
}

impl LintVerdict {
    /// Whether the message was accepted.
    pub fn is_accept(&self) -> bool {
        matches!(self, Self::Accept)
    }
}

impl fmt::Display for LintVerdict {
    /// `accept`, or `reject <status or drop> <reason>`.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Accept => f.write_str("accept"),
            Self::Reject {
                status: Some(s),
                reason,
            } => write!(f, "reject {s} {reason}"),
            Self::Reject {
                status: None,
                reason,
            } => write!(f, "reject drop {reason}"),
        }
    }
}

/// Judges one datagram (a request as a UAS would, a response as a UAC
/// would) with the default [`UasPolicy`]. Never panics.
pub fn lint(datagram: &[u8]) -> LintVerdict {
    match inspect(datagram, &UasPolicy::default()) {
        Inspection::Request(_) | Inspection::Response(_) => LintVerdict::Accept,
        Inspection::Reject { status, reason } => LintVerdict::Reject {
            status: Some(status),
            reason: one_line(&reason),
        },
        Inspection::Drop { reason } => LintVerdict::Reject {
            status: None,
            reason: one_line(&reason),
        },
    }
}

/// Keeps the verdict on one printable line whatever the input held.
fn one_line(s: &str) -> String {
    s.chars()
        .map(|c| if c.is_control() { ' ' } else { c })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn display_forms() {
        assert_eq!(LintVerdict::Accept.to_string(), "accept");
        let v = lint(
            b"OPTIONS sip:a@b SIP/2.0\r\nVia: SIP/2.0/UDP h;branch=z9hG4bK1\r\nTo: <sip:a@b>\r\n\
From: <sip:c@d>;tag=1\r\nCSeq: 1 OPTIONS\r\n\r\n",
        );
        assert_eq!(v.to_string(), "reject 400 missing Call-ID");
        assert_eq!(lint(b"\r\n\r\n").to_string(), "reject drop no start line");
    }
}
