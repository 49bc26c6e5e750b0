// SPDX-License-Identifier: GPL-2.0

//! Packets, safely: an `Skb` is a socket buffer that the data path owns.
//! Dropping it frees the packet; handing it to the kernel (`into_raw`) gives
//! it away. Headers are read by copy, since they need not be aligned.

use crate::sys;
use core::marker::PhantomData;
use core::mem::size_of;
use core::ptr::{self, NonNull};

/// What an skb carries, by its `protocol`.
pub(crate) enum Payload {
    /// IPv4, with a copy of its header.
    Ipv4(sys::iphdr),
    Mpls,
    Other,
}

/// A packet this module owns.
pub(crate) struct Skb(NonNull<sys::sk_buff>);

/// A packet this module may read but does not own (one offered to a receive
/// handler before it accepts it, an ICMP error being handled).
#[derive(Clone, Copy)]
pub(crate) struct SkbRef<'a> {
    skb: NonNull<sys::sk_buff>,
    _packet: PhantomData<&'a sys::sk_buff>,
}

impl<'a> SkbRef<'a> {
    /// # Safety
    ///
    /// `skb` is a valid socket buffer for `'a`, in softirq or RCU context.
    pub(crate) unsafe fn from_raw(skb: *mut sys::sk_buff) -> Option<Self> {
        NonNull::new(skb).map(|skb| Self {
            skb,
            _packet: PhantomData,
        })
    }

    /// The packet, for kernel helpers that only read it.
    pub(crate) fn as_raw(self) -> *mut sys::sk_buff {
        self.skb.as_ptr()
    }

    /// The device the packet arrived on, or is being sent from.
    pub(crate) fn dev(self) -> *mut sys::net_device {
        // SAFETY: a valid skb (type invariant).
        unsafe { sys::fan_skb_dev(self.as_raw()) }
    }

    /// The IPv4 header at the network header (the outer header of a received
    /// tunnel packet, which IP input has pulled).
    pub(crate) fn network_header(self) -> sys::iphdr {
        // SAFETY: on receive and in ICMP error handling, the network header
        // is a pulled IPv4 header; it is copied, as it may be unaligned.
        unsafe { ptr::read_unaligned(sys::ip_hdr(self.as_raw())) }
    }

    /// The IPv4 header at the packet's data, if the linear part holds one
    /// (the inner header of a received tunnel packet, the original header
    /// quoted in an ICMP error).
    pub(crate) fn data_ipv4(self) -> Option<sys::iphdr> {
        let skb = self.as_raw();
        // SAFETY: a valid skb (type invariant): plain length fields.
        let linear = unsafe { (*skb).len.saturating_sub((*skb).data_len) };
        if (linear as usize) < size_of::<sys::iphdr>() {
            return None;
        }
        // SAFETY: the linear data holds a whole header (checked); copied,
        // as it may be unaligned.
        Some(unsafe { ptr::read_unaligned((*skb).data.cast::<sys::iphdr>()) })
    }

    /// Type and code of the ICMP header (an ICMP error being handled).
    pub(crate) fn icmp_type_code(self) -> (u8, u8) {
        // SAFETY: the ICMP layer pulled the ICMP header before calling the
        // error handlers; copied, as it may be unaligned.
        let icmp = unsafe { ptr::read_unaligned(sys::icmp_hdr(self.as_raw())) };
        (icmp.type_, icmp.code)
    }
}

impl Skb {
    /// # Safety
    ///
    /// `skb` is a valid socket buffer whose ownership the kernel hands over
    /// (it is ours to free or to pass on), used in softirq or RCU context.
    pub(crate) unsafe fn from_raw(skb: *mut sys::sk_buff) -> Option<Self> {
        NonNull::new(skb).map(Self)
    }

    /// Give the packet away (to a kernel function that consumes it).
    pub(crate) fn into_raw(self) -> *mut sys::sk_buff {
        let skb = self.0.as_ptr();
        core::mem::forget(self);
        skb
    }

