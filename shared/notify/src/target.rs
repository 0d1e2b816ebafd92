//! Which URLs a webhook may point at, and which addresses a delivery may
//! connect to.
//!
//! In a cloud deployment the delivery function runs inside the operator's
//! network, and locally it runs on the operator's machine: a URL naming a
//! private or loopback address would let whoever registers it make the CSMS
//! call internal services (the cloud's metadata endpoint, a database's HTTP
//! port, the admin side of a router). So a target is either
//!
//! - **public**: a host name, or an address of the public internet
//!   ([`is_public`]); any key that manages webhooks may register it;
//!   at connect time every address the name resolves to must be public too
//!   (the transport checks, see `csms-http-out`), so a public-looking name
//!   that resolves to `127.0.0.1` is refused then; or
//! - **private**: a literal non-public address, `localhost`, or a name that
//!   only means something on a private network (`*.internal`, `*.local`,
//!   `*.lan`, `*.home.arpa`, a single label). Only an `admin` key may
//!   register one, and only where the operator enabled them
//!   (`allow_private`; the local runner does by default, AWS does not).
//!
//! Plain `http` is accepted only where private targets are enabled.
//!
//! [`is_public`] is the one address policy, used here on literal addresses
//! and by the transport on every resolved address.

use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};
use url::{Host, Url};

/// How strict [`check`] is.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct TargetPolicy {
    /// Accept private targets ([`Checked::private`]) at all; who may
    /// register them is the API's business (admin keys only).
    pub allow_private: bool,
}

/// A URL that passed [`check`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Checked {
    /// The URL in normalised form.
    pub url: String,
    /// It names a target outside the public internet.
    pub private: bool,
}

/// The URL in normalised form and its class, or why it is refused.
pub fn check(raw: &str, policy: TargetPolicy) -> Result<Checked, String> {
    if raw.len() > 2000 {
        return Err("url: at most 2000 characters".into());
    }
    let url = Url::parse(raw).map_err(|e| format!("url: not a valid URL ({e})"))?;
    if !matches!(url.scheme(), "https" | "http") {
        return Err(format!(
            "url: scheme {:?} is not supported; use https",
            url.scheme()
        ));
    }
    if !url.username().is_empty() || url.password().is_some() {
        return Err("url: must not contain credentials; the signature authenticates us".into());
    }
    if url.fragment().is_some() {
        return Err("url: must not contain a fragment".into());
    }
    let Some(host) = url.host() else {
        return Err("url: needs a host".into());
    };
    let private = is_private_host(&host);
    if private && !policy.allow_private {
        return Err("url: must name a host on the public internet".into());
    }
    // Plain http goes with private targets: a set-up that has them is a
    // LAN or one machine (as before the private rule existed).
    if url.scheme() != "https" && !policy.allow_private {
        return Err("url: must use https".into());
    }
    Ok(Checked {
        url: url.to_string(),
        private,
    })
}

/// Whether a stored webhook URL names a private target (see the module
/// docs). A URL that does not parse counts as private: the stricter side.
pub fn is_private_url(raw: &str) -> bool {
    match Url::parse(raw) {
        Ok(url) => url.host().is_none_or(|h| is_private_host(&h)),
        Err(_) => true,
    }
}

fn is_private_host(host: &Host<&str>) -> bool {
    match host {
        Host::Domain(d) => is_private_name(d),
        Host::Ipv4(ip) => !is_public(IpAddr::V4(*ip)),
        Host::Ipv6(ip) => !is_public(IpAddr::V6(*ip)),
    }
}

/// Names that only resolve on a private network. A private name that is
/// not listed here is classed public and then refused at connect time,
/// when it resolves to a private address: the safe side.
fn is_private_name(name: &str) -> bool {
    let d = name.trim_end_matches('.').to_ascii_lowercase();
    const SUFFIXES: [&str; 5] = [".localhost", ".internal", ".local", ".lan", ".home.arpa"];
    d == "localhost" || !d.contains('.') || SUFFIXES.iter().any(|s| d.ends_with(s))
}

