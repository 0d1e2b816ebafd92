//! Which URLs a webhook may point at.
//!
//! In a cloud deployment the delivery function runs inside the operator's
//! network: a URL naming a private or loopback address would let a partner
//! make it call internal services. So by default only `https` URLs with a
//! public host are accepted. A local installation talking to receivers on
//! the same machine or LAN opts in with `allow_private` (the local runner
//! does by default).
//!
//! A host name that resolves to a private address is not caught here (that
//! needs a check at connect time); literal addresses and `localhost` are.

use std::net::IpAddr;
use url::{Host, Url};

/// How strict [`check`] is.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct TargetPolicy {
    /// Accept `http://`, loopback, private and link-local addresses.
    pub allow_private: bool,
}

/// The URL in normalised form, or why it is refused.
pub fn check(raw: &str, policy: TargetPolicy) -> Result<String, String> {
    if raw.len() > 2000 {
        return Err("url: at most 2000 characters".into());
    }
    let url = Url::parse(raw).map_err(|e| format!("url: not a valid URL ({e})"))?;
    match url.scheme() {
        "https" => {}
        "http" if policy.allow_private => {}
        "http" => return Err("url: must use https".into()),
        other => return Err(format!("url: scheme {other:?} is not supported; use https")),
    }
    if !url.username().is_empty() || url.password().is_some() {
        return Err("url: must not contain credentials; the signature authenticates us".into());
    }
    if url.fragment().is_some() {
        return Err("url: must not contain a fragment".into());
    }
    let private = match url.host() {
        None => return Err("url: needs a host".into()),
        Some(Host::Domain(d)) => {
            let d = d.trim_end_matches('.').to_ascii_lowercase();
            d == "localhost" || d.ends_with(".localhost") || d.ends_with(".internal")
        }
        Some(Host::Ipv4(ip)) => !is_public(IpAddr::V4(ip)),
        Some(Host::Ipv6(ip)) => !is_public(IpAddr::V6(ip)),
    };
    if private && !policy.allow_private {
        return Err("url: must name a public host".into());
    }
    Ok(url.to_string())
}

fn is_public(ip: IpAddr) -> bool {
    match ip {
        IpAddr::V4(v4) => {
            let o = v4.octets();
            !(v4.is_loopback()
                || v4.is_private()
                || v4.is_link_local()
                || v4.is_unspecified()
                || v4.is_broadcast()
                || v4.is_documentation()
                || o[0] == 0
                || (o[0] == 100 && (64..128).contains(&o[1])) // carrier-grade NAT
                || o[0] >= 240)
        }
        IpAddr::V6(v6) => {
            if let Some(v4) = v6.to_ipv4_mapped() {
                return is_public(IpAddr::V4(v4));
            }
            let first = v6.segments()[0];
            !(v6.is_loopback()
                || v6.is_unspecified()
                || (first & 0xfe00) == 0xfc00 // unique local
                || (first & 0xffc0) == 0xfe80) // link local
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const STRICT: TargetPolicy = TargetPolicy {
        allow_private: false,
    };
    const LOCAL: TargetPolicy = TargetPolicy {
        allow_private: true,
    };

    #[test]
    fn strict_policy() {
        assert_eq!(
            check("https://hooks.example.com/csms?x=1", STRICT).unwrap(),
            "https://hooks.example.com/csms?x=1"
        );
        for bad in [
            "http://hooks.example.com/",
            "https://localhost/x",
            "https://127.0.0.1/x",
            "https://10.1.2.3/",
            "https://169.254.169.254/latest/meta-data",
            "https://[::1]/",
            "https://[fd00::1]/",
            "https://[::ffff:192.168.0.1]/",
            "https://user:pw@example.com/",
            "ftp://example.com/",
            "not a url",
            "https://example.com/#frag",
        ] {
            assert!(check(bad, STRICT).is_err(), "{bad} should be refused");
        }
    }

    #[test]
    fn local_policy_allows_private_http() {
        assert!(check("http://127.0.0.1:9000/hook", LOCAL).is_ok());
        assert!(check("http://localhost:9000/hook", LOCAL).is_ok());
        assert!(check("file:///etc/passwd", LOCAL).is_err());
    }
}
