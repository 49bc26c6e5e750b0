// SPDX-License-Identifier: GPL-2.0

//! The `IFLA_IPTUN_FAN_MAP` attributes of a newlink or changelink request:
//! validated in full, then applied to a copy of the device's table, so that
//! a request that fails changes nothing.

use crate::fanmap::attrs::{self, Mapping};
use crate::fanmap::{MapTable, Request, IFLA_IPTUN_FAN_MAP};
use crate::nla::{Attr, Attrs, Extack};
use crate::sys;
use crate::tunnel::RcuTable;
use core::ffi::CStr;
use kernel::alloc::KBox;
use kernel::error::{code::EINVAL, Error, Result};

/// The maps of a device without any (3 KiB: not on the kernel stack).
static EMPTY: MapTable = MapTable::new();

/// A request's fan-map attributes: every occurrence, in order. The kernel's
/// table keeps only the last attribute of a type, but Ubuntu's `ip ...
/// fan-map A fan-map B` sends one attribute per map, so the request's
/// `IFLA_INFO_DATA` is walked again for all of them.
pub(crate) struct FanMapAttrs<'a> {
    /// The request's `IFLA_INFO_DATA`, when the walk over it ends at the
    /// kernel's own last occurrence (it always should).
    info_data: Option<Attr<'a>>,
    /// The last occurrence, from the kernel's table.
    last: Attr<'a>,
}

impl<'a> FanMapAttrs<'a> {
    /// The fan-map attributes of a request (`tb` and `data` of a link
    /// callback), if it has any.
    pub(crate) fn from_request(tb: Attrs<'a>, data: Attrs<'a>) -> Option<Self> {
        let last = data.get(u32::from(IFLA_IPTUN_FAN_MAP))?;
        let info_data = tb
            .get(sys::FAN_IFLA_LINKINFO)
            .and_then(|info| info.nested_of_type(sys::FAN_IFLA_INFO_DATA).last())
            .filter(|data| {
                data.nested_of_type(IFLA_IPTUN_FAN_MAP)
                    .last()
                    .is_some_and(|found| found.is(last))
            });
        Some(Self { info_data, last })
    }

    /// Every occurrence, in request order.
    fn each(&self) -> impl Iterator<Item = Attr<'a>> {
        let last = self.info_data.is_none().then_some(self.last);
        self.info_data
            .into_iter()
            .flat_map(|data| data.nested_of_type(IFLA_IPTUN_FAN_MAP))
            .chain(last)
    }

    /// Check every mapping of every occurrence without applying anything;
    /// on error, say what is wrong and where through `extack`.
    pub(crate) fn validate(&self, extack: &mut Extack<'_>) -> Result {
        for attr in self.each() {
            // An empty attribute asks for nothing: no tool sends one, so it
            // is a malformed request rather than a no-op.
            if attr.payload().is_empty() {
                reject(
                    extack,
                    attr,
                    None,
                    c"fan map attribute is empty: it must hold IFLA_FAN_MAPPING attributes",
                );
                return Err(EINVAL);
            }
            for mapping in attrs::mappings(attr.payload()) {
                let Mapping { offset, payload } = mapping.map_err(|e| {
                    reject(extack, attr, None, e.c_message());
                    EINVAL
                })?;
                Request::from_wire(payload).map_err(|e| {
                    reject(extack, attr, Some(offset), e.c_message());
                    Error::from_errno(e.errno().wrapping_neg())
                })?;
            }
        }
        Ok(())
    }

    /// Every mapping of every occurrence, in order, with where it is.
    fn mappings(&self) -> impl Iterator<Item = (Attr<'a>, Mapping<'a>)> {
        self.each().flat_map(|attr| {
            attrs::mappings(attr.payload())
                .filter_map(|m| m.ok())
                .map(move |m| (attr, m))
        })
    }

    /// `current` with every request applied in order, as a new table: all
    /// of them or, on error, none.
    pub(crate) fn apply(
        &self,
        current: Option<&MapTable>,
        extack: &mut Extack<'_>,
    ) -> Result<KBox<RcuTable>> {
        self.validate(extack)?;
        let current = current.unwrap_or(&EMPTY);
        let mut next = RcuTable::new()?;
        // `validate` accepted every mapping, so no request is dropped here.
        let requests = self.mappings().map(|(_, m)| Request::from_wire(m.payload));
        if let Err(e) = current.apply_into(next.table_mut(), requests) {
            match self.mappings().nth(e.index) {
                Some((attr, m)) => reject(extack, attr, Some(m.offset), e.c_message()),
                None => reject(extack, self.last, None, e.c_message()),
            }
            return Err(Error::from_errno(e.errno().wrapping_neg()));
        }
        Ok(next)
    }
}

/// Report an error against the mapping at `offset` in `attr`'s payload, or
/// against the whole attribute.
fn reject(extack: &mut Extack<'_>, attr: Attr<'_>, offset: Option<usize>, msg: &'static CStr) {
    let at = offset
        .and_then(|offset| attr.nested_at(offset))
        .unwrap_or(attr);
    extack.report(Some(at), msg);
}
