// SPDX-License-Identifier: GPL-2.0

//! The `IFLA_IPTUN_FAN_MAP` attribute of a newlink or changelink request:
//! validated in full, then applied to a copy of the device's table, so that
//! a request that fails changes nothing.

use crate::fanmap::attrs::{self, Mapping};
use crate::fanmap::{MapTable, Request};
use crate::nla::{Attr, Attrs, Extack};
use crate::tunnel::RcuTable;
use core::ffi::CStr;
use kernel::alloc::KBox;
use kernel::error::{code::EINVAL, Error, Result};

/// The maps of a device without any (3 KiB: not on the kernel stack).
static EMPTY: MapTable = MapTable::new();

/// A request's fan-map attribute.
pub(crate) struct FanMapAttr<'a> {
    attr: Attr<'a>,
}

impl<'a> FanMapAttr<'a> {
    /// The fan-map attribute of a request's `IFLA_INFO_DATA`, if present.
    pub(crate) fn from_data(data: Attrs<'a>) -> Option<Self> {
        data.get(u32::from(crate::fanmap::IFLA_IPTUN_FAN_MAP))
            .map(|attr| Self { attr })
    }

    fn payload(&self) -> &'a [u8] {
        self.attr.payload()
    }

    /// Check every mapping without applying anything; on error, say what is
    /// wrong and where through `extack`.
    pub(crate) fn validate(&self, extack: &mut Extack<'_>) -> Result {
        // An empty attribute asks for nothing: no tool sends one, so it is
        // a malformed request rather than a no-op.
        if self.payload().is_empty() {
            self.reject(
                extack,
                None,
                c"fan map attribute is empty: it must hold IFLA_FAN_MAPPING attributes",
            );
            return Err(EINVAL);
        }
        for mapping in attrs::mappings(self.payload()) {
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
        extack: &mut Extack<'_>,
    ) -> Result<KBox<RcuTable>> {
        self.validate(extack)?;
        let current = current.unwrap_or(&EMPTY);
        let mut next = RcuTable::new()?;
        // `validate` accepted every mapping, so no request is dropped here.
        let requests = attrs::mappings(self.payload())
            .filter_map(|m| m.ok())
            .map(|m| Request::from_wire(m.payload));
        if let Err(e) = current.apply_into(next.table_mut(), requests) {
            let offset = attrs::mappings(self.payload())
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
    fn reject(&self, extack: &mut Extack<'_>, offset: Option<usize>, msg: &'static CStr) {
        let at = offset
            .and_then(|offset| self.attr.nested_at(offset))
            .unwrap_or(self.attr);
        extack.report(Some(at), msg);
    }
}
