//! Text forms: `A.B.C.D/len` prefixes, the short overlay form `250`
//! (250.0.0.0/8) and maps `250.0.0.0/8:172.30.0.0/16`.

use core::fmt;
use core::net::Ipv4Addr;
use core::str::FromStr;

use super::error::MapError;
use super::map::FanMap;
use super::prefix::Prefix;
use super::slice::Slice;

/// Why a prefix or map text was not accepted.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum ParseError {
    /// The address is not a dotted quad (`A.B.C.D`, each 0..=255).
    Address,
    /// There is no `/len` after the address.
    MissingLength,
    /// The prefix length is not a decimal number.
    Length,
    /// The prefix length (saturated at `u32::MAX`) is above 32.
    LengthOutOfRange(u32),
    /// `addr/len` has bits set beyond `len`; see
    /// [`ParseError::suggestion`].
    HostBits {
        /// The address as written.
        addr: Ipv4Addr,
        /// The prefix length as written.
        len: u8,
    },
    /// A map has no `:` between overlay and underlay.
    MissingColon,
    /// Overlay and underlay parse but do not make a valid map.
    Map(MapError),
}

impl ParseError {
    /// What is wrong, without the details that [`fmt::Display`] adds.
    pub fn message(&self) -> &'static str {
        match self {
            Self::Address => "not an IPv4 address (A.B.C.D)",
            Self::MissingLength => "missing prefix length (/len)",
            Self::Length => "prefix length is not a number",
            Self::LengthOutOfRange(_) => MapError::PrefixOutOfRange.message(),
            Self::HostBits { .. } => MapError::HostBits.message(),
            Self::MissingColon => "a fan map is OVERLAY/len:UNDERLAY/len",
            Self::Map(error) => error.message(),
        }
    }

    /// For host bits, the prefix the user probably meant: the address with
    /// its host bits cleared (`250.1.0.0/8` -> `250.0.0.0/8`).
    pub fn suggestion(&self) -> Option<Prefix> {
        match *self {
            Self::HostBits { addr, len } => Prefix::containing(addr, len).ok(),
            _ => None,
        }
    }
}

impl fmt::Display for ParseError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match (self, self.suggestion()) {
            (Self::LengthOutOfRange(len), _) => {
                write!(f, "prefix length {len} is out of range 0..=32")
            }
            (Self::HostBits { addr, len }, Some(meant)) => {
                write!(f, "{addr}/{len} has host bits set: did you mean {meant}?")
            }
            _ => f.write_str(self.message()),
        }
    }
}

impl From<MapError> for ParseError {
    fn from(error: MapError) -> Self {
        ParseError::Map(error)
    }
}

/// Parses `A.B.C.D/len` without requiring the host bits to be clear (a host
/// address with its network's length, such as an underlay `10.88.3.4/16`).
pub fn parse_addr_len(s: &str) -> Result<(Ipv4Addr, u8), ParseError> {
    let (addr, len) = s.split_once('/').ok_or(ParseError::MissingLength)?;
    let addr = Ipv4Addr::from_str(addr).map_err(|_| ParseError::Address)?;
    let len = parse_decimal(len).ok_or(ParseError::Length)?;
    match u8::try_from(len) {
        Ok(len) if len <= 32 => Ok((addr, len)),
        _ => Err(ParseError::LengthOutOfRange(len)),
    }
}

/// Digits only (no sign, unlike `u32::from_str`), saturating.
fn parse_decimal(s: &str) -> Option<u32> {
    if s.is_empty() || !s.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    Some(s.bytes().fold(0_u32, |n, digit| {
        n.saturating_mul(10)
            .saturating_add(u32::from(digit.wrapping_sub(b'0')))
    }))
}

impl Prefix {
    /// Parses an overlay as `fanctl` takes it: `N` for `N.0.0.0/8`, or
    /// `A.B.C.D/len`.
    pub fn parse_overlay(s: &str) -> Result<Prefix, ParseError> {
        if s.contains(['.', '/']) {
            return s.parse();
        }
        let first = parse_decimal(s)
            .and_then(|n| u8::try_from(n).ok())
            .ok_or(ParseError::Address)?;
        Ok(Prefix::containing(Ipv4Addr::new(first, 0, 0, 0), 8)?)
    }
}

/// `A.B.C.D/len`, with no host bits set.
impl FromStr for Prefix {
    type Err = ParseError;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        let (addr, len) = parse_addr_len(s)?;
        Prefix::new(addr, len).map_err(|_| ParseError::HostBits { addr, len })
    }
}

impl fmt::Display for Prefix {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}/{}", self.network(), self.prefix_len())
    }
}

