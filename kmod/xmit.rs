// SPDX-License-Identifier: GPL-2.0

//! Transmit: Linux's ipip, except that on a fan device each packet's
//! underlay destination is derived from its inner IPv4 destination.

use crate::route::{BhDisabled, Route, RouteKey};
use crate::skb::{Payload, Skb};
use crate::sys;
use crate::tunnel::{Tunnel, TxError};
use core::net::Ipv4Addr;

/// What a fan device does with an inner IPv4 destination.
fn fan_destination(
    maps: &crate::fanmap::MapTable,
    inner_dst: Ipv4Addr,
    is_local: impl FnOnce(Ipv4Addr) -> bool,
) -> Result<Ipv4Addr, TxError> {
    let underlay = maps.underlay_for(inner_dst).ok_or(TxError::NoMap)?;
    if is_local(underlay) {
        return Err(TxError::ToSelf);
    }
    Ok(underlay)
}

/// `ndo_start_xmit`.
///
/// # Safety
///
/// Called by the kernel as `ndo_start_xmit` of a device of ours, inside an
/// RCU-bh read section (bottom halves disabled), with an skb it hands over
/// to us.
pub(crate) unsafe extern "C" fn start_xmit(
    skb: *mut sys::sk_buff,
    dev: *mut sys::net_device,
) -> sys::netdev_tx_t {
    // SAFETY: the function's contract: a device of ours inside an RCU read
    // section with bottom halves disabled, and an skb that is ours from
    // here on.
    let (skb, tunnel, mut bh) = unsafe {
        (
            Skb::from_raw(skb),
            Tunnel::from_raw(dev),
            BhDisabled::assume(),
        )
    };
    if let (Some(skb), Some(tunnel)) = (skb, tunnel) {
        // A packet that is not sent is freed when `transmit` drops it.
        if let Err(why) = transmit(skb, &tunnel, &mut bh) {
            tunnel.count_tx_error(why);
        }
    }
    sys::netdev_tx_NETDEV_TX_OK
}

fn transmit(mut skb: Skb, tunnel: &Tunnel<'_>, bh: &mut BhDisabled<'_>) -> Result<(), TxError> {
    let (ipproto, inner) = match skb.network_payload() {
        Some(Payload::Ipv4(inner)) => (sys::IPPROTO_IPIP as u8, Some(inner)),
        Some(Payload::Mpls) if cfg!(CONFIG_MPLS) => (sys::IPPROTO_MPLS as u8, None),
        _ => return Err(TxError::Protocol),
    };
    let template = tunnel.template();
    if template.protocol != ipproto && template.protocol != 0 {
        return Err(TxError::Protocol);
    }

    let Some(maps) = tunnel.maps() else {
        prepare(&mut skb, ipproto)?;
        tunnel.send(skb, &template, ipproto);
        return Ok(());
    };
    // A fan derives the destination from the inner IPv4 header.
    let inner = inner.ok_or(TxError::Protocol)?;
    let underlay = fan_destination(maps, inner.daddr(), |addr| tunnel.is_local(addr))?;
    let header = template.with_daddr(underlay);
    prepare(&mut skb, ipproto)?;
    if !tunnel.is_plain_ipip() {
        tunnel.send(skb, &header, ipproto);
        return Ok(());
    }
    send_to_peer(skb, tunnel, bh, &header, &inner)
}

/// Offloads and checksums set up for encapsulation.
fn prepare(skb: &mut Skb, ipproto: u8) -> Result<(), TxError> {
    if !skb.handle_offloads() {
        return Err(TxError::Protocol);
    }
    skb.set_inner_ipproto(ipproto);
    Ok(())
}

