//! The tunnel side of a fan: the fan map when the kernel has the fan
//! module, otherwise plain ipip with one onlink route per peer host. An
//! ipip fan runs on `tunl0`; a FOU fan on a device of its own, `fan-fou`,
//! which sends the same IP-in-IP packets inside UDP.

use anyhow::{anyhow, Context, Result};

use crate::{
    fan::Fan,
    host::Link,
    netlink::{self, fou, link, route, Rtnl},
    plan::{choose_mode, installable, overlay_route, peer_routes, FouDevice, Mode, Route},
    resource::{Resource, Transaction},
    spec::Encap,
    sysctl,
};

/// The ipip fallback device; Ubuntu's fanctl puts its maps there too.
pub const DEVICE: &str = "tunl0";
/// The device of the FOU fans: `tunl0` takes no encapsulation.
pub const FOU_DEVICE: &str = "fan-fou";

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

/// `fan-fou`, created if missing, after its FOU port: a device cannot
/// take the encapsulation before the fou module is there.
fn ensure_fou_device(rtnl: &Rtnl, fou: &FouDevice, tx: &mut Transaction) -> Result<Link> {
    if fou::add_port(fou.port)? {
        tx.record_shared(Resource::FouPort { port: fou.port });
    }
    if let Some(dev) = link::by_name(rtnl, FOU_DEVICE)? {
        return Ok(dev);
    }
    let params = link::fou_tunnel_params(fou.local, fou.port)?;
    match link::create_with(rtnl, FOU_DEVICE, "ipip", &params) {
        Ok(()) => tx.record_shared(Resource::TunnelDevice {
            name: FOU_DEVICE.into(),
        }),
        Err(e) if netlink::errno_of(&e) == Some(libc::EOPNOTSUPP) => return Err(anyhow!(NO_IPIP)),
        Err(e) => return Err(e),
    }
    link::by_name_required(rtnl, FOU_DEVICE)
}

/// How the fan will run on its device, known before the bridge is made.
pub struct TunnelPlan {
    pub dev: Link,
    /// The FOU device's parameters (none on `tunl0`).
    pub fou: Option<FouDevice>,
    pub mode: Mode,
    /// The fallback's routes to the peer hosts (none with the module).
    pub routes: Vec<Route>,
}

/// The first change `up` makes: the tunnel device is found or created,
/// which on a kernel without ipip fails before anything else is made
/// (with FOU, after the FOU port, undone then). Then the mode
/// is known (creating the device may load the fan module), and with it the
/// fallback's routes, refused here for an underlay too large.
pub fn prepare(
    rtnl: &Rtnl,
    fan: &Fan,
    tx: &mut Transaction,
    no_fallback: bool,
) -> Result<TunnelPlan> {
    let fou = match fan.encap {
        Encap::Ipip => None,
        Encap::Fou { port } => Some(FouDevice {
            local: fan.underlay.host,
            port,
        }),
    };
    let dev = match &fou {
        None => ensure_device(rtnl, tx)?,
        Some(fou) => ensure_fou_device(rtnl, fou, tx)?,
    };
    let mode = choose_mode(sysctl::fan_version().is_some(), no_fallback)?;
    let routes = match mode {
        Mode::Fallback => installable(
            peer_routes(&fan.overlay(), &fan.underlay_host(), dev.index, fan.address)?,
            &fan.underlay.not_peers,
        ),
        _ => Vec::new(),
    };
    Ok(TunnelPlan {
        dev,
        fou,
        mode,
        routes,
    })
}

/// Puts the fan on its device as planned.
pub fn setup(rtnl: &Rtnl, fan: &Fan, plan: &TunnelPlan, tx: &mut Transaction) -> Result<()> {
    let dev = &plan.dev;
    // Fan-sized packets must pass the tunnel too.
    if dev.mtu < fan.mtu {
        link::set(rtnl, dev, Some(fan.mtu), None)?;
        if !tx.has_shared(|r| matches!(r, Resource::TunnelMtu { name, .. } if *name == dev.name)) {
            tx.record_shared(Resource::TunnelMtu {
                name: dev.name.clone(),
                previous: dev.mtu,
            });
        }
    }
    if !dev.up {
        link::set(rtnl, dev, None, Some(true))?;
        tx.record_shared(Resource::TunnelUp {
            name: dev.name.clone(),
        });
    }
    match plan.mode {
        Mode::Module => {
            let params = match &plan.fou {
                Some(fou) => link::fou_tunnel_params(fou.local, fou.port)?,
                None => Vec::new(),
            };
            link::change_fan_map(rtnl, dev, &fan.map.to_wire(), &params).map_err(|e| {
                if netlink::errno_of(&e) == Some(libc::EEXIST) {
                    e.context(format!(
                        "{} overlaps a fan map already on {}",
                        fan.overlay(),
                        dev.name
                    ))
                } else {
                    e
                }
            })?;
            tx.record(Resource::FanMap {
                device: dev.name.clone(),
                overlay: fan.overlay(),
                fou: plan.fou,
            });
        }
        _ => {
            eprintln!(
                "fanctl: the fan kernel module is not loaded (no /proc/sys/net/fan/version): \
                 falling back to plain ipip on {} with {} peer routes",
                dev.name,
                plan.routes.len()
            );
            route::add_all(rtnl, &plan.routes)
                .context("cannot install the fallback's peer routes")?;
            tx.record(Resource::PeerRoutes {
                device: dev.name.clone(),
                overlay: fan.overlay(),
                underlay: fan.underlay_host(),
                src: fan.address,
            });
        }
    }
    Ok(())
}

/// `OVERLAY dev TUNNEL src BRIDGE_ADDRESS`: the host's own traffic into
/// the overlay leaves with its fan address.
pub fn add_overlay_route(rtnl: &Rtnl, fan: &Fan, dev: &Link, tx: &mut Transaction) -> Result<()> {
    let overlay = fan.overlay();
    route::add(rtnl, &overlay_route(&overlay, dev.index, fan.address))?;
    tx.record(Resource::Route {
        device: dev.name.clone(),
        dst: overlay,
        src: fan.address,
    });
    Ok(())
}
