//! The tunnel side of a fan on `tunl0`: the fan map when the kernel has the
//! fan module, otherwise plain ipip with one onlink route per peer host.

use std::net::Ipv4Addr;

use anyhow::{anyhow, bail, Context, Result};
use fanmap::FanMap;
use ipnetwork::Ipv4Network;

use crate::{
    fan::{prefix_of, Fan},
    netlink::{self, link, link::Link, route, route::Route, Rtnl},
    resource::Resource,
    state::Mode,
    sysctl,
    up::Transaction,
};

/// The ipip fallback device; Ubuntu's fanctl puts its maps there too.
pub const DEVICE: &str = "tunl0";
/// The most peer routes the fallback installs (a /16 underlay).
const MAX_PEER_ROUTES: u64 = 1 << 16;

const NO_IPIP: &str = "this kernel has no IP-in-IP tunnel support \
     (CONFIG_NET_IPIP is not set, no ipip module): a fan needs a kernel built with \
     CONFIG_NET_IPIP, or the fan kernel module";

/// `tunl0`, created if missing. Asking for a link of kind "ipip" makes the
/// kernel load the ipip (or fan) module, which brings its own `tunl0`.
fn ensure_device(rtnl: &Rtnl, tx: &mut Transaction) -> Result<Link> {
    if let Some(dev) = link::by_name(rtnl, DEVICE)? {
        return Ok(dev);
    }
    match link::create(rtnl, DEVICE, "ipip") {
        Ok(()) => tx.record_shared(Resource::TunnelDevice {
            name: DEVICE.into(),
        }),
        Err(e) => match netlink::errno_of(&e) {
            // The module just loaded and made its own tunl0.
            Some(libc::EEXIST) => {}
            Some(libc::EOPNOTSUPP) => return Err(anyhow!(NO_IPIP)),
            _ => return Err(e),
        },
    }
    link::by_name(rtnl, DEVICE)?.ok_or_else(|| anyhow!("{DEVICE} did not appear"))
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

/// Puts the fan on `tunl0` and returns how it runs there.
pub fn setup(rtnl: &Rtnl, fan: &Fan, tx: &mut Transaction, no_fallback: bool) -> Result<Mode> {
    let dev = ensure_device(rtnl, tx)?;
    let mode = match sysctl::fan_version() {
        Some(_) => Mode::Module,
        None if no_fallback => bail!(
            "the fan kernel module is not loaded (no /proc/sys/net/fan/version) \
             and --no-fallback forbids plain ipip"
        ),
        None => Mode::Fallback,
    };
    // Fan-sized packets must pass the tunnel too.
    if dev.mtu < fan.mtu {
        link::set(rtnl, &dev, Some(fan.mtu), None)?;
        if !tx.has_shared(|r| matches!(r, Resource::TunnelMtu { .. })) {
            tx.record_shared(Resource::TunnelMtu {
                name: DEVICE.into(),
                previous: dev.mtu,
            });
        }
    }
    if !dev.up {
        link::set(rtnl, &dev, None, Some(true))?;
        tx.record_shared(Resource::TunnelUp {
            name: DEVICE.into(),
        });
    }
    match mode {
        Mode::Module => {
            link::change_fan_map(rtnl, &dev, &fan.map.to_wire()).map_err(|e| {
                if netlink::errno_of(&e) == Some(libc::EEXIST) {
                    e.context(format!(
                        "{} overlaps a fan map already on {DEVICE}",
                        fan.overlay()
                    ))
                } else {
                    e
                }
            })?;
            tx.record(Resource::FanMap {
                device: DEVICE.into(),
                overlay: fan.overlay(),
            });
        }
        _ => {
            let routes = peer_routes(&fan.overlay(), &fan.underlay_host(), dev.index, fan.address)?;
            eprintln!(
                "fanctl: the fan kernel module is not loaded (no /proc/sys/net/fan/version): \
                 falling back to plain ipip on {DEVICE} with {} peer routes",
                routes.len()
            );
            route::add_all(rtnl, &routes).context("cannot install the fallback's peer routes")?;
            tx.record(Resource::PeerRoutes {
                device: DEVICE.into(),
                overlay: fan.overlay(),
                underlay: fan.underlay_host(),
                src: fan.address,
            });
        }
    }
    Ok(mode)
}

/// `OVERLAY dev tunl0 src BRIDGE_ADDRESS`: the host's own traffic into the
/// overlay leaves with its fan address.
pub fn add_overlay_route(rtnl: &Rtnl, fan: &Fan, tx: &mut Transaction) -> Result<()> {
    let dev = link::by_name_required(rtnl, DEVICE)?;
    let overlay = fan.overlay();
    route::add(
        rtnl,
        &Route {
            dst: overlay.network(),
            prefix: overlay.prefix(),
            oif: dev.index,
            gateway: None,
            prefsrc: Some(fan.address),
            metric: None,
        },
    )?;
    tx.record(Resource::Route {
        device: DEVICE.into(),
        dst: overlay,
        src: fan.address,
    });
    Ok(())
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
