// SPDX-License-Identifier: GPL-2.0

//! Receive: IPv4-in-IPv4 and MPLS-in-IPv4 packets and ICMP errors, through
//! the xfrm4 tunnel handlers, as Linux's ipip. A fan device also checks that
//! a packet from a mapped overlay came from the host that owns its source.

use crate::fanmap::MapTable;
use crate::pernet;
use crate::skb::{Skb, SkbRef};
use crate::sys::{self, KernelStatic};
use crate::tunnel::Tunnel;
use core::ffi::c_int;
use core::net::Ipv4Addr;
use kernel::error::code::ENOENT;

/// Whether a decapsulated packet may enter: its inner source, if it lies in
/// a mapped overlay, must map to the host that sent it.
fn source_is_valid(maps: &MapTable, inner_src: Ipv4Addr, outer_src: Ipv4Addr) -> bool {
    match maps.underlay_for(inner_src) {
        Some(owner) => owner == outer_src,
        None => true,
    }
}

const fn tpi(proto: u16) -> sys::tnl_ptk_info {
    let mut tpi: sys::tnl_ptk_info = sys::zeroed();
    tpi.proto = proto.to_be();
    tpi
}

static IPIP_TPI: sys::tnl_ptk_info = tpi(sys::FAN_ETH_P_IP);
static MPLSIP_TPI: sys::tnl_ptk_info = tpi(sys::FAN_ETH_P_MPLS_UC);

/// # Safety
///
/// Called by the xfrm4 tunnel layer with a received skb whose data starts
/// at the inner header (at least an IPv4 header's worth pulled), inside an
/// RCU read section. Returns -1, leaving the skb to the next handler, if no
/// tunnel of ours matches; otherwise the skb is consumed.
unsafe fn tunnel_rcv(raw: *mut sys::sk_buff, ipproto: u8) -> c_int {
    // SAFETY: a received skb inside an RCU read section (the contract).
    let Some(offered) = (unsafe { SkbRef::from_raw(raw) }) else {
        return -1;
    };
    let outer = offered.network_header();
    let Some(tunnel) = pernet::lookup(offered, outer.saddr(), outer.daddr()) else {
        return -1;
    };
    // SAFETY: the packet is for a tunnel of ours: we take it (the contract).
    let Some(skb) = (unsafe { Skb::from_raw(raw) }) else {
        return -1;
    };
    receive(skb, &tunnel, ipproto, outer.saddr());
    0
}

/// Deliver a packet for `tunnel` (`ipip_tunnel_rcv`), or drop it.
fn receive(skb: Skb, tunnel: &Tunnel<'_>, ipproto: u8, outer_src: Ipv4Addr) {
    let proto = tunnel.template().protocol;
    if (proto != ipproto && proto != 0) || !skb.xfrm_policy_allows_in() {
        return;
    }
    if let Some(maps) = tunnel.maps() {
        // MPLS inside has no IPv4 source to check: refused like a forged one.
        if pernet::validate_source(tunnel) {
            let valid = ipproto == sys::IPPROTO_IPIP as u8
                && skb
                    .view()
                    .data_ipv4()
                    .is_some_and(|inner| source_is_valid(maps, inner.saddr(), outer_src));
            if !valid {
                tunnel.count_rx_frame_error();
                return;
            }
        }
    }
    let tpi = if ipproto == sys::IPPROTO_MPLS as u8 {
        &MPLSIP_TPI
    } else {
        &IPIP_TPI
    };
    tunnel.deliver(skb, tpi);
}

/// # Safety
///
/// Called by the xfrm4 tunnel layer as a handler, with `tunnel_rcv`'s contract.
unsafe extern "C" fn ipip_rcv(skb: *mut sys::sk_buff) -> c_int {
    // SAFETY: the xfrm4 tunnel layer's handler contract.
    unsafe { tunnel_rcv(skb, sys::IPPROTO_IPIP as u8) }
}

/// # Safety
///
/// Called by the xfrm4 tunnel layer as a handler, with `tunnel_rcv`'s contract.
unsafe extern "C" fn mplsip_rcv(skb: *mut sys::sk_buff) -> c_int {
    // SAFETY: the xfrm4 tunnel layer's handler contract.
    unsafe { tunnel_rcv(skb, sys::IPPROTO_MPLS as u8) }
}

