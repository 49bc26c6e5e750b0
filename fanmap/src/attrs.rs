//! The nested netlink attributes inside `IFLA_IPTUN_FAN_MAP`: a sequence
//! of `IFLA_FAN_MAPPING` attributes, each a 4-byte header (`nla_len`,
//! `nla_type`, host byte order) then its payload, padded to 4 bytes.
//!
//! The kernel has checked only that the outer attribute fits in the
//! message; everything inside is walked here, and anything malformed is an
//! error rather than something skipped.

use core::ffi::CStr;

use super::wire::IFLA_FAN_MAPPING;

/// Netlink attribute header length.
const HDR_LEN: usize = 4;
/// Netlink attribute alignment.
const ALIGN: usize = 4;
/// Flag bits of `nla_type` that are not part of the type.
const TYPE_MASK: u16 = !(1 << 15 | 1 << 14);

/// One `IFLA_FAN_MAPPING` found in the payload.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Mapping<'a> {
    /// Offset of the mapping's header in the walked payload.
    pub offset: usize,
    /// The mapping's payload (a `struct ifla_fan_map` when well formed).
    pub payload: &'a [u8],
}

/// Why the nested attributes could not be walked.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum AttrError {
    /// A header, or the payload it announces, runs past the end.
    Truncated,
    /// An attribute of another type than `IFLA_FAN_MAPPING`.
    UnknownType,
}

impl AttrError {
    /// What is wrong, NUL-terminated for the kernel's extended ack.
    pub fn c_message(&self) -> &'static CStr {
        match self {
            Self::Truncated => c"fan map attribute is truncated",
            Self::UnknownType => c"unknown attribute inside the fan map attribute",
        }
    }
}

/// The mappings of an `IFLA_IPTUN_FAN_MAP` payload, in order. After the
/// first error the iterator ends.
pub fn mappings(payload: &[u8]) -> Mappings<'_> {
    Mappings {
        rest: payload,
        offset: 0,
    }
}

/// Iterator returned by [`mappings`].
#[derive(Clone, Debug)]
pub struct Mappings<'a> {
    rest: &'a [u8],
    offset: usize,
}

impl<'a> Iterator for Mappings<'a> {
    type Item = Result<Mapping<'a>, AttrError>;

    fn next(&mut self) -> Option<Self::Item> {
        if self.rest.is_empty() {
            return None;
        }
        let item = self.take();
        if item.is_err() {
            self.rest = &[];
        }
        Some(item)
    }
}

impl<'a> Mappings<'a> {
    fn take(&mut self) -> Result<Mapping<'a>, AttrError> {
        let (header, _) = self
            .rest
            .split_first_chunk::<HDR_LEN>()
            .ok_or(AttrError::Truncated)?;
        let [l0, l1, t0, t1] = *header;
        let len = usize::from(u16::from_ne_bytes([l0, l1]));
        let kind = u16::from_ne_bytes([t0, t1]) & TYPE_MASK;
        let payload = self.rest.get(HDR_LEN..len).ok_or(AttrError::Truncated)?;
        if kind != IFLA_FAN_MAPPING {
            return Err(AttrError::UnknownType);
        }
        // The last attribute's padding may be missing; that is allowed.
        let padded = len.div_ceil(ALIGN).saturating_mul(ALIGN);
        let mapping = Mapping {
            offset: self.offset,
            payload,
        };
        self.rest = self.rest.get(padded..).unwrap_or(&[]);
        self.offset = self.offset.saturating_add(padded);
        Ok(mapping)
    }
}

/// The offsets of every attribute of type `kind` (flag bits ignored) among
/// the attributes of `payload`, in order, each whole inside `payload`. The
/// walk stops where the kernel's own lenient parser stops: at a header or
/// an attribute that does not fit. The kernel keeps only the last attribute
/// of a type in its table; this finds all of them.
pub fn offsets_of(payload: &[u8], kind: u16) -> OffsetsOf<'_> {
    OffsetsOf {
        payload,
        offset: 0,
        kind,
    }
}

/// Iterator returned by [`offsets_of`].
#[derive(Clone, Debug)]
pub struct OffsetsOf<'a> {
    payload: &'a [u8],
    offset: usize,
    kind: u16,
}

