// SPDX-License-Identifier: GPL-2.0

//! The `ipip` link kind: device setup, netlink configuration and dumps.
//!
//! Everything but the fan map is Linux's own ipip (net/ipv4/ipip.c), built
//! on the same exported ip_tunnel helpers, so a user cannot tell the
//! difference except that fan maps work.

use crate::fanmap::{IFLA_FAN_MAPPING, IFLA_IPTUN_FAN_MAP, MAX_MAPS, WIRE_LEN};
use crate::netlink::FanMapAttr;
use crate::nla::{Attrs, Extack, Msg};
use crate::sys::{self, KernelStatic, Shared};
use crate::tunnel::{self, Tunnel, PRIV_SIZE};
use crate::{pernet, xmit};
use core::ffi::{c_int, CStr};
use kernel::error::{code::*, Result};

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
    match unsafe { Tunnel::from_raw(dev) } {
        Some(mut tunnel) => errno(tunnel.init()),
        None => EINVAL.to_errno(),
    }
}

/// # Safety
///
/// Called by the kernel as `ndo_uninit` of a device of ours, under RTNL.
unsafe extern "C" fn dev_uninit(dev: *mut sys::net_device) {
    // SAFETY: ndo_uninit of a device of ours, under RTNL.
    if let Some(mut tunnel) = unsafe { Tunnel::from_raw(dev) } {
        tunnel.uninit();
        // Receivers that found the device before it was unhashed may still
        // read the maps: `publish` frees them after a grace period.
        tunnel.publish(None);
    }
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
    // SAFETY: the kernel passes a device of ours and the ioctl's parameters,
    // under RTNL.
    let (tunnel, p) = unsafe { (Tunnel::from_raw(dev), p.as_mut()) };
    let (Some(tunnel), Some(p)) = (tunnel, p) else {
        return EINVAL.to_errno();
    };
    if let Err(e) = check_ioctl(&tunnel, p, cmd) {
        return e.to_errno();
    }
    p.i_key = 0;
    p.o_key = 0;
    p.i_flags = [0; _];
    p.o_flags = [0; _];
    tunnel.ioctl(p, cmd)
}

/// `ipip_tunnel_ctl`'s checks of an add or change, and the fan's own.
fn check_ioctl(tunnel: &Tunnel<'_>, p: &sys::ip_tunnel_parm_kern, cmd: c_int) -> Result {
    if cmd != sys::FAN_SIOCADDTUNNEL && cmd != sys::FAN_SIOCCHGTUNNEL {
        return Ok(());
    }
    if p.iph.version() != 4
        || !valid_proto(p.iph.protocol)
        || p.iph.ihl() != 5
        || (p.iph.frag_off & !(sys::IP_DF as u16).to_be()) != 0
    {
        return Err(EINVAL);
    }
    // A fan device sends to computed destinations, never a remote. Only a
    // change made on a fan device itself could give it one: an add creates
    // a new device without maps, and a change made through tunl0 applies
    // to the tunnel that has that remote.
    if cmd == sys::FAN_SIOCCHGTUNNEL
        && !p.iph.daddr().is_unspecified()
        && tunnel.maps().is_some()
        && !pernet::is_fallback(tunnel)
    {
        return Err(EINVAL);
    }
    Ok(())
}

const REMOTE_WITH_FAN: &CStr =
    c"a fan device sends to computed destinations: fan-map cannot be used with a remote address";
const EXTERNAL_WITH_FAN: &CStr = c"fan-map cannot be used on an external (collect_md) device";
const P2P_WITH_FAN: &CStr =
    c"fan-map cannot be used on a point-to-point device (one with a remote address)";

/// # Safety
///
/// Called by the kernel as `rtnl_link_ops.validate` with a request's parsed
/// attribute tables (`data` null or `MAXTYPE + 1` entries).
unsafe extern "C" fn validate(
    _tb: *mut *mut sys::nlattr,
    data: *mut *mut sys::nlattr,
    extack: *mut sys::netlink_ext_ack,
) -> c_int {
    // SAFETY: the kernel passes the request's parsed attributes and ack.
    let (data, mut extack) = unsafe {
        (
            Attrs::from_raw(data, MAXTYPE as u32 + 1),
            Extack::from_raw(extack),
        )
    };
    errno(check_request(data, &mut extack))
}

/// What can be checked of a request without its device.
fn check_request(data: Attrs<'_>, extack: &mut Extack<'_>) -> Result {
    if let Some(proto) = data.get(sys::IFLA_IPTUN_PROTO) {
        if !valid_proto(proto.get_u8()) {
            return Err(EINVAL);
        }
    }
    let Some(maps) = FanMapAttr::from_data(data) else {
        return Ok(());
    };
    if let Some(remote) = data.get(sys::IFLA_IPTUN_REMOTE) {
        if remote.get_be32() != 0 {
            extack.report(Some(remote), REMOTE_WITH_FAN);
            return Err(EINVAL);
        }
    }
    if data.has(sys::IFLA_IPTUN_COLLECT_METADATA) {
        extack.report(None, EXTERNAL_WITH_FAN);
        return Err(EINVAL);
    }
    maps.validate(extack)
}

