// SPDX-License-Identifier: GPL-2.0

//! Underlay routes of a fan device, remembered per CPU and per destination.
//!
//! Linux's `ip_tunnel_xmit` keeps a route only for a tunnel with a fixed
//! remote. A fan device has a remote per peer, so through it every packet
//! paid a FIB lookup (`ip_route_output_key`), the largest part of what the
//! fan cost over ipip with a fixed remote. Each CPU keeps `ROUTE_SLOTS`
//! routes, keyed by everything the lookup is asked; a route the kernel has
//! since invalidated (any route, address or PMTU change: `dst_check`) is a
//! miss. Like the kernel's own `dst_cache`, a hit ignores the multipath
//! hash: a peer's packets keep the path of the lookup that filled the slot.
//!
//! A CPU's slots are touched only by transmits on that CPU, which run with
//! bottom halves disabled and so never interleave; the routes are released
//! when the device is uninitialized, after its last transmit.

use crate::fanmap::slot_index;
use crate::skb::Skb;
use crate::sys;
use core::ffi::c_void;
use core::marker::PhantomData;
use core::mem::{align_of, size_of};
use core::net::Ipv4Addr;
use core::ptr::{self, NonNull};
use kernel::prelude::*;

/// Routes each CPU remembers per device: a fan host talks to few peers at
/// a time, and a miss costs only the lookup that would happen anyway.
const ROUTE_SLOTS: usize = 16;

/// What `ip_route_output_key` is asked for a fan packet, but the multipath
/// hash. Addresses in network byte order, as in the flow.
#[derive(Clone, Copy, PartialEq, Eq, Default)]
pub(crate) struct RouteKey {
    pub(crate) daddr: u32,
    pub(crate) saddr: u32,
    /// `flowi4_tos`: the DSCP bits of the outer header.
    pub(crate) tos: u8,
    /// `flowi4_oif`: the tunnel's underlay device, if bound to one.
    pub(crate) link: i32,
    /// `flowi4_mark`: the tunnel's fwmark.
    pub(crate) mark: u32,
}

/// One remembered route: null `dst` is an empty slot.
#[derive(Clone, Copy)]
#[repr(C)]
struct Slot {
    key: RouteKey,
    /// The source address the lookup chose (network byte order).
    saddr: u32,
    /// Holds one reference while not null.
    dst: *mut sys::dst_entry,
}

type Slots = [Slot; ROUTE_SLOTS];

/// Proof that bottom halves are disabled on this CPU for `'a`, which is
/// what makes a CPU's slots exclusively ours.
pub(crate) struct BhDisabled<'a>(PhantomData<&'a ()>);

impl BhDisabled<'_> {
    /// # Safety
    ///
    /// Bottom halves are disabled for the returned lifetime, as they are in
    /// `ndo_start_xmit`.
    pub(crate) unsafe fn assume() -> Self {
        BhDisabled(PhantomData)
    }
}

/// A reference to an underlay route, dropped with `ip_rt_put`.
pub(crate) struct Route {
    rt: NonNull<sys::rtable>,
    /// The source address the lookup chose (network byte order).
    saddr: u32,
}

impl Route {
    /// The underlay device the route leaves by.
    pub(crate) fn dev(&self) -> *mut sys::net_device {
        // SAFETY: a route we hold a reference to (type invariant); `dev` and
        // `dev_rcu` are the same pointer.
        unsafe { (*self.rt.as_ptr()).dst.__bindgen_anon_1.dev }
    }

    pub(crate) fn saddr(&self) -> u32 {
        self.saddr
    }

    /// Whether the route leads to one host (not a broadcast, multicast,
    /// local or blackhole destination).
    pub(crate) fn is_unicast(&self) -> bool {
        // SAFETY: a route we hold a reference to (type invariant); its type
        // is set when it is created and never changes.
        unsafe { (*self.rt.as_ptr()).rt_type == sys::FAN_RTN_UNICAST }
    }

    /// The route's path MTU (`dst_mtu`).
    pub(crate) fn mtu(&self) -> u32 {
        // SAFETY: a route we hold a reference to (type invariant).
        unsafe { sys::dst_mtu(ptr::addr_of!((*self.rt.as_ptr()).dst)) }
    }

    /// The room the underlay needs in front of the outer header: its link
    /// layer's reserve and the route's own header (IPsec).
    pub(crate) fn headroom(&self) -> u32 {
        // SAFETY: a route we hold a reference to (type invariant), whose
        // device lives at least as long (a dead device's routes are moved to
        // the blackhole device).
        unsafe {
            sys::fan_ll_reserved_space(self.dev())
                .saturating_add(u32::from((*self.rt.as_ptr()).dst.header_len))
        }
    }

    /// Give the reference away (to `iptunnel_xmit`, which attaches it to
    /// the packet).
    pub(crate) fn into_raw(self) -> *mut sys::rtable {
        let rt = self.rt.as_ptr();
        core::mem::forget(self);
        rt
    }
}

impl Drop for Route {
    fn drop(&mut self) {
        // SAFETY: our reference (type invariant), released once.
        unsafe { sys::dst_release(ptr::addr_of_mut!((*self.rt.as_ptr()).dst)) }
    }
}

/// A device's per-CPU routes.
pub(crate) struct RouteCache(NonNull<c_void>);

