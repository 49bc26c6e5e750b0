//! Finding this host's underlay address and interface from an
//! [`UnderlaySpec`], against a snapshot of the host's interfaces.

use std::net::Ipv4Addr;

use anyhow::{anyhow, bail, Result};
use fanmap::Prefix;

use crate::{
    host::{HostNet, Link},
    spec::UnderlaySpec,
};

/// This host's place in the underlay.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Underlay {
    /// This host's underlay address.
    pub host: Ipv4Addr,
    pub prefix_len: u8,
    /// The interface holding `host`.
    pub device: String,
    pub mtu: u32,
    /// Addresses no peer host can have (`HostNet::not_peers`): on an
    /// underlay wider than the host's own subnet, its broadcast address.
    pub not_peers: Vec<Ipv4Addr>,
}

fn on_link(link: &Link, host: Ipv4Addr, len: u8, net: &HostNet) -> Underlay {
    Underlay {
        host,
        prefix_len: len,
        device: link.name.clone(),
        mtu: link.mtu,
        not_peers: net.not_peers(),
    }
}

pub fn resolve(spec: &UnderlaySpec, net: &HostNet) -> Result<Underlay> {
    match spec {
        UnderlaySpec::Address { addr, len } => {
            if let Some(link) = net.link_with_addr(*addr) {
                return Ok(on_link(link, *addr, *len, net));
            }
            // The underlay network itself: use this host's address in it.
            let network = Prefix::containing(*addr, *len).map_err(anyhow::Error::msg)?;
            if network.network() != *addr {
                bail!("{addr} is not an address of this host");
            }
            net.addrs
                .iter()
                .filter(|a| network.contains(a.address))
                .find_map(|a| {
                    let link = net.link_with_addr(a.address)?;
                    Some(on_link(link, a.address, *len, net))
                })
                .ok_or_else(|| anyhow!("this host has no address in {addr}/{len}"))
        }
        UnderlaySpec::Interface { name, len } => {
            let link = net
                .link_by_name(name)
                .ok_or_else(|| anyhow!("no network interface named {name}"))?;
            let host = net
                .first_addr(link)
                .ok_or_else(|| anyhow!("interface {name} has no IPv4 address"))?;
            Ok(on_link(link, host, *len, net))
        }
        UnderlaySpec::DefaultRoute { len } => {
            let index = net
                .default_oif
                .ok_or_else(|| anyhow!("there is no IPv4 default route"))?;
            let link = net
                .link_by_index(index)
                .ok_or_else(|| anyhow!("the default route's interface #{index} is gone"))?;
            let host = net.first_addr(link).ok_or_else(|| {
                anyhow!(
                    "{} (the default route's interface) has no IPv4 address",
                    link.name
                )
            })?;
            Ok(on_link(link, host, *len, net))
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::{host::Addr, spec::parse_underlay};

    fn net() -> HostNet {
        let link = |index, name: &str, mtu| Link {
            index,
            name: name.into(),
            mtu,
            up: true,
            master: None,
        };
        let addr = |index, a: &str| {
            let (a, len) = a.split_once('/').unwrap();
            Addr {
                index,
                address: a.parse().unwrap(),
                prefix_len: len.parse().unwrap(),
            }
        };
        HostNet {
            links: vec![
                link(1, "lo", 65536),
                link(2, "eth0", 9001),
                link(3, "eth1", 1500),
                link(4, "bare", 1500),
            ],
            addrs: vec![
                addr(1, "127.0.0.1/8"),
                addr(2, "172.30.0.28/24"),
                addr(2, "172.30.9.9/32"),
                addr(3, "10.88.3.4/24"),
            ],
            default_oif: Some(3),
        }
    }

    fn resolve_text(text: &str) -> Result<Underlay> {
        resolve(&parse_underlay(text).unwrap(), &net())
    }

    #[test]
    fn every_form_resolves() {
        let eth0 = Underlay {
            host: "172.30.0.28".parse().unwrap(),
            prefix_len: 16,
            device: "eth0".into(),
            mtu: 9001,
            not_peers: [
                "127.0.0.1",
                "127.255.255.255",
                "172.30.0.28",
                "172.30.0.255",
            ]
            .into_iter()
            .chain(["172.30.9.9", "10.88.3.4", "10.88.3.255"])
            .map(|a| a.parse().unwrap())
            .collect(),
        };
        assert_eq!(resolve_text("172.30.0.28").unwrap(), eth0);
        assert_eq!(resolve_text("172.30.0.28/16").unwrap(), eth0);
        assert_eq!(resolve_text("172.30.0.0/16").unwrap(), eth0);
        assert_eq!(resolve_text("eth0/16").unwrap(), eth0);
        let eth1 = resolve_text("default/16").unwrap();
        assert_eq!(eth1.host, "10.88.3.4".parse::<Ipv4Addr>().unwrap());
        assert_eq!(eth1.device, "eth1");
        assert_eq!(eth1.mtu, 1500);
    }

    #[test]
    fn clear_errors() {
        let msg = |text| resolve_text(text).unwrap_err().to_string();
        assert_eq!(msg("wlan9/16"), "no network interface named wlan9");
        assert_eq!(msg("bare/16"), "interface bare has no IPv4 address");
        assert_eq!(
            msg("172.30.0.99/16"),
            "172.30.0.99 is not an address of this host"
        );
        assert_eq!(
            msg("192.168.0.0/16"),
            "this host has no address in 192.168.0.0/16"
        );
        let no_default = HostNet {
            default_oif: None,
            ..net()
        };
        let e = resolve(&UnderlaySpec::DefaultRoute { len: 16 }, &no_default).unwrap_err();
        assert_eq!(e.to_string(), "there is no IPv4 default route");
    }
}
