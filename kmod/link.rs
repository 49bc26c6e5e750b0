// SPDX-License-Identifier: GPL-2.0

//! The `ipip` link kind: device setup, netlink configuration and dumps.
//!
//! Everything but the fan map is Linux's own ipip (net/ipv4/ipip.c), built
//! on the same exported ip_tunnel helpers, so a user cannot tell the
//! difference except that fan maps work.

use crate::fanmap::{IFLA_FAN_MAPPING, IFLA_IPTUN_FAN_MAP, MAX_MAPS, WIRE_LEN};
use crate::netlink::FanMapAttr;
use crate::sys::{self, KernelStatic, Shared};
use crate::tunnel::{Tunnel, PRIV_SIZE};
use crate::{pernet, xmit};
use core::ffi::{c_int, c_void};
use core::ptr;
use kernel::error::{code::*, to_result, Result};

const MAXTYPE: usize = IFLA_IPTUN_FAN_MAP as usize;

/// Encoded `-errno` for a C callback.
fn errno(result: Result) -> c_int {
    match result {
        Ok(()) => 0,
        Err(e) => e.to_errno(),
    }
}

const fn policy(kind: u8) -> sys::nla_policy {
    let mut p: sys::nla_policy = sys::zeroed();
    p.type_ = kind;
    p
}

static POLICY: Shared<[sys::nla_policy; MAXTYPE + 1]> = Shared({
    let mut p = [policy(sys::FAN_NLA_UNSPEC); MAXTYPE + 1];
    p[sys::IFLA_IPTUN_LINK as usize] = policy(sys::FAN_NLA_U32);
    p[sys::IFLA_IPTUN_LOCAL as usize] = policy(sys::FAN_NLA_U32);
    p[sys::IFLA_IPTUN_REMOTE as usize] = policy(sys::FAN_NLA_U32);
    p[sys::IFLA_IPTUN_TTL as usize] = policy(sys::FAN_NLA_U8);
    p[sys::IFLA_IPTUN_TOS as usize] = policy(sys::FAN_NLA_U8);
    p[sys::IFLA_IPTUN_PROTO as usize] = policy(sys::FAN_NLA_U8);
    p[sys::IFLA_IPTUN_PMTUDISC as usize] = policy(sys::FAN_NLA_U8);
    p[sys::IFLA_IPTUN_ENCAP_TYPE as usize] = policy(sys::FAN_NLA_U16);
    p[sys::IFLA_IPTUN_ENCAP_FLAGS as usize] = policy(sys::FAN_NLA_U16);
    p[sys::IFLA_IPTUN_ENCAP_SPORT as usize] = policy(sys::FAN_NLA_U16);
    p[sys::IFLA_IPTUN_ENCAP_DPORT as usize] = policy(sys::FAN_NLA_U16);
    p[sys::IFLA_IPTUN_COLLECT_METADATA as usize] = policy(sys::FAN_NLA_FLAG);
    p[sys::IFLA_IPTUN_FWMARK as usize] = policy(sys::FAN_NLA_U32);
    p[MAXTYPE] = policy(sys::FAN_NLA_NESTED);
    p
});

pub(crate) static LINK_OPS: KernelStatic<sys::rtnl_link_ops> = KernelStatic::new({
    let mut ops: sys::rtnl_link_ops = sys::zeroed();
    ops.kind = c"ipip".as_ptr();
    ops.maxtype = MAXTYPE as u32;
    ops.policy = POLICY.0.as_ptr();
    ops.priv_size = PRIV_SIZE;
    ops.setup = Some(setup);
    ops.validate = Some(validate);
    ops.newlink = Some(newlink);
    ops.changelink = Some(changelink);
    ops.dellink = Some(sys::ip_tunnel_dellink);
    ops.get_size = Some(get_size);
    ops.fill_info = Some(fill_info);
    ops.get_link_net = Some(sys::ip_tunnel_get_link_net);
    ops
});

static NETDEV_OPS: sys::net_device_ops = {
    let mut ops: sys::net_device_ops = sys::zeroed();
    ops.ndo_init = Some(dev_init);
    ops.ndo_uninit = Some(dev_uninit);
    ops.ndo_start_xmit = Some(xmit::start_xmit);
    ops.ndo_siocdevprivate = Some(sys::ip_tunnel_siocdevprivate);
    ops.ndo_change_mtu = Some(sys::ip_tunnel_change_mtu);
    ops.ndo_get_stats64 = Some(sys::dev_get_tstats64);
    ops.ndo_get_iflink = Some(sys::ip_tunnel_get_iflink);
    ops.ndo_tunnel_ctl = Some(tunnel_ctl);
    ops
};

