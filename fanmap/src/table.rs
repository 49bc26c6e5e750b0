//! A device's fan maps: a fixed-capacity table, sorted by overlay, with
//! lookup for the transmit path and all-or-nothing batch updates.

use core::fmt;
use core::net::Ipv4Addr;

use super::error::{ApplyError, MapError};
use super::map::FanMap;
use super::wire::Request;

/// The most maps one device can hold (a power of two, for
/// [`MapTable::lookup`]).
pub const MAX_MAPS: usize = 256;

/// The fan maps of one device, sorted by overlay network, overlays never
/// overlapping.
///
/// The table is a plain array (about 3 KiB, no allocation), meant to live
/// in heap memory and be replaced under RCU: build the next table with
/// [`MapTable::apply_into`], publish it, free the old one after a grace
/// period. Readers only call [`MapTable::lookup`], which takes no lock,
/// allocates nothing and cannot panic.
///
/// The all-zero byte pattern is an empty table (slots past
/// [`MapTable::len`] are never used), so zeroed memory is a valid starting
/// point.
#[derive(Clone)]
pub struct MapTable {
    maps: [FanMap; MAX_MAPS],
    /// Invariant: `len <= MAX_MAPS`, and `maps[..len]` is sorted by overlay
    /// with no two overlays overlapping.
    len: usize,
}

impl MapTable {
    /// An empty table.
    pub const fn new() -> MapTable {
        MapTable {
            maps: [FanMap::UNUSED; MAX_MAPS],
            len: 0,
        }
    }

    /// Removes every map.
    pub fn clear(&mut self) {
        self.len = 0;
    }

    /// Makes this table a copy of `other`, in place (no stack temporary).
    pub fn copy_from(&mut self, other: &MapTable) {
        let maps = other.as_slice();
        if let Some(dest) = self.maps.get_mut(..maps.len()) {
            dest.copy_from_slice(maps);
            self.len = maps.len();
        }
    }

    /// How many maps the table holds.
    pub fn len(&self) -> usize {
        self.len
    }

    /// Whether the table holds no map.
    pub fn is_empty(&self) -> bool {
        self.len == 0
    }

    /// The maps, sorted by overlay network.
    pub fn as_slice(&self) -> &[FanMap] {
        self.maps.get(..self.len).unwrap_or_default()
    }