/// The request's stock ipip parameters (`ipip_netlink_parms`): the
/// parameters, whether the device is external (collect_md), and the fwmark
/// if the request sets one.
fn netlink_parms(data: Attrs<'_>) -> (sys::ip_tunnel_parm_kern, bool, Option<u32>) {
    let mut parms: sys::ip_tunnel_parm_kern = sys::zeroed();
    parms.iph.set_version(4);
    parms.iph.protocol = sys::IPPROTO_IPIP as u8;
    parms.iph.set_ihl(5);
    if data.is_empty() {
        return (parms, false, None);
    }
    tunnel::read_netlink_parms(data, &mut parms);
    let collect_md = data.has(sys::IFLA_IPTUN_COLLECT_METADATA);
    let fwmark = data.get(sys::IFLA_IPTUN_FWMARK).map(|a| a.get_u32());
    (parms, collect_md, fwmark)
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
    // parsed attributes (already accepted by `validate`) and ack.
    unsafe { link_request(dev, tb, data, extack, new_tunnel) }
}

/// What a newlink or changelink request works with.
type LinkRequest = for<'a, 'b> fn(&mut Tunnel<'a>, Attrs<'a>, Attrs<'a>, &mut Extack<'b>) -> Result;

/// Run `request` on the callback's arguments as safe types.
///
/// # Safety
///
/// `dev` is a device of ours, under RTNL; `tb` and `data` are the request's
/// parsed attribute tables (null or `IFLA_MAX + 1` and `MAXTYPE + 1`
/// entries) and `extack` its extended ack, all live for the callback.
unsafe fn link_request(
    dev: *mut sys::net_device,
    tb: *mut *mut sys::nlattr,
    data: *mut *mut sys::nlattr,
    extack: *mut sys::netlink_ext_ack,
    request: LinkRequest,
) -> c_int {
    // SAFETY: the function's contract.
    let (tunnel, tb, data, mut extack) = unsafe {
        (
            Tunnel::from_raw(dev),
            Attrs::from_raw(tb, sys::FAN_IFLA_MAX + 1),
            Attrs::from_raw(data, MAXTYPE as u32 + 1),
            Extack::from_raw(extack),
        )
    };
    match tunnel {
        Some(mut tunnel) => errno(request(&mut tunnel, tb, data, &mut extack)),
        None => EINVAL.to_errno(),
    }
}

fn new_tunnel(
    tunnel: &mut Tunnel<'_>,
    tb: Attrs<'_>,
    data: Attrs<'_>,
    extack: &mut Extack<'_>,
) -> Result {
    // Build the maps before the device exists, so a bad map creates nothing.
    let maps = match FanMapAttr::from_data(data) {
        Some(attr) => Some(attr.apply(None, extack)?),
        None => None,
    };
    tunnel.setup_encap(data)?;
    let (mut parms, collect_md, fwmark) = netlink_parms(data);
    tunnel.set_collect_md(collect_md);
    tunnel.newlink(tb, &mut parms, fwmark.unwrap_or(0))?;
    tunnel.publish(maps);
    Ok(())
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
    // parsed attributes (already accepted by `validate`) and ack.
    unsafe { link_request(dev, tb, data, extack, change_tunnel) }
}

fn change_tunnel(
    tunnel: &mut Tunnel<'_>,
    tb: Attrs<'_>,
    data: Attrs<'_>,
    extack: &mut Extack<'_>,
) -> Result {
    if !tunnel.link_net_capable() {
        return Err(EPERM);
    }
    let (maps, was_fan) = {
        let current = tunnel.maps();
        let maps = match FanMapAttr::from_data(data) {
            Some(attr) => Some(attr.apply(current, extack)?),
            None => None,
        };
        (maps, current.is_some())
    };

    // Ubuntu's fanctl configures the fallback device: a request that
    // carries maps changes only the maps there. Without maps, tunl0
    // refuses changes as Linux's ipip does.
    if maps.is_some() && pernet::is_fallback(tunnel) {
        tunnel.publish(maps);
        return Ok(());
    }

    let (mut parms, collect_md, fwmark) = netlink_parms(data);
    let fwmark = fwmark.unwrap_or(tunnel.fwmark());
    let has_remote = !parms.iph.daddr().is_unspecified();
    let p2p = tunnel.is_point_to_point();
    let fan_after = match &maps {
        Some(table) => !table.table().is_empty(),
        None => was_fan,
    };
    // The fan's own refusals come before anything is applied (the
    // encapsulation below), so that a refused request changes nothing.
    if fan_after && has_remote {
        extack.report(data.get(sys::IFLA_IPTUN_REMOTE), REMOTE_WITH_FAN);
        return Err(EINVAL);
    }
    if fan_after && tunnel.collect_md() {
        extack.report(data.get(MAXTYPE as u32), EXTERNAL_WITH_FAN);
        return Err(EINVAL);
    }
    if fan_after && p2p {
        extack.report(data.get(MAXTYPE as u32), P2P_WITH_FAN);
        return Err(EINVAL);
    }

    tunnel.setup_encap(data)?;
    if collect_md || p2p != has_remote {
        return Err(EINVAL);
    }
    tunnel.changelink(tb, &mut parms, fwmark)?;
    if maps.is_some() {
        tunnel.publish(maps);
    }
    Ok(())
}

