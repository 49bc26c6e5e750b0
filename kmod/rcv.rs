// SPDX-License-Identifier: GPL-2.0

//! Receive: IPv4-in-IPv4 and MPLS-in-IPv4 packets and ICMP errors, through
//! the xfrm4 tunnel handlers, as Linux's ipip. A fan device also checks that
//! a packet from a mapped overlay came from the host that owns its source.

use crate::fanmap::MapTable;
use crate::pernet;
use crate::sys::{self, KernelStatic};
use crate::tunnel::Tunnel;
use core::ffi::c_int;
use core::net::Ipv4Addr;
use core::ptr;
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

/// The ip_tunnel helpers' flags bitmap with only NO_KEY set.
fn no_key_flags() -> [core::ffi::c_ulong; 1] {
    [1 << sys::IP_TUNNEL_NO_KEY_BIT]
}

/// # Safety
///
/// Called by the xfrm4 tunnel layer with a received skb whose data starts
/// at the inner header (at least an IPv4 header's worth pulled), inside an
/// RCU read section.
unsafe fn tunnel_rcv(skb: *mut sys::sk_buff, ipproto: u8) -> c_int {
    // SAFETY: as the function's contract.
    unsafe {
        let dev = sys::fan_skb_dev(skb);
        let net = sys::dev_net(dev);
        let itn = pernet::tunnel_net(net);
        let iph = sys::ip_hdr(skb);
        let flags = no_key_flags();
        let tunnel = sys::ip_tunnel_lookup(
            itn,
            (*dev).ifindex,
            flags.as_ptr(),
            sys::be32((*iph).saddr()),
            sys::be32((*iph).daddr()),
            0,
        );
        if tunnel.is_null() {
            return -1;
        }
        let proto = (*tunnel).parms.iph.protocol;
        if (proto != ipproto && proto != 0)
            || sys::xfrm4_policy_check(ptr::null_mut(), sys::FAN_XFRM_POLICY_IN, skb) == 0
        {
            sys::kfree_skb(skb);
            return 0;
        }

        let fan = Tunnel::from_raw((*tunnel).dev);
        if let Some(maps) = fan.maps() {
            if ipproto == sys::IPPROTO_IPIP as u8 && pernet::validate_source(net) {
                let inner = (*skb).data.cast::<sys::iphdr>();
                if !source_is_valid(maps, (*inner).saddr(), (*iph).saddr()) {
                    sys::fan_dev_stats_inc_rx_frame_errors(fan.dev());
                    sys::fan_dev_stats_inc_rx_errors(fan.dev());
                    sys::kfree_skb(skb);
                    return 0;
                }
            }
        }

        let tpi: *const sys::tnl_ptk_info = if ipproto == sys::IPPROTO_MPLS as u8 {
            &MPLSIP_TPI
        } else {
            &IPIP_TPI
        };
        if sys::iptunnel_pull_header(skb, 0, (*tpi).proto, false) != 0 {
            sys::kfree_skb(skb);
            return 0;
        }
        let mut tun_dst = ptr::null_mut();
        if (*tunnel).collect_md {
            let none: [core::ffi::c_ulong; 1] = [0];
            tun_dst = sys::ip_tun_rx_dst(skb, none.as_ptr(), 0, 0);
            if tun_dst.is_null() {
                sys::kfree_skb(skb);
                return 0;
            }
            sys::ip_tunnel_md_udp_encap(skb, &mut (*tun_dst).u.tun_info);
        }
        sys::skb_reset_mac_header(skb);
        sys::ip_tunnel_rcv(tunnel, skb, tpi, tun_dst, true)
    }
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

/// ICMP errors about packets we sent (`ipip_err`): PMTU updates and
/// redirects, and error accounting for the tunnel.
///
/// # Safety
///
/// Called by the xfrm4 tunnel layer as the error handler, with an ICMP error
/// about a packet we sent, inside an RCU read section.
unsafe extern "C" fn ipip_err(skb: *mut sys::sk_buff, info: u32) -> c_int {
    // SAFETY: the xfrm4 tunnel layer passes the ICMP error's skb, whose data
    // is the IPv4 header of the packet we sent, inside an RCU read section.
    unsafe {
        let dev = sys::fan_skb_dev(skb);
        let net = sys::dev_net(dev);
        let itn = pernet::tunnel_net(net);
        let iph = (*skb).data.cast::<sys::iphdr>();
        let icmp = sys::icmp_hdr(skb);
        let (kind, code) = (u32::from((*icmp).type_), u32::from((*icmp).code));
        let flags = no_key_flags();
        let t = sys::ip_tunnel_lookup(
            itn,
            (*dev).ifindex,
            flags.as_ptr(),
            sys::be32((*iph).daddr()),
            sys::be32((*iph).saddr()),
            0,
        );
        if t.is_null() {
            return ENOENT.to_errno();
        }
        match kind {
            sys::ICMP_DEST_UNREACH if code == sys::ICMP_SR_FAILED => return 0,
            sys::ICMP_DEST_UNREACH | sys::ICMP_REDIRECT => {}
            sys::ICMP_TIME_EXCEEDED if code == sys::ICMP_EXC_TTL => {}
            _ => return 0,
        }
        if kind == sys::ICMP_DEST_UNREACH && code == sys::ICMP_FRAG_NEEDED {
            sys::ipv4_update_pmtu(skb, net, info, (*t).parms.link, (*iph).protocol);
            return 0;
        }
        if kind == sys::ICMP_REDIRECT {
            sys::ipv4_redirect(skb, net, (*t).parms.link, (*iph).protocol);
            return 0;
        }
        if (*t).parms.iph.daddr().is_unspecified() {
            return ENOENT.to_errno();
        }
        if (*t).parms.iph.ttl == 0 && kind == sys::ICMP_TIME_EXCEEDED {
            return 0;
        }
        let now = sys::fan_jiffies();
        let timeout = (*t).err_time.wrapping_add(sys::FAN_IPTUNNEL_ERR_TIMEO);
        if (now.wrapping_sub(timeout) as core::ffi::c_long) < 0 {
            (*t).err_count += 1;
        } else {
            (*t).err_count = 1;
        }
        (*t).err_time = now;
        0
    }
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
            sys::xfrm4_tunnel_register(IPIP_HANDLER.get(), sys::AF_INET as _)
        })?;
        let mut handlers = Handlers { mpls: false };
        if cfg!(CONFIG_MPLS) {
            // SAFETY: as above.
            kernel::error::to_result(unsafe {
                sys::xfrm4_tunnel_register(MPLSIP_HANDLER.get(), sys::AF_MPLS as _)
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
                sys::xfrm4_tunnel_deregister(MPLSIP_HANDLER.get(), sys::AF_MPLS as _);
            }
            sys::xfrm4_tunnel_deregister(IPIP_HANDLER.get(), sys::AF_INET as _);
        }
    }
}