    /// The maps, sorted by overlay network (a stable order for dumps).
    pub fn iter(&self) -> core::slice::Iter<'_, FanMap> {
        self.as_slice().iter()
    }

    /// The map whose overlay contains `dst`.
    ///
    /// A binary search over the whole capacity: always 8 steps without a
    /// branch, unused slots counting as starting after every address. The
    /// cost is the same for 1 map as for 256, so lookup does not slow down
    /// as maps are added (docs/mapping.md); a search over only the used
    /// slots would be faster for a few maps but not for many.
    pub fn lookup(&self, dst: Ipv4Addr) -> Option<&FanMap> {
        let dst = u32::from(dst);
        // The last slot whose map starts at or before dst, or slot 0.
        let mut found = 0_usize;
        let mut step = MAX_MAPS / 2;
        while step > 0 {
            // `found` is a multiple of 2 * step, so `|` adds without overflow
            // and the probe stays below MAX_MAPS.
            let probe = found | step;
            // `&`, not `&&`: unused slots are probed too, keeping it flat.
            #[allow(clippy::needless_bitwise_bool)]
            let starts_by = self
                .maps
                .get(probe)
                .is_some_and(|map| map.overlay().bits() <= dst)
                & (probe < self.len);
            if starts_by {
                found = probe;
            }
            step >>= 1;
        }
        // Overlays do not overlap, so no other map can contain dst.
        self.as_slice()
            .get(found)
            .filter(|map| map.overlay().contains_bits(dst))
    }

    /// The underlay address to send a packet for `dst` to, if a map's
    /// overlay contains `dst`.
    pub fn underlay_for(&self, dst: Ipv4Addr) -> Option<Ipv4Addr> {
        let map = self.lookup(dst)?;
        Some(Ipv4Addr::from(map.underlay_bits_for(u32::from(dst))))
    }

    /// Applies a batch of requests to a copy of this table made in `next`,
    /// all or nothing: on success `next` holds the result; on failure the
    /// error names the first request that failed and `next` holds some
    /// valid table that must not be used. `self` is never changed.
    ///
    /// Requests are results so that a payload that did not decode fails the
    /// batch at its own position: the kernel can pass
    /// `payloads.map(Request::from_wire)`; plain requests need `.map(Ok)`.
    /// Taking the destination from the caller keeps the 3 KiB copy off the
    /// (kernel) stack and fits RCU: `next` is the table to publish.
    pub fn apply_into<I>(&self, next: &mut MapTable, requests: I) -> Result<(), ApplyError>
    where
        I: IntoIterator<Item = Result<Request, MapError>>,
    {
        next.copy_from(self);
        // Not enumerate(): its counter has an overflow check, hence a panic.
        let mut index = 0_usize;
        for request in requests {
            request
                .and_then(|request| next.apply_one(request))
                .map_err(|error| ApplyError { index, error })?;
            index = index.saturating_add(1);
        }
        Ok(())
    }

    fn apply_one(&mut self, request: Request) -> Result<(), MapError> {
        match request {
            Request::Flush => {
                self.clear();
                Ok(())
            }
            Request::Remove(overlay) => {
                let index = self
                    .as_slice()
                    .binary_search_by_key(&overlay, FanMap::overlay)
                    .map_err(|_| MapError::NotFound)?;
                self.remove_at(index)
            }
            Request::Add(map) => self.insert(map),
        }
    }

    fn insert(&mut self, map: FanMap) -> Result<(), MapError> {
        let overlay = map.overlay();
        let maps = self.as_slice();
        let index = maps.partition_point(|m| m.overlay().bits() < overlay.bits());
        // Sorted and disjoint: only the neighbours can overlap the new map.
        let before = index.checked_sub(1).and_then(|i| maps.get(i));
        let overlaps = [before, maps.get(index)]
            .into_iter()
            .flatten()
            .any(|m| m.overlay().overlaps(&overlay));
        if overlaps {
            return Err(MapError::Overlaps);
        }
        let len = self.len.checked_add(1).ok_or(MapError::TableFull)?;
        let tail = self.maps.get_mut(index..len).ok_or(MapError::TableFull)?;
        // Rotate the new map in: each slot takes its left neighbour's map.
        let mut carry = map;
        for slot in tail {
            core::mem::swap(slot, &mut carry);
        }
        self.len = len;
        Ok(())
    }

    fn remove_at(&mut self, index: usize) -> Result<(), MapError> {
        let tail = self
            .maps
            .get_mut(index..self.len)
            .filter(|tail| !tail.is_empty())
            .ok_or(MapError::NotFound)?;
        // Each slot takes its right neighbour's map; the removed one falls out.
        let mut carry = FanMap::UNUSED;
        for slot in tail.iter_mut().rev() {
            core::mem::swap(slot, &mut carry);
        }
        self.len = self.len.saturating_sub(1);
        Ok(())
    }
}

impl Default for MapTable {
    fn default() -> Self {
        Self::new()
    }
}

impl PartialEq for MapTable {
    fn eq(&self, other: &Self) -> bool {
        self.as_slice() == other.as_slice()
    }
}

impl Eq for MapTable {}

impl fmt::Debug for MapTable {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_list().entries(self.iter()).finish()
    }
}

impl<'a> IntoIterator for &'a MapTable {
    type Item = &'a FanMap;
    type IntoIter = core::slice::Iter<'a, FanMap>;

    fn into_iter(self) -> Self::IntoIter {
        self.iter()
    }
}

#[cfg(test)]
mod tests {
    use super::super::prefix::Prefix;
    use super::*;
    use std::boxed::Box;
    use std::string::ToString;
    use std::vec::Vec;

    fn map(s: &str) -> FanMap {
        s.parse().unwrap()
    }

    fn add(s: &str) -> Result<Request, MapError> {
        Ok(Request::Add(map(s)))
    }

    fn remove(s: &str) -> Result<Request, MapError> {
        Ok(Request::Remove(s.parse::<Prefix>().unwrap()))
    }

    fn apply<I>(table: &MapTable, requests: I) -> Result<Box<MapTable>, ApplyError>
    where
        I: IntoIterator<Item = Result<Request, MapError>>,
    {
        let mut next = Box::new(MapTable::new());
        table.apply_into(&mut next, requests).map(|()| next)
    }

