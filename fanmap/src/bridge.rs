//! Names of the bridges `fanctl` creates for slices.

use core::fmt::{self, Write};
use core::net::Ipv4Addr;

/// Linux's IFNAMSIZ: interface names have at most 15 bytes plus a NUL.
const IFNAMSIZ: usize = 16;

/// A slice's bridge name such as `fan-250-0-28`, held on the stack.
///
/// The name is `fan-` followed by the slice's network address with dots as
/// dashes and trailing `-0`s dropped. That is up to 19 bytes
/// (`fan-255-255-255-255`) but Linux allows 15, so a name that does not fit
/// is not made: [`BridgeName::for_network`] returns `None`, and the user
/// has to name the bridge (`fanctl --bridge NAME`).
#[derive(Clone, Copy, PartialEq, Eq, Hash)]
pub struct BridgeName {
    buf: [u8; IFNAMSIZ - 1],
    len: u8,
}

impl BridgeName {
    /// The bridge name for a slice whose network address is `network`, or
    /// `None` when it would be longer than 15 bytes.
    pub fn for_network(network: Ipv4Addr) -> Option<BridgeName> {
        let octets = network.octets();
        let kept = octets
            .iter()
            .rposition(|&octet| octet != 0)
            .map_or(0, |last| last.saturating_add(1));
        let mut name = BridgeName {
            buf: [0; IFNAMSIZ - 1],
            len: 0,
        };
        name.write_str("fan").ok()?;
        for octet in octets.iter().take(kept) {
            write!(name, "-{octet}").ok()?;
        }
        Some(name)
    }

    /// The name.
    pub fn as_str(&self) -> &str {
        let bytes = self.buf.get(..usize::from(self.len)).unwrap_or_default();
        // Only ASCII is ever written, so the fallback is never used.
        core::str::from_utf8(bytes).unwrap_or_default()
    }
}

/// Appends, failing rather than truncating when the name is full.
impl Write for BridgeName {
    fn write_str(&mut self, s: &str) -> fmt::Result {
        let start = usize::from(self.len);
        let end = start.checked_add(s.len()).ok_or(fmt::Error)?;
        let dest = self.buf.get_mut(start..end).ok_or(fmt::Error)?;
        dest.copy_from_slice(s.as_bytes());
        self.len = u8::try_from(end).map_err(|_| fmt::Error)?;
        Ok(())
    }
}

impl fmt::Display for BridgeName {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl fmt::Debug for BridgeName {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Debug::fmt(self.as_str(), f)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn name(a: [u8; 4]) -> Option<std::string::String> {
        BridgeName::for_network(Ipv4Addr::from(a)).map(|n| std::format!("{n}"))
    }

    #[test]
    fn drops_trailing_zero_octets() {
        assert_eq!(name([250, 0, 28, 0]).as_deref(), Some("fan-250-0-28"));
        assert_eq!(name([250, 0, 0, 0]).as_deref(), Some("fan-250"));
        assert_eq!(name([250, 0, 0, 8]).as_deref(), Some("fan-250-0-0-8"));
        assert_eq!(name([10, 1, 0, 0]).as_deref(), Some("fan-10-1"));
        assert_eq!(name([0, 0, 0, 0]).as_deref(), Some("fan"));
    }

    #[test]
    fn fits_ifnamsiz_or_is_refused() {
        assert_eq!(name([250, 100, 200, 0]).as_deref(), Some("fan-250-100-200"));
        assert_eq!(name([250, 100, 200, 1]), None);
        assert_eq!(name([255, 255, 255, 255]), None);
        assert_eq!(name([1, 100, 200, 8]).as_deref(), Some("fan-1-100-200-8"));
        assert_eq!(name([10, 100, 200, 8]), None);
    }
}