/// Whether an address belongs to the public internet: the one policy for
/// literal addresses in URLs and for every address a target's name
/// resolves to when a delivery connects.
///
/// Refused (RFC 6890 and the IANA special-purpose registries): unspecified,
/// "this network" 0/8, loopback, private, shared 100.64/10, link-local,
/// IETF protocol assignments 192.0.0/24, documentation, 6to4 relay
/// 192.88.99/24, benchmarking 198.18/15, multicast, reserved 240/4 and
/// broadcast; IPv6 unspecified, loopback, unique local fc00::/7, link-local
/// fe80::/10, site-local fec0::/10, multicast, discard 100::/64, Teredo
/// 2001::/32, documentation 2001:db8::/32, ORCHID 2001:10::/28 and
/// 2001:20::/28; and the IPv6 forms that carry an IPv4 address, judged by
/// that address: IPv4-mapped ::ffff:0:0/96, IPv4-compatible ::/96, NAT64
/// 64:ff9b::/96 and 64:ff9b:1::/48 (refused whole: the translator is
/// ours), 6to4 2002::/16.
pub fn is_public(ip: IpAddr) -> bool {
    match ip {
        IpAddr::V4(v4) => is_public_v4(v4),
        IpAddr::V6(v6) => is_public_v6(v6),
    }
}

fn is_public_v4(v4: Ipv4Addr) -> bool {
    let [a, b, c, _] = v4.octets();
    !(a == 0 // "this network", includes unspecified
        || a == 10
        || a == 127
        || (a == 100 && (64..128).contains(&b)) // shared address space (carrier-grade NAT)
        || (a == 169 && b == 254) // link-local, cloud metadata
        || (a == 172 && (16..32).contains(&b))
        || (a == 192 && b == 0 && c == 0) // IETF protocol assignments
        || (a == 192 && b == 0 && c == 2) // TEST-NET-1
        || (a == 192 && b == 88 && c == 99) // 6to4 relay anycast
        || (a == 192 && b == 168)
        || (a == 198 && (18..20).contains(&b)) // benchmarking
        || (a == 198 && b == 51 && c == 100) // TEST-NET-2
        || (a == 203 && b == 0 && c == 113) // TEST-NET-3
        || a >= 224) // multicast, reserved 240/4, broadcast
}