/// # Safety
///
/// Called by the kernel as `rtnl_link_ops.setup` on a device it just allocated
/// with our `priv_size`.
unsafe extern "C" fn setup(dev: *mut sys::net_device) {
    // SAFETY: the kernel calls setup on a newly allocated device of ours.
    unsafe {
        (*dev).netdev_ops = &NETDEV_OPS;
        (*dev).header_ops = &sys::ip_tunnel_header_ops;
        (*dev).type_ = sys::ARPHRD_TUNNEL as u16;
        (*dev).flags = sys::FAN_IFF_NOARP;
        (*dev).addr_len = 4;
        sys::fan_dev_set_lltx(dev);
        sys::netif_keep_dst(dev);
        (*dev).features |= sys::FAN_IPIP_FEATURES;
        (*dev).hw_features |= sys::FAN_IPIP_FEATURES;
        sys::ip_tunnel_setup(dev, pernet::id());
    }
}

/// # Safety
///
/// Called by the kernel as `ndo_init` of a device of ours, under RTNL.
unsafe extern "C" fn dev_init(dev: *mut sys::net_device) -> c_int {
    // SAFETY: ndo_init of a device of ours, under RTNL.
    unsafe {
        let t = Tunnel::from_raw(dev).ip_tunnel();
        let iph = &(*t).parms.iph;
        let local = iph.saddr().octets();
        sys::__dev_addr_set(dev, local.as_ptr().cast(), 4);
        let remote = iph.daddr().octets();
        ptr::copy_nonoverlapping(remote.as_ptr(), (*dev).broadcast.as_mut_ptr(), 4);
        (*t).tun_hlen = 0;
        (*t).hlen = (*t).tun_hlen + (*t).encap_hlen;
        sys::ip_tunnel_init(dev)
    }
}

/// # Safety
///
/// Called by the kernel as `ndo_uninit` of a device of ours, under RTNL.
unsafe extern "C" fn dev_uninit(dev: *mut sys::net_device) {
    // SAFETY: ndo_uninit of a device of ours, under RTNL.
    let tunnel = unsafe { Tunnel::from_raw(dev) };
    // SAFETY: as above.
    unsafe { sys::ip_tunnel_uninit(dev) };
    // Receivers that found the device before it was unhashed may still read
    // the maps: `publish` frees them after a grace period.
    tunnel.publish(None);
}

/// The protocols an ipip device may carry: any (0), IPv4, MPLS.
fn valid_proto(proto: u8) -> bool {
    proto == 0
        || u32::from(proto) == sys::IPPROTO_IPIP
        || (cfg!(CONFIG_MPLS) && u32::from(proto) == sys::IPPROTO_MPLS)
}

/// # Safety
///
/// Called by the kernel as `ndo_tunnel_ctl` of a device of ours, under RTNL,
/// with the ioctl's parameters.
unsafe extern "C" fn tunnel_ctl(
    dev: *mut sys::net_device,
    p: *mut sys::ip_tunnel_parm_kern,
    cmd: c_int,
) -> c_int {
    // SAFETY: the kernel passes a device of ours and the ioctl's parameters.
    unsafe {
        let p = &mut *p;
        if cmd == sys::FAN_SIOCADDTUNNEL || cmd == sys::FAN_SIOCCHGTUNNEL {
            if p.iph.version() != 4
                || !valid_proto(p.iph.protocol)
                || p.iph.ihl() != 5
                || (p.iph.frag_off & !(sys::IP_DF as u16).to_be()) != 0
            {
                return EINVAL.to_errno();
            }
            // A fan device sends to computed destinations, never a remote.
            // Only a change made on a fan device itself could give it one:
            // an add creates a new device without maps, and a change made
            // through tunl0 applies to the tunnel that has that remote.
            let tunnel = Tunnel::from_raw(dev);
            if cmd == sys::FAN_SIOCCHGTUNNEL
                && !p.iph.daddr().is_unspecified()
                && tunnel.maps().is_some()
                && !pernet::is_fallback(dev, (*tunnel.ip_tunnel()).net)
            {
                return EINVAL.to_errno();
            }
        }
        p.i_key = 0;
        p.o_key = 0;
        p.i_flags = [0; _];
        p.o_flags = [0; _];
        sys::ip_tunnel_ctl(dev, p, cmd)
    }
}

