// SPDX-License-Identifier: GPL-2.0

//! A tunnel device's private area: Linux's `struct ip_tunnel`, which the
//! kernel's ip_tunnel helpers own, followed by the fan's own state.
//!
//! The fan state is one pointer to the device's map table. Writers (netlink
//! requests) run under RTNL and replace the whole table; readers (transmit,
//! receive) run inside RCU read sections and never lock. An old table is
//! freed after a grace period.

use crate::fanmap::MapTable;
use crate::sys;
use core::mem::{align_of, size_of};
use core::ptr;
use core::sync::atomic::{AtomicPtr, Ordering};
use kernel::alloc::{flags, KBox};
use kernel::prelude::*;

/// What the fan adds to each tunnel device.
#[repr(C)]
struct FanState {
    /// Null: not a fan device (plain ipip). Otherwise a non-empty table.
    maps: AtomicPtr<RcuTable>,
}

/// A map table as published: freed through `call_rcu`.
#[repr(C)]
pub(crate) struct RcuTable {
    rcu: sys::callback_head,
    table: MapTable,
}

const FAN_OFFSET: usize = size_of::<sys::ip_tunnel>().next_multiple_of(align_of::<FanState>());

/// `rtnl_link_ops.priv_size`: `struct ip_tunnel` then `FanState`.
pub(crate) const PRIV_SIZE: usize = FAN_OFFSET + size_of::<FanState>();

/// A registered (or registering) ipip device of this driver.
#[derive(Clone, Copy)]
pub(crate) struct Tunnel(*mut sys::net_device);

impl Tunnel {
    /// # Safety
    ///
    /// `dev` must be a live net_device created with this driver's
    /// `rtnl_link_ops` (so its private area is `PRIV_SIZE` bytes, zeroed at
    /// allocation), and stay live while the value is used.
    pub(crate) unsafe fn from_raw(dev: *mut sys::net_device) -> Self {
        Self(dev)
    }

    pub(crate) fn dev(self) -> *mut sys::net_device {
        self.0
    }

    /// Linux's tunnel state in the private area.
    pub(crate) fn ip_tunnel(self) -> *mut sys::ip_tunnel {
        // SAFETY: a live device of ours (type invariant).
        unsafe { sys::netdev_priv(self.0).cast() }
    }

    fn fan(self) -> &'static FanState {
        // SAFETY: the private area is PRIV_SIZE bytes (type invariant), so
        // FAN_OFFSET is in bounds and aligned for FanState; alloc_netdev
        // zeroes it, which is a valid FanState (null pointer). The reference
        // does not outlive the device: it is only used within a callback.
        unsafe {
            &*self
                .ip_tunnel()
                .cast::<u8>()
                .add(FAN_OFFSET)
                .cast::<FanState>()
        }
    }

    /// The device's fan maps, if it is a fan device.
    ///
    /// # Safety
    ///
    /// The caller is inside an RCU read section, or holds RTNL, for as long
    /// as it uses the result.
    pub(crate) unsafe fn maps<'a>(self) -> Option<&'a MapTable> {
        let table = self.fan().maps.load(Ordering::Acquire);
        // SAFETY: a non-null pointer is a published table, freed only after
        // a grace period (or, under RTNL, only by the caller's own thread).
        unsafe { table.as_ref() }.map(|t| &t.table)
    }

    /// Publish `next` as the device's maps (an empty table makes it a plain
    /// ipip device again) and free the old table after a grace period.
    /// Caller holds RTNL.
    pub(crate) fn publish(self, next: Option<KBox<RcuTable>>) {
        let next = match next {
            Some(table) if !table.table.is_empty() => KBox::into_raw(table),
            _ => ptr::null_mut(), // dropping an unused table frees it now
        };
        let old = self.fan().maps.swap(next, Ordering::AcqRel);
        retire(old);
    }
}

impl RcuTable {
    /// A new, empty table on the heap.
    pub(crate) fn new() -> Result<KBox<RcuTable>> {
        let table = KBox::new(
            RcuTable {
                rcu: sys::zeroed(),
                table: MapTable::new(),
            },
            flags::GFP_KERNEL,
        )?;
        Ok(table)
    }

    pub(crate) fn table(&self) -> &MapTable {
        &self.table
    }

    pub(crate) fn table_mut(&mut self) -> &mut MapTable {
        &mut self.table
    }
}

/// Free a table that readers may still see, after an RCU grace period.
fn retire(table: *mut RcuTable) {
    if table.is_null() {
        return;
    }
    // SAFETY: `table` came from KBox::into_raw and has just been unpublished;
    // call_rcu runs free_table once every reader that could see it is done.
    unsafe { sys::call_rcu(ptr::addr_of_mut!((*table).rcu), Some(free_table)) };
}

/// # Safety
///
/// Called once by RCU for a table `retire` queued.
unsafe extern "C" fn free_table(head: *mut sys::callback_head) {
    // SAFETY: `head` is the first field of a #[repr(C)] RcuTable that was
    // leaked by KBox::into_raw in `publish`, and this is its only release.
    drop(unsafe { KBox::from_raw(head.cast::<RcuTable>()) });
}
