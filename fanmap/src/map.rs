//! A validated fan map and its address arithmetic (docs/mapping.md).

use core::net::Ipv4Addr;

use super::error::MapError;
use super::prefix::{mask, shl, shr, Prefix};
use super::slice::Slice;

/// Networks (address, prefix length) where no peer host can be: "this
/// network", loopback, multicast and the limited broadcast address. An
/// underlay that reaches into one would have the fan send IP-in-IP there.
const NOT_UNICAST: [(u32, u8); 4] = [
    (0x0000_0000, 8),
    (0x7f00_0000, 8),
    (0xe000_0000, 4),
    (0xffff_ffff, 32),
];

/// A fan map `OVERLAY/ov:UNDERLAY/ul`, valid by construction:
/// `1 <= ov < ul <= 32`, neither address has host bits set, and neither
/// address is 0.0.0.0 (on the wire those mean "remove").
///
/// Twelve bytes, so that a full [`MapTable`](super::table::MapTable) stays
/// near 3 KiB.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct FanMap {
    overlay: u32,
    underlay: u32,
    overlay_len: u8,
    underlay_len: u8,
}

impl FanMap {
    /// Fills unused table slots; never handed out.
    pub(crate) const UNUSED: FanMap = FanMap {
        overlay: 0,
        underlay: 0,
        overlay_len: 0,
        underlay_len: 0,
    };

    /// The map `overlay/overlay_len:underlay/underlay_len`, or what is wrong
    /// with it. Checks prefix lengths first, then host bits, then zero
    /// addresses.
    pub fn new(
        overlay: Ipv4Addr,
        overlay_len: u8,
        underlay: Ipv4Addr,
        underlay_len: u8,
    ) -> Result<FanMap, MapError> {
        let (overlay, underlay) = (u32::from(overlay), u32::from(underlay));
        if !(1..=32).contains(&overlay_len) {
            return Err(MapError::OverlayPrefixOutOfRange);
        }
        if !(1..=32).contains(&underlay_len) {
            return Err(MapError::UnderlayPrefixOutOfRange);
        }
        if overlay_len >= underlay_len {
            return Err(MapError::OverlayNotShorter);
        }
        if overlay & !mask(overlay_len) != 0 {
            return Err(MapError::OverlayHostBits);
        }
        if underlay & !mask(underlay_len) != 0 {
            return Err(MapError::UnderlayHostBits);
        }
        if overlay == 0 {
            return Err(MapError::OverlayZero);
        }
        if underlay == 0 {
            return Err(MapError::UnderlayZero);
        }
        if NOT_UNICAST
            .iter()
            .any(|&(net, len)| (underlay ^ net) & mask(len.min(underlay_len)) == 0)
        {
            return Err(MapError::UnderlayNotUnicast);
        }
        Ok(FanMap {
            overlay,
            underlay,
            overlay_len,
            underlay_len,
        })
    }

    /// The map between two prefixes; see [`FanMap::new`].
    pub fn from_prefixes(overlay: Prefix, underlay: Prefix) -> Result<FanMap, MapError> {
        Self::new(
            overlay.network(),
            overlay.prefix_len(),
            underlay.network(),
            underlay.prefix_len(),
        )
    }

    /// The overlay network.
    pub fn overlay(&self) -> Prefix {
        Prefix::from_bits(self.overlay, self.overlay_len)
    }

    /// The underlay network.
    pub fn underlay(&self) -> Prefix {
        Prefix::from_bits(self.underlay, self.underlay_len)
    }

    /// The underlay address of the host that owns overlay address `dst`, or
    /// `None` when `dst` is outside the overlay:
    /// `UNDERLAY | ((D & ~mask(ov)) >> (ul - ov))`.
    pub fn underlay_for(&self, dst: Ipv4Addr) -> Option<Ipv4Addr> {
        let dst = u32::from(dst);
        self.overlay()
            .contains_bits(dst)
            .then(|| Ipv4Addr::from(self.underlay_bits_for(dst)))
    }

    /// The overlay slice owned by underlay address `host`, or `None` when
    /// `host` is outside the underlay:
    /// `OVERLAY | ((U & ~mask(ul)) << (ul - ov))`, prefix `ov + 32 - ul`.
    pub fn slice_for(&self, host: Ipv4Addr) -> Option<Slice> {
        let host = u32::from(host);
        if !self.underlay().contains_bits(host) {
            return None;
        }
        let network = self.overlay | shl(host & !mask(self.underlay_len), self.shift());
        // ov < ul, so the length is ov + (32 - ul) <= 31 and cannot overflow.
        let len = self
            .overlay_len
            .saturating_add(32_u8.saturating_sub(self.underlay_len));
        Some(Slice::new(Prefix::from_bits(network, len)))
    }

    /// [`FanMap::underlay_for`] for a `dst` known to be in the overlay.
    pub(crate) fn underlay_bits_for(&self, dst: u32) -> u32 {
        self.underlay | shr(dst & !mask(self.overlay_len), self.shift())
    }