/// # Safety
///
/// Called by the xfrm4 tunnel layer as the error handler, with an ICMP error
/// about a packet we sent (the ICMP header pulled, the quoted IPv4 header at
/// the data), inside an RCU read section. The skb stays the caller's.
unsafe extern "C" fn ipip_err(skb: *mut sys::sk_buff, info: u32) -> c_int {
    // SAFETY: the function's contract.
    match unsafe { SkbRef::from_raw(skb) } {
        Some(skb) => icmp_error(skb, info),
        None => ENOENT.to_errno(),
    }
}

/// ICMP errors about packets we sent (`ipip_err`): PMTU updates and
/// redirects, and error accounting for the tunnel.
fn icmp_error(skb: SkbRef<'_>, info: u32) -> c_int {
    let Some(sent) = skb.data_ipv4() else {
        return ENOENT.to_errno();
    };
    let (kind, code) = skb.icmp_type_code();
    let (kind, code) = (u32::from(kind), u32::from(code));
    let Some(tunnel) = pernet::lookup(skb, sent.daddr(), sent.saddr()) else {
        return ENOENT.to_errno();
    };
    match kind {
        sys::ICMP_DEST_UNREACH if code == sys::ICMP_SR_FAILED => return 0,
        sys::ICMP_DEST_UNREACH | sys::ICMP_REDIRECT => {}
        sys::ICMP_TIME_EXCEEDED if code == sys::ICMP_EXC_TTL => {}
        _ => return 0,
    }
    if kind == sys::ICMP_DEST_UNREACH && code == sys::ICMP_FRAG_NEEDED {
        tunnel.update_pmtu(skb, info, sent.protocol);
        return 0;
    }
    if kind == sys::ICMP_REDIRECT {
        tunnel.redirect(skb, sent.protocol);
        return 0;
    }
    let template = tunnel.template();
    if template.daddr().is_unspecified() {
        return ENOENT.to_errno();
    }
    if template.ttl == 0 && kind == sys::ICMP_TIME_EXCEEDED {
        return 0;
    }
    tunnel.note_error();
    0
}

const fn handler(rcv: unsafe extern "C" fn(*mut sys::sk_buff) -> c_int) -> sys::xfrm_tunnel {
    let mut h: sys::xfrm_tunnel = sys::zeroed();
    h.handler = Some(rcv);
    h.err_handler = Some(ipip_err);
    h.priority = 1;
    h
}

static IPIP_HANDLER: KernelStatic<sys::xfrm_tunnel> = KernelStatic::new(handler(ipip_rcv));
static MPLSIP_HANDLER: KernelStatic<sys::xfrm_tunnel> = KernelStatic::new(handler(mplsip_rcv));

/// The receive handlers, registered for as long as the value lives.
pub(crate) struct Handlers {
    mpls: bool,
}

impl Handlers {
    pub(crate) fn register() -> kernel::error::Result<Self> {
        // SAFETY: a static handler, registered once and deregistered in drop.
        kernel::error::to_result(unsafe {
            sys::xfrm4_tunnel_register(IPIP_HANDLER.get(), sys::AF_INET as u16)
        })?;
        let mut handlers = Handlers { mpls: false };
        if cfg!(CONFIG_MPLS) {
            // SAFETY: as above.
            kernel::error::to_result(unsafe {
                sys::xfrm4_tunnel_register(MPLSIP_HANDLER.get(), sys::AF_MPLS as u16)
            })?;
            handlers.mpls = true;
        }
        Ok(handlers)
    }
}

impl Drop for Handlers {
    fn drop(&mut self) {
        // SAFETY: registered in `register`.
        unsafe {
            if self.mpls {
                sys::xfrm4_tunnel_deregister(MPLSIP_HANDLER.get(), sys::AF_MPLS as u16);
            }
            sys::xfrm4_tunnel_deregister(IPIP_HANDLER.get(), sys::AF_INET as u16);
        }
    }
}
