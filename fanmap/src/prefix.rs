//! IPv4 prefixes (`A.B.C.D/len`) that cannot hold host bits.

use core::net::Ipv4Addr;

use super::error::MapError;

/// The netmask of a prefix length: `len` leading one bits.
///
/// Lengths above 32 give the /32 mask; callers validate lengths first.
pub(crate) const fn mask(len: u8) -> u32 {
    // A shift by 32 is not defined, hence checked_shl: /0 is the empty mask.
    match u32::MAX.checked_shl(32_u32.saturating_sub(len as u32)) {
        Some(mask) => mask,
        None => 0,
    }
}

/// Shifts that yield 0 instead of failing when `by >= 32`.
pub(crate) fn shl(x: u32, by: u32) -> u32 {
    x.checked_shl(by).unwrap_or(0)
}

/// See [`shl`].
pub(crate) fn shr(x: u32, by: u32) -> u32 {
    x.checked_shr(by).unwrap_or(0)
}

/// An IPv4 network: an address and a prefix length 0..=32, with no bits set
/// in the address beyond the prefix length.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct Prefix {
    addr: u32,
    len: u8,
}

impl Prefix {
    /// The prefix `addr/len`.
    ///
    /// Fails with [`MapError::PrefixOutOfRange`] when `len > 32` and with
    /// [`MapError::HostBits`] when `addr` has bits set beyond `len` (see
    /// [`Prefix::containing`] to clear them instead).
    pub fn new(addr: Ipv4Addr, len: u8) -> Result<Prefix, MapError> {
        let prefix = Self::containing(addr, len)?;
        if prefix.addr != u32::from(addr) {
            return Err(MapError::HostBits);
        }
        Ok(prefix)
    }

    /// The prefix of length `len` that contains `addr`: host bits are
    /// cleared, so `10.88.3.4/16` gives 10.88.0.0/16.
    ///
    /// Fails with [`MapError::PrefixOutOfRange`] when `len > 32`.
    pub fn containing(addr: Ipv4Addr, len: u8) -> Result<Prefix, MapError> {
        if len > 32 {
            return Err(MapError::PrefixOutOfRange);
        }
        Ok(Self::from_bits(u32::from(addr) & mask(len), len))
    }

    /// Builds a prefix from parts the caller has already validated.
    pub(crate) const fn from_bits(addr: u32, len: u8) -> Prefix {
        Prefix { addr, len }
    }

    /// The network address.
    pub fn network(&self) -> Ipv4Addr {
        Ipv4Addr::from(self.addr)
    }

    /// The prefix length, 0..=32.
    pub fn prefix_len(&self) -> u8 {
        self.len
    }

    /// The last address of the prefix (the broadcast address of a subnet).
    pub fn last(&self) -> Ipv4Addr {
        Ipv4Addr::from(self.last_bits())
    }

    /// Whether `addr` lies inside the prefix.
    pub fn contains(&self, addr: Ipv4Addr) -> bool {
        self.contains_bits(u32::from(addr))
    }

    /// Whether the two prefixes share at least one address, which for
    /// prefixes means one contains the other.
    pub fn overlaps(&self, other: &Prefix) -> bool {
        (self.addr ^ other.addr) & mask(self.len.min(other.len)) == 0
    }

    pub(crate) fn bits(&self) -> u32 {
        self.addr
    }

    pub(crate) fn last_bits(&self) -> u32 {
        self.addr | !mask(self.len)
    }

    pub(crate) fn contains_bits(&self, addr: u32) -> bool {
        (addr ^ self.addr) & mask(self.len) == 0
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn p(a: [u8; 4], len: u8) -> Prefix {
        Prefix::new(Ipv4Addr::from(a), len).unwrap()
    }

    #[test]
    fn masks_cover_every_length() {
        assert_eq!(mask(0), 0);
        assert_eq!(mask(1), 0x8000_0000);
        assert_eq!(mask(8), 0xff00_0000);
        assert_eq!(mask(31), 0xffff_fffe);
        assert_eq!(mask(32), u32::MAX);
        assert_eq!(mask(200), u32::MAX);
        assert_eq!(shl(1, 31), 0x8000_0000);
        assert_eq!(shl(1, 32), 0);
        assert_eq!(shr(u32::MAX, 32), 0);
    }

    #[test]
    fn rejects_host_bits_and_long_prefixes() {
        let a = Ipv4Addr::new(250, 1, 0, 0);
        assert_eq!(Prefix::new(a, 8), Err(MapError::HostBits));
        assert_eq!(Prefix::new(a, 33), Err(MapError::PrefixOutOfRange));
        assert_eq!(Prefix::containing(a, 33), Err(MapError::PrefixOutOfRange));
        assert_eq!(Prefix::containing(a, 8), Ok(p([250, 0, 0, 0], 8)));
        assert_eq!(Prefix::new(a, 16), Ok(p([250, 1, 0, 0], 16)));
        assert_eq!(Prefix::new(Ipv4Addr::UNSPECIFIED, 0), Ok(p([0; 4], 0)));
        assert_eq!(
            Prefix::containing(Ipv4Addr::new(10, 88, 3, 4), 16),
            Ok(p([10, 88, 0, 0], 16))
        );
    }

    #[test]
    fn knows_its_addresses() {
        let net = p([250, 0, 28, 0], 24);
        assert_eq!(net.network(), Ipv4Addr::new(250, 0, 28, 0));
        assert_eq!(net.prefix_len(), 24);
        assert_eq!(net.last(), Ipv4Addr::new(250, 0, 28, 255));
        assert!(net.contains(Ipv4Addr::new(250, 0, 28, 77)));
        assert!(!net.contains(Ipv4Addr::new(250, 0, 29, 0)));
        assert!(p([0; 4], 0).contains(Ipv4Addr::BROADCAST));
        assert_eq!(p([0; 4], 0).last(), Ipv4Addr::BROADCAST);
    }

    #[test]
    fn overlap_means_containment() {
        let big = p([250, 0, 0, 0], 8);
        assert!(big.overlaps(&p([250, 7, 0, 0], 16)));
        assert!(p([250, 7, 0, 0], 16).overlaps(&big));
        assert!(big.overlaps(&big));
        assert!(!big.overlaps(&p([251, 0, 0, 0], 8)));
        assert!(!p([250, 0, 0, 0], 9).overlaps(&p([250, 128, 0, 0], 9)));
    }
}
