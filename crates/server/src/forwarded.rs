//! The client's address behind proxies (`--trusted-proxy`).
//!
//! A request whose peer is a trusted proxy may name the hops before it in `Forwarded`
//! (RFC 7239, its `for=` and `proto=`) or, without that header, in `X-Forwarded-For` /
//! `X-Forwarded-Proto`. The client is the right-most hop that is not itself a trusted
//! proxy: everything to its left was written by the client or by proxies nobody vouches
//! for. From any other peer these headers are ignored, so a client cannot choose the
//! address that its sessions, audit events, throttling and lock-out see.

use std::net::IpAddr;

use axum::http::HeaderMap;
use ipnet::IpNet;

/// Hops read from one request at most: a longer chain is cut, never walked.
const MAX_HOPS: usize = 32;

fn trusted(ip: IpAddr, proxies: &[IpNet]) -> bool {
    proxies.iter().any(|net| net.contains(&ip))
}

/// One `for=` value or `X-Forwarded-For` entry as an address: quotes, brackets and a port
/// removed. `None` for `unknown`, obfuscated names (`_hidden`) and anything else.
fn hop(value: &str) -> Option<IpAddr> {
    let v = value.trim().trim_matches('"');
    if let Ok(ip) = v.parse() {
        return Some(ip);
    }
    if let Some(rest) = v.strip_prefix('[') {
        // [2001:db8::1] or [2001:db8::1]:4711
        return rest.split(']').next()?.parse().ok();
    }
    // 192.0.2.60:4711
    let (host, port) = v.rsplit_once(':')?;
    port.parse::<u16>().ok()?;
    host.parse().ok()
}

/// The hops a `Forwarded` header lists, left to right, and whether its last element says
/// the client used HTTPS. `None` hops are ones that could not be read.
fn forwarded(headers: &HeaderMap) -> Option<(Vec<Option<IpAddr>>, Option<bool>)> {
    let mut hops = Vec::new();
    let mut https = None;
    let mut any = false;
    for value in headers.get_all("forwarded") {
        any = true;
        let text = value.to_str().ok()?;
        for element in text.split(',').take(MAX_HOPS) {
            for pair in element.split(';') {
                let Some((k, v)) = pair.split_once('=') else {
                    continue;
                };
                match k.trim().to_ascii_lowercase().as_str() {
                    "for" => hops.push(hop(v)),
                    "proto" => {
                        https = Some(v.trim().trim_matches('"').eq_ignore_ascii_case("https"))
                    }
                    _ => {}
                }
            }
        }
    }
    any.then_some((hops, https))
}

fn x_forwarded(headers: &HeaderMap) -> Option<(Vec<Option<IpAddr>>, Option<bool>)> {
    let mut hops = Vec::new();
    let mut any = false;
    for value in headers.get_all("x-forwarded-for") {
        any = true;
        let text = value.to_str().ok()?;
        hops.extend(text.split(',').take(MAX_HOPS).map(hop));
    }
    let https = headers
        .get("x-forwarded-proto")
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.split(',').next_back())
        .map(|v| v.trim().eq_ignore_ascii_case("https"));
    (any || https.is_some()).then_some((hops, https))
}

/// Where a request comes from, as far as the trusted proxies say.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Origin {
    pub address: IpAddr,
    /// Whether a trusted proxy says the client used HTTPS (`None`: it says nothing).
    pub https: Option<bool>,
    /// Whether the address came from a proxy's header rather than the peer itself.
    pub forwarded: bool,
}

pub fn origin(peer: IpAddr, headers: &HeaderMap, proxies: &[IpNet]) -> Origin {
    let direct = Origin {
        address: peer,
        https: None,
        forwarded: false,
    };
    if proxies.is_empty() || !trusted(peer, proxies) {
        return direct;
    }
    let Some((hops, https)) = forwarded(headers).or_else(|| x_forwarded(headers)) else {
        return direct;
    };
    // From the right: the first hop no trusted proxy accounts for is the client. A hop
    // that cannot be read ends the walk at the last one that could.
    let mut client = peer;
    for h in hops.iter().rev().take(MAX_HOPS) {
        match h {
            Some(ip) => {
                client = *ip;
                if !trusted(*ip, proxies) {
                    break;
                }
            }
            None => break,
        }
    }
    Origin {
        address: client,
        https,
        forwarded: client != peer,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use axum::http::HeaderValue;

    fn nets(v: &[&str]) -> Vec<IpNet> {
        v.iter().map(|n| n.parse().unwrap()).collect()
    }

    fn headers(pairs: &[(&'static str, &'static str)]) -> HeaderMap {
        let mut h = HeaderMap::new();
        for (k, v) in pairs {
            h.append(*k, HeaderValue::from_static(v));
        }
        h
    }

    fn addr(peer: &str, h: &[(&'static str, &'static str)], proxies: &[&str]) -> String {
        origin(peer.parse().unwrap(), &headers(h), &nets(proxies))
            .address
            .to_string()
    }

    #[test]
    fn an_untrusted_peer_cannot_choose_its_address() {
        let h = [("x-forwarded-for", "203.0.113.9")];
        assert_eq!(addr("198.51.100.7", &h, &["10.0.0.0/8"]), "198.51.100.7");
        assert_eq!(addr("10.1.2.3", &h, &[]), "10.1.2.3");
    }

    #[test]
    fn the_right_most_untrusted_hop_is_the_client() {
        let proxies = ["10.0.0.0/8"];
        // The client wrote a fake first entry; the proxy appended the real peer.
        let h = [("x-forwarded-for", "1.2.3.4, 203.0.113.9")];
        assert_eq!(addr("10.0.0.5", &h, &proxies), "203.0.113.9");
        // Two trusted proxies in a row.
        let h = [("x-forwarded-for", "203.0.113.9, 10.0.0.6")];
        assert_eq!(addr("10.0.0.5", &h, &proxies), "203.0.113.9");
        // Several headers are one list.
        let h = [
            ("x-forwarded-for", "1.2.3.4"),
            ("x-forwarded-for", "203.0.113.9"),
        ];
        assert_eq!(addr("10.0.0.5", &h, &proxies), "203.0.113.9");
    }

    #[test]
    fn forwarded_wins_and_its_forms_are_read() {
        let proxies = ["10.0.0.0/8"];
        let h = [
            ("forwarded", "for=192.0.2.60;proto=https;by=10.0.0.5"),
            ("x-forwarded-for", "203.0.113.9"),
        ];
        let o = origin("10.0.0.5".parse().unwrap(), &headers(&h), &nets(&proxies));
        assert_eq!(o.address.to_string(), "192.0.2.60");
        assert_eq!(o.https, Some(true));
        assert!(o.forwarded);
        let h = [("forwarded", "for=\"[2001:db8:cafe::17]:4711\"")];
        assert_eq!(addr("10.0.0.5", &h, &proxies), "2001:db8:cafe::17");
        let h = [("forwarded", "for=192.0.2.43:4711, for=10.0.0.9")];
        assert_eq!(addr("10.0.0.5", &h, &proxies), "192.0.2.43");
    }

    #[test]
    fn an_unreadable_hop_stops_the_walk() {
        let proxies = ["10.0.0.0/8"];
        let h = [("forwarded", "for=unknown, for=10.0.0.9")];
        assert_eq!(addr("10.0.0.5", &h, &proxies), "10.0.0.9");
        let h = [("x-forwarded-for", "_hidden")];
        assert_eq!(addr("10.0.0.5", &h, &proxies), "10.0.0.5");
    }
}
