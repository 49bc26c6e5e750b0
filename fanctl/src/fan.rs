//! A fan as this host will run it: the map, this host's slice, the bridge,
//! its MTU and addresses, all derived through `fanmap`.

use std::net::Ipv4Addr;

use anyhow::{anyhow, Context, Error, Result};
use fanmap::{FanMap, Prefix, Slice};
use ipnetwork::Ipv4Network;

use crate::{
    host::HostNet,
    spec::{check_slice, Encap, FanSpec},
    underlay::{self, Underlay},
};

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Fan {
    pub map: FanMap,
    pub underlay: Underlay,
    pub slice: Slice,
    /// The bridge's address, the slice's `.1`.
    pub address: Ipv4Addr,
    pub bridge: String,
    pub mtu: u32,
    /// Whether the MTU was given (shown as a flag) or derived from the underlay.
    pub mtu_given: bool,
    pub dhcp: bool,
    pub host_reserve: u32,
    /// First and last address dnsmasq hands out.
    pub dhcp_range: Option<(Ipv4Addr, Ipv4Addr)>,
    pub encap: Encap,
    /// Marked for `down -a`.
    pub auto: bool,
}

/// fanmap's prefix of a network read back from the state file.
pub fn prefix_of(net: &Ipv4Network) -> Result<Prefix> {
    Prefix::containing(net.ip(), net.prefix()).map_err(Error::msg)
}

pub fn network(prefix: Prefix) -> Ipv4Network {
    // A fanmap prefix is always a valid network (length <= 32).
    Ipv4Network::new(prefix.network(), prefix.prefix_len())
        .unwrap_or_else(|_| Ipv4Network::from(prefix.network()))
}

impl Fan {
    pub fn resolve(spec: &FanSpec, net: &HostNet) -> Result<Fan> {
        let underlay = underlay::resolve(&spec.underlay, net)?;
        let ul = Prefix::containing(underlay.host, underlay.prefix_len).map_err(Error::msg)?;
        let map = FanMap::from_prefixes(spec.overlay, ul)
            .map_err(Error::msg)
            .with_context(|| format!("overlay {} does not fit underlay {}", spec.overlay, ul))?;
        let slice = map
            .slice_for(underlay.host)
            .ok_or_else(|| anyhow!("{} is outside {}", underlay.host, ul))?;
        check_slice(&slice, spec.host_reserve, spec.dhcp).map_err(Error::msg)?;
        let address = slice
            .gateway()
            .ok_or_else(|| anyhow!("slice {} has no room for a bridge address", slice.prefix()))?;
        let dhcp_range = slice.dhcp_range(spec.host_reserve);
        let bridge = match &spec.bridge {
            Some(name) => name.clone(),
            None => slice
                .bridge_name()
                .map(|n| n.as_str().to_string())
                .ok_or_else(|| {
                    anyhow!(
                        "the bridge name for slice {} is longer than 15 characters: name one with `bridge NAME`",
                        slice.prefix()
                    )
                })?,
        };
        let mtu = match spec.mtu {
            Some(mtu) => mtu,
            None => underlay
                .mtu
                .checked_sub(spec.encap.overhead())
                .filter(|&mtu| mtu >= 68)
                .ok_or_else(|| {
                    anyhow!(
                        "underlay interface {} has MTU {}, too small for a fan",
                        underlay.device,
                        underlay.mtu
                    )
                })?,
        };
        Ok(Fan {
            map,
            underlay,
            slice,
            address,
            bridge,
            mtu,
            mtu_given: spec.mtu.is_some(),
            dhcp: spec.dhcp,
            host_reserve: spec.host_reserve,
            dhcp_range: if spec.dhcp { dhcp_range } else { None },
            encap: spec.encap,
            auto: spec.auto,
        })
    }

    pub fn overlay(&self) -> Ipv4Network {
        network(self.map.overlay())
    }

    pub fn slice_network(&self) -> Ipv4Network {
        network(self.slice.prefix())
    }

    /// The bridge's hardware address: locally administered, 02:fa and the
    /// bridge's IPv4 address, so unique on the fan. Without one of its
    /// own a bridge takes the lowest of its ports' addresses, and changes
    /// it when a container leaves: the other containers' ARP entries for
    /// the gateway then point nowhere for seconds.
    pub fn bridge_mac(&self) -> [u8; 6] {
        let [a, b, c, d] = self.address.octets();
        [0x02, 0xfa, a, b, c, d]
    }

    /// This host's address with the underlay prefix length, as `show` prints it.
    pub fn underlay_host(&self) -> Ipv4Network {
        Ipv4Network::new(self.underlay.host, self.underlay.prefix_len)
            .unwrap_or_else(|_| Ipv4Network::from(self.underlay.host))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::{host::example_net, spec::FanSpec};

    fn resolve(line: &str) -> Result<Fan> {
        let words: Vec<&str> = line.split_whitespace().collect();
        let (spec, _) = FanSpec::from_words(&words)?;
        Fan::resolve(&spec, &example_net())
    }

    #[test]
    fn the_announcements_host() {
        let fan = resolve("250.0.0.0/8 eth0/16 dhcp").unwrap();
        assert_eq!(fan.bridge, "fan-250-0-28");
        assert_eq!(fan.address, Ipv4Addr::new(250, 0, 28, 1));
        assert_eq!(fan.bridge_mac(), [0x02, 0xfa, 250, 0, 28, 1]);
        assert_eq!(fan.slice_network().to_string(), "250.0.28.0/24");
        assert_eq!(fan.overlay().to_string(), "250.0.0.0/8");
        assert_eq!(fan.underlay_host().to_string(), "172.30.0.28/16");
        assert_eq!(fan.mtu, 8981);
        assert!(!fan.mtu_given);
        assert_eq!(
            fan.dhcp_range,
            Some((Ipv4Addr::new(250, 0, 28, 2), Ipv4Addr::new(250, 0, 28, 254)))
        );
    }

    #[test]
    fn flags_change_the_result() {
        let fan = resolve("250 default/16 dhcp host-reserve 9 bridge fanbr mtu 1400").unwrap();
        assert_eq!(fan.bridge, "fanbr");
        assert_eq!(fan.mtu, 1400);
        assert!(fan.mtu_given);
        assert_eq!(fan.dhcp_range.unwrap().0, Ipv4Addr::new(250, 0, 28, 10));
        assert_eq!(resolve("250 eth0/16").unwrap().dhcp_range, None);
        // UDP's 8 bytes more than ipip's 20
        assert_eq!(resolve("250 eth0/16 encap fou").unwrap().mtu, 8973);
    }

    #[test]
    fn impossible_fans() {
        assert!(resolve("250 eth0/16 host-reserve 255").is_err());
        assert!(resolve("250 eth0/16 dhcp host-reserve 254").is_err());
        assert!(resolve("250 eth1/16").is_err());
        // A /24 underlay under a /16 overlay: the slice is 250.0.28.0/24.
        let fan = resolve("250.0.0.0/16 eth0/24").unwrap();
        assert_eq!(fan.slice_network().to_string(), "250.0.28.0/24");
    }
}
