//! What fanctl knows of this host before changing anything: its
//! interfaces, IPv4 addresses and default route, as plain data. The
//! netlink layer fills it in (`netlink::host_net`); planning reads it.

use std::net::Ipv4Addr;

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Link {
    pub index: u32,
    pub name: String,
    pub mtu: u32,
    pub up: bool,
    /// Index of the bridge (or bond) this device is a port of.
    pub master: Option<u32>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Addr {
    pub index: u32,
    pub address: Ipv4Addr,
    pub prefix_len: u8,
}

/// The interfaces, IPv4 addresses and default route of this network namespace.
#[derive(Debug, Clone, Default)]
pub struct HostNet {
    pub links: Vec<Link>,
    pub addrs: Vec<Addr>,
    pub default_oif: Option<u32>,
}

impl HostNet {
    pub fn link_by_name(&self, name: &str) -> Option<&Link> {
        self.links.iter().find(|l| l.name == name)
    }

    pub fn link_by_index(&self, index: u32) -> Option<&Link> {
        self.links.iter().find(|l| l.index == index)
    }

    pub fn first_addr(&self, link: &Link) -> Option<Ipv4Addr> {
        self.addrs
            .iter()
            .find(|a| a.index == link.index)
            .map(|a| a.address)
    }

    /// Addresses that no other host can have, as this host's local
    /// routing table says: its own addresses and its subnets' broadcast
    /// addresses. The kernel refuses them as gateways.
    pub fn not_peers(&self) -> Vec<Ipv4Addr> {
        let mut out = Vec::new();
        for a in &self.addrs {
            out.push(a.address);
            if a.prefix_len < 31 {
                let host_bits = u32::MAX >> a.prefix_len;
                out.push(Ipv4Addr::from(u32::from(a.address) | host_bits));
            }
        }
        out
    }

    pub fn link_with_addr(&self, address: Ipv4Addr) -> Option<&Link> {
        let index = self.addrs.iter().find(|a| a.address == address)?.index;
        self.link_by_index(index)
    }
}

/// A host with eth0 (MTU 9001) at 172.30.0.28 and the default route on
/// it, for tests.
#[cfg(test)]
pub(crate) fn example_net() -> HostNet {
    HostNet {
        links: vec![Link {
            index: 2,
            name: "eth0".into(),
            mtu: 9001,
            up: true,
            master: None,
        }],
        addrs: vec![Addr {
            index: 2,
            address: "172.30.0.28".parse().unwrap(),
            prefix_len: 16,
        }],
        default_oif: Some(2),
    }
}
