//! The netlink payload of a fan map and what each form of it asks for
//! (docs/netlink.md, Ubuntu's UAPI).
//!
//! ```c
//! struct ifla_fan_map {
//!     __be32 underlay;
//!     __be32 overlay;
//!     __u16  underlay_prefix;   /* host byte order */
//!     __u16  overlay_prefix;
//! };
//! ```

use core::net::Ipv4Addr;

use super::error::MapError;
use super::map::FanMap;
use super::prefix::Prefix;

/// `IFLA_IPTUN_FAN_MAP`: the nested attribute, inside `IFLA_INFO_DATA` of
/// kind `ipip`, that holds a device's fan maps.
pub const IFLA_IPTUN_FAN_MAP: u16 = 33;

/// `IFLA_IPTUN_FAN_UNDERLAY`: the first generation of Ubuntu's fan (one
/// underlay per device, an unnested address), superseded by
/// [`IFLA_IPTUN_FAN_MAP`] and refused.
pub const IFLA_IPTUN_FAN_UNDERLAY: u16 = 32;

/// `IFLA_FAN_MAPPING`: one map inside [`IFLA_IPTUN_FAN_MAP`], whose payload
/// is a `struct ifla_fan_map`.
pub const IFLA_FAN_MAPPING: u16 = 1;

/// Size of `struct ifla_fan_map`, the only payload length accepted.
pub const WIRE_LEN: usize = 12;

/// What one `IFLA_FAN_MAPPING` of a newlink or changelink request asks for.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Request {
    /// Overlay 0 and underlay 0: remove every map of the device.
    Flush,
    /// Overlay set, underlay 0: remove the map with exactly this overlay
    /// ([`MapError::NotFound`] if there is none).
    Remove(Prefix),
    /// Both set: add the map ([`MapError::Overlaps`] if its overlay overlaps
    /// one already there).
    Add(FanMap),
}

impl Request {
    /// Decodes and validates one `struct ifla_fan_map` payload.
    ///
    /// Every form must have prefix lengths of at most 32. A remove must name
    /// an overlay prefix 1..=32 without host bits (its underlay prefix is
    /// otherwise ignored; iproute2 sends 0). Overlay 0 with an underlay set,
    /// a payload that is not exactly [`WIRE_LEN`] bytes, and any invalid map
    /// are rejected, all with EINVAL.
    pub fn from_wire(payload: &[u8]) -> Result<Request, MapError> {
        let bytes: [u8; WIRE_LEN] = payload.try_into().map_err(|_| MapError::BadLength)?;
        let [u0, u1, u2, u3, o0, o1, o2, o3, ul0, ul1, ov0, ov1] = bytes;
        let underlay = Ipv4Addr::from([u0, u1, u2, u3]);
        let overlay = Ipv4Addr::from([o0, o1, o2, o3]);
        let overlay_len = u8::try_from(u16::from_ne_bytes([ov0, ov1]))
            .ok()
            .filter(|&len| len <= 32)
            .ok_or(MapError::OverlayPrefixOutOfRange)?;
        let underlay_len = u8::try_from(u16::from_ne_bytes([ul0, ul1]))
            .ok()
            .filter(|&len| len <= 32)
            .ok_or(MapError::UnderlayPrefixOutOfRange)?;

        match (overlay.is_unspecified(), underlay.is_unspecified()) {
            (true, true) => Ok(Request::Flush),
            (true, false) => Err(MapError::OverlayZero),
            (false, true) => {
                if overlay_len == 0 {
                    return Err(MapError::OverlayPrefixOutOfRange);
                }
                let overlay =
                    Prefix::new(overlay, overlay_len).map_err(|_| MapError::OverlayHostBits)?;
                Ok(Request::Remove(overlay))
            }
            (false, false) => {
                FanMap::new(overlay, overlay_len, underlay, underlay_len).map(Request::Add)
            }
        }
    }

    /// The `struct ifla_fan_map` payload that asks for this request.
    pub fn to_wire(self) -> [u8; WIRE_LEN] {
        match self {
            Request::Flush => encode(0, 0, 0, 0),
            Request::Remove(overlay) => encode(overlay.bits(), overlay.prefix_len(), 0, 0),
            Request::Add(map) => map.to_wire(),
        }
    }
}

impl FanMap {
    /// The `struct ifla_fan_map` payload of this map (what a dump returns
    /// and what adds it).
    pub fn to_wire(self) -> [u8; WIRE_LEN] {
        let (overlay, underlay) = (self.overlay(), self.underlay());
        encode(
            overlay.bits(),
            overlay.prefix_len(),
            underlay.bits(),
            underlay.prefix_len(),
        )
    }
}

