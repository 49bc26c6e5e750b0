//! Everything `up` makes, recorded as it is made so that a failed `up` and
//! a later `down` undo exactly that, in reverse order. Each record holds all
//! it needs to be undone; undoing something already gone is not an error.

use std::{net::Ipv4Addr, path::PathBuf};

use anyhow::{Context, Result};
use fanmap::Request;
use ipnetwork::Ipv4Network;
use serde::{Deserialize, Serialize};

use crate::{
    dhcp,
    fan::prefix_of,
    nat::{self, NatRule},
    netlink::{self, fou, link, route, Rtnl},
    paths::Paths,
    plan::{overlay_route, peer_routes, FouDevice},
    sysctl,
};

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "kebab-case")]
pub enum Resource {
    /// The fan bridge (its address and connected route go with it).
    Bridge { name: String },
    /// An ipip device fanctl had to create itself.
    TunnelDevice { name: String },
    /// The tunnel device was down and fanctl brought it up.
    TunnelUp { name: String },
    /// The tunnel device's MTU before fanctl raised it.
    TunnelMtu { name: String, previous: u32 },
    /// A fan map on the tunnel device (module mode).
    FanMap {
        device: String,
        overlay: Ipv4Network,
        /// The FOU device's parameters, repeated in each change of it.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        fou: Option<FouDevice>,
    },
    /// A FOU receive port fanctl opened (`ip fou add port N ipproto 4`).
    FouPort { port: u16 },
    /// One onlink route per peer host (fallback mode).
    PeerRoutes {
        device: String,
        overlay: Ipv4Network,
        underlay: Ipv4Network,
        src: Ipv4Addr,
    },
    /// `OVERLAY dev DEVICE src ADDRESS`
    Route {
        device: String,
        dst: Ipv4Network,
        src: Ipv4Addr,
    },
    /// net.ipv4.ip_forward before fanctl set it to 1.
    Forwarding { previous: String },
    /// This fan's masquerade rule in the `ip fan` nftables table.
    Nat,
    Dnsmasq {
        bridge: String,
        pid: i32,
        pid_file: PathBuf,
    },
}

/// What this run made, in order; shared entries outlive this fan.
pub struct Transaction {
    log: Vec<(Resource, bool)>,
    existing_shared: Vec<Resource>,
}

impl Transaction {
    pub fn new(existing_shared: &[Resource]) -> Self {
        Transaction {
            log: Vec::new(),
            existing_shared: existing_shared.to_vec(),
        }
    }

    pub fn record(&mut self, resource: Resource) {
        self.log.push((resource, false));
    }

    pub fn record_shared(&mut self, resource: Resource) {
        self.log.push((resource, true));
    }

    pub fn has_shared(&self, pred: impl Fn(&Resource) -> bool) -> bool {
        self.existing_shared
            .iter()
            .chain(self.log.iter().filter(|(_, s)| *s).map(|(r, _)| r))
            .any(pred)
    }

    pub fn made(&self, shared: bool) -> Vec<Resource> {
        self.log
            .iter()
            .filter(|(_, s)| *s == shared)
            .map(|(r, _)| r.clone())
            .collect()
    }

    /// Everything made, oldest first.
    pub fn all(&self) -> impl DoubleEndedIterator<Item = &Resource> {
        self.log.iter().map(|(r, _)| r)
    }
}

/// What undoing needs besides the record itself.
pub struct Undo<'a> {
    pub rtnl: &'a Rtnl,
    pub paths: &'a Paths,
    /// The NAT rules of every other fan, which stay.
    pub other_nat: Vec<NatRule>,
}

impl std::fmt::Display for Resource {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Resource::Bridge { name } => write!(f, "bridge {name}"),
            Resource::TunnelDevice { name } => write!(f, "tunnel device {name}"),
            Resource::TunnelUp { name } => write!(f, "{name} up"),
            Resource::TunnelMtu { name, previous } => write!(f, "{name} MTU (was {previous})"),
            Resource::FanMap {
                device, overlay, ..
            } => write!(f, "fan map {overlay} on {device}"),
            Resource::FouPort { port } => write!(f, "FOU port {port}"),
            Resource::PeerRoutes {
                device, underlay, ..
            } => write!(f, "routes to the peers in {underlay} via {device}"),
            Resource::Route { device, dst, src } => {
                write!(f, "route {dst} dev {device} src {src}")
            }
            Resource::Forwarding { previous } => write!(f, "ip_forward (was {previous})"),
            Resource::Nat => write!(f, "NAT rule"),
            Resource::Dnsmasq { pid, .. } => write!(f, "dnsmasq (pid {pid})"),
        }
    }
}

impl Resource {
    pub fn undo(&self, ctx: &Undo) -> Result<()> {
        self.undo_inner(ctx)
            .with_context(|| format!("cannot remove {self}"))
    }

    fn undo_inner(&self, ctx: &Undo) -> Result<()> {
        let rtnl = ctx.rtnl;
        // A device that is gone took its routes, maps and settings with it.
        let device = |name: &str| link::by_name(rtnl, name);
        match self {
            Resource::Bridge { name } | Resource::TunnelDevice { name } => {
                if let Some(dev) = device(name)? {
                    link::delete(rtnl, &dev)?;
                }
            }
            Resource::TunnelUp { name } => {
                if let Some(dev) = device(name)? {
                    link::set(rtnl, &dev, None, Some(false))?;
                }
            }
            Resource::TunnelMtu { name, previous } => {
                if let Some(dev) = device(name)? {
                    link::set(rtnl, &dev, Some(*previous), None)?;
                }
            }
            Resource::FanMap {
                device: name,
                overlay,
                fou,
            } => {
                if let Some(dev) = device(name)? {
                    let remove = Request::Remove(prefix_of(overlay)?).to_wire();
                    let params = match fou {
                        Some(fou) => link::fou_tunnel_params(fou.local, fou.port)?,
                        None => Vec::new(),
                    };
                    match link::change_fan_map(rtnl, &dev, &remove, &params) {
                        Err(e) if netlink::errno_of(&e) == Some(libc::ENOENT) => {}
                        other => other?,
                    }
                }
            }
            Resource::PeerRoutes {
                device: name,
                overlay,
                underlay,
                src,
            } => {
                if let Some(dev) = device(name)? {
                    let routes = peer_routes(overlay, underlay, dev.index, *src)?;
                    route::delete_all(rtnl, &routes)?;
                }
            }
            Resource::Route {
                device: name,
                dst,
                src,
            } => {
                if let Some(dev) = device(name)? {
                    route::delete(rtnl, &overlay_route(dst, dev.index, *src))?;
                }
            }
            Resource::FouPort { port } => fou::delete_port(*port)?,
            Resource::Forwarding { previous } => sysctl::set_ip_forward(previous)?,
            Resource::Nat => nat::apply(&ctx.paths.nft, &ctx.other_nat)?,
            Resource::Dnsmasq {
                bridge,
                pid,
                pid_file,
            } => dhcp::stop(*pid, bridge, pid_file)?,
        }
        Ok(())
    }
}

/// Undoes `resources` newest first, going on past failures so that as
/// much as possible is removed; returns what could not be undone, oldest
/// first, with why.
pub fn undo_all<'a>(
    resources: impl DoubleEndedIterator<Item = &'a Resource>,
    ctx: &Undo,
) -> Vec<(Resource, anyhow::Error)> {
    let mut failed: Vec<_> = resources
        .rev()
        .filter_map(|r| r.undo(ctx).err().map(|e| (r.clone(), e)))
        .collect();
    failed.reverse();
    failed
}
