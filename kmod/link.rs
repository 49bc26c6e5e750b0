// SPDX-License-Identifier: GPL-2.0

//! The `ipip` link kind: device setup, netlink configuration and dumps.
//!
//! Everything but the fan map is Linux's own ipip (net/ipv4/ipip.c), built
//! on the same exported ip_tunnel helpers, so a user cannot tell the
//! difference except that fan maps work.

use crate::fanmap::{
    IFLA_FAN_MAPPING, IFLA_IPTUN_FAN_MAP, IFLA_IPTUN_FAN_UNDERLAY, MAX_MAPS, WIRE_LEN,
};
use crate::netlink::FanMapAttrs;
use crate::nla::{Attr, Attrs, Extack, Msg};
use crate::sys::{self, KernelStatic, Shared};
use crate::tunnel::{self, Tunnel, PRIV_SIZE};
use crate::{pernet, xmit};
use core::ffi::{c_int, CStr};
use kernel::error::{code::*, Error, Result};

const MAXTYPE: usize = IFLA_IPTUN_FAN_MAP as usize;
/// Slots of a request's parsed IFLA_INFO_DATA table.
const DATA_LEN: u32 = MAXTYPE as u32 + 1;

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

// Evaluated at build time, where an index out of bounds fails the build.
#[allow(clippy::indexing_slicing)]
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
    ops.kind = sys::c_str(c"ipip");
    ops.maxtype = MAXTYPE as u32;
    ops.policy = POLICY.0.as_ptr();
    ops.priv_size = PRIV_SIZE;
    ops.setup = Some(setup);
    ops.validate = Some(validate);
    ops.newlink = Some(sys::fan_compat_rtnl_newlink);
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
        sys::fan_dev_disable_netpoll(dev);
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
    p.i_flags.fill(0);
    p.o_flags.fill(0);
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
const MPLS_WITH_FAN: &CStr =
    c"fan-map needs IPv4 inside (proto ipip or any): a fan routes by the inner IPv4 destination";
const TUNL0_ONLY_MAPS: &CStr =
    c"tunl0 cannot be changed: with fan-map, its other attributes must keep their current values";
const MTU_TOO_SMALL: &CStr = c"mtu less than device minimum";
const MTU_TOO_LARGE: &CStr = c"mtu greater than device maximum";
const FIRST_FAN_UNDERLAY: &CStr =
    c"attribute 32 (the first fan's underlay) is not supported: use fan-map OVERLAY:UNDERLAY";
const FAN_DEVICE_EXISTS: &CStr = c"an ipip device with the same local, remote and link exists (tunl0 has none): give this one a local address, or put the fan maps on tunl0";

/// # Safety
///
/// Called by the kernel as `rtnl_link_ops.validate` with a request's parsed
/// attribute tables (`data` null or `MAXTYPE + 1` entries).
unsafe extern "C" fn validate(
    tb: *mut *mut sys::nlattr,
    data: *mut *mut sys::nlattr,
    extack: *mut sys::netlink_ext_ack,
) -> c_int {
    // SAFETY: the kernel passes the request's parsed attributes and ack.
    let (tb, data, mut extack) = unsafe {
        (
            Attrs::from_raw(tb, sys::FAN_IFLA_MAX + 1),
            Attrs::from_raw(data, DATA_LEN),
            Extack::from_raw(extack),
        )
    };
    errno(check_request(tb, data, &mut extack))
}

