// SPDX-License-Identifier: GPL-2.0

//! The `IFLA_IPTUN_FAN_MAP` attribute of a newlink or changelink request:
//! validated in full, then applied to a copy of the device's table, so that
//! a request that fails changes nothing.

use crate::fanmap::attrs::{self, Mapping};
use crate::fanmap::{MapTable, Request};
use crate::sys;
use crate::tunnel::RcuTable;
use kernel::alloc::KBox;
use kernel::error::{code::EINVAL, Error, Result};

/// The maps of a device without any (3 KiB: not on the kernel stack).
static EMPTY: MapTable = MapTable::new();

/// A request's fan-map attribute.
pub(crate) struct FanMapAttr {
    attr: *const sys::nlattr,
    payload: &'static [u8],
}

impl FanMapAttr {
    /// The fan-map attribute of a request's `IFLA_INFO_DATA`, if present.
    ///
    /// # Safety
    ///
    /// `data` is null or the kernel's parsed attribute table of the request,
    /// with at least `IFLA_IPTUN_FAN_MAP + 1` entries (our `maxtype`), and
    /// the result is used only while the request is processed.
    pub(crate) unsafe fn from_data(data: *mut *mut sys::nlattr) -> Option<Self> {
        if data.is_null() {
            return None;
        }
        // SAFETY: the table has maxtype + 1 entries (caller).
        let attr = unsafe { *data.add(usize::from(crate::fanmap::IFLA_IPTUN_FAN_MAP)) };
        if attr.is_null() {
            return None;
        }
        // SAFETY: an attribute the kernel parsed from this request, which is
        // live while the request is processed (caller).
        let payload = unsafe { sys::nla_payload(attr) };
        Some(Self { attr, payload })
    }

    /// Check every mapping without applying anything; on error, say what is
    /// wrong and where through `extack`.
    pub(crate) fn validate(&self, extack: *mut sys::netlink_ext_ack) -> Result {
        // An empty attribute asks for nothing: no tool sends one, so it is
        // a malformed request rather than a no-op.
        if self.payload.is_empty() {
            self.reject(
                extack,
                None,
                c"fan map attribute is empty: it must hold IFLA_FAN_MAPPING attributes",
            );
            return Err(EINVAL);
        }
        for mapping in attrs::mappings(self.payload) {
            let Mapping { offset, payload } = mapping.map_err(|e| {
                self.reject(extack, None, e.c_message());
                EINVAL
            })?;
            Request::from_wire(payload).map_err(|e| {
                self.reject(extack, Some(offset), e.c_message());
                Error::from_errno(-e.errno())
            })?;
        }
        Ok(())
    }

    /// `current` with this attribute's requests applied, as a new table.
    pub(crate) fn apply(
        &self,
        current: Option<&MapTable>,
        extack: *mut sys::netlink_ext_ack,
    ) -> Result<KBox<RcuTable>> {
        self.validate(extack)?;
        let current = current.unwrap_or(&EMPTY);
        let mut next = RcuTable::new()?;
        // `validate` accepted every mapping, so no request is dropped here.
        let requests = attrs::mappings(self.payload)
            .filter_map(|m| m.ok())
            .map(|m| Request::from_wire(m.payload));
        if let Err(e) = current.apply_into(next.table_mut(), requests) {
            let offset = attrs::mappings(self.payload)
                .nth(e.index)
                .and_then(|m| m.ok())
                .map(|m| m.offset);
            self.reject(extack, offset, e.c_message());
            return Err(Error::from_errno(-e.errno()));
        }
        Ok(next)
    }

    /// Report an error against the mapping at `offset` in the payload, or
    /// against the whole attribute.
    fn reject(
        &self,
        extack: *mut sys::netlink_ext_ack,
        offset: Option<usize>,
        msg: &'static core::ffi::CStr,
    ) {
        let at = match offset {
            // SAFETY: `offset` is where `attrs::mappings` found a mapping
            // header inside the payload, which starts NLA_HDRLEN bytes into
            // the attribute.
            Some(offset) => unsafe {
                self.attr
                    .cast::<u8>()
                    .add(sys::NLA_HDRLEN + offset)
                    .cast::<sys::nlattr>()
            },
            None => self.attr,
        };
        // SAFETY: `extack` and `at` belong to the request being processed.
        unsafe { sys::set_extack(extack, at, msg) };
    }
}