/// Attribute `kind` of a request's `IFLA_INFO_DATA`, if present.
///
/// # Safety
///
/// `data` is null or the request's parsed table of `MAXTYPE + 1` entries.
unsafe fn attr(data: *mut *mut sys::nlattr, kind: u32) -> *mut sys::nlattr {
    if data.is_null() {
        return ptr::null_mut();
    }
    // SAFETY: `kind` <= MAXTYPE for every caller, within the table.
    unsafe { *data.add(kind as usize) }
}

/// # Safety
///
/// Called by the kernel as `rtnl_link_ops.validate` with a request's parsed
/// attribute tables (`data` null or `MAXTYPE + 1` entries).
unsafe extern "C" fn validate(
    _tb: *mut *mut sys::nlattr,
    data: *mut *mut sys::nlattr,
    extack: *mut sys::netlink_ext_ack,
) -> c_int {
    // SAFETY: the kernel passes the request's parsed attribute tables.
    unsafe {
        let proto = attr(data, sys::IFLA_IPTUN_PROTO);
        if !proto.is_null() && !valid_proto(sys::nla_get_u8(proto)) {
            return EINVAL.to_errno();
        }
        let Some(maps) = FanMapAttr::from_data(data) else {
            return 0;
        };
        let remote = attr(data, sys::IFLA_IPTUN_REMOTE);
        if !remote.is_null() && sys::nla_get_in_addr(remote) != 0 {
            sys::set_extack(
                extack,
                remote,
                c"a fan device sends to computed destinations: fan-map cannot be used with a remote address",
            );
            return EINVAL.to_errno();
        }
        if !attr(data, sys::IFLA_IPTUN_COLLECT_METADATA).is_null() {
            sys::set_extack(
                extack,
                ptr::null(),
                c"fan-map cannot be used on an external (collect_md) device",
            );
            return EINVAL.to_errno();
        }
        errno(maps.validate(extack))
    }
}

/// The request's stock ipip parameters (`ipip_netlink_parms`).
///
/// # Safety
///
/// `data` is null or the request's parsed attribute table.
unsafe fn netlink_parms(
    data: *mut *mut sys::nlattr,
    parms: &mut sys::ip_tunnel_parm_kern,
    collect_md: &mut bool,
    fwmark: &mut u32,
) {
    *parms = sys::zeroed();
    parms.iph.set_version(4);
    parms.iph.protocol = sys::IPPROTO_IPIP as u8;
    parms.iph.set_ihl(5);
    *collect_md = false;
    if data.is_null() {
        return;
    }
    // SAFETY: a parsed table (caller); the helper reads what is present.
    unsafe {
        sys::ip_tunnel_netlink_parms(data, parms);
        *collect_md = !attr(data, sys::IFLA_IPTUN_COLLECT_METADATA).is_null();
        let mark = attr(data, sys::IFLA_IPTUN_FWMARK);
        if !mark.is_null() {
            *fwmark = sys::nla_get_u32(mark);
        }
    }
}

/// Encapsulation (FOU/GUE) parameters of the request, applied to `t`.
///
/// # Safety
///
/// `t` is a tunnel of ours under RTNL; `data` as for `netlink_parms`.
unsafe fn encap_setup(t: *mut sys::ip_tunnel, data: *mut *mut sys::nlattr) -> Result {
    let mut encap: sys::ip_tunnel_encap = sys::zeroed();
    // SAFETY: as the function's contract.
    unsafe {
        if sys::ip_tunnel_netlink_encap_parms(data, &mut encap) {
            to_result(sys::ip_tunnel_encap_setup(t, &mut encap))?;
        }
    }
    Ok(())
}