/// What can be checked of a request without its device.
fn check_request(tb: Attrs<'_>, data: Attrs<'_>, extack: &mut Extack<'_>) -> Result {
    if let Some(proto) = data.get(sys::IFLA_IPTUN_PROTO) {
        if !valid_proto(proto.get_u8()) {
            return Err(EINVAL);
        }
    }
    if let Some(underlay) = data.get(u32::from(IFLA_IPTUN_FAN_UNDERLAY)) {
        extack.report(Some(underlay), FIRST_FAN_UNDERLAY);
        return Err(Error::from_errno(-sys::FAN_EOPNOTSUPP));
    }
    let Some(maps) = FanMapAttrs::from_request(tb, data) else {
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
    if let Some(proto) = data.get(sys::IFLA_IPTUN_PROTO) {
        if u32::from(proto.get_u8()) == sys::IPPROTO_MPLS {
            extack.report(Some(proto), MPLS_WITH_FAN);
            return Err(EINVAL);
        }
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

/// `rtnl_link_ops.newlink`, called through compat.c's
/// `fan_compat_rtnl_newlink` (whose arguments differ between kernels).
///
/// # Safety
///
/// Called for a device of ours, under RTNL, with the request's parsed
/// attributes and the namespace of its link.
#[no_mangle]
unsafe extern "C" fn fan_link_newlink(
    link_net: *mut sys::net,
    dev: *mut sys::net_device,
    tb: *mut *mut sys::nlattr,
    data: *mut *mut sys::nlattr,
    extack: *mut sys::netlink_ext_ack,
) -> c_int {
    // SAFETY: newlink of a device of ours, under RTNL, with the request's
    // parsed attributes (already accepted by `validate`) and ack; the link's
    // namespace lives for the callback, which `new_tunnel` runs in.
    unsafe {
        link_request(dev, tb, data, extack, |tunnel, tb, data, extack| {
            new_tunnel(tunnel, link_net, tb, data, extack)
        })
    }
}

/// Run `request` on the callback's arguments as safe types.
///
/// # Safety
///
/// `dev` is a device of ours, under RTNL; `tb` and `data` are the request's
/// parsed attribute tables (null or `IFLA_MAX + 1` and `MAXTYPE + 1`
/// entries) and `extack` its extended ack, all live for the callback.
unsafe fn link_request<F>(
    dev: *mut sys::net_device,
    tb: *mut *mut sys::nlattr,
    data: *mut *mut sys::nlattr,
    extack: *mut sys::netlink_ext_ack,
    request: F,
) -> c_int
where
    F: for<'a, 'b> FnOnce(&mut Tunnel<'a>, Attrs<'a>, Attrs<'a>, &mut Extack<'b>) -> Result,
{
    // SAFETY: the function's contract.
    let (tunnel, tb, data, mut extack) = unsafe {
        (
            Tunnel::from_raw(dev),
            Attrs::from_raw(tb, sys::FAN_IFLA_MAX + 1),
            Attrs::from_raw(data, DATA_LEN),
            Extack::from_raw(extack),
        )
    };
    match tunnel {
        Some(mut tunnel) => errno(request(&mut tunnel, tb, data, &mut extack)),
        None => EINVAL.to_errno(),
    }
}

/// # Safety
///
/// `link_net` is the request's link namespace, live for the call.
unsafe fn new_tunnel(
    tunnel: &mut Tunnel<'_>,
    link_net: *mut sys::net,
    tb: Attrs<'_>,
    data: Attrs<'_>,
    extack: &mut Extack<'_>,
) -> Result {
    // Build the maps before the device exists, so a bad map creates nothing.
    let maps = match FanMapAttrs::from_request(tb, data) {
        Some(attrs) => Some(attrs.apply(None, extack)?),
        None => None,
    };
    tunnel.setup_encap(data)?;
    let (mut parms, collect_md, fwmark) = netlink_parms(data);
    tunnel.set_collect_md(collect_md);
    // SAFETY: `link_net` is live for the call (the function's contract).
    let created = unsafe { tunnel.newlink(link_net, tb, &mut parms, fwmark.unwrap_or(0)) };
    created.inspect_err(|e| {
        // Linux refuses a second device with tunl0's parameters (no
        // local, remote or link) with a bare EEXIST.
        if maps.is_some() && *e == EEXIST {
            extack.report(data.get(MAXTYPE as u32), FAN_DEVICE_EXISTS);
        }
    })?;
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
        let maps = match FanMapAttrs::from_request(tb, data) {
            Some(attrs) => Some(attrs.apply(current, extack)?),
            None => None,
        };
        (maps, current.is_some())
    };

    // Ubuntu's fanctl configures the fallback device: a request that
    // carries maps changes only the maps there. Without maps, tunl0
    // refuses changes as Linux's ipip does.
    if maps.is_some() && pernet::is_fallback(tunnel) {
        check_unchanged(tunnel, data, extack)?;
        check_mtu(tunnel, tb, extack)?;
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
    if fan_after && u32::from(parms.iph.protocol) == sys::IPPROTO_MPLS {
        extack.report(data.get(sys::IFLA_IPTUN_PROTO), MPLS_WITH_FAN);
        return Err(EINVAL);
    }

    // `ip_tunnel_encap_setup` applies the encapsulation before
    // `ip_tunnel_changelink` may refuse the rest: put it back then, so that
    // a refused request changes nothing (Linux's ipip leaves it changed).
    // The MTU is checked with the new encapsulation's headers.
    let saved = tunnel.saved_encap();
    let changed = tunnel.setup_encap(data).and_then(|()| {
        check_mtu(tunnel, tb, extack)?;
        if collect_md || p2p != has_remote {
            return Err(EINVAL);
        }
        tunnel.changelink(tb, &mut parms, fwmark)
    });
    if changed.is_err() {
        tunnel.restore_encap(saved);
    }
    changed?;
    if maps.is_some() {
        tunnel.publish(maps);
    }
    Ok(())
}

/// Refuse an `IFLA_MTU` the device will not take before anything is
/// applied: rtnetlink sets it only after `changelink` has succeeded
/// (an `RTM_NEWLINK` of an existing device), too late to refuse the whole.
fn check_mtu(tunnel: &Tunnel<'_>, tb: Attrs<'_>, extack: &mut Extack<'_>) -> Result {
    let Some(attr) = tb.get(sys::FAN_IFLA_MTU) else {
        return Ok(());
    };
    let mtu = attr.get_u32();
    let (min, max) = tunnel.mtu_range();
    if mtu == tunnel.mtu() {
        Ok(())
    } else if mtu < min || i32::try_from(mtu).is_err() {
        extack.report(Some(attr), MTU_TOO_SMALL);
        Err(EINVAL)
    } else if mtu > max {
        extack.report(Some(attr), MTU_TOO_LARGE);
        Err(EINVAL)
    } else {
        Ok(())
    }
}

/// Refuse a request whose stock attributes would change the device: on
/// tunl0 only the maps may change. iproute2 repeats every current value in
/// a change request, so an attribute is refused only if it differs.
fn check_unchanged(tunnel: &Tunnel<'_>, data: Attrs<'_>, extack: &mut Extack<'_>) -> Result {
    let parms = tunnel.parms();
    let encap = tunnel.encap();
    let df = parms.iph.frag_off & (sys::IP_DF as u16).to_be() != 0;
    let same = |kind: u32, attr: Attr<'_>| match kind {
        sys::IFLA_IPTUN_LINK => attr.get_u32() == parms.link as u32,
        sys::IFLA_IPTUN_LOCAL => attr.get_be32() == sys::be32(parms.iph.saddr()),
        sys::IFLA_IPTUN_REMOTE => attr.get_be32() == sys::be32(parms.iph.daddr()),
        sys::IFLA_IPTUN_TTL => attr.get_u8() == parms.iph.ttl,
        sys::IFLA_IPTUN_TOS => attr.get_u8() == parms.iph.tos,
        sys::IFLA_IPTUN_PROTO => attr.get_u8() == parms.iph.protocol,
        sys::IFLA_IPTUN_PMTUDISC => (attr.get_u8() != 0) == df,
        sys::IFLA_IPTUN_ENCAP_TYPE => attr.get_u16() == encap.type_,
        sys::IFLA_IPTUN_ENCAP_FLAGS => attr.get_u16() == encap.flags,
        sys::IFLA_IPTUN_ENCAP_SPORT => attr.get_u16() == encap.sport,
        sys::IFLA_IPTUN_ENCAP_DPORT => attr.get_u16() == encap.dport,
        sys::IFLA_IPTUN_FWMARK => attr.get_u32() == tunnel.fwmark(),
        sys::IFLA_IPTUN_COLLECT_METADATA => tunnel.collect_md(),
        _ => true,
    };
    let changed = (0..MAXTYPE as u32)
        .filter_map(|kind| Some((kind, data.get(kind)?)))
        .find(|&(kind, attr)| !same(kind, attr));
    match changed {
        Some((_, attr)) => {
            extack.report(Some(attr), TUNL0_ONLY_MAPS);
            Err(EINVAL)
        }
        None => Ok(()),
    }
}

/// `nla_total_size`: header plus payload, padded.
const fn nla_total_size(payload: usize) -> usize {
    sys::NLA_HDRLEN.wrapping_add(payload).wrapping_add(3) & !3
}

/// # Safety
///
/// Called by the kernel as `rtnl_link_ops.get_size` for a device of ours,
/// under RTNL.
unsafe extern "C" fn get_size(dev: *const sys::net_device) -> usize {
    // SAFETY: called under RTNL for a device of ours.
    let tunnel = unsafe { Tunnel::from_raw(dev.cast_mut()) };
    let maps = tunnel.map_or(0, |t| t.maps().map_or(0, |m| m.len()));
    let fan = match maps {
        0 => 0,
        n => NEST_SIZE.saturating_add(n.min(MAX_MAPS).saturating_mul(MAPPING_SIZE)),
    };
    STOCK_SIZE.saturating_add(fan)
}

/// What Linux's ipip dumps of every device.
const STOCK_SIZE: usize = nla_total_size(4) * 3 // link, local, remote
    + nla_total_size(1) * 4 // ttl, tos, proto, pmtudisc
    + nla_total_size(2) * 4 // encap type, flags, sport, dport
    + nla_total_size(0) // collect_md
    + nla_total_size(4); // fwmark

const NEST_SIZE: usize = nla_total_size(0);
const MAPPING_SIZE: usize = nla_total_size(WIRE_LEN);

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
    msg.put_u8(sys::IFLA_IPTUN_PMTUDISC, u8::from(df))?;
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