/// `OVERLAY:UNDERLAY`, e.g. `250.0.0.0/8:172.30.0.0/16`; the overlay may be
/// in the short form (`250:172.30.0.0/16`).
impl FromStr for FanMap {
    type Err = ParseError;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        let (overlay, underlay) = s.split_once(':').ok_or(ParseError::MissingColon)?;
        let overlay = Prefix::parse_overlay(overlay)?;
        let underlay = underlay.parse()?;
        Ok(FanMap::from_prefixes(overlay, underlay)?)
    }
}

impl fmt::Display for FanMap {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}:{}", self.overlay(), self.underlay())
    }
}

impl fmt::Display for Slice {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Display::fmt(&self.prefix(), f)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::string::ToString;

    #[test]
    fn prefixes() {
        let p: Prefix = "250.0.0.0/8".parse().unwrap();
        assert_eq!(p, Prefix::new(Ipv4Addr::new(250, 0, 0, 0), 8).unwrap());
        assert_eq!(p.to_string(), "250.0.0.0/8");
        assert_eq!(
            "0.0.0.0/0".parse::<Prefix>().unwrap().to_string(),
            "0.0.0.0/0"
        );
        let err = |s: &str| s.parse::<Prefix>().unwrap_err();
        assert_eq!(err("250.0.0.0"), ParseError::MissingLength);
        assert_eq!(err("250.0.0/8"), ParseError::Address);
        assert_eq!(err("250.0.0.256/8"), ParseError::Address);
        assert_eq!(err("250.0.0.0/"), ParseError::Length);
        assert_eq!(err("250.0.0.0/+8"), ParseError::Length);
        assert_eq!(err("250.0.0.0/8 "), ParseError::Length);
        assert_eq!(err("250.0.0.0/33"), ParseError::LengthOutOfRange(33));
        assert_eq!(
            err("250.0.0.0/99999999999").to_string(),
            "prefix length 4294967295 is out of range 0..=32"
        );
        assert_eq!(
            err("250.0.0.0/33").to_string(),
            "prefix length 33 is out of range 0..=32"
        );
        let host_bits = err("250.1.0.0/8");
        assert_eq!(
            host_bits.to_string(),
            "250.1.0.0/8 has host bits set: did you mean 250.0.0.0/8?"
        );
        assert_eq!(host_bits.suggestion(), Some(p));
        assert_eq!(ParseError::Address.suggestion(), None);
    }

    #[test]
    fn addresses_with_lengths() {
        let host = Ipv4Addr::new(10, 88, 3, 4);
        assert_eq!(parse_addr_len("10.88.3.4/16"), Ok((host, 16)));
        assert_eq!(parse_addr_len("10.88.3.4"), Err(ParseError::MissingLength));
    }

    #[test]
    fn short_overlays() {
        let p = |s: &str| Prefix::parse_overlay(s).map(|p| p.to_string());
        assert_eq!(p("250").as_deref(), Ok("250.0.0.0/8"));
        assert_eq!(p("10").as_deref(), Ok("10.0.0.0/8"));
        assert_eq!(p("100.64.0.0/10").as_deref(), Ok("100.64.0.0/10"));
        assert_eq!(p("256"), Err(ParseError::Address));
        assert_eq!(p("+25"), Err(ParseError::Address));
        assert_eq!(p(""), Err(ParseError::Address));
        assert_eq!(p("250.0.0.0"), Err(ParseError::MissingLength));
    }

    #[test]
    fn maps() {
        let text = "250.0.0.0/8:172.30.0.0/16";
        let map: FanMap = text.parse().unwrap();
        assert_eq!(map.to_string(), text);
        assert_eq!("250:172.30.0.0/16".parse::<FanMap>(), Ok(map));
        let err = |s: &str| s.parse::<FanMap>().unwrap_err();
        assert_eq!(err("250.0.0.0/8"), ParseError::MissingColon);
        assert_eq!(
            err("250.0.0.0/8:172.30.0.28/16").to_string(),
            "172.30.0.28/16 has host bits set: did you mean 172.30.0.0/16?"
        );
        assert_eq!(
            err("250.0.0.0/16:172.30.0.0/16"),
            ParseError::Map(MapError::OverlayNotShorter)
        );
        assert_eq!(
            err("0.0.0.0/8:172.30.0.0/16").to_string(),
            MapError::OverlayZero.message()
        );
        let slice = map.slice_for(Ipv4Addr::new(172, 30, 0, 28)).unwrap();
        assert_eq!(slice.to_string(), "250.0.28.0/24");
    }
}