/// # Safety
///
/// Called by the kernel as `rtnl_link_ops.newlink` for a device of ours, under
/// RTNL, with the request's parsed attributes.
unsafe extern "C" fn newlink(
    _src_net: *mut sys::net,
    dev: *mut sys::net_device,
    tb: *mut *mut sys::nlattr,
    data: *mut *mut sys::nlattr,
    extack: *mut sys::netlink_ext_ack,
) -> c_int {
    // SAFETY: newlink of a device of ours, under RTNL, with the request's
    // parsed attributes (already accepted by `validate`).
    unsafe {
        let tunnel = Tunnel::from_raw(dev);
        let t = tunnel.ip_tunnel();
        // Build the maps before the device exists, so a bad map creates nothing.
        let maps = match FanMapAttr::from_data(data) {
            Some(attr) => match attr.apply(None, extack) {
                Ok(table) => Some(table),
                Err(e) => return e.to_errno(),
            },
            None => None,
        };
        if let Err(e) = encap_setup(t, data) {
            return e.to_errno();
        }
        let mut p = sys::zeroed();
        let mut fwmark = 0;
        netlink_parms(data, &mut p, &mut (*t).collect_md, &mut fwmark);
        let err = sys::ip_tunnel_newlink(dev, tb, &mut p, fwmark);
        if err == 0 {
            tunnel.publish(maps);
        }
        err
    }
}

/// # Safety
///
/// Called by the kernel as `rtnl_link_ops.changelink` for a device of ours,
/// under RTNL, with the request's parsed attributes.
unsafe extern "C" fn changelink(
    dev: *mut sys::net_device,
    tb: *mut *mut sys::nlattr,
    data: *mut *mut sys::nlattr,
    extack: *mut sys::netlink_ext_ack,
) -> c_int {
    // SAFETY: changelink of a device of ours, under RTNL, with the request's
    // parsed attributes (already accepted by `validate`).
    unsafe {
        let tunnel = Tunnel::from_raw(dev);
        let t = tunnel.ip_tunnel();
        if !sys::rtnl_dev_link_net_capable(dev, (*t).net) {
            return EPERM.to_errno();
        }
        let current = tunnel.maps();
        let maps = match FanMapAttr::from_data(data) {
            Some(attr) => match attr.apply(current, extack) {
                Ok(table) => Some(table),
                Err(e) => return e.to_errno(),
            },
            None => None,
        };

        // Ubuntu's fanctl configures the fallback device: a request that
        // carries maps changes only the maps there. Without maps, tunl0
        // refuses changes as Linux's ipip does.
        if maps.is_some() && pernet::is_fallback(dev, (*t).net) {
            tunnel.publish(maps);
            return 0;
        }

        let mut p = sys::zeroed();
        let mut collect_md = false;
        let mut fwmark = (*t).fwmark;
        netlink_parms(data, &mut p, &mut collect_md, &mut fwmark);
        let has_remote = !p.iph.daddr().is_unspecified();
        let p2p = (*dev).flags & sys::FAN_IFF_POINTOPOINT != 0;
        let fan_after = match &maps {
            Some(table) => !table.table().is_empty(),
            None => current.is_some(),
        };
        // The fan's own refusals come before anything is applied (the
        // encapsulation below), so that a refused request changes nothing.
        if fan_after && has_remote {
            sys::set_extack(
                extack,
                attr(data, sys::IFLA_IPTUN_REMOTE),
                c"a fan device sends to computed destinations: fan-map cannot be used with a remote address",
            );
            return EINVAL.to_errno();
        }
        if fan_after && (*t).collect_md {
            sys::set_extack(
                extack,
                attr(data, MAXTYPE as u32),
                c"fan-map cannot be used on an external (collect_md) device",
            );
            return EINVAL.to_errno();
        }
        if fan_after && p2p {
            sys::set_extack(
                extack,
                attr(data, MAXTYPE as u32),
                c"fan-map cannot be used on a point-to-point device (one with a remote address)",
            );
            return EINVAL.to_errno();
        }

        if let Err(e) = encap_setup(t, data) {
            return e.to_errno();
        }
        if collect_md {
            return EINVAL.to_errno();
        }
        if p2p != has_remote {
            return EINVAL.to_errno();
        }
        let err = sys::ip_tunnel_changelink(dev, tb, &mut p, fwmark);
        if err == 0 && maps.is_some() {
            tunnel.publish(maps);
        }
        err
    }
}

/// `nla_total_size`: header plus payload, padded.
const fn nla_total_size(payload: usize) -> usize {
    (sys::NLA_HDRLEN + payload).next_multiple_of(4)
}