    fn texts(table: &MapTable) -> Vec<std::string::String> {
        table.iter().map(std::string::ToString::to_string).collect()
    }

    fn a(s: &str) -> Ipv4Addr {
        s.parse().unwrap()
    }

    #[test]
    fn adds_in_overlay_order() {
        let table = apply(
            &MapTable::new(),
            [
                add("251.0.0.0/8:172.30.0.0/16"),
                add("10.0.0.0/8:192.168.0.0/16"),
                add("250.0.0.0/8:172.30.0.0/16"),
            ],
        )
        .unwrap();
        assert_eq!(
            texts(&table),
            [
                "10.0.0.0/8:192.168.0.0/16",
                "250.0.0.0/8:172.30.0.0/16",
                "251.0.0.0/8:172.30.0.0/16"
            ]
        );
        assert_eq!(table.len(), 3);
        assert!(!table.is_empty());
        assert_eq!((&*table).into_iter().count(), 3);
    }

    #[test]
    fn rejects_overlapping_overlays() {
        let table = apply(&MapTable::new(), [add("250.0.0.0/8:172.30.0.0/16")]).unwrap();
        for overlapping in [
            "250.0.0.0/8:172.30.0.0/16",
            "250.0.0.0/8:172.31.0.0/16",
            "250.7.0.0/16:172.30.0.0/24",
            "250.255.255.0/24:10.0.0.0/30",
            "248.0.0.0/5:172.30.0.0/16",
        ] {
            let err = apply(&table, [add(overlapping)]).unwrap_err();
            assert_eq!(
                err,
                ApplyError {
                    index: 0,
                    error: MapError::Overlaps
                },
                "{overlapping}"
            );
            assert_eq!(err.errno(), 17);
        }
        let table = apply(&table, [add("249.0.0.0/8:172.30.0.0/16")]).unwrap();
        assert_eq!(table.len(), 2);
    }

    #[test]
    fn removes_exactly_the_named_overlay() {
        let table = apply(
            &MapTable::new(),
            [
                add("250.0.0.0/8:172.30.0.0/16"),
                add("10.0.0.0/8:192.168.0.0/16"),
            ],
        )
        .unwrap();
        let err = apply(&table, [remove("250.0.0.0/9")]).unwrap_err();
        assert_eq!(
            (err.index, err.error, err.errno()),
            (0, MapError::NotFound, 2)
        );
        let err = apply(&table, [remove("251.0.0.0/8")]).unwrap_err();
        assert_eq!(err.error, MapError::NotFound);
        let after = apply(&table, [remove("250.0.0.0/8")]).unwrap();
        assert_eq!(texts(&after), ["10.0.0.0/8:192.168.0.0/16"]);
        let after = apply(&table, [remove("10.0.0.0/8")]).unwrap();
        assert_eq!(texts(&after), ["250.0.0.0/8:172.30.0.0/16"]);
        let err = apply(&after, [remove("10.0.0.0/8")]).unwrap_err();
        assert_eq!(err.error, MapError::NotFound);
    }

    #[test]
    fn flush_removes_everything_and_may_be_followed_by_adds() {
        let table = apply(&MapTable::new(), [add("250.0.0.0/8:172.30.0.0/16")]).unwrap();
        let after = apply(&table, [Ok(Request::Flush)]).unwrap();
        assert!(after.is_empty());
        let after = apply(
            &table,
            [Ok(Request::Flush), add("250.0.0.0/8:172.31.0.0/16")],
        )
        .unwrap();
        assert_eq!(texts(&after), ["250.0.0.0/8:172.31.0.0/16"]);
        assert!(apply(&MapTable::new(), [Ok(Request::Flush)])
            .unwrap()
            .is_empty());
    }

    #[test]
    fn wire_requests_follow_the_semantics_table() {
        let table = apply(
            &MapTable::new(),
            [Request::from_wire(
                &map("250.0.0.0/8:172.30.0.0/16").to_wire(),
            )],
        )
        .unwrap();
        let remove = Request::Remove("250.0.0.0/8".parse().unwrap()).to_wire();
        assert!(apply(&table, [Request::from_wire(&remove)])
            .unwrap()
            .is_empty());
        let err = apply(&MapTable::new(), [Request::from_wire(&remove)]).unwrap_err();
        assert_eq!(err.errno(), 2);
        let err = apply(
            &table,
            [Ok(Request::Flush), Request::from_wire(&remove[..11])],
        );
        assert_eq!(
            err.unwrap_err(),
            ApplyError {
                index: 1,
                error: MapError::BadLength
            }
        );
    }

