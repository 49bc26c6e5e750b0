//! What `up` will create, computed from the resolved fan alone: how the
//! fan runs (module or fallback), the overlay route and the fallback's
//! routes to every peer host. Nothing here touches the host.

use std::net::Ipv4Addr;

use anyhow::{anyhow, bail, Result};
use fanmap::FanMap;
use ipnetwork::Ipv4Network;
use serde::{Deserialize, Serialize};

use crate::fan::prefix_of;

/// The most peer routes the fallback installs (a /16 underlay).
const MAX_PEER_ROUTES: u64 = 1 << 16;

/// How packets reach other hosts.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum Mode {
    /// The fan kernel module computes each destination from the map on tunl0.
    Module,
    /// Plain ipip on tunl0, one onlink route per possible peer host.
    Fallback,
    /// No tunnel at all: only the test hook FANCTL_TEST_NO_TUNNEL (see
    /// `hooks`) runs a fan so, on kernels without ipip.
    NoTunnel,
}

impl Mode {
    pub fn name(&self) -> &'static str {
        match self {
            Mode::Module => "module",
            Mode::Fallback => "fallback",
            Mode::NoTunnel => "no-tunnel",
        }
    }
}

/// The parameters of the FOU fans' tunnel device: IP-in-IP from `local`
/// inside UDP to `port`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct FouDevice {
    pub local: Ipv4Addr,
    pub port: u16,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Route {
    pub dst: Ipv4Addr,
    pub prefix: u8,
    pub oif: u32,
    pub gateway: Option<Ipv4Addr>,
    pub prefsrc: Option<Ipv4Addr>,
    pub metric: Option<u32>,
}

impl std::fmt::Display for Route {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}/{}", self.dst, self.prefix)?;
        if let Some(gw) = self.gateway {
            write!(f, " via {gw} onlink")?;
        }
        write!(f, " dev #{}", self.oif)?;
        if let Some(src) = self.prefsrc {
            write!(f, " src {src}")?;
        }
        if let Some(metric) = self.metric {
            write!(f, " metric {metric}")?;
        }
        Ok(())
    }
}

/// How the fan runs: on the fan module when it is loaded, otherwise on
/// plain ipip routes unless the user forbids that.
pub fn choose_mode(fan_module: bool, no_fallback: bool) -> Result<Mode> {
    match (fan_module, no_fallback) {
        (true, _) => Ok(Mode::Module),
        (false, true) => bail!(
            "the fan kernel module is not loaded (no /proc/sys/net/fan/version) \
             and --no-fallback forbids plain ipip"
        ),
        (false, false) => Ok(Mode::Fallback),
    }
}

/// `OVERLAY dev OIF src SRC`: the host's own traffic into the overlay
/// leaves with its fan address.
pub fn overlay_route(overlay: &Ipv4Network, oif: u32, src: Ipv4Addr) -> Route {
    Route {
        dst: overlay.network(),
        prefix: overlay.prefix(),
        oif,
        gateway: None,
        prefsrc: Some(src),
        metric: None,
    }
}

/// The fallback's routes: for every other host of the underlay (not the
/// network or broadcast address), `SLICE via HOST dev OIF onlink src SRC
/// metric N`, N being the host's offset in the underlay.
///
/// The metric is there for speed: the kernel hashes what routes share
/// (`fib_info`) by device, source, protocol and metric but not gateway, so
/// routes differing only in gateway all land in one hash chain and each
/// insert costs O(routes) -- four minutes for a /16. Distinct metrics
/// spread them: one second. Each destination has one route, so the metric
/// decides nothing else.
pub fn peer_routes(
    overlay: &Ipv4Network,
    underlay: &Ipv4Network,
    oif: u32,
    src: Ipv4Addr,
) -> Result<Vec<Route>> {
    let this_host = underlay.ip();
    let ul = prefix_of(underlay)?;
    let map = FanMap::from_prefixes(prefix_of(overlay)?, ul).map_err(anyhow::Error::msg)?;
    let size = 1u64 << (32 - u32::from(ul.prefix_len()));
    if size > MAX_PEER_ROUTES {
        bail!(
            "the fallback needs one route per underlay host, and {underlay} has {size}: \
             at most /16 underlays (65,534 hosts) are supported without the fan module"
        );
    }
    let (first, last) = (u32::from(ul.network()), u32::from(ul.last()));
    let hosts = if ul.prefix_len() <= 30 {
        first + 1..=last - 1
    } else {
        first..=last
    };
    hosts
        .map(Ipv4Addr::from)
        .filter(|&peer| peer != this_host)
        .map(|peer| {
            let slice = map
                .slice_for(peer)
                .ok_or_else(|| anyhow!("{peer} is outside the underlay"))?;
            Ok(Route {
                dst: slice.network(),
                prefix: slice.prefix().prefix_len(),
                oif,
                gateway: Some(peer),
                prefsrc: Some(src),
                metric: Some(u32::from(peer) - first),
            })
        })
        .collect()
}

