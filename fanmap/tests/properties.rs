//! Property tests over random valid maps, tables and request batches.

use std::net::Ipv4Addr;

use fanmap::{ApplyError, FanMap, MapError, MapTable, Prefix, Request, MAX_MAPS};
use proptest::prelude::*;

fn mask(len: u8) -> u32 {
    u32::MAX.checked_shl(32 - u32::from(len)).unwrap_or(0)
}

/// Any valid map: 1 <= ov < ul <= 32, no host bits, no zero address.
fn any_map() -> impl Strategy<Value = FanMap> {
    (1_u8..=31)
        .prop_flat_map(|ov| (Just(ov), ov + 1..=32, any::<u32>(), any::<u32>()))
        .prop_filter_map("zero address", |(ov, ul, overlay, underlay)| {
            FanMap::new(
                Ipv4Addr::from(overlay & mask(ov)),
                ov,
                Ipv4Addr::from(underlay & mask(ul)),
                ul,
            )
            .ok()
        })
}

/// Maps whose overlays crowd into 10.0.0.0/12, so that overlaps, neighbours
/// and near misses are common.
fn crowded_map() -> impl Strategy<Value = FanMap> {
    (12_u8..=24, 0_u32..1 << 20, 1_u8..=8).prop_map(|(ov, bits, extra)| {
        let overlay = (0x0a00_0000 | bits) & mask(ov);
        let ul = ov + extra;
        FanMap::new(
            Ipv4Addr::from(overlay),
            ov,
            Ipv4Addr::new(172, 30, 0, 0) & Ipv4Addr::from(mask(ul)),
            ul,
        )
        .expect("valid by construction")
    })
}

/// A table of crowded maps, adding each in turn and skipping overlaps.
fn crowded_table(maps: &[FanMap]) -> Box<MapTable> {
    let mut table = Box::new(MapTable::new());
    let mut next = Box::new(MapTable::new());
    for map in maps {
        if table
            .apply_into(&mut next, [Ok(Request::Add(*map))])
            .is_ok()
        {
            std::mem::swap(&mut table, &mut next);
        }
    }
    table
}

fn linear_lookup(table: &MapTable, dst: Ipv4Addr) -> Option<&FanMap> {
    table.iter().find(|map| map.overlay().contains(dst))
}

fn assert_sorted_and_disjoint(table: &MapTable) {
    let maps = table.as_slice();
    for pair in maps.windows(2) {
        assert!(pair[0].overlay().network() < pair[1].overlay().network());
        assert!(!pair[0].overlay().overlaps(&pair[1].overlay()));
    }
}

/// Addresses around every map's edges plus random ones in the crowd.
fn probes(table: &MapTable, random: &[u32]) -> Vec<Ipv4Addr> {
    let mut probes: Vec<u32> = random
        .iter()
        .map(|r| 0x0a00_0000 | (r & 0x001f_ffff))
        .collect();
    for map in table {
        let (first, last) = (
            u32::from(map.overlay().network()),
            u32::from(map.overlay().last()),
        );
        probes.extend([first.wrapping_sub(1), first, last, last.wrapping_add(1)]);
    }
    probes.extend([0, u32::MAX]);
    probes.into_iter().map(Ipv4Addr::from).collect()
}

/// What a batch should do, one request after another, on a plain list.
fn model_apply(model: &mut Vec<FanMap>, request: Request) -> Result<(), MapError> {
    match request {
        Request::Flush => model.clear(),
        Request::Remove(overlay) => {
            let index = model
                .iter()
                .position(|m| m.overlay() == overlay)
                .ok_or(MapError::NotFound)?;
            model.remove(index);
        }
        Request::Add(map) => {
            if model.iter().any(|m| m.overlay().overlaps(&map.overlay())) {
                return Err(MapError::Overlaps);
            }
            if model.len() == MAX_MAPS {
                return Err(MapError::TableFull);
            }
            model.push(map);
            model.sort_by_key(|m| m.overlay());
        }
    }
    Ok(())
}