fn encode(overlay: u32, overlay_len: u8, underlay: u32, underlay_len: u8) -> [u8; WIRE_LEN] {
    let [u0, u1, u2, u3] = underlay.to_be_bytes();
    let [o0, o1, o2, o3] = overlay.to_be_bytes();
    let [ul0, ul1] = u16::from(underlay_len).to_ne_bytes();
    let [ov0, ov1] = u16::from(overlay_len).to_ne_bytes();
    [u0, u1, u2, u3, o0, o1, o2, o3, ul0, ul1, ov0, ov1]
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A payload as C would lay it out on this machine.
    fn payload(overlay: [u8; 4], ov: u16, underlay: [u8; 4], ul: u16) -> [u8; 12] {
        let mut p = [0; 12];
        p[..4].copy_from_slice(&underlay);
        p[4..8].copy_from_slice(&overlay);
        p[8..10].copy_from_slice(&ul.to_ne_bytes());
        p[10..].copy_from_slice(&ov.to_ne_bytes());
        p
    }

    fn decode(overlay: [u8; 4], ov: u16, underlay: [u8; 4], ul: u16) -> Result<Request, MapError> {
        Request::from_wire(&payload(overlay, ov, underlay, ul))
    }

    fn prefix(a: [u8; 4], len: u8) -> Prefix {
        Prefix::new(Ipv4Addr::from(a), len).unwrap()
    }

    #[test]
    fn overlay_0_underlay_0_flushes() {
        assert_eq!(decode([0; 4], 0, [0; 4], 0), Ok(Request::Flush));
        assert_eq!(decode([0; 4], 8, [0; 4], 16), Ok(Request::Flush));
        assert_eq!(
            decode([0; 4], 33, [0; 4], 0),
            Err(MapError::OverlayPrefixOutOfRange)
        );
    }

    #[test]
    fn overlay_set_underlay_0_removes() {
        let overlay = prefix([250, 0, 0, 0], 8);
        assert_eq!(
            decode([250, 0, 0, 0], 8, [0; 4], 0),
            Ok(Request::Remove(overlay))
        );
        // iproute2's `fan-map 250.0.0.0/8:0.0.0.0/0`; other underlay lengths too.
        assert_eq!(
            decode([250, 0, 0, 0], 8, [0; 4], 16),
            Ok(Request::Remove(overlay))
        );
        assert_eq!(
            decode([250, 1, 0, 0], 8, [0; 4], 0),
            Err(MapError::OverlayHostBits)
        );
        assert_eq!(
            decode([250, 0, 0, 0], 0, [0; 4], 0),
            Err(MapError::OverlayPrefixOutOfRange)
        );
        assert_eq!(
            decode([250, 0, 0, 0], 33, [0; 4], 0),
            Err(MapError::OverlayPrefixOutOfRange)
        );
        assert_eq!(
            decode([250, 0, 0, 0], 8, [0; 4], 33),
            Err(MapError::UnderlayPrefixOutOfRange)
        );
    }

    #[test]
    fn both_set_and_valid_adds() {
        let map = FanMap::from_prefixes(prefix([250, 0, 0, 0], 8), prefix([172, 30, 0, 0], 16));
        assert_eq!(
            decode([250, 0, 0, 0], 8, [172, 30, 0, 0], 16),
            Ok(Request::Add(map.unwrap()))
        );
    }

    #[test]
    fn invalid_forms_are_einval() {
        let cases = [
            (
                decode([250, 1, 0, 0], 8, [172, 30, 0, 0], 16),
                MapError::OverlayHostBits,
            ),
            (
                decode([250, 0, 0, 0], 8, [172, 30, 0, 28], 16),
                MapError::UnderlayHostBits,
            ),
            (
                decode([250, 0, 0, 0], 0, [172, 30, 0, 0], 16),
                MapError::OverlayPrefixOutOfRange,
            ),
            (
                decode([250, 0, 0, 0], 8, [172, 30, 0, 0], 0),
                MapError::UnderlayPrefixOutOfRange,
            ),
            (
                decode([250, 0, 0, 0], 8, [172, 30, 0, 0], 33),
                MapError::UnderlayPrefixOutOfRange,
            ),
            (
                decode([250, 0, 0, 0], 8, [172, 30, 0, 0], 0x1008),
                MapError::UnderlayPrefixOutOfRange,
            ),
            (
                decode([250, 0, 0, 0], 0x800, [172, 30, 0, 0], 16),
                MapError::OverlayPrefixOutOfRange,
            ),
            (
                decode([250, 0, 0, 0], 16, [172, 30, 0, 0], 16),
                MapError::OverlayNotShorter,
            ),
            (
                decode([0; 4], 8, [172, 30, 0, 0], 16),
                MapError::OverlayZero,
            ),
        ];
        for (got, want) in cases {
            assert_eq!(got, Err(want));
            assert_eq!(want.errno(), 22);
        }
    }

    #[test]
    fn only_12_bytes_are_accepted() {
        let good = payload([250, 0, 0, 0], 8, [172, 30, 0, 0], 16);
        assert!(Request::from_wire(&good).is_ok());
        for len in [0, 1, 8, 11] {
            assert_eq!(Request::from_wire(&good[..len]), Err(MapError::BadLength));
        }
        let long = [0; 13];
        assert_eq!(Request::from_wire(&long), Err(MapError::BadLength));
        assert_eq!(Request::from_wire(&long[..12]), Ok(Request::Flush));
    }

    #[test]
    fn layout_matches_the_c_struct() {
        let map = FanMap::from_prefixes(prefix([250, 0, 0, 0], 8), prefix([172, 30, 0, 0], 16));
        let bytes = map.unwrap().to_wire();
        assert_eq!(bytes, payload([250, 0, 0, 0], 8, [172, 30, 0, 0], 16));
        assert_eq!(bytes[..8], [172, 30, 0, 0, 250, 0, 0, 0]);
        #[cfg(target_endian = "little")]
        assert_eq!(bytes[8..], [16, 0, 8, 0]);
    }

    #[test]
    fn requests_round_trip() {
        let map = FanMap::from_prefixes(prefix([250, 0, 0, 0], 8), prefix([172, 30, 0, 0], 16));
        for request in [
            Request::Flush,
            Request::Remove(prefix([250, 0, 0, 0], 8)),
            Request::Remove(prefix([255, 255, 255, 255], 32)),
            Request::Add(map.unwrap()),
        ] {
            assert_eq!(Request::from_wire(&request.to_wire()), Ok(request));
        }
    }
}
