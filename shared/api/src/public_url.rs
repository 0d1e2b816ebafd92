//! The address people reach this service at, for links that leave it: the
//! start link in an EVSE's QR code, an invitation or a password reset in an
//! e-mail. Configured (`CSMS_PUBLIC_URL`), never taken from a request's
//! `Host` header — a forged header must not send someone's reset link to
//! another site.

use std::fmt;

/// An absolute `http`/`https` base address without query, fragment or
/// trailing slash, e.g. `https://csms.example.com` or
/// `https://example.com/csms`.
#[derive(Clone, PartialEq, Eq)]
pub struct PublicUrl(String);

impl PublicUrl {
    /// Parses a configured base address; the error says what is wrong.
    pub fn parse(text: &str) -> Result<Self, String> {
        let url = url::Url::parse(text.trim()).map_err(|e| format!("not an absolute URL: {e}"))?;
        if !matches!(url.scheme(), "http" | "https") {
            return Err("must start with http:// or https://".into());
        }
        if url.host_str().is_none_or(str::is_empty) {
            return Err("has no host".into());
        }
        if url.query().is_some() || url.fragment().is_some() {
            return Err("must not have a query or fragment".into());
        }
        if !url.username().is_empty() || url.password().is_some() {
            return Err("must not carry a user name or password".into());
        }
        Ok(PublicUrl(url.as_str().trim_end_matches('/').to_owned()))
    }

    /// The address of `path` (which starts with `/`) under this base.
    pub fn join(&self, path: &str) -> String {
        debug_assert!(path.starts_with('/'));
        format!("{}{path}", self.0)
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl fmt::Display for PublicUrl {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl fmt::Debug for PublicUrl {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "PublicUrl({})", self.0)
    }
}

#[cfg(test)]
mod tests {
    use super::PublicUrl;

    #[test]
    fn a_base_address_is_kept_without_its_trailing_slash() {
        let u = PublicUrl::parse("https://csms.example.com/").unwrap();
        assert_eq!(u.join("/start/abc"), "https://csms.example.com/start/abc");
        let u = PublicUrl::parse("http://127.0.0.1:8180/csms/").unwrap();
        assert_eq!(u.join("/x"), "http://127.0.0.1:8180/csms/x");
    }

    #[test]
    fn anything_but_a_plain_web_address_is_refused() {
        for bad in [
            "",
            "csms.example.com",
            "ftp://example.com",
            "https://example.com/?a=1",
            "https://example.com/#top",
            "https://user:pw@example.com",
            "mailto:ops@example.com",
        ] {
            assert!(PublicUrl::parse(bad).is_err(), "{bad:?} was accepted");
        }
    }
}
