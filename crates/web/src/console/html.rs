//! HTML that escapes by construction.
//!
//! [`Html`] grows only through [`Html::raw`], which takes `&'static str`
//! (markup written in this crate's source), and [`Html::text`], which
//! escapes. So nothing that came from a user, the store or the network can
//! reach a page unescaped without a `'static` lifetime, which it cannot
//! have. About forty lines instead of a templating crate: no proc-macro to
//! compile, nothing to learn, and the rule fits in one sentence.

use std::fmt::Write as _;

/// A fragment of HTML.
#[derive(Debug, Default, Clone, PartialEq, Eq)]
pub(crate) struct Html(String);

impl Html {
    pub(crate) fn new() -> Self {
        Self::default()
    }

    /// Markup from this crate's source, as is.
    pub(crate) fn raw(&mut self, markup: &'static str) -> &mut Self {
        self.0.push_str(markup);
        self
    }

    /// Text, escaped for element content and quoted attribute values.
    pub(crate) fn text(&mut self, text: &str) -> &mut Self {
        for c in text.chars() {
            match c {
                '&' => self.0.push_str("&amp;"),
                '<' => self.0.push_str("&lt;"),
                '>' => self.0.push_str("&gt;"),
                '"' => self.0.push_str("&quot;"),
                '\'' => self.0.push_str("&#39;"),
                c => self.0.push(c),
            }
        }
        self
    }

    /// A number (nothing to escape).
    pub(crate) fn num(&mut self, n: impl Into<i128>) -> &mut Self {
        let _ = write!(self.0, "{}", n.into());
        self
    }

    /// Another fragment, already safe.
    pub(crate) fn html(&mut self, other: &Self) -> &mut Self {
        self.0.push_str(&other.0);
        self
    }

    pub(crate) fn into_string(self) -> String {
        self.0
    }
}

/// Percent-encodes a query-string value (RFC 3986: unreserved bytes as
/// they are, every other byte as `%XX`).
pub(crate) fn query_encode(s: &str) -> String {
    s.bytes()
        .map(|b| {
            if b.is_ascii_alphanumeric() || matches!(b, b'-' | b'.' | b'_' | b'~') {
                char::from(b).to_string()
            } else {
                format!("%{b:02X}")
            }
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn text_is_escaped_in_content_and_attributes() {
        let mut h = Html::new();
        h.raw("<p title=\"")
            .text("\"><script>alert('x')</script>&")
            .raw("\">")
            .text("<b>")
            .raw("</p>");
        assert_eq!(
            h.into_string(),
            "<p title=\"&quot;&gt;&lt;script&gt;alert(&#39;x&#39;)&lt;/script&gt;&amp;\">&lt;b&gt;</p>"
        );
    }

    #[test]
    fn numbers_need_no_escaping() {
        let mut h = Html::new();
        h.raw("<td>").text("a<b").raw("</td>").num(-42).num(7u32);
        assert_eq!(h.into_string(), "<td>a&lt;b</td>-427");
    }
}
