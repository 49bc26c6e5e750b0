//! What can be wrong with a fan map or a request to change a device's maps.

use core::ffi::CStr;
use core::fmt;

/// Errno values of the kernel interface (docs/netlink.md), positive.
const ENOENT: i32 = 2;
const EEXIST: i32 = 17;
const EINVAL: i32 = 22;
const ENOSPC: i32 = 28;

/// Why a prefix, a map or a map request was rejected.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum MapError {
    /// A prefix length above 32.
    PrefixOutOfRange,
    /// An address has bits set beyond its prefix length.
    HostBits,
    /// The overlay prefix length is outside 1..=32.
    OverlayPrefixOutOfRange,
    /// The underlay prefix length is outside 1..=32.
    UnderlayPrefixOutOfRange,
    /// The overlay prefix is not shorter than the underlay prefix.
    OverlayNotShorter,
    /// The overlay address has bits set beyond the overlay prefix length.
    OverlayHostBits,
    /// The underlay address has bits set beyond the underlay prefix length.
    UnderlayHostBits,
    /// Overlay 0.0.0.0 with an underlay set.
    OverlayZero,
    /// Underlay 0.0.0.0: on the wire that is a request to remove a map.
    UnderlayZero,
    /// A netlink fan map payload that is not exactly 12 bytes.
    BadLength,
    /// No map with the overlay a remove request names.
    NotFound,
    /// The overlay overlaps the overlay of a map already present.
    Overlaps,
    /// The table already holds [`MAX_MAPS`](super::table::MAX_MAPS) maps.
    TableFull,
    /// The underlay reaches into addresses that are no host's: "this
    /// network" (0/8), loopback (127/8), multicast (224/4) or the limited
    /// broadcast address. A fan would send IP-in-IP there.
    UnderlayNotUnicast,
}

impl MapError {
    /// Every error, for tests and documentation checks.
    pub const ALL: [MapError; 14] = [
        Self::PrefixOutOfRange,
        Self::HostBits,
        Self::OverlayPrefixOutOfRange,
        Self::UnderlayPrefixOutOfRange,
        Self::OverlayNotShorter,
        Self::OverlayHostBits,
        Self::UnderlayHostBits,
        Self::OverlayZero,
        Self::UnderlayZero,
        Self::BadLength,
        Self::NotFound,
        Self::Overlaps,
        Self::TableFull,
        Self::UnderlayNotUnicast,
    ];

    /// What is wrong, as a NUL-terminated static string for the kernel's
    /// netlink extended ack.
    pub fn c_message(&self) -> &'static CStr {
        match self {
            Self::PrefixOutOfRange => c"prefix length is out of range 0..=32",
            Self::HostBits => c"address has host bits set beyond its prefix length",
            Self::OverlayPrefixOutOfRange => {
                c"fan map overlay prefix length is out of range 1..=32"
            }
            Self::UnderlayPrefixOutOfRange => {
                c"fan map underlay prefix length is out of range 1..=32"
            }
            Self::OverlayNotShorter => {
                c"fan map overlay prefix must be shorter than its underlay prefix"
            }
            Self::OverlayHostBits => c"fan map overlay address has host bits set",
            Self::UnderlayHostBits => c"fan map underlay address has host bits set",
            Self::OverlayZero => {
                c"fan map overlay is 0.0.0.0 but underlay is set (both 0 removes every map)"
            }
            Self::UnderlayZero => c"fan map underlay 0.0.0.0 is reserved for removing a map",
            Self::BadLength => c"fan map attribute is not 12 bytes long",
            Self::NotFound => c"no fan map with that overlay",
            Self::Overlaps => c"fan map overlay overlaps an existing fan map",
            Self::TableFull => c"too many fan maps on this device (at most 256)",
            Self::UnderlayNotUnicast => {
                c"fan map underlay must be unicast: not in 0/8, 127/8, 224/4 or 255.255.255.255"
            }
        }
    }

    /// What is wrong, as a static string.
    pub fn message(&self) -> &'static str {
        // The messages are ASCII literals, so the fallback is never used.
        self.c_message().to_str().unwrap_or("invalid fan map")
    }

    /// The positive errno the kernel interface returns for this error.
    pub fn errno(&self) -> i32 {
        match self {
            Self::NotFound => ENOENT,
            Self::Overlaps => EEXIST,
            Self::TableFull => ENOSPC,
            _ => EINVAL,
        }
    }
}

impl fmt::Display for MapError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.message())
    }
}

/// A batch of map requests failed: nothing was changed.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct ApplyError {
    /// Position in the batch (from 0) of the request that failed.
    pub index: usize,
    /// Why it failed.
    pub error: MapError,
}

impl ApplyError {
    /// The failing request's message, NUL-terminated (see
    /// [`MapError::c_message`]).
    pub fn c_message(&self) -> &'static CStr {
        self.error.c_message()
    }

    /// The failing request's message (see [`MapError::message`]).
    pub fn message(&self) -> &'static str {
        self.error.message()
    }

    /// The positive errno of the failing request.
    pub fn errno(&self) -> i32 {
        self.error.errno()
    }
}

impl fmt::Display for ApplyError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "fan map request {}: {}", self.index, self.error)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const ALL: [MapError; 14] = MapError::ALL;

    /// Does not compile when a variant is added: add it to `ALL` too.
    #[test]
    fn all_is_every_error() {
        for e in ALL {
            match e {
                MapError::PrefixOutOfRange
                | MapError::HostBits
                | MapError::OverlayPrefixOutOfRange
                | MapError::UnderlayPrefixOutOfRange
                | MapError::OverlayNotShorter
                | MapError::OverlayHostBits
                | MapError::UnderlayHostBits
                | MapError::OverlayZero
                | MapError::UnderlayZero
                | MapError::BadLength
                | MapError::NotFound
                | MapError::Overlaps
                | MapError::TableFull
                | MapError::UnderlayNotUnicast => {}
            }
        }
    }

    #[test]
    fn messages_agree_and_are_distinct() {
        for (i, e) in ALL.iter().enumerate() {
            assert_eq!(e.message().as_bytes(), e.c_message().to_bytes());
            assert!(!e.message().is_empty());
            assert_eq!(std::format!("{e}"), e.message());
            for other in ALL.get(i + 1..).unwrap_or(&[]) {
                assert_ne!(e.message(), other.message());
            }
        }
    }

    #[test]
    fn errnos_follow_the_spec() {
        assert_eq!(MapError::NotFound.errno(), 2);
        assert_eq!(MapError::Overlaps.errno(), 17);
        assert_eq!(MapError::TableFull.errno(), 28);
        for e in ALL.iter().take(10) {
            assert_eq!(e.errno(), 22, "{e:?}");
        }
        assert_eq!(MapError::UnderlayNotUnicast.errno(), 22);
    }

    #[test]
    fn apply_error_names_the_request() {
        let e = ApplyError {
            index: 3,
            error: MapError::Overlaps,
        };
        assert_eq!(e.errno(), 17);
        assert_eq!(e.message(), MapError::Overlaps.message());
        assert_eq!(e.c_message(), MapError::Overlaps.c_message());
        assert_eq!(
            std::format!("{e}"),
            "fan map request 3: fan map overlay overlaps an existing fan map"
        );
    }
}
