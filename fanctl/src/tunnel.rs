//! The tunnel side of a fan on `tunl0`: the fan map when the kernel has the
//! fan module, otherwise plain ipip with one onlink route per peer host.

use anyhow::{anyhow, Context, Result};

use crate::{
    fan::Fan,
    host::Link,
    netlink::{self, link, route, Rtnl},
    plan::{choose_mode, overlay_route, peer_routes, Mode, Route},
    resource::{Resource, Transaction},
    sysctl,
};

/// The ipip fallback device; Ubuntu's fanctl puts its maps there too.
pub const DEVICE: &str = "tunl0";

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

/// How the fan will run on `tunl0`, known before the bridge is made.
pub struct TunnelPlan {
    pub dev: Link,
    pub mode: Mode,
    /// The fallback's routes to the peer hosts (none with the module).
    pub routes: Vec<Route>,
}

/// The first change `up` makes: `tunl0` is found or created, which on a
/// kernel without ipip fails before anything else is made. Then the mode
/// is known (creating the device may load the fan module), and with it the
/// fallback's routes, refused here for an underlay too large.
pub fn prepare(
    rtnl: &Rtnl,
    fan: &Fan,
    tx: &mut Transaction,
    no_fallback: bool,
) -> Result<TunnelPlan> {
    let dev = ensure_device(rtnl, tx)?;
    let mode = choose_mode(sysctl::fan_version().is_some(), no_fallback)?;
    let routes = match mode {
        Mode::Fallback => {
            peer_routes(&fan.overlay(), &fan.underlay_host(), dev.index, fan.address)?
        }
        _ => Vec::new(),
    };
    Ok(TunnelPlan { dev, mode, routes })
}

/// Puts the fan on `tunl0` as planned.
pub fn setup(rtnl: &Rtnl, fan: &Fan, plan: &TunnelPlan, tx: &mut Transaction) -> Result<()> {
    let dev = &plan.dev;
    // Fan-sized packets must pass the tunnel too.
    if dev.mtu < fan.mtu {
        link::set(rtnl, dev, Some(fan.mtu), None)?;
        if !tx.has_shared(|r| matches!(r, Resource::TunnelMtu { .. })) {
            tx.record_shared(Resource::TunnelMtu {
                name: DEVICE.into(),
                previous: dev.mtu,
            });
        }
    }
    if !dev.up {
        link::set(rtnl, dev, None, Some(true))?;
        tx.record_shared(Resource::TunnelUp {
            name: DEVICE.into(),
        });
    }
    match plan.mode {
        Mode::Module => {
            link::change_fan_map(rtnl, dev, &fan.map.to_wire()).map_err(|e| {
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
            eprintln!(
                "fanctl: the fan kernel module is not loaded (no /proc/sys/net/fan/version): \
                 falling back to plain ipip on {DEVICE} with {} peer routes",
                plan.routes.len()
            );
            route::add_all(rtnl, &plan.routes)
                .context("cannot install the fallback's peer routes")?;
            tx.record(Resource::PeerRoutes {
                device: DEVICE.into(),
                overlay: fan.overlay(),
                underlay: fan.underlay_host(),
                src: fan.address,
            });
        }
    }
    Ok(())
}

/// `OVERLAY dev tunl0 src BRIDGE_ADDRESS`: the host's own traffic into the
/// overlay leaves with its fan address.
pub fn add_overlay_route(rtnl: &Rtnl, fan: &Fan, dev: &Link, tx: &mut Transaction) -> Result<()> {
    let overlay = fan.overlay();
    route::add(rtnl, &overlay_route(&overlay, dev.index, fan.address))?;
    tx.record(Resource::Route {
        device: DEVICE.into(),
        dst: overlay,
        src: fan.address,
    });
    Ok(())
}