/// # Safety
///
/// Called by the kernel as `rtnl_link_ops.get_size` for a device of ours, under
/// RTNL.
unsafe extern "C" fn get_size(dev: *const sys::net_device) -> usize {
    // SAFETY: called under RTNL for a device of ours.
    let maps = unsafe { Tunnel::from_raw(dev.cast_mut()).maps() };
    let stock = nla_total_size(4) * 3 // link, local, remote
        + nla_total_size(1) * 4 // ttl, tos, proto, pmtudisc
        + nla_total_size(2) * 4 // encap type, flags, sport, dport
        + nla_total_size(0) // collect_md
        + nla_total_size(4); // fwmark
    let fan = match maps {
        Some(m) => nla_total_size(0) + m.len().min(MAX_MAPS) * nla_total_size(WIRE_LEN),
        None => 0,
    };
    stock + fan
}

/// # Safety
///
/// Called by the kernel as `rtnl_link_ops.fill_info` for a device of ours, under
/// RTNL, with a message sized by `get_size`.
unsafe extern "C" fn fill_info(skb: *mut sys::sk_buff, dev: *const sys::net_device) -> c_int {
    // SAFETY: called under RTNL for a device of ours, with a message buffer
    // sized by `get_size`.
    unsafe {
        let tunnel = Tunnel::from_raw(dev.cast_mut());
        let t = tunnel.ip_tunnel();
        let parm = &(*t).parms;
        let df = parm.iph.frag_off & (sys::IP_DF as u16).to_be() != 0;
        let failed = sys::nla_put_u32(skb, sys::IFLA_IPTUN_LINK as c_int, parm.link as u32) != 0
            || sys::nla_put_in_addr(
                skb,
                sys::IFLA_IPTUN_LOCAL as c_int,
                sys::be32(parm.iph.saddr()),
            ) != 0
            || sys::nla_put_in_addr(
                skb,
                sys::IFLA_IPTUN_REMOTE as c_int,
                sys::be32(parm.iph.daddr()),
            ) != 0
            || sys::nla_put_u8(skb, sys::IFLA_IPTUN_TTL as c_int, parm.iph.ttl) != 0
            || sys::nla_put_u8(skb, sys::IFLA_IPTUN_TOS as c_int, parm.iph.tos) != 0
            || sys::nla_put_u8(skb, sys::IFLA_IPTUN_PROTO as c_int, parm.iph.protocol) != 0
            || sys::nla_put_u8(skb, sys::IFLA_IPTUN_PMTUDISC as c_int, df as u8) != 0
            || sys::nla_put_u32(skb, sys::IFLA_IPTUN_FWMARK as c_int, (*t).fwmark) != 0
            || sys::nla_put_u16(skb, sys::IFLA_IPTUN_ENCAP_TYPE as c_int, (*t).encap.type_) != 0
            || sys::nla_put_be16(skb, sys::IFLA_IPTUN_ENCAP_SPORT as c_int, (*t).encap.sport) != 0
            || sys::nla_put_be16(skb, sys::IFLA_IPTUN_ENCAP_DPORT as c_int, (*t).encap.dport) != 0
            || sys::nla_put_u16(skb, sys::IFLA_IPTUN_ENCAP_FLAGS as c_int, (*t).encap.flags) != 0
            || ((*t).collect_md
                && sys::nla_put_flag(skb, sys::IFLA_IPTUN_COLLECT_METADATA as c_int) != 0);
        if failed {
            return -sys::FAN_EMSGSIZE;
        }
        let Some(maps) = tunnel.maps() else {
            return 0;
        };
        let nest = sys::nla_nest_start(skb, c_int::from(IFLA_IPTUN_FAN_MAP));
        if nest.is_null() {
            return -sys::FAN_EMSGSIZE;
        }
        for map in maps {
            let wire = map.to_wire();
            let kind = c_int::from(IFLA_FAN_MAPPING);
            if sys::nla_put(skb, kind, WIRE_LEN as c_int, wire.as_ptr().cast::<c_void>()) != 0 {
                sys::nla_nest_cancel(skb, nest);
                return -sys::FAN_EMSGSIZE;
            }
        }
        sys::nla_nest_end(skb, nest);
        0
    }
}
