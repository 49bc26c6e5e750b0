// SPDX-License-Identifier: GPL-2.0

//! The kernel's C interface: generated bindings, the C glue, and the few
//! helpers that turn raw kernel memory into Rust values.
//!
//! Every other module calls the kernel through here. What is `unsafe` about
//! a call is stated where it is made.

#[allow(
    clippy::all,
    clippy::pedantic,
    clippy::restriction,
    clippy::arithmetic_side_effects,
    clippy::indexing_slicing,
    clippy::undocumented_unsafe_blocks,
    clippy::missing_safety_doc,
    dead_code,
    improper_ctypes,
    missing_docs,
    non_camel_case_types,
    non_snake_case,
    non_upper_case_globals,
    unreachable_pub,
    unsafe_op_in_unsafe_fn
)]
mod generated {
    include!("bindings_generated.rs");
}

pub(crate) use generated::*;

use core::cell::UnsafeCell;
use core::ffi::{c_char, CStr};
use core::net::Ipv4Addr;

// C glue (glue.c): what only exists as C macros. Only pointers cross, so
// the types' contents (some empty in C, as `netdevice_tracker`) don't matter.
#[allow(improper_ctypes)]
extern "C" {
    pub(crate) fn fan_dev_stats_inc_tx_errors(dev: *mut net_device);
    pub(crate) fn fan_dev_stats_inc_tx_carrier_errors(dev: *mut net_device);
    pub(crate) fn fan_dev_stats_inc_tx_aborted_errors(dev: *mut net_device);
    pub(crate) fn fan_dev_stats_inc_rx_errors(dev: *mut net_device);
    pub(crate) fn fan_dev_stats_inc_rx_frame_errors(dev: *mut net_device);
    pub(crate) fn fan_jiffies() -> core::ffi::c_ulong;
    pub(crate) fn fan_skb_dev(skb: *const sk_buff) -> *mut net_device;
    pub(crate) fn fan_skb_protocol(skb: *const sk_buff) -> u16;
    pub(crate) fn fan_dev_set_lltx(dev: *mut net_device);
    pub(crate) fn fan_dev_disable_netpoll(dev: *mut net_device);
    pub(crate) fn fan_dev_stats_inc_tx_dropped(dev: *mut net_device);
    pub(crate) fn fan_dev_stats_inc_collisions(dev: *mut net_device);
    pub(crate) fn fan_ll_reserved_space(dev: *const net_device) -> u32;
    pub(crate) fn fan_skb_clear_ip_options(skb: *mut sk_buff);
    pub(crate) fn fan_alloc_percpu(size: usize, align: usize) -> *mut core::ffi::c_void;
    pub(crate) fn fan_this_cpu_ptr(ptr: *mut core::ffi::c_void) -> *mut core::ffi::c_void;
    pub(crate) fn fan_per_cpu_ptr(ptr: *mut core::ffi::c_void, cpu: u32) -> *mut core::ffi::c_void;
    pub(crate) fn fan_cpu_possible(cpu: u32) -> bool;
    pub(crate) fn fan_nr_cpu_ids() -> u32;
}

/// The kernel's tick counter.
pub(crate) fn jiffies() -> core::ffi::c_ulong {
    // SAFETY: reads a global counter; callable from any context.
    unsafe { fan_jiffies() }
}

/// Immutable C data shared with the kernel (policies, ops tables), whose
/// raw pointers make Rust refuse to share it by default.
#[repr(transparent)]
pub(crate) struct Shared<T>(pub(crate) T);

// SAFETY: never written after compilation; the pointers it holds are to
// other statics or string literals.
unsafe impl<T> Sync for Shared<T> {}

/// The addresses of an IPv4 header, which bindgen puts behind a union
/// (`struct_group(addrs, saddr, daddr)` in C).
impl iphdr {
    pub(crate) fn saddr(&self) -> Ipv4Addr {
        // SAFETY: both union members are the same two `__be32`s.
        Ipv4Addr::from(u32::from_be(unsafe { self.__bindgen_anon_1.addrs.saddr }))
    }

    pub(crate) fn daddr(&self) -> Ipv4Addr {
        // SAFETY: as above.
        Ipv4Addr::from(u32::from_be(unsafe { self.__bindgen_anon_1.addrs.daddr }))
    }

    /// A copy of the header with another source.
    pub(crate) fn with_saddr(&self, addr: Ipv4Addr) -> Self {
        let mut header = *self;
        header.__bindgen_anon_1.addrs.saddr = be32(addr);
        header
    }

    /// A copy of the header with another destination.
    pub(crate) fn with_daddr(&self, addr: Ipv4Addr) -> Self {
        let mut header = *self;
        header.__bindgen_anon_1.addrs.daddr = be32(addr);
        header
    }
}

/// An address in network byte order, as C's `__be32` arguments take it.
pub(crate) fn be32(addr: Ipv4Addr) -> u32 {
    u32::from(addr).to_be()
}

/// A static that the kernel writes to (ops tables it links into its lists).
///
/// Rust never reads or writes the value after registration; it only hands
/// out the pointer, so sharing it between threads is the kernel's business.
#[repr(transparent)]
pub(crate) struct KernelStatic<T>(UnsafeCell<T>);

// SAFETY: see the type's documentation: Rust only passes the address on, and
// the kernel serializes its own accesses (under RTNL or its list locks).
unsafe impl<T> Sync for KernelStatic<T> {}

impl<T> KernelStatic<T> {
    pub(crate) const fn new(value: T) -> Self {
        Self(UnsafeCell::new(value))
    }

    pub(crate) const fn get(&self) -> *mut T {
        self.0.get()
    }
}

/// A zero-initialized C struct, for const initializers of kernel ops tables.
pub(crate) const fn zeroed<T>() -> T {
    // SAFETY: only used for bindgen structs of plain integers, pointers and
    // `Option<fn>`s, for all of which all-zero bytes are a valid value
    // (null, `None`, 0), exactly as C's `= { }` initializer.
    unsafe { core::mem::MaybeUninit::zeroed().assume_init() }
}

/// A static C string as C's `const char *`. Not `CStr::as_ptr`, which the
/// kernel's clippy configuration forbids from 7.x on (its `char` is
/// unsigned, core's `c_char` may not be); the bytes are the same.
pub(crate) const fn c_str(s: &'static CStr) -> *const c_char {
    s.to_bytes_with_nul().as_ptr().cast()
}

/// Netlink's attribute header length (`NLA_HDRLEN`, a macro in C).
pub(crate) const NLA_HDRLEN: usize = core::mem::size_of::<nlattr>();