    /// `ul - ov`: how many bits of an overlay address pick the host.
    fn shift(&self) -> u32 {
        u32::from(self.underlay_len.saturating_sub(self.overlay_len))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn a(s: &str) -> Ipv4Addr {
        s.parse().unwrap()
    }

    fn map(ov: &str, ovl: u8, ul: &str, ull: u8) -> FanMap {
        FanMap::new(a(ov), ovl, a(ul), ull).unwrap()
    }

    #[test]
    fn is_twelve_bytes() {
        assert_eq!(core::mem::size_of::<FanMap>(), 12);
    }

    #[test]
    fn validates_every_rule() {
        let new = |ov: &str, ovl, ul: &str, ull| FanMap::new(a(ov), ovl, a(ul), ull);
        use MapError::*;
        assert_eq!(
            new("250.0.0.0", 0, "172.30.0.0", 16),
            Err(OverlayPrefixOutOfRange)
        );
        assert_eq!(
            new("250.0.0.0", 33, "172.30.0.0", 16),
            Err(OverlayPrefixOutOfRange)
        );
        assert_eq!(
            new("250.0.0.0", 8, "172.30.0.0", 0),
            Err(UnderlayPrefixOutOfRange)
        );
        assert_eq!(
            new("250.0.0.0", 8, "172.30.0.0", 33),
            Err(UnderlayPrefixOutOfRange)
        );
        assert_eq!(
            new("250.0.0.0", 16, "172.30.0.0", 16),
            Err(OverlayNotShorter)
        );
        assert_eq!(
            new("250.0.0.0", 24, "172.30.0.0", 16),
            Err(OverlayNotShorter)
        );
        assert_eq!(
            new("250.0.0.0", 32, "172.30.0.1", 32),
            Err(OverlayNotShorter)
        );
        assert_eq!(new("250.1.0.0", 8, "172.30.0.0", 16), Err(OverlayHostBits));
        assert_eq!(
            new("250.0.0.0", 8, "172.30.0.28", 16),
            Err(UnderlayHostBits)
        );
        assert_eq!(new("0.0.0.0", 8, "172.30.0.0", 16), Err(OverlayZero));
        assert_eq!(new("250.0.0.0", 8, "0.0.0.0", 16), Err(UnderlayZero));
        assert!(new("250.0.0.0", 8, "172.30.0.0", 16).is_ok());
        assert!(new("128.0.0.0", 1, "255.255.255.254", 32).is_ok());
        assert!(new("250.0.0.0", 8, "239.255.0.0", 16) == Err(UnderlayNotUnicast));
        assert!(new("250.0.0.0", 8, "255.255.255.255", 32) == Err(UnderlayNotUnicast));
        assert!(new("250.0.0.0", 8, "127.1.0.0", 16) == Err(UnderlayNotUnicast));
        assert!(new("250.0.0.0", 8, "0.30.0.0", 16) == Err(UnderlayNotUnicast));
        // An underlay that contains such a network is refused too.
        assert!(new("10.0.0.0", 8, "192.0.0.0", 9) == Ok(map("10.0.0.0", 8, "192.0.0.0", 9)));
        assert!(new("128.0.0.0", 1, "192.0.0.0", 2) == Err(UnderlayNotUnicast));
        // Neighbours of the refused networks are fine.
        assert!(new("250.0.0.0", 8, "223.255.0.0", 16).is_ok());
        assert!(new("250.0.0.0", 8, "128.0.0.0", 16).is_ok());
        assert!(new("250.0.0.0", 8, "1.0.0.0", 16).is_ok());
        assert!(new("250.0.0.0", 8, "240.0.0.0", 16).is_ok());
    }

    #[test]
    fn spec_example_250_over_172_30() {
        let m = map("250.0.0.0", 8, "172.30.0.0", 16);
        let slice = m.slice_for(a("172.30.0.28")).unwrap();
        assert_eq!(slice.prefix(), Prefix::new(a("250.0.28.0"), 24).unwrap());
        assert_eq!(m.underlay_for(a("250.0.27.3")), Some(a("172.30.0.27")));
        assert_eq!(m.underlay_for(a("251.0.27.3")), None);
        assert!(m.slice_for(a("172.31.0.28")).is_none());
        assert_eq!(m.overlay(), Prefix::new(a("250.0.0.0"), 8).unwrap());
        assert_eq!(m.underlay(), Prefix::new(a("172.30.0.0"), 16).unwrap());
    }

    #[test]
    fn kernel_comment_example_99_over_10_88() {
        let underlay = Prefix::containing(a("10.88.3.4"), 16).unwrap();
        let m = FanMap::from_prefixes(Prefix::new(a("99.0.0.0"), 8).unwrap(), underlay).unwrap();
        let slice = m.slice_for(a("10.88.3.4")).unwrap();
        assert_eq!(slice.prefix(), Prefix::new(a("99.3.4.0"), 24).unwrap());
        assert_eq!(m.underlay_for(a("99.6.7.8")), Some(a("10.88.6.7")));
    }

    #[test]
    fn kernel_comment_example_100_64_over_10_224_220() {
        let m = map("100.64.0.0", 10, "10.224.220.0", 24);
        assert_eq!(m.underlay_for(a("100.66.200.5")), Some(a("10.224.220.11")));
        let slice = m.slice_for(a("10.224.220.11")).unwrap();
        assert_eq!(slice.prefix(), Prefix::new(a("100.66.192.0"), 18).unwrap());
        assert!(slice.prefix().contains(a("100.66.200.5")));
    }

    #[test]
    fn extreme_lengths() {
        // ov = 1, ul = 32: one host owns the whole overlay.
        let m = map("128.0.0.0", 1, "10.0.0.1", 32);
        assert_eq!(m.underlay_for(a("255.1.2.3")), Some(a("10.0.0.1")));
        let slice = m.slice_for(a("10.0.0.1")).unwrap();
        assert_eq!(slice.prefix(), Prefix::new(a("128.0.0.0"), 1).unwrap());
        // ov = 1, ul = 2: the widest shift, 31 bits of host part in ul.
        let m = map("128.0.0.0", 1, "128.0.0.0", 2);
        assert_eq!(
            m.underlay_for(a("255.255.255.255")),
            Some(a("191.255.255.255"))
        );
        let slice = m.slice_for(a("191.255.255.255")).unwrap();
        assert_eq!(
            slice.prefix(),
            Prefix::new(a("255.255.255.254"), 31).unwrap()
        );
    }
}
