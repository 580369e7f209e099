//! SIP request methods.

use std::fmt;

use crate::syntax::is_token;
use crate::text::Text;

/// A request method. Methods are case-sensitive; anything not listed is an
/// [`Method::Extension`].
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum Method {
    /// INVITE.
    Invite,
    /// ACK.
    Ack,
    /// BYE.
    Bye,
    /// CANCEL.
    Cancel,
    /// OPTIONS.
    Options,
    /// REGISTER.
    Register,
    /// INFO.
    Info,
    /// PRACK.
    Prack,
    /// UPDATE.
    Update,
    /// SUBSCRIBE.
    Subscribe,
    /// NOTIFY.
    Notify,
    /// REFER.
    Refer,
    /// MESSAGE.
    Message,
    /// PUBLISH.
    Publish,
    /// Any other token.
    Extension(Text),
}

impl Method {
    /// Parses a method token; `None` if it is not a token.
    pub fn parse(s: &str) -> Option<Self> {
        if s.is_empty() || !s.bytes().all(is_token) {
            return None;
        }
        Some(Self::from_token(s))
    }

    /// A method from text already known to be a non-empty token.
    pub(crate) fn from_token(s: &str) -> Self {
        match s {
            "INVITE" => Self::Invite,
            "ACK" => Self::Ack,
            "BYE" => Self::Bye,
            "CANCEL" => Self::Cancel,
            "OPTIONS" => Self::Options,
            "REGISTER" => Self::Register,
            "INFO" => Self::Info,
            "PRACK" => Self::Prack,
            "UPDATE" => Self::Update,
            "SUBSCRIBE" => Self::Subscribe,
            "NOTIFY" => Self::Notify,
            "REFER" => Self::Refer,
            "MESSAGE" => Self::Message,
            "PUBLISH" => Self::Publish,
            _ => Self::Extension(Text::copy(s)),
        }
    }

    /// The method's name on the wire.
    pub fn as_str(&self) -> &str {
        match self {
            Self::Extension(s) => s,
            Self::Invite => "INVITE",
            Self::Ack => "ACK",
            Self::Bye => "BYE",
            Self::Cancel => "CANCEL",
            Self::Options => "OPTIONS",
            Self::Register => "REGISTER",
            Self::Info => "INFO",
            Self::Prack => "PRACK",
            Self::Update => "UPDATE",
            Self::Subscribe => "SUBSCRIBE",
            Self::Notify => "NOTIFY",
            Self::Refer => "REFER",
            Self::Message => "MESSAGE",
            Self::Publish => "PUBLISH",
        }
    }
}

impl fmt::Display for Method {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn methods() {
        assert_eq!(Method::parse("INVITE"), Some(Method::Invite));
        assert_eq!(
            Method::parse("invite"),
            Some(Method::Extension("invite".into()))
        );
        assert_eq!(Method::Invite.as_str(), "INVITE");
        assert_eq!(
            Method::parse("RE%47IST%45R").map(|m| m.to_string()),
            Some("RE%47IST%45R".into())
        );
        assert_eq!(Method::parse("A B"), None);
        assert_eq!(Method::parse(""), None);
    }
}
