// SPDX-License-Identifier: GPL-2.0

//! Transmit: Linux's ipip, except that on a fan device each packet's
//! underlay destination is derived from its inner IPv4 destination.

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
/// RCU-bh read section, with an skb it hands over to us.
pub(crate) unsafe extern "C" fn start_xmit(
    skb: *mut sys::sk_buff,
    dev: *mut sys::net_device,
) -> sys::netdev_tx_t {
    // SAFETY: the function's contract: a device of ours inside an RCU read
    // section, and an skb that is ours from here on.
    let (skb, tunnel) = unsafe { (Skb::from_raw(skb), Tunnel::from_raw(dev)) };
    if let (Some(skb), Some(tunnel)) = (skb, tunnel) {
        // A packet that is not sent is freed when `transmit` drops it.
        if let Err(why) = transmit(skb, &tunnel) {
            tunnel.count_tx_error(why);
        }
    }
    sys::netdev_tx_NETDEV_TX_OK
}

fn transmit(mut skb: Skb, tunnel: &Tunnel<'_>) -> Result<(), TxError> {
    let (ipproto, inner) = match skb.network_payload() {
        Some(Payload::Ipv4(inner)) => (sys::IPPROTO_IPIP as u8, Some(inner)),
        Some(Payload::Mpls) if cfg!(CONFIG_MPLS) => (sys::IPPROTO_MPLS as u8, None),
        _ => return Err(TxError::Protocol),
    };
    let template = tunnel.template();
    if template.protocol != ipproto && template.protocol != 0 {
        return Err(TxError::Protocol);
    }

    let header = match tunnel.maps() {
        None => template,
        Some(maps) => {
            // A fan derives the destination from the inner IPv4 header.
            let inner = inner.ok_or(TxError::Protocol)?;
            let underlay = fan_destination(maps, inner.daddr(), |addr| tunnel.is_local(addr))?;
            template.with_daddr(underlay)
        }
    };

    if !skb.handle_offloads() {
        return Err(TxError::Protocol);
    }
    skb.set_inner_ipproto(ipproto);
    tunnel.send(skb, &header, ipproto);
    Ok(())
}
