//! Who the client is behind proxies: IP networks (`10.0.0.0/8`), and the
//! hops of RFC 7239 `Forwarded` and `X-Forwarded-For` read right to left,
//! skipping the trusted proxies, so the right-most untrusted hop is the
//! client (the left-most entries are whatever the client sent).

use std::fmt;
use std::net::{IpAddr, SocketAddr};
use std::str::FromStr;

/// An IP network: an address and a prefix length, written `10.0.0.0/8`,
/// `2001:db8::/32`, a single address (`127.0.0.1`, `::1`), or `*` for
/// every address (trust every peer: only when nothing else can reach the
/// server).
///
/// ```
/// use basehttp::IpNet;
/// let net: IpNet = "10.0.0.0/8".parse().unwrap();
/// assert!(net.contains("10.1.2.3".parse().unwrap()));
/// assert!(!net.contains("11.0.0.1".parse().unwrap()));
/// assert!("*".parse::<IpNet>().unwrap().contains("::1".parse().unwrap()));
/// assert!("10.0.0.0/33".parse::<IpNet>().is_err());
/// ```
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct IpNet {
    /// `None`: every address (`*`).
    addr: Option<IpAddr>,
    prefix: u8,
}

impl IpNet {
    /// Whether `ip` is in this network (an IPv4-mapped IPv6 address counts
    /// as its IPv4 address).
    pub fn contains(&self, ip: IpAddr) -> bool {
        let Some(net) = self.addr else { return true };
        let ip = match ip {
            IpAddr::V6(v6) => v6.to_ipv4_mapped().map_or(ip, IpAddr::V4),
            v4 => v4,
        };
        let (net, ip, bits) = match (net, ip) {
            (IpAddr::V4(n), IpAddr::V4(a)) => (u128::from(u32::from(n)), u128::from(u32::from(a)), 32),
            (IpAddr::V6(n), IpAddr::V6(a)) => (u128::from(n), u128::from(a), 128),
            _ => return false,
        };
        let shift = bits - u32::from(self.prefix);
        shift >= bits || (net >> shift) == (ip >> shift)
    }
}

impl FromStr for IpNet {
    type Err = String;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        let s = s.trim();
        if s == "*" {
            return Ok(IpNet { addr: None, prefix: 0 });
        }
        let (addr, prefix) = s.split_once('/').map_or((s, None), |(a, p)| (a, Some(p)));
        let addr: IpAddr = addr.parse().map_err(|_| format!("not an IP address or network: {s:?}"))?;
        let max = if addr.is_ipv4() { 32 } else { 128 };
        let prefix = match prefix {
            None => max,
            Some(p) => p.parse::<u8>().ok().filter(|&p| p <= max).ok_or(format!("bad prefix length in {s:?}"))?,
        };
        Ok(IpNet { addr: Some(addr), prefix })
    }
}

impl fmt::Display for IpNet {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.addr {
            None => f.write_str("*"),
            Some(a) => write!(f, "{a}/{}", self.prefix),
        }
    }
}

/// A hop's node as written in `for=` or `X-Forwarded-For`: `192.0.2.1`,
/// `192.0.2.1:80`, `[2001:db8::1]`, `"[2001:db8::1]:4711"`, `2001:db8::1`.
/// `None` for `unknown`, obfuscated names (`_hidden`) and anything else.
pub(crate) fn parse_node(node: &str) -> Option<SocketAddr> {
    let node = node.trim().trim_matches('"');
    if let Ok(ip) = node.parse::<IpAddr>() {
        return Some(SocketAddr::new(ip, 0));
    }
    if let Ok(addr) = node.parse::<SocketAddr>() {
        return Some(addr);
    }
    let bracketed = node.strip_prefix('[')?.strip_suffix(']')?;
    bracketed.parse::<IpAddr>().ok().map(|ip| SocketAddr::new(ip, 0))
}

/// The `for=` and `proto=` of each element of `Forwarded` field values,
/// left to right.
pub(crate) fn forwarded_hops<'a>(values: impl Iterator<Item = &'a str>) -> Vec<(Option<&'a str>, Option<&'a str>)> {
    let mut hops = Vec::new();
    for value in values {
        for element in value.split(',') {
            let (mut node, mut proto) = (None, None);
            for pair in element.split(';') {
                if let Some((name, v)) = pair.split_once('=') {
                    let v = v.trim().trim_matches('"');
                    match name.trim().to_ascii_lowercase().as_str() {
                        "for" => node = Some(v),
                        "proto" => proto = Some(v),
                        _ => {}
                    }
                }
            }
            hops.push((node, proto));
        }
    }
    hops
}