/// The fallback's routes but those through `not_peers` (this host's own
/// addresses and its subnets' broadcast addresses, `HostNet::not_peers`):
/// no host is there, and the kernel refuses them as gateways.
pub fn installable(routes: Vec<Route>, not_peers: &[Ipv4Addr]) -> Vec<Route> {
    routes
        .into_iter()
        .filter(|r| r.gateway.is_none_or(|gw| !not_peers.contains(&gw)))
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn one_route_per_other_host() {
        let routes = peer_routes(
            &"250.0.0.0/8".parse().unwrap(),
            &"172.30.0.28/16".parse().unwrap(),
            7,
            "250.0.28.1".parse().unwrap(),
        )
        .unwrap();
        // 65,536 addresses less network, broadcast and this host.
        assert_eq!(routes.len(), 65_533);
        let to_27 = routes
            .iter()
            .find(|r| r.gateway == Some("172.30.0.27".parse().unwrap()))
            .unwrap();
        assert_eq!(to_27.dst, "250.0.27.0".parse::<Ipv4Addr>().unwrap());
        assert_eq!(to_27.prefix, 24);
        assert_eq!(to_27.oif, 7);
        assert_eq!(to_27.prefsrc, Some("250.0.28.1".parse().unwrap()));
        assert_eq!(to_27.metric, Some(27));
        for missing in ["172.30.0.0", "172.30.255.255", "172.30.0.28"] {
            let addr: Ipv4Addr = missing.parse().unwrap();
            assert!(routes.iter().all(|r| r.gateway != Some(addr)), "{missing}");
        }
    }

    #[test]
    fn no_route_through_the_hosts_own_subnet_broadcast() {
        // 172.30.1.10/24 on a /16 underlay, routed to the other /24s
        let src = "250.1.10.1".parse().unwrap();
        let all = peer_routes(
            &"250.0.0.0/8".parse().unwrap(),
            &"172.30.1.10/16".parse().unwrap(),
            7,
            src,
        )
        .unwrap();
        let not_peers: Vec<Ipv4Addr> = vec![
            "172.30.1.10".parse().unwrap(),
            "172.30.1.255".parse().unwrap(),
        ];
        let routes = installable(all, &not_peers);
        assert_eq!(routes.len(), 65_532);
        assert!(routes.iter().all(|r| r.gateway != Some(not_peers[1])));
        assert!(routes
            .iter()
            .any(|r| r.gateway == Some("172.30.2.255".parse().unwrap())));
    }

    #[test]
    fn the_module_when_loaded_else_the_fallback_unless_forbidden() {
        assert_eq!(choose_mode(true, false).unwrap(), Mode::Module);
        assert_eq!(choose_mode(true, true).unwrap(), Mode::Module);
        assert_eq!(choose_mode(false, false).unwrap(), Mode::Fallback);
        let e = choose_mode(false, true).unwrap_err().to_string();
        assert!(e.contains("--no-fallback forbids plain ipip"), "{e}");
    }

    #[test]
    fn small_and_huge_underlays() {
        let src = "100.64.0.1".parse().unwrap();
        let routes = peer_routes(
            &"100.64.0.0/10".parse().unwrap(),
            &"10.224.220.11/24".parse().unwrap(),
            3,
            src,
        )
        .unwrap();
        assert_eq!(routes.len(), 253);
        assert!(peer_routes(
            &"10.0.0.0/8".parse().unwrap(),
            &"172.16.0.1/12".parse().unwrap(),
            3,
            src
        )
        .is_err());
    }
}
