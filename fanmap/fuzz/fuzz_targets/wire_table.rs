//! Feeds arbitrary bytes, cut into netlink fan map payloads (mostly 12
//! bytes, sometimes other lengths) and grouped into batches, through
//! `Request::from_wire` and `MapTable::apply_into`, and checks the table
//! against a plain list that applies the same requests one by one.
//!
//! The kernel module first walks the nested attributes of
//! `IFLA_IPTUN_FAN_MAP` (`attrs::mappings`): each batch is also packed as
//! such attributes, walked back and applied, and the raw input is walked too.
//!
//! Each payload starts with a control byte:
//! - bit 7 clear: a 12-byte payload; if bit 5 is set, its prefix lengths are
//!   brought into 1..=32 and host bits cleared, so that valid maps are common;
//! - bit 7 set: a payload of `control & 0x1f` bytes (odd lengths included);
//! - bit 6: the batch ends after this payload.

#![no_main]

use std::net::Ipv4Addr;

use fanmap::attrs::{self, Mapping};
use fanmap::{ApplyError, FanMap, MapError, MapTable, Request, MAX_MAPS, WIRE_LEN};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| run(data));

fn run(data: &[u8]) {
    batches(data);
    nested_attributes(data);
}

fn batches(mut data: &[u8]) {
    let mut table = Box::new(MapTable::new());
    let mut next = Box::new(MapTable::new());
    let mut batch: Vec<Vec<u8>> = Vec::new();
    while let Some((&control, rest)) = data.split_first() {
        let len = if control & 0x80 == 0 {
            WIRE_LEN
        } else {
            usize::from(control & 0x1f)
        };
        let (payload, rest) = rest.split_at(len.min(rest.len()));
        data = rest;
        let mut payload = payload.to_vec();
        if control & 0xa0 == 0x20 && payload.len() == WIRE_LEN {
            make_plausible(&mut payload);
        }
        batch.push(payload);
        if control & 0x40 != 0 {
            apply(&mut table, &mut next, &batch);
            packed(&batch);
            batch.clear();
        }
    }
    apply(&mut table, &mut next, &batch);
    packed(&batch);
}

/// Packs payloads as IFLA_FAN_MAPPING attributes, the way netlink does.
fn packed(batch: &[Vec<u8>]) {
    let mut buf = Vec::new();
    for payload in batch {
        let len = u16::try_from(4 + payload.len()).unwrap();
        buf.extend_from_slice(&len.to_ne_bytes());
        buf.extend_from_slice(&fanmap::IFLA_FAN_MAPPING.to_ne_bytes());
        buf.extend_from_slice(payload);
        buf.resize(buf.len().next_multiple_of(4), 0);
    }
    let walked: Vec<Vec<u8>> = attrs::mappings(&buf)
        .map(|m| m.unwrap().payload.to_vec())
        .collect();
    assert_eq!(walked, batch);
    nested_attributes(&buf);
}

/// The kernel's path: walk the nested attributes, then apply them all.
fn nested_attributes(data: &[u8]) {
    let walked: Result<Vec<Mapping>, _> = attrs::mappings(data).collect();
    let Ok(mappings) = walked else { return };
    let mut end = 0;
    for mapping in &mappings {
        assert!(mapping.offset >= end && mapping.offset % 4 == 0);
        end = mapping.offset + 4 + mapping.payload.len();
        assert!(end <= data.len());
        assert_eq!(&data[mapping.offset + 4..end], mapping.payload);
    }
    let payloads: Vec<Vec<u8>> = mappings.iter().map(|m| m.payload.to_vec()).collect();
    apply(
        &mut Box::new(MapTable::new()),
        &mut Box::new(MapTable::new()),
        &payloads,
    );
}

/// Prefix lengths into 1..=32 and addresses without host bits.
fn make_plausible(payload: &mut [u8]) {
    let word = |at: usize| u32::from_be_bytes(payload[at..at + 4].try_into().unwrap());
    let (underlay, overlay) = (word(0), word(4));
    let ul = u16::from_ne_bytes([payload[8], payload[9]]) % 32 + 1;
    let ov = u16::from_ne_bytes([payload[10], payload[11]]) % 32 + 1;
    payload[..4].copy_from_slice(&(underlay & mask(ul)).to_be_bytes());
    payload[4..8].copy_from_slice(&(overlay & mask(ov)).to_be_bytes());
    payload[8..10].copy_from_slice(&ul.to_ne_bytes());
    payload[10..].copy_from_slice(&ov.to_ne_bytes());
}

fn mask(len: u16) -> u32 {
    u32::MAX.checked_shl(32 - u32::from(len)).unwrap_or(0)
}

fn apply(table: &mut Box<MapTable>, next: &mut Box<MapTable>, batch: &[Vec<u8>]) {
    let before = table.clone();
    let mut model = table.as_slice().to_vec();
    let mut expected = Ok(());
    for (index, payload) in batch.iter().enumerate() {
        expected = Request::from_wire(payload)
            .and_then(|request| model_apply(&mut model, request))
            .map_err(|error| ApplyError { index, error });
        if expected.is_err() {
            break;
        }
    }

    let result = table.apply_into(next, batch.iter().map(|p| Request::from_wire(p)));
    assert_eq!(result, expected);
    assert!(
        **table == *before,
        "a failed or successful batch changed its source"
    );
    if result.is_ok() {
        assert_eq!(next.as_slice(), &model[..]);
        std::mem::swap(table, next);
    }
    check(table, batch);
}

/// The semantics, one request after another, on a plain list.
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

/// Sorted, disjoint, and lookup agrees with a linear scan around every map
/// and at addresses taken from the input.
fn check(table: &MapTable, batch: &[Vec<u8>]) {
    let maps = table.as_slice();
    assert_eq!(maps.len(), table.len());
    for pair in maps.windows(2) {
        assert!(pair[0].overlay().network() < pair[1].overlay().network());
        assert!(!pair[0].overlay().overlaps(&pair[1].overlay()));
    }
    let edges = maps.iter().flat_map(|m| {
        let (first, last) = (
            u32::from(m.overlay().network()),
            u32::from(m.overlay().last()),
        );
        [first.wrapping_sub(1), first, last, last.wrapping_add(1)]
    });
    let from_input = batch
        .iter()
        .flat_map(|p| p.chunks_exact(4))
        .map(|w| u32::from_be_bytes(w.try_into().unwrap()));
    for dst in edges
        .chain(from_input)
        .chain([0, u32::MAX])
        .map(Ipv4Addr::from)
    {
        let found = table.lookup(dst);
        assert_eq!(found, maps.iter().find(|m| m.overlay().contains(dst)));
        assert_eq!(
            table.underlay_for(dst),
            found.and_then(|m| m.underlay_for(dst))
        );
    }
}
