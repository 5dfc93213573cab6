//! Who the client is, behind reverse proxies.
//!
//! The socket's peer is the client unless it is one of `CONSOLE_TRUSTED_PROXIES`. Only then is
//! the header the proxies write read — `X-Forwarded-For`, or `Forwarded` when
//! `CONSOLE_FORWARDED_HEADER=forwarded` (only that one: a proxy that writes one passes the other
//! on as the client sent it). Each proxy appends the address it saw, so
//! walking the list from the right past the trusted proxies gives the first address no trusted
//! party vouches beyond, the client. Anything left of it is whatever the client chose to send. An
//! untrusted peer's headers are ignored (it could write any address there). The result is the
//! request's [`ClientAddr`], which everything that names or counts clients reads.

use std::net::{IpAddr, SocketAddr};
use std::sync::Arc;

use axum::extract::{ConnectInfo, Request, State};
use axum::http::HeaderMap;
use axum::middleware::Next;
use axum::response::Response;
use ipnet::IpNet;

use app::http::ClientAddr;

const X_FORWARDED_FOR: &str = "x-forwarded-for";

/// The networks whose connections may say who the client is, and the header they say it in.
#[derive(Clone, Debug, Default)]
pub struct TrustedProxies {
    networks: Arc<[IpNet]>,
    header: ForwardedHeader,
}

/// The header trusted proxies name the client in (`CONSOLE_FORWARDED_HEADER`).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum ForwardedHeader {
    #[default]
    XForwardedFor,
    /// RFC 7239 `Forwarded: for=…`.
    Forwarded,
}

impl ForwardedHeader {
    pub fn parse(value: &str) -> Result<Self, String> {
        match value.trim().to_ascii_lowercase().as_str() {
            "x-forwarded-for" => Ok(Self::XForwardedFor),
            "forwarded" => Ok(Self::Forwarded),
            other => Err(format!(
                "CONSOLE_FORWARDED_HEADER must be x-forwarded-for or forwarded, not {other:?}"
            )),
        }
    }
}

impl TrustedProxies {
    /// `10.0.0.0/8, 192.168.1.7, ::1`: comma-separated networks or single addresses.
    pub fn parse(list: &str) -> Result<Self, String> {
        list.split(',')
            .map(str::trim)
            .filter(|item| !item.is_empty())
            .map(|item| {
                item.parse::<IpNet>()
                    .or_else(|_| item.parse::<IpAddr>().map(IpNet::from))
                    .map(|net| net.trunc())
                    .map_err(|_| {
                        format!(
                            "CONSOLE_TRUSTED_PROXIES: {item:?} is neither a network \
                             (10.0.0.0/8, fd00::/8) nor an address"
                        )
                    })
            })
            .collect::<Result<Vec<_>, _>>()
            .map(|networks| Self {
                networks: networks.into(),
                header: ForwardedHeader::default(),
            })
    }

    /// The same proxies, naming the client in `header`.
    pub fn reading(self, header: ForwardedHeader) -> Self {
        Self { header, ..self }
    }

    fn trusts(&self, address: IpAddr) -> bool {
        self.networks
            .iter()
            .any(|network| network.contains(&address))
    }

    /// The client of a request that arrived from `peer` with `headers`.
    pub fn client(&self, peer: IpAddr, headers: &HeaderMap) -> IpAddr {
        let peer = peer.to_canonical();
        if !self.trusts(peer) {
            return peer;
        }
        let hops = match self.header {
            ForwardedHeader::XForwardedFor => x_forwarded_for(headers),
            ForwardedHeader::Forwarded => forwarded(headers),
        };
        let mut client = peer;
        for hop in hops.iter().rev() {
            match hop {
                // A trusted proxy wrote something that is not an address: nothing further left
                // can be believed, so the last proxy that did is the client as far as we know.
                None => break,
                Some(address) => {
                    client = *address;
                    if !self.trusts(client) {
                        break;
                    }
                }
            }
        }
        client
    }
}