impl RouteCache {
    /// Empty slots for every possible CPU. Process context.
    pub(crate) fn new() -> Result<Self> {
        // SAFETY: process context (the device's ndo_init, under RTNL); the
        // allocator zeroes the memory, and all-zero is empty slots.
        let slots = unsafe { sys::fan_alloc_percpu(size_of::<Slots>(), align_of::<Slots>()) };
        NonNull::new(slots).map(Self).ok_or(ENOMEM)
    }

    fn this_cpu<'a>(&'a self, _bh: &'a mut BhDisabled<'_>) -> &'a mut Slots {
        // SAFETY: this CPU's copy of the slots, valid while `self` is; with
        // bottom halves disabled no other transmit runs on this CPU while
        // the borrow lasts (it spans no call that could transmit: only
        // `dst_check`, `dst_hold` and `dst_release`), and other CPUs use
        // their own copies.
        unsafe { &mut *sys::fan_this_cpu_ptr(self.0.as_ptr()).cast::<Slots>() }
    }

    /// The route for `key`, remembered or looked up (then remembered).
    /// `Err` is the lookup's error.
    pub(crate) fn route(
        &self,
        bh: &mut BhDisabled<'_>,
        key: RouteKey,
        net: *mut sys::net,
        skb: &mut Skb,
    ) -> Result<Route> {
        let index = slot_index(Ipv4Addr::from(u32::from_be(key.daddr)), ROUTE_SLOTS);
        if let Some(slot) = self.this_cpu(bh).get_mut(index) {
            if slot.key == key {
                if let Some(route) = slot.take_valid() {
                    return Ok(route);
                }
            }
        }
        // No borrow of the slots across the lookup: what it calls may log,
        // and a console on a tunnel (netpoll) would transmit from there.
        let route = lookup(key, net, skb)?;
        if let Some(slot) = self.this_cpu(bh).get_mut(index) {
            slot.remember(key, &route);
        }
        Ok(route)
    }
}

impl Slot {
    /// A new reference to the remembered route if the kernel still deems
    /// it valid; an invalid one is forgotten.
    fn take_valid(&mut self) -> Option<Route> {
        let dst = NonNull::new(self.dst)?;
        // SAFETY: the slot holds a reference to `dst`, so it is alive;
        // `dst_check` only reads it (cookie 0: IPv4 routes).
        if unsafe { sys::dst_check(dst.as_ptr(), 0) }.is_null() {
            self.forget();
            return None;
        }
        // SAFETY: as above; the new reference goes to the `Route`.
        unsafe { sys::dst_hold(dst.as_ptr()) };
        Some(Route {
            rt: dst.cast(),
            saddr: self.saddr,
        })
    }

    fn remember(&mut self, key: RouteKey, route: &Route) {
        self.forget();
        // SAFETY: `route` holds a reference, so the route is alive; the new
        // reference is the slot's.
        unsafe { sys::dst_hold(route.rt.as_ptr().cast()) };
        *self = Slot {
            key,
            saddr: route.saddr,
            dst: route.rt.as_ptr().cast(),
        };
    }

    fn forget(&mut self) {
        let dst = core::mem::replace(&mut self.dst, ptr::null_mut());
        // SAFETY: the slot's reference, released once; null is accepted.
        unsafe { sys::dst_release(dst) };
    }
}

/// `ip_route_output_key` for a fan packet, with the flow Linux's
/// `ip_tunnel_xmit` builds.
pub(crate) fn lookup(key: RouteKey, net: *mut sys::net, skb: &mut Skb) -> Result<Route> {
    let mut flow: sys::flowi4 = sys::zeroed();
    // SAFETY: a packet of ours (the multipath hash may be computed and
    // stored in it); the tunnel's namespace, alive while the device is.
    let rt = unsafe {
        let hash = sys::skb_get_hash(skb.as_raw());
        sys::ip_tunnel_init_flow(
            &mut flow,
            sys::IPPROTO_IPIP as i32,
            key.daddr,
            key.saddr,
            0,
            key.tos,
            net,
            key.link,
            key.mark,
            hash,
            0,
        );
        sys::ip_route_output_key(net, &mut flow)
    };
    let rt = kernel::error::from_err_ptr(rt)?;
    let rt = NonNull::new(rt).ok_or(EINVAL)?;
    Ok(Route {
        rt,
        saddr: flow.saddr,
    })
}

impl Drop for RouteCache {
    /// Release every CPU's routes and the slots. Process context, after the
    /// device's last transmit (ndo_uninit).
    fn drop(&mut self) {
        // SAFETY: a plain global.
        let cpus = unsafe { sys::fan_nr_cpu_ids() };
        for cpu in 0..cpus {
            // SAFETY: as above.
            if !unsafe { sys::fan_cpu_possible(cpu) } {
                continue;
            }
            // SAFETY: the slots of a possible CPU; no transmit runs any more,
            // so nothing else touches them.
            let slots = unsafe { &mut *sys::fan_per_cpu_ptr(self.0.as_ptr(), cpu).cast::<Slots>() };
            slots.iter_mut().for_each(Slot::forget);
        }
        // SAFETY: allocated in `new`, freed once, unused from here on.
        unsafe { sys::free_percpu(self.0.as_ptr()) };
    }
}
