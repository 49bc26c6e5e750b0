//! neli's builders: the reference that fanctl's hand-written request
//! encoders are checked against, byte for byte (the unit tests of `route`
//! and of this module's parent), and measured against
//! (`examples/route_encoding.rs`, run by `bench/route-encoding`). Built only
//! for tests and with the `reference-encoder` feature.

use std::io::Cursor;

use anyhow::{Context, Result};
use neli::{
    consts::{
        nl::NlmF,
        rtnl::{RtAddrFamily, RtScope, RtTable, Rta, Rtm, RtmF, Rtn, Rtprot},
    },
    nl::{NlPayload, NlmsghdrBuilder},
    rtnl::{RtattrBuilder, Rtmsg, RtmsgBuilder},
    types::RtBuffer,
    Size, ToBytes,
};

use crate::plan::Route;

/// `RTNH_F_ONLINK`.
const RTNH_F_ONLINK: u32 = 4;

/// Appends one netlink message (header, payload, padding) to `out` as neli
/// encodes it.
pub fn request<P: Size + ToBytes>(
    seq: u32,
    ty: Rtm,
    flags: NlmF,
    payload: P,
    out: &mut Vec<u8>,
) -> Result<()> {
    let msg = NlmsghdrBuilder::default()
        .nl_type(ty)
        .nl_flags(flags)
        .nl_seq(seq)
        .nl_payload(NlPayload::Payload(payload))
        .build()
        .context("cannot build a netlink message")?;
    let mut cursor = Cursor::new(std::mem::take(out));
    cursor.set_position(cursor.get_ref().len() as u64);
    let written = msg.to_bytes(&mut cursor);
    *out = cursor.into_inner();
    written.context("cannot encode a netlink message")
}

/// What neli's builders make of a route request.
pub fn route_message(route: &Route, add: bool) -> Result<Rtmsg> {
    let mut attrs = RtBuffer::new();
    if route.prefix > 0 {
        attrs.push(
            RtattrBuilder::default()
                .rta_type(Rta::Dst)
                .rta_payload(route.dst.octets())
                .build()?,
        );
    }
    attrs.push(
        RtattrBuilder::default()
            .rta_type(Rta::Oif)
            .rta_payload(route.oif)
            .build()?,
    );
    if let Some(gw) = route.gateway {
        attrs.push(
            RtattrBuilder::default()
                .rta_type(Rta::Gateway)
                .rta_payload(gw.octets())
                .build()?,
        );
    }
    if let Some(metric) = route.metric {
        attrs.push(
            RtattrBuilder::default()
                .rta_type(Rta::Priority)
                .rta_payload(metric)
                .build()?,
        );
    }
    if let (true, Some(src)) = (add, route.prefsrc) {
        attrs.push(
            RtattrBuilder::default()
                .rta_type(Rta::Prefsrc)
                .rta_payload(src.octets())
                .build()?,
        );
    }
    // A delete matches any scope, protocol and type; an add says what
    // `ip route add` would.
    let (scope, protocol, kind) = match (add, route.gateway) {
        (false, _) => (RtScope::Nowhere, Rtprot::Unspec, Rtn::Unspec),
        (true, Some(_)) => (RtScope::Universe, Rtprot::Boot, Rtn::Unicast),
        (true, None) => (RtScope::Link, Rtprot::Boot, Rtn::Unicast),
    };
    let flags = if route.gateway.is_some() {
        RtmF::from_bits_retain(RTNH_F_ONLINK)
    } else {
        RtmF::empty()
    };
    Ok(RtmsgBuilder::default()
        .rtm_family(RtAddrFamily::Inet)
        .rtm_dst_len(route.prefix)
        .rtm_src_len(0)
        .rtm_tos(0)
        .rtm_table(RtTable::Main)
        .rtm_protocol(protocol)
        .rtm_scope(scope)
        .rtm_type(kind)
        .rtm_flags(flags)
        .rtattrs(attrs)
        .build()?)
}
