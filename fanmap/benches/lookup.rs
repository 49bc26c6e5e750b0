//! Lookup cost with 1, 16 and 256 maps: it must not grow with the number
//! of maps (docs/mapping.md, "Many maps").

use std::hint::black_box;
use std::net::Ipv4Addr;

use criterion::{criterion_group, criterion_main, Criterion};
use fanmap::{FanMap, MapTable, Request};

/// A table of `count` maps 10.i.0.0/16 over 172.30.i.0/24, and destinations
/// spread over all of them so that the search has to work.
fn table(count: u16) -> (Box<MapTable>, Vec<Ipv4Addr>) {
    let octet = |i: u16| u8::try_from(i % count).expect("count <= 256");
    let maps = (0..count).map(|i| {
        let i = octet(i);
        FanMap::new(
            Ipv4Addr::new(10, i, 0, 0),
            16,
            Ipv4Addr::new(172, 30, i, 0),
            24,
        )
        .map(Request::Add)
    });
    let mut next = Box::new(MapTable::new());
    MapTable::new()
        .apply_into(&mut next, maps)
        .expect("valid maps");
    let dsts = (0..16_u8)
        .map(|k| Ipv4Addr::new(10, octet(u16::from(k) * 97), k, 3))
        .collect();
    (next, dsts)
}

fn lookup(c: &mut Criterion) {
    let mut group = c.benchmark_group("lookup");
    for count in [1, 16, 256] {
        let (table, dsts) = table(count);
        let maps = table.len();
        group.bench_function(format!("{maps} maps"), |b| {
            let mut dst = dsts.iter().cycle();
            b.iter(|| table.lookup(black_box(*dst.next().unwrap())).is_some())
        });
    }
    group.finish();
}

criterion_group!(benches, lookup);
criterion_main!(benches);
