// SPDX-License-Identifier: GPL-2.0

//! Netlink, safely: the attributes of a request, its extended ack, and the
//! attributes written into a reply. The kernel has parsed and validated a
//! request's attributes against our policy before any callback sees them;
//! the types here carry that guarantee so that callers need no `unsafe`.

use crate::fanmap::attrs::offsets_of;
use crate::sys;
use core::ffi::{c_int, CStr};
use core::marker::PhantomData;
use core::ptr;
use kernel::error::Error;

/// The one way a `put` fails: the message is full.
fn emsgsize() -> Error {
    Error::from_errno(-sys::FAN_EMSGSIZE)
}

/// One attribute of a request.
#[derive(Clone, Copy)]
pub(crate) struct Attr<'a> {
    raw: &'a sys::nlattr,
}

impl<'a> Attr<'a> {
    /// The payload: the bytes after the header, `nla_len` covering both.
    pub(crate) fn payload(self) -> &'a [u8] {
        let len = usize::from(self.raw.nla_len).saturating_sub(sys::NLA_HDRLEN);
        let start = ptr::from_ref(self.raw).cast::<u8>();
        // SAFETY: the kernel validated the attribute (`Attrs::from_raw`), so
        // `nla_len` bytes from its header lie inside the request, which
        // outlives `'a`.
        unsafe { core::slice::from_raw_parts(start.add(sys::NLA_HDRLEN), len) }
    }

    /// An NLA_U8 attribute's value (the policy guarantees the length).
    pub(crate) fn get_u8(self) -> u8 {
        self.payload().first().copied().unwrap_or(0)
    }

    /// An NLA_U16 attribute's value as it is on the wire (host order, or
    /// network order for ports).
    pub(crate) fn get_u16(self) -> u16 {
        match self.payload().first_chunk::<2>() {
            Some(bytes) => u16::from_ne_bytes(*bytes),
            None => 0,
        }
    }

    /// An NLA_U32 attribute's value, in host order.
    pub(crate) fn get_u32(self) -> u32 {
        self.ne_u32()
    }

    /// An address attribute (NLA_U32 in network order), as it is on the wire.
    pub(crate) fn get_be32(self) -> u32 {
        self.ne_u32()
    }

    fn ne_u32(self) -> u32 {
        match self.payload().first_chunk::<4>() {
            Some(bytes) => u32::from_ne_bytes(*bytes),
            None => 0,
        }
    }

    /// The attribute that starts `offset` bytes into this one's payload, as
    /// a nested attribute walker found it; `None` unless all of it (header
    /// and the `nla_len` it announces) lies inside the payload.
    pub(crate) fn nested_at(self, offset: usize) -> Option<Attr<'a>> {
        let payload = self.payload();
        let end = offset.checked_add(sys::NLA_HDRLEN)?;
        if end > payload.len() || offset % 4 != 0 {
            return None;
        }
        // SAFETY: a whole, 4-byte aligned attribute header lies at `offset`
        // inside the payload (checked above), which lives for `'a`.
        let raw = unsafe { &*payload.as_ptr().add(offset).cast::<sys::nlattr>() };
        let len = usize::from(raw.nla_len);
        if len < sys::NLA_HDRLEN || len > payload.len().saturating_sub(offset) {
            return None;
        }
        Some(Attr { raw })
    }

    /// The attributes of type `kind` nested in this one, in order, as far as
    /// the kernel's own parser walks them (`fanmap::attrs::offsets_of`).
    pub(crate) fn nested_of_type(self, kind: u16) -> impl Iterator<Item = Attr<'a>> {
        offsets_of(self.payload(), kind).filter_map(move |offset| self.nested_at(offset))
    }

    /// Whether both are the same attribute of the request.
    pub(crate) fn is(self, other: Attr<'_>) -> bool {
        ptr::eq(self.raw, other.raw)
    }

    fn as_ptr(self) -> *const sys::nlattr {
        self.raw
    }
}

/// A request's parsed attribute table (`tb` or `data` of a link callback):
/// one slot per attribute type up to `maxtype`, null where absent.
#[derive(Clone, Copy)]
pub(crate) struct Attrs<'a> {
    table: *mut *mut sys::nlattr,
    len: usize,
    _request: PhantomData<&'a sys::nlattr>,
}

impl<'a> Attrs<'a> {
    /// # Safety
    ///
    /// `table` is null (no attributes) or a table of `len` (at least the
    /// attribute type's `*_MAX` + 1) entries that the
    /// kernel filled by parsing a request against a policy, and the request
    /// outlives `'a`.
    pub(crate) unsafe fn from_raw(table: *mut *mut sys::nlattr, len: u32) -> Self {
        let len = len as usize;
        let len = if table.is_null() { 0 } else { len };
        Self {
            table,
            len,
            _request: PhantomData,
        }
    }