    /// The packet, to read.
    pub(crate) fn view(&self) -> SkbRef<'_> {
        SkbRef {
            skb: self.0,
            _packet: PhantomData,
        }
    }

    /// The packet, for kernel helpers that work on it without consuming it.
    pub(crate) fn as_raw(&self) -> *mut sys::sk_buff {
        self.0.as_ptr()
    }

    /// Make the network header readable (`pskb_inet_may_pull`) and say what
    /// it is; `None` if the packet is too short for its protocol.
    pub(crate) fn network_payload(&mut self) -> Option<Payload> {
        let skb = self.as_raw();
        // SAFETY: a valid skb of ours (type invariant).
        if !unsafe { sys::pskb_inet_may_pull(skb) } {
            return None;
        }
        // SAFETY: as above.
        let protocol = u16::from_be(unsafe { sys::fan_skb_protocol(skb) });
        Some(match protocol {
            sys::FAN_ETH_P_IP => {
                // SAFETY: pskb_inet_may_pull made an IPv4 header readable at
                // the network header; it is copied, as it may be unaligned.
                Payload::Ipv4(unsafe { ptr::read_unaligned(sys::ip_hdr(skb)) })
            }
            sys::FAN_ETH_P_MPLS_UC => Payload::Mpls,
            _ => Payload::Other,
        })
    }

    /// `iptunnel_handle_offloads`: prepare GSO and checksums for encapsulation.
    pub(crate) fn handle_offloads(&mut self) -> bool {
        // SAFETY: a valid skb of ours (type invariant).
        unsafe { sys::iptunnel_handle_offloads(self.as_raw(), sys::FAN_SKB_GSO_IPXIP4) == 0 }
    }

    pub(crate) fn set_inner_ipproto(&mut self, ipproto: u8) {
        // SAFETY: a valid skb of ours (type invariant).
        unsafe { sys::skb_set_inner_ipproto(self.as_raw(), ipproto) }
    }

    /// Bytes in the packet.
    pub(crate) fn len(&self) -> u32 {
        // SAFETY: a valid skb of ours (type invariant): a plain field.
        unsafe { (*self.as_raw()).len }
    }

    /// Whether the packet will be segmented (GSO) after encapsulation.
    pub(crate) fn is_gso(&self) -> bool {
        // SAFETY: a valid skb of ours (type invariant).
        unsafe { sys::skb_is_gso(self.as_raw()) }
    }

    /// The path MTU of the route that brought the packet to the tunnel, if
    /// it has a real one (not tunnel metadata).
    pub(crate) fn route_mtu(&self) -> Option<u32> {
        let skb = self.as_raw();
        // SAFETY: a valid skb of ours (type invariant); its route is held
        // by the packet while it is valid.
        unsafe { sys::skb_valid_dst(skb).then(|| sys::dst_mtu(sys::skb_dst(skb))) }
    }

    /// Lower the path MTU of the packet's route to `mtu`, if it has a real
    /// route (`skb_dst_update_pmtu_no_confirm`).
    pub(crate) fn update_route_mtu(&mut self, mtu: u32) {
        let skb = self.as_raw();
        // SAFETY: as in `route_mtu`.
        unsafe {
            if sys::skb_valid_dst(skb) {
                sys::skb_dst_update_pmtu_no_confirm(skb, mtu);
            }
        }
    }

    /// Forget the IP options parsed on the way in, which an ICMP error
    /// about the packet would echo (the control block is the IP layer's).
    pub(crate) fn clear_ip_options(&mut self) {
        // SAFETY: a valid skb of ours (type invariant).
        unsafe { sys::fan_skb_clear_ip_options(self.as_raw()) }
    }

    /// Tell the sender the packet is too big for a path of `mtu` bytes
    /// (ICMP "fragmentation needed", through NAT if the packet was NATed).
    pub(crate) fn send_frag_needed(&self, mtu: u32) {
        // SAFETY: a valid IPv4 skb of ours (type invariant); the helper only
        // reads it.
        unsafe {
            sys::icmp_ndo_send(
                self.as_raw(),
                sys::ICMP_DEST_UNREACH as i32,
                sys::ICMP_FRAG_NEEDED as i32,
                mtu.to_be(),
            )
        }
    }

    /// Tell the sender its destination is unreachable (`dst_link_failure`).
    pub(crate) fn report_link_failure(&mut self) {
        // SAFETY: a valid skb of ours (type invariant).
        unsafe { sys::dst_link_failure(self.as_raw()) }
    }

    /// Make `headroom` bytes writable in front of the data
    /// (`skb_cow_head`); false if there is no memory for it.
    pub(crate) fn make_headroom(&mut self, headroom: u32) -> bool {
        // SAFETY: a valid skb of ours (type invariant).
        unsafe { sys::skb_cow_head(self.as_raw(), headroom) == 0 }
    }

    /// Whether IPsec policy lets the decapsulated packet in.
    pub(crate) fn xfrm_policy_allows_in(&self) -> bool {
        // SAFETY: a valid received skb (type invariant); no socket.
        unsafe {
            sys::xfrm4_policy_check(ptr::null_mut(), sys::FAN_XFRM_POLICY_IN, self.as_raw()) != 0
        }
    }

    /// Strip the outer header (`iptunnel_pull_header`).
    pub(crate) fn pull_tunnel_header(&mut self, inner_proto_be: u16) -> bool {
        // SAFETY: a valid received skb of ours (type invariant).
        unsafe { sys::iptunnel_pull_header(self.as_raw(), 0, inner_proto_be, false) == 0 }
    }

    pub(crate) fn reset_mac_header(&mut self) {
        // SAFETY: a valid skb of ours (type invariant).
        unsafe { sys::skb_reset_mac_header(self.as_raw()) }
    }
}

impl Drop for Skb {
    fn drop(&mut self) {
        // SAFETY: the packet is ours and was not given away (`into_raw`
        // forgets the value), so this is its one release.
        unsafe { sys::kfree_skb(self.as_raw()) }
    }
}