#[derive(Clone, Debug)]
enum Step {
    Flush,
    /// Remove the n-th existing map (modulo their number), if any.
    RemoveExisting(usize),
    Remove(Prefix),
    Add(FanMap),
    Garbage(Vec<u8>),
}

fn step() -> impl Strategy<Value = Step> {
    prop_oneof![
        1 => Just(Step::Flush),
        3 => any::<usize>().prop_map(Step::RemoveExisting),
        1 => crowded_map().prop_map(|m| Step::Remove(m.overlay())),
        8 => crowded_map().prop_map(Step::Add),
        1 => proptest::collection::vec(any::<u8>(), 0..14).prop_map(Step::Garbage),
    ]
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(512))]

    #[test]
    fn every_slice_address_maps_back_to_its_host(
        map in any_map(),
        host_bits in any::<u32>(),
        offsets in proptest::collection::vec(any::<u32>(), 8),
    ) {
        let underlay = map.underlay();
        let host = Ipv4Addr::from(u32::from(underlay.network()) | (host_bits & !mask(underlay.prefix_len())));
        let slice = map.slice_for(host).expect("host is in the underlay");
        let prefix = slice.prefix();
        prop_assert_eq!(
            prefix.prefix_len(),
            map.overlay().prefix_len() + 32 - underlay.prefix_len()
        );
        prop_assert!(map.overlay().contains(prefix.network()));
        prop_assert!(map.overlay().contains(prefix.last()));
        let network = u32::from(prefix.network());
        let host_mask = !mask(prefix.prefix_len());
        for offset in offsets.into_iter().chain([0, u32::MAX]) {
            let addr = Ipv4Addr::from(network | (offset & host_mask));
            prop_assert_eq!(map.underlay_for(addr), Some(host));
        }
        let outside = u32::from(map.overlay().network()) ^ (1 << (32 - map.overlay().prefix_len()));
        prop_assert_eq!(map.underlay_for(Ipv4Addr::from(outside)), None);
        let outside = u32::from(underlay.network()) ^ (1 << (32 - underlay.prefix_len()));
        prop_assert_eq!(map.slice_for(Ipv4Addr::from(outside)), None);
    }

    #[test]
    fn slices_of_different_hosts_do_not_overlap(map in any_map(), a in any::<u32>(), b in any::<u32>()) {
        let underlay = map.underlay();
        let host = |bits: u32| Ipv4Addr::from(u32::from(underlay.network()) | (bits & !mask(underlay.prefix_len())));
        let (ha, hb) = (host(a), host(b));
        let (sa, sb) = (map.slice_for(ha).unwrap(), map.slice_for(hb).unwrap());
        prop_assert_eq!(ha == hb, sa == sb);
        prop_assert_eq!(ha == hb, sa.prefix().overlaps(&sb.prefix()));
    }

    #[test]
    fn wire_round_trips(map in any_map(), bytes in any::<[u8; 12]>()) {
        prop_assert_eq!(Request::from_wire(&map.to_wire()), Ok(Request::Add(map)));
        let remove = Request::Remove(map.overlay());
        prop_assert_eq!(Request::from_wire(&remove.to_wire()), Ok(remove));
        if let Ok(request) = Request::from_wire(&bytes) {
            prop_assert_eq!(Request::from_wire(&request.to_wire()), Ok(request));
        }
    }

    #[test]
    fn text_round_trips(map in any_map()) {
        prop_assert_eq!(map.to_string().parse::<FanMap>(), Ok(map));
        prop_assert_eq!(map.overlay().to_string().parse::<Prefix>(), Ok(map.overlay()));
    }

    #[test]
    fn text_parsers_take_any_input(text in "[0-9./: +a-]{0,40}|\\PC{0,40}") {
        if let Ok(map) = text.parse::<FanMap>() {
            prop_assert_eq!(map.to_string().parse::<FanMap>(), Ok(map));
        }
        if let Ok(prefix) = text.parse::<Prefix>() {
            prop_assert_eq!(prefix.to_string().parse::<Prefix>(), Ok(prefix));
        }
        if let Err(error) = Prefix::parse_overlay(&text) {
            prop_assert!(!error.to_string().is_empty());
        }
    }

    #[test]
    fn lookup_agrees_with_a_linear_scan(
        maps in proptest::collection::vec(crowded_map(), 0..300),
        random in proptest::collection::vec(any::<u32>(), 64),
    ) {
        let table = crowded_table(&maps);
        assert_sorted_and_disjoint(&table);
        for dst in probes(&table, &random) {
            let found = table.lookup(dst);
            prop_assert_eq!(found, linear_lookup(&table, dst), "{}", dst);
            prop_assert_eq!(table.underlay_for(dst), found.and_then(|m| m.underlay_for(dst)));
        }
    }

    #[test]
    fn apply_is_all_or_nothing(
        start in proptest::collection::vec(crowded_map(), 0..40),
        steps in proptest::collection::vec(step(), 1..20),
    ) {
        let table = crowded_table(&start);
        let before = table.clone();
        let mut model = table.as_slice().to_vec();
        let mut requests = Vec::new();
        let mut expected = Ok(());
        for step in steps {
            let request = match step {
                Step::Flush => Ok(Request::Flush),
                Step::RemoveExisting(n) if !model.is_empty() => {
                    Ok(Request::Remove(model[n % model.len()].overlay()))
                }
                Step::RemoveExisting(_) => continue,
                Step::Remove(overlay) => Ok(Request::Remove(overlay)),
                Step::Add(map) => Ok(Request::Add(map)),
                Step::Garbage(bytes) => Request::from_wire(&bytes),
            };
            requests.push(request);
            if expected.is_ok() {
                expected = request
                    .and_then(|r| model_apply(&mut model, r))
                    .map_err(|error| ApplyError { index: requests.len() - 1, error });
            }
        }
        let mut next = Box::new(MapTable::new());
        let result = table.apply_into(&mut next, requests);
        prop_assert_eq!(result, expected);
        prop_assert!(*table == *before);
        if result.is_ok() {
            prop_assert_eq!(next.as_slice(), &model[..]);
            assert_sorted_and_disjoint(&next);
        }
    }
}

