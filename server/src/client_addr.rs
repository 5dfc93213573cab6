//! Who the client is, behind reverse proxies.
//!
//! The socket's peer is the client unless it is one of `CONSOLE_TRUSTED_PROXIES`. Only then are
//! `X-Forwarded-For` (or, without it, `Forwarded`) read: each proxy appends the address it saw, so
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

/// The networks whose connections may say who the client is.
#[derive(Clone, Debug, Default)]
pub struct TrustedProxies(Arc<[IpNet]>);

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
            .map(|networks| Self(networks.into()))
    }

    fn trusts(&self, address: IpAddr) -> bool {
        self.0.iter().any(|network| network.contains(&address))
    }

    /// The client of a request that arrived from `peer` with `headers`.
    pub fn client(&self, peer: IpAddr, headers: &HeaderMap) -> IpAddr {
        let peer = peer.to_canonical();
        if !self.trusts(peer) {
            return peer;
        }
        let hops = forwarded_for(headers);
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

/// The hops of `X-Forwarded-For` (every such header, in order), or else those of `Forwarded`;
/// `None` for an entry that is not an address (`unknown`, an obfuscated name, garbage).
fn forwarded_for(headers: &HeaderMap) -> Vec<Option<IpAddr>> {
    let values = |name| {
        headers
            .get_all(name)
            .iter()
            .map(|value| value.to_str().ok())
            .collect::<Vec<_>>()
    };
    let x_forwarded_for = values(X_FORWARDED_FOR);
    if !x_forwarded_for.is_empty() {
        return x_forwarded_for
            .into_iter()
            .flat_map(|value| match value {
                Some(value) => value.split(',').map(hop).collect(),
                None => vec![None],
            })
            .collect();
    }
    values(axum::http::header::FORWARDED.as_str())
        .into_iter()
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
    fn forwarded_is_read_when_there_is_no_x_forwarded_for() {
        let proxies = TrustedProxies::parse("::1, 10.0.0.0/8").unwrap();
        let chain = headers(&[(
            "forwarded",
            "for=198.51.100.1, for=\"[2001:db8:cafe::17]:4711\";proto=https, for=10.0.0.3",
        )]);
        assert_eq!(proxies.client(ip("::1"), &chain), ip("2001:db8:cafe::17"));
        let both = headers(&[
            ("forwarded", "for=198.51.100.1"),
            ("x-forwarded-for", "203.0.113.9"),
        ]);
        assert_eq!(proxies.client(ip("::1"), &both), ip("203.0.113.9"));
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
        assert!(TrustedProxies::parse(" , ").unwrap().0.is_empty());
    }
}
