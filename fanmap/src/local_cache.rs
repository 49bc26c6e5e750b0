//! Which underlay destinations are this host's own addresses, remembered
//! per destination for one generation of the host's addresses and routes.
//!
//! A fan device must not send to itself, so every packet's underlay
//! destination is checked against the host's addresses. The kernel's check
//! (`__ip_dev_find`) ends in a FIB lookup whenever the address is *not*
//! local, which is every packet that is sent: it cost more than the rest of
//! the fan's transmit path. The answer only changes when an address or a
//! route changes, which the kernel counts (`rt_genid`, `dev_addr_genid`):
//! the caller passes that count as the generation, and an entry from
//! another generation is a miss.
//!
//! Lock-free for concurrent transmit paths: a slot is one atomic word that
//! holds the address, the generation and the answer, so a reader sees a
//! whole entry or another whole entry, never a mix. Racing writers lose
//! entries, never correctness.

use core::net::Ipv4Addr;
use core::sync::atomic::{AtomicU64, Ordering};

/// Slots, a power of two: a fan host sends to few peers at a time.
pub const LOCAL_CACHE_SLOTS: usize = 16;

const VALID: u64 = 1 << 1;
const LOCAL: u64 = 1;
/// Generation bits kept in an entry (the low 30).
const GENERATION_MASK: u32 = (1 << 30) - 1;

/// The cache; all-zero bytes are a valid, empty cache.
#[derive(Debug, Default)]
pub struct LocalCache {
    slots: [AtomicU64; LOCAL_CACHE_SLOTS],
}

/// The slot of `addr` in a direct-mapped cache of `slots` entries, below
/// `slots` (0 if there are none). Fibonacci hashing, the product's top bits:
/// peers on one underlay differ in their low bits, which this spreads over
/// all slots.
pub fn slot_index(addr: Ipv4Addr, slots: usize) -> usize {
    let hash = u64::from(u32::from(addr).wrapping_mul(0x9e37_79b9));
    let slots = u64::try_from(slots).unwrap_or(u64::MAX).min(1 << 32);
    // Both factors are below 2^32 + 1: the product fits in 64 bits.
    usize::try_from(hash.wrapping_mul(slots) >> 32).unwrap_or(0)
}

fn entry(addr: Ipv4Addr, generation: u32, local: bool) -> u64 {
    let generation = u64::from(generation & GENERATION_MASK);
    (u64::from(u32::from(addr)) << 32) | (generation << 2) | VALID | u64::from(local)
}

impl LocalCache {
    /// An empty cache.
    pub const fn new() -> Self {
        // An array-repeat of a named constant, not `[const { .. }; N]`:
        // inline const needs rustc 1.79, and 6.12 kernels may be built with 1.78.
        #[allow(clippy::declare_interior_mutable_const)]
        const EMPTY: AtomicU64 = AtomicU64::new(0);
        Self {
            slots: [EMPTY; LOCAL_CACHE_SLOTS],
        }
    }

    fn slot(&self, addr: Ipv4Addr) -> &AtomicU64 {
        let [first, ..] = &self.slots;
        self.slots
            .get(slot_index(addr, LOCAL_CACHE_SLOTS))
            .unwrap_or(first)
    }

    /// Whether `addr` is local, as remembered for `generation`, or `None`.
    pub fn get(&self, addr: Ipv4Addr, generation: u32) -> Option<bool> {
        let found = self.slot(addr).load(Ordering::Relaxed);
        let want = entry(addr, generation, false);
        (found & !LOCAL == want).then_some(found & LOCAL != 0)
    }

    /// Remember whether `addr` is local in `generation`.
    pub fn put(&self, addr: Ipv4Addr, generation: u32, local: bool) {
        self.slot(addr)
            .store(entry(addr, generation, local), Ordering::Relaxed);
    }

    /// The cached answer, or `lookup`'s, which is then remembered.
    pub fn is_local(
        &self,
        addr: Ipv4Addr,
        generation: u32,
        lookup: impl FnOnce(Ipv4Addr) -> bool,
    ) -> bool {
        if let Some(local) = self.get(addr, generation) {
            return local;
        }
        let local = lookup(addr);
        self.put(addr, generation, local);
        local
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use core::cell::Cell;

    fn a(s: &str) -> Ipv4Addr {
        s.parse().unwrap()
    }

    #[test]
    fn slot_index_stays_in_range_and_spreads_neighbours() {
        assert_eq!(slot_index(a("172.30.0.1"), 0), 0);
        assert_eq!(
            slot_index(a("255.255.255.255"), usize::MAX),
            slot_index(a("255.255.255.255"), 1 << 32)
        );
        let mut used = [0u32; LOCAL_CACHE_SLOTS];
        for host in 0..64u32 {
            let index = slot_index(Ipv4Addr::from(0xac1e_0000 | host), LOCAL_CACHE_SLOTS);
            assert!(index < LOCAL_CACHE_SLOTS);
            used[index] += 1;
        }
        // 64 consecutive hosts over 16 slots: none empty, none crowded.
        assert!(used.iter().all(|&n| (1..=8).contains(&n)), "{used:?}");
    }

    #[test]
    fn empty_cache_misses_every_address_even_zero() {
        let cache = LocalCache::new();
        assert_eq!(cache.get(a("0.0.0.0"), 0), None);
        assert_eq!(cache.get(a("172.30.0.27"), 0), None);
    }

    #[test]
    fn remembers_both_answers_for_one_generation() {
        let cache = LocalCache::new();
        cache.put(a("172.30.0.28"), 7, true);
        cache.put(a("172.30.0.27"), 7, false);
        assert_eq!(cache.get(a("172.30.0.28"), 7), Some(true));
        assert_eq!(cache.get(a("172.30.0.27"), 7), Some(false));
        assert_eq!(cache.get(a("172.30.0.28"), 8), None, "new generation");
    }

    #[test]
    fn a_colliding_address_replaces_but_never_answers_for_another() {
        let cache = LocalCache::new();
        let first = a("172.30.0.1");
        cache.put(first, 1, true);
        // Find another address in the same slot.
        let other = (2..=u32::MAX)
            .map(|n| Ipv4Addr::from(0xac1e_0000 | (n & 0xffff)))
            .find(|&addr| addr != first && core::ptr::eq(cache.slot(addr), cache.slot(first)))
            .unwrap();
        assert_eq!(cache.get(other, 1), None);
        cache.put(other, 1, false);
        assert_eq!(cache.get(other, 1), Some(false));
        assert_eq!(cache.get(first, 1), None, "evicted, not confused");
    }

    #[test]
    fn looks_up_once_per_address_and_generation() {
        let cache = LocalCache::new();
        let lookups = Cell::new(0);
        let lookup = |addr: Ipv4Addr| {
            lookups.set(lookups.get() + 1);
            addr == a("172.30.0.28")
        };
        for _ in 0..3 {
            assert!(cache.is_local(a("172.30.0.28"), 1, lookup));
            assert!(!cache.is_local(a("172.30.0.27"), 1, lookup));
        }
        assert_eq!(lookups.get(), 2);
        // An address change in the namespace: asked again.
        assert!(!cache.is_local(a("172.30.0.28"), 2, |_| false));
        assert_eq!(cache.get(a("172.30.0.28"), 2), Some(false));
    }

    #[test]
    fn generations_compare_on_their_kept_bits() {
        let cache = LocalCache::new();
        cache.put(a("10.0.0.1"), u32::MAX, true);
        assert_eq!(cache.get(a("10.0.0.1"), u32::MAX), Some(true));
        assert_eq!(cache.get(a("10.0.0.1"), u32::MAX - 1), None);
    }
}