    #[test]
    fn a_failing_batch_names_its_request_and_changes_nothing() {
        let table = apply(&MapTable::new(), [add("250.0.0.0/8:172.30.0.0/16")]).unwrap();
        let before = table.clone();
        let mut next = Box::new(MapTable::new());
        let err = table
            .apply_into(
                &mut next,
                [
                    Ok(Request::Flush),
                    add("10.0.0.0/8:192.168.0.0/16"),
                    add("10.1.0.0/16:192.168.0.0/24"),
                ],
            )
            .unwrap_err();
        assert_eq!(
            err,
            ApplyError {
                index: 2,
                error: MapError::Overlaps
            }
        );
        assert_eq!(table, before);
    }

    #[test]
    fn holds_at_most_max_maps() {
        let maps = (0..=255).map(|i| add(&std::format!("10.{i}.0.0/16:172.30.{i}.0/24")));
        let full = apply(&MapTable::new(), maps).unwrap();
        assert_eq!(full.len(), MAX_MAPS);
        let err = apply(&full, [add("11.0.0.0/8:172.30.0.0/16")]).unwrap_err();
        assert_eq!((err.error, err.errno()), (MapError::TableFull, 28));
        let err = apply(&full, [add("10.0.0.0/8:172.30.0.0/16")]).unwrap_err();
        assert_eq!(err.error, MapError::Overlaps);
        let swapped = apply(
            &full,
            [remove("10.7.0.0/16"), add("11.0.0.0/8:172.30.0.0/16")],
        )
        .unwrap();
        assert_eq!(swapped.len(), MAX_MAPS);
        assert_eq!(
            swapped.iter().last().unwrap().to_string(),
            "11.0.0.0/8:172.30.0.0/16"
        );
        for i in 0..=255 {
            let dst = Ipv4Addr::new(10, i, 1, 2);
            let want = (i != 7).then(|| Ipv4Addr::new(172, 30, i, 1));
            assert_eq!(swapped.underlay_for(dst), want, "{dst}");
        }
    }

    #[test]
    fn looks_up_the_containing_map() {
        let table = apply(
            &MapTable::new(),
            [
                add("250.0.0.0/8:172.30.0.0/16"),
                add("100.64.0.0/10:10.224.220.0/24"),
                add("99.0.0.0/8:10.88.0.0/16"),
                add("255.255.255.254/31:10.0.0.1/32"),
            ],
        )
        .unwrap();
        assert_eq!(table.underlay_for(a("250.0.27.3")), Some(a("172.30.0.27")));
        assert_eq!(table.underlay_for(a("99.6.7.8")), Some(a("10.88.6.7")));
        assert_eq!(
            table.underlay_for(a("100.66.200.5")),
            Some(a("10.224.220.11"))
        );
        assert_eq!(
            table.underlay_for(a("255.255.255.255")),
            Some(a("10.0.0.1"))
        );
        assert_eq!(
            table.lookup(a("100.64.0.0")).unwrap().to_string(),
            "100.64.0.0/10:10.224.220.0/24"
        );
        for miss in [
            "0.0.0.0",
            "98.255.255.255",
            "100.0.0.1",
            "100.128.0.0",
            "251.0.0.0",
            "255.255.255.253",
        ] {
            assert_eq!(table.lookup(a(miss)), None, "{miss}");
        }
        assert_eq!(MapTable::new().lookup(a("250.0.0.1")), None);
        assert_eq!(MapTable::default().lookup(Ipv4Addr::UNSPECIFIED), None);
    }

    #[test]
    fn copies_and_clears_in_place() {
        let table = apply(&MapTable::new(), [add("250.0.0.0/8:172.30.0.0/16")]).unwrap();
        let mut copy = Box::new(MapTable::new());
        copy.copy_from(&table);
        assert_eq!(*copy, *table);
        assert_eq!(
            std::format!("{copy:?}"),
            std::format!("[{:?}]", table.as_slice()[0])
        );
        copy.clear();
        assert!(copy.is_empty());
        assert_eq!(copy.lookup(a("250.0.0.1")), None);
    }
}