fn is_public_v6(v6: Ipv6Addr) -> bool {
    let s = v6.segments();
    let embedded_v4 =
        |hi: u16, lo: u16| Ipv4Addr::new((hi >> 8) as u8, hi as u8, (lo >> 8) as u8, lo as u8);
    // ::/96 (IPv4-compatible; includes :: and ::1) and ::ffff:0:0/96 (IPv4-mapped).
    if s[..5] == [0; 5] && (s[5] == 0 || s[5] == 0xffff) {
        // (With nothing in the low 32 bits but 16, the embedded address is
        // in 0/8, so :: and ::1 are refused by the same rule.)
        return is_public_v4(embedded_v4(s[6], s[7]));
    }
    // NAT64, well-known and local-use prefixes: whatever sits behind a
    // translator is reached from our network, so neither is public to us.
    if (s[0] == 0x64 && s[1] == 0xff9b) && (s[2..6] == [0; 4] || s[2] == 1) {
        return false;
    }
    // 6to4: 2002:AABB:CCDD::/48 carries AA.BB.CC.DD.
    if s[0] == 0x2002 {
        return is_public_v4(embedded_v4(s[1], s[2]));
    }
    !((s[0] & 0xfe00) == 0xfc00 // unique local
        || (s[0] & 0xffc0) == 0xfe80 // link-local
        || (s[0] & 0xffc0) == 0xfec0 // site-local (deprecated, still routed by some)
        || (s[0] & 0xff00) == 0xff00 // multicast
        || s[..4] == [0x100, 0, 0, 0] // discard-only 100::/64
        || (s[0] == 0x2001 && s[1] == 0) // Teredo
        || (s[0] == 0x2001 && s[1] == 0xdb8) // documentation
        || (s[0] == 0x2001 && (0x10..0x30).contains(&s[1]))) // ORCHID v1 and v2
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

    fn public(s: &str) -> bool {
        is_public(s.parse().unwrap())
    }

    #[test]
    fn strict_policy_accepts_public_https_only() {
        assert_eq!(
            check("https://hooks.example.com/csms?x=1", STRICT).unwrap(),
            Checked {
                url: "https://hooks.example.com/csms?x=1".into(),
                private: false
            }
        );
        for bad in [
            "http://hooks.example.com/",
            "https://localhost/x",
            "https://LOCALHOST./x",
            "https://127.0.0.1/x",
            "https://10.1.2.3/",
            "https://169.254.169.254/latest/meta-data",
            "https://metadata.google.internal/",
            "https://printer.local/",
            "https://router.lan/",
            "https://nas.home.arpa/",
            "https://intranet/",
            "https://[::1]/",
            "https://[fd00::1]/",
            "https://[::ffff:192.168.0.1]/",
            "https://[::ffff:127.0.0.1]/",
            "https://[::127.0.0.1]/",
            "https://[64:ff9b::7f00:1]/",
            "https://[64:ff9b::808:808]/",
            "https://[2002:7f00:1::]/",
            "https://198.18.0.1/",
            "https://2130706433/",
            "https://0x7f.1/",
            "https://user:pw@example.com/",
            "ftp://example.com/",
            "file:///etc/passwd",
            "not a url",
            "https://example.com/#frag",
        ] {
            assert!(check(bad, STRICT).is_err(), "{bad} should be refused");
        }
    }

    #[test]
    fn refusals_name_the_url_field() {
        for bad in [
            "https://127.0.0.1/",
            "http://example.com/",
            "gopher://x/",
            "::",
        ] {
            let err = check(bad, STRICT).unwrap_err();
            assert!(err.starts_with("url: "), "{err}");
        }
    }

    #[test]
    fn local_policy_accepts_private_targets_and_says_so() {
        for url in [
            "http://127.0.0.1:9000/hook",
            "http://localhost:9000/hook",
            "https://10.0.0.5/",
            "http://receiver.internal/",
            "http://[::1]:9000/",
        ] {
            assert!(check(url, LOCAL).unwrap().private, "{url}");
        }
        assert!(!check("https://8.8.8.8/", LOCAL).unwrap().private);
        assert!(!check("https://hooks.example.com/", LOCAL).unwrap().private);
        // Plain http where private targets are allowed, public or not.
        assert!(!check("http://hooks.example.com/", LOCAL).unwrap().private);
        assert!(check("http://hooks.example.com/", STRICT).is_err());
        assert!(check("file:///etc/passwd", LOCAL).is_err());
    }

    #[test]
    fn stored_urls_are_classed_like_new_ones() {
        assert!(is_private_url("http://127.0.0.1:9000/x"));
        assert!(is_private_url("http://localhost/x"));
        assert!(is_private_url("https://a.b.internal/"));
        assert!(is_private_url("not a url"));
        assert!(!is_private_url("https://hooks.example.com/"));
        assert!(!is_private_url("https://[2606:4700::1111]/"));
    }

    /// Each refused IPv4 range by its first and last address, and the
    /// addresses just outside it.
    #[test]
    fn ipv4_ranges_on_both_sides_of_each_boundary() {
        let refused = [
            "0.0.0.0",
            "0.255.255.255",
            "10.0.0.0",
            "10.255.255.255",
            "100.64.0.0",
            "100.127.255.255",
            "127.0.0.0",
            "127.255.255.255",
            "169.254.0.0",
            "169.254.169.254",
            "169.254.255.255",
            "172.16.0.0",
            "172.31.255.255",
            "192.0.0.0",
            "192.0.0.255",
            "192.0.2.0",
            "192.0.2.255",
            "192.88.99.0",
            "192.88.99.255",
            "192.168.0.0",
            "192.168.255.255",
            "198.18.0.0",
            "198.19.255.255",
            "198.51.100.0",
            "198.51.100.255",
            "203.0.113.0",
            "203.0.113.255",
            "224.0.0.0",
            "239.255.255.255",
            "240.0.0.0",
            "255.255.255.254",
            "255.255.255.255",
        ];
        for ip in refused {
            assert!(!public(ip), "{ip} is refused");
        }
        let allowed = [
            "1.0.0.0",
            "9.255.255.255",
            "11.0.0.0",
            "100.63.255.255",
            "100.128.0.0",
            "126.255.255.255",
            "128.0.0.0",
            "169.253.255.255",
            "169.255.0.0",
            "172.15.255.255",
            "172.32.0.0",
            "191.255.255.255",
            "192.0.1.0",
            "192.0.1.255",
            "192.0.3.0",
            "192.88.98.255",
            "192.88.100.0",
            "192.167.255.255",
            "192.169.0.0",
            "198.17.255.255",
            "198.20.0.0",
            "198.51.99.255",
            "198.51.101.0",
            "203.0.112.255",
            "203.0.114.0",
            "223.255.255.255",
            "8.8.8.8",
            "93.184.216.34",
        ];
        for ip in allowed {
            assert!(public(ip), "{ip} is public");
        }
    }

    #[test]
    fn ipv6_ranges_on_both_sides_of_each_boundary() {
        let refused = [
            "::",
            "::1",
            "fc00::",
            "fdff:ffff:ffff:ffff:ffff:ffff:ffff:ffff",
            "fe80::",
            "febf:ffff:ffff:ffff:ffff:ffff:ffff:ffff",
            "fec0::",
            "feff:ffff:ffff:ffff:ffff:ffff:ffff:ffff",
            "ff00::",
            "ff02::1",
            "ffff:ffff:ffff:ffff:ffff:ffff:ffff:ffff",
            "100::",
            "100::ffff:ffff:ffff:ffff",
            "2001::",
            "2001:0:ffff:ffff:ffff:ffff:ffff:ffff",
            "2001:db8::",
            "2001:db8:ffff:ffff:ffff:ffff:ffff:ffff",
            "2001:10::",
            "2001:2f:ffff::",
            // NAT64, whatever the embedded address.
            "64:ff9b::",
            "64:ff9b::7f00:1",
            "64:ff9b::808:808",
            "64:ff9b::ffff:ffff",
            "64:ff9b:1::",
            "64:ff9b:1:ffff:ffff:ffff:ffff:ffff",
            // IPv4-mapped and -compatible with a private address inside.
            "::ffff:127.0.0.1",
            "::ffff:10.0.0.1",
            "::ffff:169.254.169.254",
            "::ffff:198.18.0.1",
            "::127.0.0.1",
            "::10.0.0.1",
            "::0.0.0.2",
            // 6to4 of private addresses.
            "2002:7f00:1::",
            "2002:a00:1::1",
            "2002:c0a8:101::",
            "2002:a9fe:a9fe::",
        ];
        for ip in refused {
            assert!(!public(ip), "{ip} is refused");
        }
        let allowed = [
            "2606:4700:4700::1111",
            "2a00:1450:4001::1",
            // Just outside each range.
            "fbff:ffff:ffff:ffff:ffff:ffff:ffff:ffff",
            "fe00::",
            "fe7f:ffff:ffff:ffff:ffff:ffff:ffff:ffff",
            "100:0:0:1::",
            "101::",
            "2001:1::",
            "2001:f:ffff::",
            "2001:30::",
            "2001:db7:ffff::",
            "2001:db9::",
            "64:ff9a:ffff:ffff:ffff:ffff:ffff:ffff",
            "64:ff9b:0:0:0:1::",
            "64:ff9b:2::",
            "2003::",
            "2001:ffff::",
            "2002:808:808::",
            "::ffff:8.8.8.8",
            "::8.8.8.8",
        ];
        for ip in allowed {
            assert!(public(ip), "{ip} is public");
        }
    }
}