/// The hops of every `X-Forwarded-For` header, in order; `None` for an entry that is not an
/// address (garbage, which one byte that is not text does not spread beyond its entry).
fn x_forwarded_for(headers: &HeaderMap) -> Vec<Option<IpAddr>> {
    headers
        .get_all(X_FORWARDED_FOR)
        .iter()
        .flat_map(|value| value.as_bytes().split(|&byte| byte == b','))
        .map(|entry| std::str::from_utf8(entry).ok().and_then(hop))
        .collect()
}

/// The `for=` hops of every `Forwarded` header, in order; `None` for one that is not an address
/// (`unknown`, an obfuscated name, garbage).
fn forwarded(headers: &HeaderMap) -> Vec<Option<IpAddr>> {
    headers
        .get_all(axum::http::header::FORWARDED)
        .iter()
        .map(|value| value.to_str().ok())
        .flat_map(|value| match value {
            Some(value) => rfc7239::parse(value)
                .map(|node| {
                    node.ok()
                        .and_then(|node| node.forwarded_for)
                        .and_then(|node| match node.name {
                            rfc7239::NodeName::Ip(address) => Some(address.to_canonical()),
                            _ => None,
                        })
                })
                .collect(),
            None => vec![None],
        })
        .collect()
}

/// One `X-Forwarded-For` entry: an address, possibly with a port (`192.0.2.1:4711`,
/// `[2001:db8::1]:4711`).
fn hop(entry: &str) -> Option<IpAddr> {
    let entry = entry.trim();
    entry
        .parse::<IpAddr>()
        .ok()
        .or_else(|| entry.parse::<SocketAddr>().ok().map(|socket| socket.ip()))
        .map(|address| address.to_canonical())
}

/// Resolves the request's [`ClientAddr`] for everything after it.
pub async fn resolve(
    State(proxies): State<TrustedProxies>,
    mut request: Request,
    next: Next,
) -> Response {
    let peer = request
        .extensions()
        .get::<ConnectInfo<SocketAddr>>()
        .map(|ConnectInfo(peer)| peer.ip());
    if let Some(peer) = peer {
        let client = proxies.client(peer, request.headers());
        request.extensions_mut().insert(ClientAddr(client));
    }
    next.run(request).await
}

#[cfg(test)]
mod tests {
    use axum::http::HeaderValue;

    use super::*;

    fn ip(text: &str) -> IpAddr {
        text.parse().unwrap()
    }

    fn headers(pairs: &[(&'static str, &'static str)]) -> HeaderMap {
        let mut headers = HeaderMap::new();
        for (name, value) in pairs {
            headers.append(*name, HeaderValue::from_static(value));
        }
        headers
    }

    #[test]
    fn an_untrusted_peer_is_the_client_whatever_it_forwards() {
        let proxies = TrustedProxies::parse("10.0.0.0/8").unwrap();
        let spoofed = headers(&[("x-forwarded-for", "198.51.100.7")]);
        assert_eq!(proxies.client(ip("192.0.2.1"), &spoofed), ip("192.0.2.1"));
        let none = TrustedProxies::default();
        assert_eq!(none.client(ip("10.0.0.1"), &spoofed), ip("10.0.0.1"));
    }

    #[test]
    fn behind_trusted_proxies_the_right_most_untrusted_hop_is_the_client() {
        let proxies = TrustedProxies::parse("10.0.0.0/8, 127.0.0.1").unwrap();
        // The client claims 1.1.1.1; the edge proxy appended what it saw, then an inner proxy.
        let chain = headers(&[("x-forwarded-for", "1.1.1.1, 203.0.113.9, 10.1.2.3")]);
        assert_eq!(proxies.client(ip("127.0.0.1"), &chain), ip("203.0.113.9"));
        // Several header lines are one list, in order.
        let split = headers(&[
            ("x-forwarded-for", "1.1.1.1"),
            ("x-forwarded-for", "203.0.113.9:5123, 10.1.2.3"),
        ]);
        assert_eq!(proxies.client(ip("10.9.9.9"), &split), ip("203.0.113.9"));
    }