/// Linux's `ip_tunnel_xmit` for what a fan device sends: an IPv4 packet to
/// a peer that is not the tunnel's fixed remote, without FOU/GUE, along a
/// route from the device's per-CPU cache instead of a FIB lookup. The rest
/// (path MTU, DF, TTL, TOS and ECN, error backoff, headroom) as there.
fn send_to_peer(
    mut skb: Skb,
    tunnel: &Tunnel<'_>,
    bh: &mut BhDisabled<'_>,
    header: &sys::iphdr,
    inner: &sys::iphdr,
) -> Result<(), TxError> {
    skb.clear_ip_options();
    let tos = if header.tos & 1 != 0 {
        inner.tos
    } else {
        header.tos
    };
    let key = RouteKey {
        daddr: sys::be32(header.daddr()),
        saddr: sys::be32(header.saddr()),
        tos: tos & sys::FAN_INET_DSCP_MASK,
        link: tunnel.link(),
        mark: tunnel.fwmark(),
    };
    let route = match tunnel.route(bh, key, &mut skb) {
        Some(Ok(route)) => route,
        Some(Err(_)) => return Err(TxError::NoRoute),
        None => {
            tunnel.send(skb, header, sys::IPPROTO_IPIP as u8);
            return Ok(());
        }
    };
    if route.dev() == tunnel.dev() {
        return Err(TxError::Loop);
    }

    let mut df = header.frag_off;
    if !tunnel.ignores_df() {
        df |= inner.frag_off & DF;
    }
    check_path_mtu(&mut skb, tunnel, &route, df, inner)?;
    if tunnel.take_reported_error() {
        skb.report_link_failure();
    }

    let tos = ecn_encapsulate(tos, inner.tos);
    let ttl = if header.ttl == 0 {
        inner.ttl
    } else {
        header.ttl
    };
    let headroom = route.headroom() + IPV4_HEADER_LEN;
    if !skb.make_headroom(headroom) {
        return Err(TxError::NoRoom);
    }
    tunnel.adjust_headroom(headroom);
    tunnel.send_routed(skb, route, key.daddr, tos, ttl, df);
    Ok(())
}

/// IP_DF in network byte order, as in `frag_off`.
const DF: u16 = (sys::IP_DF as u16).to_be();

const IPV4_HEADER_LEN: u32 = core::mem::size_of::<sys::iphdr>() as u32;

/// `tnl_update_pmtu` for an IPv4 packet: lower the sender's route MTU to
/// what the underlay path leaves, and refuse (with ICMP "fragmentation
/// needed") a packet with DF that does not fit. `df`: the outer DF bit.
fn check_path_mtu(
    skb: &mut Skb,
    tunnel: &Tunnel<'_>,
    route: &Route,
    df: u16,
    inner: &sys::iphdr,
) -> Result<(), TxError> {
    let encap = i64::from(tunnel.encap_len());
    let packet = i64::from(skb.len()) - encap;
    let mtu = if df != 0 {
        i64::from(route.mtu()) - i64::from(IPV4_HEADER_LEN) - encap
    } else {
        i64::from(skb.route_mtu().unwrap_or_else(|| tunnel.mtu()))
    };
    // C's int arithmetic, whose result the helpers take as u32.
    let mtu = mtu as i32;
    skb.update_route_mtu(mtu as u32);
    if !skb.is_gso() && inner.frag_off & DF != 0 && i64::from(mtu) < packet {
        skb.send_frag_needed(mtu as u32);
        return Err(TxError::TooBig);
    }
    Ok(())
}

/// `INET_ECN_encapsulate`: the outer TOS with the inner packet's ECN
/// codepoint (CE becomes ECT(0), RFC 6040).
fn ecn_encapsulate(outer: u8, inner: u8) -> u8 {
    const ECN_MASK: u8 = 3;
    const ECN_CE: u8 = 3;
    const ECN_ECT_0: u8 = 2;
    let ecn = if inner & ECN_MASK == ECN_CE {
        ECN_ECT_0
    } else {
        inner & ECN_MASK
    };
    (outer & !ECN_MASK) | ecn
}
