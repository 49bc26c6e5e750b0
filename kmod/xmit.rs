// SPDX-License-Identifier: GPL-2.0

//! Transmit: Linux's ipip, except that on a fan device each packet's
//! underlay destination is derived from its inner IPv4 destination.

use crate::sys;
use crate::tunnel::Tunnel;
use core::net::Ipv4Addr;

/// Why a packet is not sent.
enum Discard {
    /// Not a protocol this device carries (counted as a tx error).
    Protocol,
    /// A fan device has no map for the destination.
    NoMap,
    /// The derived underlay destination is this host.
    ToSelf,
}

/// What a fan device does with an inner IPv4 destination.
fn fan_destination(
    maps: &crate::fanmap::MapTable,
    inner_dst: Ipv4Addr,
    is_local: impl FnOnce(Ipv4Addr) -> bool,
) -> Result<Ipv4Addr, Discard> {
    let underlay = maps.underlay_for(inner_dst).ok_or(Discard::NoMap)?;
    if is_local(underlay) {
        return Err(Discard::ToSelf);
    }
    Ok(underlay)
}

/// `ndo_start_xmit`.
///
/// # Safety
///
/// Called by the kernel as `ndo_start_xmit` of a device of ours, inside an RCU-bh
/// read section, with an skb it hands over to us.
pub(crate) unsafe extern "C" fn start_xmit(
    skb: *mut sys::sk_buff,
    dev: *mut sys::net_device,
) -> sys::netdev_tx_t {
    // SAFETY: the kernel hands us an skb to send on a device of ours, inside
    // an RCU-bh read section (dev_queue_xmit). We own the skb from here on.
    let sent = unsafe { transmit(skb, dev) };
    if let Err(why) = sent {
        // SAFETY: the skb was not consumed (transmit returns Err before it
        // hands the skb on), and the device is ours.
        unsafe {
            sys::kfree_skb(skb);
            match why {
                Discard::Protocol => {}
                Discard::NoMap => sys::fan_dev_stats_inc_tx_carrier_errors(dev),
                Discard::ToSelf => sys::fan_dev_stats_inc_tx_aborted_errors(dev),
            }
            sys::fan_dev_stats_inc_tx_errors(dev);
        }
    }
    sys::netdev_tx_NETDEV_TX_OK
}

/// # Safety
///
/// As `start_xmit`. On `Ok` the skb has been consumed; on `Err` it has not.
unsafe fn transmit(skb: *mut sys::sk_buff, dev: *mut sys::net_device) -> Result<(), Discard> {
    // SAFETY: as the function's contract.
    unsafe {
        let tunnel = Tunnel::from_raw(dev);
        let t = tunnel.ip_tunnel();
        let tiph = &(*t).parms.iph;

        if !sys::pskb_inet_may_pull(skb) {
            return Err(Discard::Protocol);
        }
        let protocol = u16::from_be(sys::fan_skb_protocol(skb));
        let ipproto = if protocol == sys::FAN_ETH_P_IP {
            sys::IPPROTO_IPIP as u8
        } else if cfg!(CONFIG_MPLS) && protocol == sys::FAN_ETH_P_MPLS_UC {
            sys::IPPROTO_MPLS as u8
        } else {
            return Err(Discard::Protocol);
        };
        if tiph.protocol != ipproto && tiph.protocol != 0 {
            return Err(Discard::Protocol);
        }

        let mut fan_iph;
        let params: *const sys::iphdr = match tunnel.maps() {
            None => tiph,
            Some(maps) => {
                // A fan derives the destination from the inner IPv4 header.
                if ipproto != sys::IPPROTO_IPIP as u8 {
                    return Err(Discard::Protocol);
                }
                let inner_dst = (*sys::ip_hdr(skb)).daddr();
                let net = (*t).net;
                let underlay = fan_destination(maps, inner_dst, |addr| {
                    !sys::__ip_dev_find(net, sys::be32(addr), false).is_null()
                })?;
                fan_iph = *tiph;
                fan_iph.set_daddr(underlay);
                &fan_iph
            }
        };

        if sys::iptunnel_handle_offloads(skb, sys::FAN_SKB_GSO_IPXIP4) != 0 {
            return Err(Discard::Protocol);
        }
        sys::skb_set_inner_ipproto(skb, ipproto);
        if (*t).collect_md {
            sys::ip_md_tunnel_xmit(skb, dev, ipproto, 0);
        } else {
            sys::ip_tunnel_xmit(skb, dev, params, ipproto);
        }
        Ok(())
    }
}