/// The client and the scheme it used, from the hops (left to right) that
/// the proxies added: the right-most hop that is not a trusted proxy (or
/// the left-most, if every hop is trusted). `None` when that hop is not an
/// address (`unknown`, an obfuscated name) or there is no hop.
pub(crate) fn client_of<'a>(
    hops: &[(Option<&'a str>, Option<&'a str>)],
    trusted: &[IpNet],
) -> Option<(SocketAddr, Option<&'a str>)> {
    let is_trusted = |addr: &SocketAddr| trusted.iter().any(|net| net.contains(addr.ip()));
    let mut chosen = None;
    for (node, proto) in hops.iter().rev() {
        let addr = parse_node((*node)?)?;
        chosen = Some((addr, *proto));
        if !is_trusted(&addr) {
            break;
        }
    }
    chosen
}

#[cfg(test)]
mod tests {
    use super::*;

    fn nets(list: &[&str]) -> Vec<IpNet> {
        list.iter().map(|s| s.parse().unwrap()).collect()
    }

    #[test]
    fn networks_contain_their_addresses() {
        let net: IpNet = "192.168.0.0/16".parse().unwrap();
        assert!(net.contains("192.168.255.1".parse().unwrap()));
        assert!(!net.contains("192.169.0.1".parse().unwrap()));
        assert!(net.contains("::ffff:192.168.1.1".parse().unwrap()), "IPv4-mapped");
        assert!(!net.contains("::1".parse().unwrap()));
        let v6: IpNet = "2001:db8::/32".parse().unwrap();
        assert!(v6.contains("2001:db8:1::5".parse().unwrap()));
        assert!(!v6.contains("2001:db9::5".parse().unwrap()));
        let one: IpNet = "127.0.0.1".parse().unwrap();
        assert!(one.contains("127.0.0.1".parse().unwrap()) && !one.contains("127.0.0.2".parse().unwrap()));
        assert!("0.0.0.0/0".parse::<IpNet>().unwrap().contains("8.8.8.8".parse().unwrap()));
        for bad in ["", "10.0.0.0/", "10.0.0/8", "10.0.0.0/x", "::/129", "host"] {
            assert!(bad.parse::<IpNet>().is_err(), "{bad:?}");
        }
        assert_eq!("10.0.0.0/8".parse::<IpNet>().unwrap().to_string(), "10.0.0.0/8");
    }

    #[test]
    fn the_right_most_untrusted_hop_is_the_client() {
        fn xff(list: &str) -> Vec<(Option<&str>, Option<&str>)> {
            list.split(',').map(|n| (Some(n), None)).collect()
        }
        let trusted = nets(&["10.0.0.0/8"]);
        // The client forged 1.1.1.1; 203.0.113.9 is who reached our proxy.
        let hops = xff("1.1.1.1, 203.0.113.9, 10.0.0.2");
        assert_eq!(client_of(&hops, &trusted).unwrap().0, "203.0.113.9:0".parse().unwrap());
        // Every hop trusted: the left-most.
        let hops = xff("10.0.0.7, 10.0.0.2");
        assert_eq!(client_of(&hops, &trusted).unwrap().0, "10.0.0.7:0".parse().unwrap());
        // An unknown hop where the client should be: nothing believed.
        assert_eq!(client_of(&xff("1.1.1.1, unknown, 10.0.0.2"), &trusted), None);
        assert_eq!(client_of(&[], &trusted), None);
    }

    #[test]
    fn forwarded_elements_and_nodes() {
        let hops = forwarded_hops(
            ["for=192.0.2.60;proto=http;by=203.0.113.43", "For=\"[2001:db8:cafe::17]:4711\";Proto=https, for=unknown"]
                .into_iter(),
        );
        assert_eq!(hops.len(), 3);
        assert_eq!(hops[1], (Some("[2001:db8:cafe::17]:4711"), Some("https")));
        assert_eq!(parse_node(hops[1].0.unwrap()), Some("[2001:db8:cafe::17]:4711".parse().unwrap()));
        assert_eq!(parse_node("[::1]"), Some("[::1]:0".parse().unwrap()));
        assert_eq!(parse_node("192.0.2.1:80"), Some("192.0.2.1:80".parse().unwrap()));
        assert_eq!(parse_node("_hidden"), None);
        let trusted = nets(&["2001:db8:cafe::/48"]);
        let (client, proto) = client_of(&hops[..2], &trusted).unwrap();
        assert_eq!((client, proto), ("192.0.2.60:0".parse().unwrap(), Some("http")));
    }
}