/// One operation on a `LocalCache`: remember an answer, or ask.
#[derive(Debug, Clone)]
enum CacheOp {
    Put(Ipv4Addr, u32, bool),
    Get(Ipv4Addr, u32),
}

fn cache_op() -> impl Strategy<Value = CacheOp> {
    // Few addresses and generations, so that hits, evictions and stale
    // generations are all common.
    let addr = (0_u32..64).prop_map(|n| Ipv4Addr::from(0xac1e_0000 | n));
    let generation = prop_oneof![0_u32..4, Just(u32::MAX), Just(1 << 30)];
    prop_oneof![
        (addr.clone(), generation.clone(), any::<bool>())
            .prop_map(|(a, g, l)| CacheOp::Put(a, g, l)),
        (addr, generation).prop_map(|(a, g)| CacheOp::Get(a, g)),
    ]
}

proptest! {
    /// The cache may forget, but never answers other than the last answer
    /// remembered for that address in that generation.
    #[test]
    fn local_cache_answers_only_what_it_was_told(ops in prop::collection::vec(cache_op(), 1..200)) {
        let cache = fanmap::LocalCache::new();
        let mut told = std::collections::HashMap::new();
        for op in ops {
            match op {
                CacheOp::Put(addr, generation, local) => {
                    cache.put(addr, generation, local);
                    told.insert((addr, generation & ((1 << 30) - 1)), local);
                }
                CacheOp::Get(addr, generation) => {
                    if let Some(local) = cache.get(addr, generation) {
                        prop_assert_eq!(
                            Some(&local),
                            told.get(&(addr, generation & ((1 << 30) - 1)))
                        );
                    }
                }
            }
        }
    }
}