/// `nla_total_size`: header plus payload, padded.
const fn nla_total_size(payload: usize) -> usize {
    (sys::NLA_HDRLEN + payload).next_multiple_of(4)
}

/// # Safety
///
/// Called by the kernel as `rtnl_link_ops.get_size` for a device of ours,
/// under RTNL.
unsafe extern "C" fn get_size(dev: *const sys::net_device) -> usize {
    // SAFETY: called under RTNL for a device of ours.
    let maps =
        unsafe { Tunnel::from_raw(dev.cast_mut()) }.map_or(0, |t| t.maps().map_or(0, |m| m.len()));
    let stock = nla_total_size(4) * 3 // link, local, remote
        + nla_total_size(1) * 4 // ttl, tos, proto, pmtudisc
        + nla_total_size(2) * 4 // encap type, flags, sport, dport
        + nla_total_size(0) // collect_md
        + nla_total_size(4); // fwmark
    let fan = match maps {
        0 => 0,
        n => nla_total_size(0) + n.min(MAX_MAPS) * nla_total_size(WIRE_LEN),
    };
    stock + fan
}

/// # Safety
///
/// Called by the kernel as `rtnl_link_ops.fill_info` for a device of ours,
/// under RTNL, with a message sized by `get_size`.
unsafe extern "C" fn fill_info(skb: *mut sys::sk_buff, dev: *const sys::net_device) -> c_int {
    // SAFETY: called under RTNL for a device of ours, with a message being
    // built.
    let (tunnel, mut msg) = unsafe { (Tunnel::from_raw(dev.cast_mut()), Msg::from_raw(skb)) };
    match tunnel {
        Some(tunnel) => errno(fill(&tunnel, &mut msg)),
        None => EINVAL.to_errno(),
    }
}

/// The device's attributes, as Linux's ipip dumps them, then its fan maps.
fn fill(tunnel: &Tunnel<'_>, msg: &mut Msg<'_>) -> Result {
    let parms = tunnel.parms();
    let encap = tunnel.encap();
    let df = parms.iph.frag_off & (sys::IP_DF as u16).to_be() != 0;
    msg.put_u32(sys::IFLA_IPTUN_LINK, parms.link as u32)?;
    msg.put_be32(sys::IFLA_IPTUN_LOCAL, sys::be32(parms.iph.saddr()))?;
    msg.put_be32(sys::IFLA_IPTUN_REMOTE, sys::be32(parms.iph.daddr()))?;
    msg.put_u8(sys::IFLA_IPTUN_TTL, parms.iph.ttl)?;
    msg.put_u8(sys::IFLA_IPTUN_TOS, parms.iph.tos)?;
    msg.put_u8(sys::IFLA_IPTUN_PROTO, parms.iph.protocol)?;
    msg.put_u8(sys::IFLA_IPTUN_PMTUDISC, df as u8)?;
    msg.put_u32(sys::IFLA_IPTUN_FWMARK, tunnel.fwmark())?;
    msg.put_u16(sys::IFLA_IPTUN_ENCAP_TYPE, encap.type_)?;
    msg.put_be16(sys::IFLA_IPTUN_ENCAP_SPORT, encap.sport)?;
    msg.put_be16(sys::IFLA_IPTUN_ENCAP_DPORT, encap.dport)?;
    msg.put_u16(sys::IFLA_IPTUN_ENCAP_FLAGS, encap.flags)?;
    if tunnel.collect_md() {
        msg.put_flag(sys::IFLA_IPTUN_COLLECT_METADATA)?;
    }
    let Some(maps) = tunnel.maps() else {
        return Ok(());
    };
    msg.nest(u32::from(IFLA_IPTUN_FAN_MAP), |msg| {
        maps.into_iter()
            .try_for_each(|map| msg.put(u32::from(IFLA_FAN_MAPPING), &map.to_wire()))
    })
}
