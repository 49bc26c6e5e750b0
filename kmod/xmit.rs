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
    prepare(&mut skb, ipproto)?;
    let header = template.with_daddr(underlay);
    let (route, header) = peer_route(tunnel, bh, &mut skb, header, &inner, maps)?;
    if !tunnel.is_plain_ipip() {
        // FOU/GUE: Linux's path, which builds the encapsulation and looks
        // the route up itself, from the source just checked.
        drop(route);
        tunnel.send(skb, &header, ipproto);
        return Ok(());
    }
    send_to_peer(skb, tunnel, route, &header, &inner)
}

/// The underlay route to the peer in `header` and the header to send with.
///
/// Without a local address of its own (tunl0), the outer source is this
/// host's underlay address that owns the inner source's slice, so that the
/// peer's source validation accepts the packet even where the route would
/// prefer another address (a host with several, as on a routed underlay);
/// the route's preferred source otherwise. A destination the underlay
/// routes as anything but unicast (its broadcast address) is refused: every
/// host there would take the packet and forward it back into the fan.
fn peer_route(
    tunnel: &Tunnel<'_>,
    bh: &mut BhDisabled<'_>,
    skb: &mut Skb,
    mut header: sys::iphdr,
    inner: &sys::iphdr,
    maps: &crate::fanmap::MapTable,
) -> Result<(Route, sys::iphdr), TxError> {
    let key = route_key(tunnel, &header, inner);
    let own_source = if header.saddr().is_unspecified() {
        maps.underlay_for(inner.saddr())
    } else {
        None
    };
    let owned = own_source.and_then(|source| {
        let key = RouteKey {
            saddr: sys::be32(source),
            ..key
        };
        // Not one of this host's addresses: the lookup refuses it.
        let route = tunnel.route(bh, key, skb).ok()?;
        Some((route, source))
    });
    let route = match owned {
        Some((route, source)) => {
            header = header.with_saddr(source);
            route
        }
        None => tunnel.route(bh, key, skb).map_err(|_| TxError::NoRoute)?,
    };
    if !route.is_unicast() {
        return Err(TxError::NotUnicast);
    }
    if route.dev() == tunnel.dev() {
        return Err(TxError::Loop);
    }
    Ok((route, header))
}

/// What `ip_tunnel_xmit` would ask the FIB for this packet, but the
/// multipath hash.
fn route_key(tunnel: &Tunnel<'_>, header: &sys::iphdr, inner: &sys::iphdr) -> RouteKey {
    RouteKey {
        daddr: sys::be32(header.daddr()),
        saddr: sys::be32(header.saddr()),
        tos: outer_tos(header, inner) & sys::FAN_INET_DSCP_MASK,
        link: tunnel.link(),
        mark: tunnel.fwmark(),
    }
}

/// The outer TOS before ECN: the template's, or the inner one's if the
/// template says "inherit" (its low bit set).
fn outer_tos(header: &sys::iphdr, inner: &sys::iphdr) -> u8 {
    if header.tos & 1 != 0 {
        inner.tos
    } else {
        header.tos
    }
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
    route: Route,
    header: &sys::iphdr,
    inner: &sys::iphdr,
) -> Result<(), TxError> {
    skb.clear_ip_options();
    let mut df = header.frag_off;
    if !tunnel.ignores_df() {
        df |= inner.frag_off & DF;
    }
    check_path_mtu(&mut skb, tunnel, &route, df, inner)?;
    if tunnel.take_reported_error() {
        skb.report_link_failure();
    }

    let tos = ecn_encapsulate(outer_tos(header, inner), inner.tos);
    let ttl = if header.ttl == 0 {
        inner.ttl
    } else {
        header.ttl
    };
    let headroom = route.headroom().saturating_add(IPV4_HEADER_LEN);
    if !skb.make_headroom(headroom) {
        return Err(TxError::NoRoom);
    }
    tunnel.adjust_headroom(headroom);
    tunnel.send_routed(skb, route, sys::be32(header.daddr()), tos, ttl, df);
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
    // In i64, where none of these can overflow; the lint wants it said.
    let encap = i64::from(tunnel.encap_len());
    let packet = i64::from(skb.len()).saturating_sub(encap);
    let mtu = if df != 0 {
        i64::from(route.mtu())
            .saturating_sub(i64::from(IPV4_HEADER_LEN))
            .saturating_sub(encap)
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