    #[test]
    fn a_chain_of_trusted_hops_only_ends_at_its_left_most() {
        let proxies = TrustedProxies::parse("10.0.0.0/8").unwrap();
        let internal = headers(&[("x-forwarded-for", "10.0.0.5, 10.0.0.6")]);
        assert_eq!(proxies.client(ip("10.0.0.7"), &internal), ip("10.0.0.5"));
        assert_eq!(
            proxies.client(ip("10.0.0.7"), &HeaderMap::new()),
            ip("10.0.0.7")
        );
    }

    #[test]
    fn garbage_written_by_a_trusted_hop_stops_the_walk_there() {
        let proxies = TrustedProxies::parse("10.0.0.0/8").unwrap();
        let chain = headers(&[("x-forwarded-for", "203.0.113.9, unknown, 10.0.0.2")]);
        assert_eq!(proxies.client(ip("10.0.0.1"), &chain), ip("10.0.0.2"));
        // Garbage left of the client is the client's own business.
        let chain = headers(&[("x-forwarded-for", "<script>, 203.0.113.9")]);
        assert_eq!(proxies.client(ip("10.0.0.1"), &chain), ip("203.0.113.9"));
    }

    #[test]
    fn forwarded_is_read_when_the_proxies_write_it_and_then_only_it() {
        let proxies = TrustedProxies::parse("::1, 10.0.0.0/8")
            .unwrap()
            .reading(ForwardedHeader::Forwarded);
        let chain = headers(&[(
            "forwarded",
            "for=198.51.100.1, for=\"[2001:db8:cafe::17]:4711\";proto=https, for=10.0.0.3",
        )]);
        assert_eq!(proxies.client(ip("::1"), &chain), ip("2001:db8:cafe::17"));
        // The client's own X-Forwarded-For, passed on by a proxy that writes Forwarded.
        let both = headers(&[
            ("forwarded", "for=198.51.100.1"),
            ("x-forwarded-for", "203.0.113.9"),
        ]);
        assert_eq!(proxies.client(ip("::1"), &both), ip("198.51.100.1"));
        // And the other way round.
        let x_forwarded_for = TrustedProxies::parse("::1").unwrap();
        assert_eq!(x_forwarded_for.client(ip("::1"), &both), ip("203.0.113.9"));
        assert_eq!(
            ForwardedHeader::parse("Forwarded").unwrap(),
            ForwardedHeader::Forwarded
        );
        assert!(ForwardedHeader::parse("x-real-ip").is_err());
    }

    #[test]
    fn a_byte_that_is_not_text_spoils_its_own_entry_only() {
        let proxies = TrustedProxies::parse("10.0.0.0/8").unwrap();
        let mut chain = HeaderMap::new();
        chain.append(
            "x-forwarded-for",
            HeaderValue::from_bytes(b"\xff\xfe, 203.0.113.9, 10.0.0.2").unwrap(),
        );
        assert_eq!(proxies.client(ip("10.0.0.1"), &chain), ip("203.0.113.9"));
    }

    #[test]
    fn ipv4_mapped_peers_match_ipv4_networks() {
        let proxies = TrustedProxies::parse("127.0.0.0/8").unwrap();
        let chain = headers(&[("x-forwarded-for", "::ffff:203.0.113.9")]);
        assert_eq!(
            proxies.client(ip("::ffff:127.0.0.1"), &chain),
            ip("203.0.113.9")
        );
    }

    #[test]
    fn malformed_networks_are_refused_by_name() {
        let error = TrustedProxies::parse("10.0.0.0/8, 10.0.0.0/33").unwrap_err();
        assert!(error.contains("\"10.0.0.0/33\""), "{error}");
        assert!(TrustedProxies::parse("proxy.internal").is_err());
        assert!(TrustedProxies::parse(" , ").unwrap().networks.is_empty());
    }
}
