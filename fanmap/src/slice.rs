//! The overlay slice one underlay host owns, and how its addresses are used.

use core::net::Ipv4Addr;

use super::bridge::BridgeName;
use super::prefix::Prefix;

/// How many addresses after the network the host keeps when `fanctl` is
/// not told otherwise (`host-reserve N`): just the bridge address `.1`.
pub const DEFAULT_HOST_RESERVE: u32 = 1;

/// The overlay subnet owned by one underlay host (see
/// [`FanMap::slice_for`](super::map::FanMap::slice_for)).
///
/// Address 0 is the network, `.1` the host's bridge address, the last one
/// broadcast; `host-reserve N` keeps the first N addresses after the network
/// for the host, and the rest is for containers (DHCP).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct Slice {
    prefix: Prefix,
}

impl Slice {
    pub(crate) fn new(prefix: Prefix) -> Slice {
        Slice { prefix }
    }

    /// The slice as a subnet.
    pub fn prefix(&self) -> Prefix {
        self.prefix
    }

    /// The network address (address 0 of the slice).
    pub fn network(&self) -> Ipv4Addr {
        self.prefix.network()
    }

    /// The broadcast address (the last address of the slice).
    pub fn broadcast(&self) -> Ipv4Addr {
        self.prefix.last()
    }

    /// The bridge (gateway) address, network + 1, or `None` for a /31
    /// slice, which has no address between network and broadcast.
    pub fn gateway(&self) -> Option<Ipv4Addr> {
        self.nth(1)
    }

    /// The first and last address kept for the host with
    /// `host-reserve reserve`: network + 1 ..= network + reserve. A reserve
    /// of 0 counts as 1, since the bridge address is always the host's.
    /// `None` when the reserve would reach the broadcast address.
    pub fn host_range(&self, reserve: u32) -> Option<(Ipv4Addr, Ipv4Addr)> {
        Some((self.gateway()?, self.nth(reserve.max(1))?))
    }

    /// The first and last address left for containers (DHCP) after
    /// `host-reserve reserve`, up to the one before broadcast; `None` when
    /// none is left.
    pub fn dhcp_range(&self, reserve: u32) -> Option<(Ipv4Addr, Ipv4Addr)> {
        let first = self.nth(reserve.max(1).checked_add(1)?)?;
        let last = u32::from(self.broadcast()).checked_sub(1)?;
        Some((first, Ipv4Addr::from(last)))
    }

    /// The bridge `fanctl` creates for the slice, `fan-250-0-28`, or `None`
    /// when the name would not fit Linux's 15-byte interface names.
    pub fn bridge_name(&self) -> Option<BridgeName> {
        BridgeName::for_network(self.network())
    }

    /// Address `n` of the slice when it lies strictly between network and
    /// broadcast.
    fn nth(&self, n: u32) -> Option<Ipv4Addr> {
        let addr = self.prefix.bits().checked_add(n)?;
        let usable = n > 0 && addr < self.prefix.last_bits();
        usable.then_some(Ipv4Addr::from(addr))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn slice(s: &str, len: u8) -> Slice {
        Slice::new(Prefix::new(s.parse().unwrap(), len).unwrap())
    }

    fn a(s: &str) -> Ipv4Addr {
        s.parse().unwrap()
    }

    #[test]
    fn a_24_slice() {
        let s = slice("250.0.28.0", 24);
        assert_eq!(s.network(), a("250.0.28.0"));
        assert_eq!(s.gateway(), Some(a("250.0.28.1")));
        assert_eq!(s.broadcast(), a("250.0.28.255"));
        let reserve = DEFAULT_HOST_RESERVE;
        assert_eq!(
            s.host_range(reserve),
            Some((a("250.0.28.1"), a("250.0.28.1")))
        );
        assert_eq!(
            s.dhcp_range(reserve),
            Some((a("250.0.28.2"), a("250.0.28.254")))
        );
        assert_eq!(s.host_range(0), s.host_range(1));
        assert_eq!(s.dhcp_range(0), s.dhcp_range(1));
        assert_eq!(s.host_range(10), Some((a("250.0.28.1"), a("250.0.28.10"))));
        assert_eq!(
            s.dhcp_range(10),
            Some((a("250.0.28.11"), a("250.0.28.254")))
        );
        assert_eq!(
            s.dhcp_range(253),
            Some((a("250.0.28.254"), a("250.0.28.254")))
        );
        assert_eq!(s.dhcp_range(254), None);
        assert_eq!(
            s.host_range(254),
            Some((a("250.0.28.1"), a("250.0.28.254")))
        );
        assert_eq!(s.host_range(255), None);
        assert_eq!(s.dhcp_range(u32::MAX), None);
        assert_eq!(s.bridge_name().unwrap().as_str(), "fan-250-0-28");
    }

    #[test]
    fn tiny_and_top_slices() {
        let s = slice("250.0.0.4", 30);
        assert_eq!(s.gateway(), Some(a("250.0.0.5")));
        assert_eq!(s.dhcp_range(1), Some((a("250.0.0.6"), a("250.0.0.6"))));
        let s = slice("250.0.0.4", 31);
        assert_eq!(s.gateway(), None);
        assert_eq!(s.host_range(1), None);
        assert_eq!(s.dhcp_range(1), None);
        let s = slice("255.255.255.0", 24);
        assert_eq!(s.broadcast(), Ipv4Addr::BROADCAST);
        assert_eq!(s.dhcp_range(u32::MAX - 1), None);
        assert_eq!(
            s.dhcp_range(1),
            Some((a("255.255.255.2"), a("255.255.255.254")))
        );
    }
}