impl Iterator for OffsetsOf<'_> {
    type Item = usize;

    fn next(&mut self) -> Option<usize> {
        loop {
            let rest = self.payload.get(self.offset..)?;
            let [l0, l1, t0, t1] = *rest.first_chunk::<HDR_LEN>()?;
            let len = usize::from(u16::from_ne_bytes([l0, l1]));
            if len < HDR_LEN || len > rest.len() {
                self.offset = self.payload.len();
                return None;
            }
            let at = self.offset;
            self.offset = at.saturating_add(len.div_ceil(ALIGN).saturating_mul(ALIGN));
            if u16::from_ne_bytes([t0, t1]) & TYPE_MASK == self.kind {
                return Some(at);
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::vec::Vec;

    fn attr(kind: u16, payload: &[u8]) -> Vec<u8> {
        let len = u16::try_from(HDR_LEN + payload.len()).unwrap();
        let mut v = Vec::new();
        v.extend_from_slice(&len.to_ne_bytes());
        v.extend_from_slice(&kind.to_ne_bytes());
        v.extend_from_slice(payload);
        while v.len() % ALIGN != 0 {
            v.push(0);
        }
        v
    }

    #[test]
    fn walks_mappings_with_their_offsets() {
        let mut buf = attr(IFLA_FAN_MAPPING, &[1; 12]);
        buf.extend(attr(IFLA_FAN_MAPPING, &[2; 12]));
        let found: Vec<_> = mappings(&buf).collect();
        assert_eq!(
            found,
            [
                Ok(Mapping {
                    offset: 0,
                    payload: &[1; 12]
                }),
                Ok(Mapping {
                    offset: 16,
                    payload: &[2; 12]
                }),
            ]
        );
    }

    #[test]
    fn odd_payload_lengths_are_padded_and_reported_as_they_are() {
        let mut buf = attr(IFLA_FAN_MAPPING, &[7; 13]);
        buf.extend(attr(IFLA_FAN_MAPPING, &[8; 12]));
        let found: Vec<_> = mappings(&buf).map(|m| m.unwrap()).collect();
        assert_eq!(found[0].payload, &[7; 13]);
        assert_eq!(
            found[1],
            Mapping {
                offset: 20,
                payload: &[8; 12]
            }
        );
    }

    #[test]
    fn empty_payload_has_no_mappings() {
        assert_eq!(mappings(&[]).count(), 0);
    }

    #[test]
    fn truncated_header_and_payload_are_errors() {
        assert_eq!(mappings(&[16, 0]).next(), Some(Err(AttrError::Truncated)));
        let mut buf = attr(IFLA_FAN_MAPPING, &[0; 12]);
        buf.truncate(10);
        assert_eq!(mappings(&buf).next(), Some(Err(AttrError::Truncated)));
        // nla_len smaller than the header itself
        assert_eq!(
            mappings(&[2, 0, 1, 0, 0, 0, 0, 0]).next(),
            Some(Err(AttrError::Truncated))
        );
    }

    #[test]
    fn unknown_type_is_an_error_and_ends_the_walk() {
        let mut buf = attr(2, &[0; 12]);
        buf.extend(attr(IFLA_FAN_MAPPING, &[0; 12]));
        let found: Vec<_> = mappings(&buf).collect();
        assert_eq!(found, [Err(AttrError::UnknownType)]);
    }

    #[test]
    fn flag_bits_of_the_type_are_ignored() {
        let buf = attr(IFLA_FAN_MAPPING | 1 << 15, &[0; 12]);
        assert!(mappings(&buf).next().unwrap().is_ok());
    }

    #[test]
    fn offsets_of_finds_every_attribute_of_a_type() {
        let mut buf = attr(33 | 1 << 15, &[1; 12]);
        buf.extend(attr(2, &[9; 5]));
        buf.extend(attr(33, &[2; 8]));
        buf.extend(attr(4, &[]));
        assert_eq!(offsets_of(&buf, 33).collect::<Vec<_>>(), [0, 28]);
        assert_eq!(offsets_of(&buf, 4).collect::<Vec<_>>(), [40]);
        assert_eq!(offsets_of(&buf, 5).count(), 0);
        assert_eq!(offsets_of(&[], 33).count(), 0);
    }

    #[test]
    fn offsets_of_stops_where_the_kernel_stops() {
        let mut buf = attr(33, &[1; 4]);
        // nla_len 2 (smaller than a header), then a good attribute the
        // kernel never reaches.
        buf.extend([2, 0, 33, 0]);
        buf.extend(attr(33, &[3; 4]));
        assert_eq!(offsets_of(&buf, 33).collect::<Vec<_>>(), [0]);
        // An attribute longer than what is left, and trailing bytes.
        let mut buf = attr(33, &[1; 4]);
        buf.extend([12, 0, 33, 0, 0]);
        assert_eq!(offsets_of(&buf, 33).collect::<Vec<_>>(), [0]);
        // The last attribute's padding may be missing.
        let buf = [5, 0, 33, 0, 7];
        assert_eq!(offsets_of(&buf, 33).collect::<Vec<_>>(), [0]);
    }

    proptest::proptest! {
        /// Whatever the bytes, every offset found holds a whole attribute of
        /// the type, and the walk ends.
        #[test]
        fn offsets_of_yields_only_whole_attributes(bytes in proptest::collection::vec(proptest::prelude::any::<u8>(), 0..256), kind in 0u16..40) {
            for at in offsets_of(&bytes, kind) {
                let len = usize::from(u16::from_ne_bytes([bytes[at], bytes[at + 1]]));
                proptest::prop_assert!(len >= HDR_LEN && at + len <= bytes.len());
                proptest::prop_assert_eq!(u16::from_ne_bytes([bytes[at + 2], bytes[at + 3]]) & TYPE_MASK, kind);
            }
        }
    }
}