    /// Attribute `kind`, if the request has it.
    pub(crate) fn get(self, kind: u32) -> Option<Attr<'a>> {
        let index = usize::try_from(kind).ok().filter(|&i| i < self.len)?;
        // SAFETY: `index` is inside the table (checked), and a non-null slot
        // is a validated attribute of the request (type invariant).
        unsafe { (*self.table.add(index)).as_ref() }.map(|raw| Attr { raw })
    }

    /// Whether the request has no such table at all.
    pub(crate) fn is_empty(self) -> bool {
        self.len == 0
    }

    pub(crate) fn has(self, kind: u32) -> bool {
        self.get(kind).is_some()
    }

    /// The table as the kernel's helpers take it.
    pub(crate) fn as_raw(self) -> *mut *mut sys::nlattr {
        self.table
    }
}

/// A request's extended ack, where the reason for a refusal goes.
pub(crate) struct Extack<'a>(Option<&'a mut sys::netlink_ext_ack>);

impl<'a> Extack<'a> {
    /// # Safety
    ///
    /// `raw` is null or the extended ack of the request being processed,
    /// which outlives `'a`.
    pub(crate) unsafe fn from_raw(raw: *mut sys::netlink_ext_ack) -> Self {
        // SAFETY: null or the request's live extended ack (caller).
        Self(unsafe { raw.as_mut() })
    }

    /// Report `msg`, and the attribute at fault if any.
    pub(crate) fn report(&mut self, attr: Option<Attr<'_>>, msg: &'static CStr) {
        if let Some(ack) = self.0.as_deref_mut() {
            // The message is static: it outlives the request, as netlink
            // requires of `_msg`.
            ack._msg = sys::c_str(msg);
            ack.bad_attr = attr.map_or(ptr::null(), Attr::as_ptr);
        }
    }
}

/// A reply message being filled (`fill_info`). Each `put` fails with
/// EMSGSIZE when the message is full, as `nla_put` does.
pub(crate) struct Msg<'a> {
    skb: *mut sys::sk_buff,
    _reply: PhantomData<&'a mut sys::sk_buff>,
}

fn put_result(err: c_int) -> Result<(), Error> {
    if err == 0 {
        Ok(())
    } else {
        Err(emsgsize())
    }
}

/// Attribute types as `nla_put` takes them.
fn kind(kind: u32) -> c_int {
    kind as c_int
}

impl<'a> Msg<'a> {
    /// # Safety
    ///
    /// `skb` is a netlink message being built, owned by the caller for `'a`.
    pub(crate) unsafe fn from_raw(skb: *mut sys::sk_buff) -> Self {
        Self {
            skb,
            _reply: PhantomData,
        }
    }

    pub(crate) fn put(&mut self, kind: u32, payload: &[u8]) -> Result<(), Error> {
        let len = c_int::try_from(payload.len()).map_err(|_| emsgsize())?;
        // SAFETY: a message of ours (type invariant); `nla_put` copies `len`
        // bytes from the slice.
        put_result(unsafe {
            sys::nla_put(self.skb, self::kind(kind), len, payload.as_ptr().cast())
        })
    }

    pub(crate) fn put_u8(&mut self, kind: u32, value: u8) -> Result<(), Error> {
        self.put(kind, &[value])
    }

    pub(crate) fn put_u16(&mut self, kind: u32, value: u16) -> Result<(), Error> {
        self.put(kind, &value.to_ne_bytes())
    }

    pub(crate) fn put_u32(&mut self, kind: u32, value: u32) -> Result<(), Error> {
        self.put(kind, &value.to_ne_bytes())
    }

    /// A value already in network order (`__be16`, `__be32`).
    pub(crate) fn put_be16(&mut self, kind: u32, value: u16) -> Result<(), Error> {
        self.put_u16(kind, value)
    }

    pub(crate) fn put_be32(&mut self, kind: u32, value: u32) -> Result<(), Error> {
        self.put_u32(kind, value)
    }

    pub(crate) fn put_flag(&mut self, kind: u32) -> Result<(), Error> {
        self.put(kind, &[])
    }

    /// Attributes written by `fill` go into a nested attribute `kind`; if
    /// `fill` fails, the nest is removed again.
    pub(crate) fn nest(
        &mut self,
        kind: u32,
        fill: impl FnOnce(&mut Self) -> Result<(), Error>,
    ) -> Result<(), Error> {
        // Without NLA_F_NESTED, as Ubuntu's kernel wrote its fan map: its
        // iproute2 does not mask the flag and would see no attribute.
        // SAFETY: a message of ours (type invariant).
        let start = unsafe { sys::nla_nest_start_noflag(self.skb, self::kind(kind)) };
        if start.is_null() {
            return Err(emsgsize());
        }
        match fill(self) {
            Ok(()) => {
                // SAFETY: `start` is the nest just opened in this message.
                unsafe { sys::nla_nest_end(self.skb, start) };
                Ok(())
            }
            Err(e) => {
                // SAFETY: as above.
                unsafe { sys::nla_nest_cancel(self.skb, start) };
                Err(e)
            }
        }
    }
}
