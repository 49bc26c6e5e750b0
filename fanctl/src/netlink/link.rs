//! Network devices: list, create, change, delete.

use std::net::Ipv4Addr;

use anyhow::{anyhow, Context, Result};
use neli::{
    consts::{
        nl::NlmF,
        rtnl::{Iff, Ifla, IflaInfo, RtAddrFamily, Rtm},
    },
    rtnl::{Ifinfomsg, IfinfomsgBuilder, Rtattr, RtattrBuilder},
    types::{Buffer, RtBuffer},
};

use fanmap::{IFLA_FAN_MAPPING, IFLA_IPTUN_FAN_MAP};

use super::Rtnl;
use crate::host::Link;

// linux/if_tunnel.h
const IFLA_IPTUN_LOCAL: u16 = 2;
const IFLA_IPTUN_ENCAP_TYPE: u16 = 15;
const IFLA_IPTUN_ENCAP_FLAGS: u16 = 16;
const IFLA_IPTUN_ENCAP_SPORT: u16 = 17;
const IFLA_IPTUN_ENCAP_DPORT: u16 = 18;
const TUNNEL_ENCAP_FOU: u16 = 1;

fn attr<T, P>(ty: T, payload: P) -> Result<Rtattr<T, Buffer>>
where
    T: neli::consts::rtnl::RtaType,
    P: neli::Size + neli::ToBytes,
{
    RtattrBuilder::default()
        .rta_type(ty)
        .rta_payload(payload)
        .build()
        .context("cannot build a link attribute")
}

/// `IFLA_LINKINFO` of `kind`, with `data` (`IFLA_INFO_DATA`) when there is any.
fn linkinfo(kind: &str, data: &[Rtattr<u16, Buffer>]) -> Result<Rtattr<Ifla, Buffer>> {
    let mut info = attr(Ifla::Linkinfo, Vec::<u8>::new())?.nest(&attr(IflaInfo::Kind, kind)?)?;
    if !data.is_empty() {
        let mut wrapped = attr(IflaInfo::Data, Vec::<u8>::new())?;
        for a in data {
            wrapped = wrapped.nest(a)?;
        }
        info = info.nest(&wrapped)?;
    }
    Ok(info)
}

fn ifindex(link: &Link) -> Result<i32> {
    i32::try_from(link.index).context("interface index out of range")
}

fn parse(msg: &Ifinfomsg) -> Option<Link> {
    let attrs = msg.rtattrs().get_attr_handle();
    let name = attrs
        .get_attr_payload_as_with_len::<String>(Ifla::Ifname)
        .ok()?
        .trim_end_matches('\0')
        .to_string();
    Some(Link {
        index: u32::try_from(*msg.ifi_index()).ok()?,
        name,
        mtu: attrs.get_attr_payload_as::<u32>(Ifla::Mtu).unwrap_or(0),
        up: msg.ifi_flags().contains(Iff::UP),
        master: attrs
            .get_attr_payload_as::<u32>(Ifla::Master)
            .ok()
            .filter(|&m| m > 0),
    })
}

pub fn list(rtnl: &Rtnl) -> Result<Vec<Link>> {
    let req = IfinfomsgBuilder::default()
        .ifi_family(RtAddrFamily::Unspecified)
        .build()?;
    let msgs: Vec<Ifinfomsg> = rtnl.dump(Rtm::Getlink, req).context("cannot list links")?;
    Ok(msgs.iter().filter_map(parse).collect())
}

pub fn by_name(rtnl: &Rtnl, name: &str) -> Result<Option<Link>> {
    Ok(list(rtnl)?.into_iter().find(|l| l.name == name))
}

pub fn by_name_required(rtnl: &Rtnl, name: &str) -> Result<Link> {
    by_name(rtnl, name)?.ok_or_else(|| anyhow!("no network interface named {name}"))
}

/// Creates a device of `kind` (e.g. "bridge", "ipip"), down, with defaults.
pub fn create(rtnl: &Rtnl, name: &str, kind: &str) -> Result<()> {
    create_with(rtnl, name, kind, &[])
}

/// Creates a bridge, down, with the hardware address `mac`.
pub fn create_bridge(rtnl: &Rtnl, name: &str, mac: [u8; 6]) -> Result<()> {
    new_link(
        rtnl,
        name,
        vec![attr(Ifla::Address, mac.to_vec())?],
        "bridge",
        &[],
    )
}

/// Creates a device of `kind`, down, with `data` as its kind's parameters.
pub fn create_with(
    rtnl: &Rtnl,
    name: &str,
    kind: &str,
    data: &[Rtattr<u16, Buffer>],
) -> Result<()> {
    new_link(rtnl, name, Vec::new(), kind, data)
}

/// RTM_NEWLINK for a new device: its name, `link_attrs` (IFLA_*), and its
/// kind with `data` (IFLA_INFO_DATA).
fn new_link(
    rtnl: &Rtnl,
    name: &str,
    link_attrs: Vec<Rtattr<Ifla, Buffer>>,
    kind: &str,
    data: &[Rtattr<u16, Buffer>],
) -> Result<()> {
    let mut attrs = RtBuffer::new();
    attrs.push(attr(Ifla::Ifname, name)?);
    for a in link_attrs {
        attrs.push(a);
    }
    attrs.push(linkinfo(kind, data)?);
    let msg = IfinfomsgBuilder::default()
        .ifi_family(RtAddrFamily::Unspecified)
        .rtattrs(attrs)
        .build()?;
    rtnl.request(Rtm::Newlink, NlmF::CREATE | NlmF::EXCL, msg)
        .with_context(|| format!("cannot create {kind} device {name}"))
}

/// Sets MTU and/or administrative state. An MTU set here (not at creation)
/// counts as set by the user, so a bridge keeps it when ports join.
pub fn set(rtnl: &Rtnl, link: &Link, mtu: Option<u32>, up: Option<bool>) -> Result<()> {
    let mut attrs = RtBuffer::new();
    if let Some(mtu) = mtu {
        attrs.push(attr(Ifla::Mtu, mtu)?);
    }
    let mut builder = IfinfomsgBuilder::default()
        .ifi_family(RtAddrFamily::Unspecified)
        .ifi_index(ifindex(link)?)
        .rtattrs(attrs);
    builder = match up {
        Some(true) => builder.up(),
        Some(false) => builder.down(),
        None => builder,
    };
    rtnl.request(Rtm::Newlink, NlmF::empty(), builder.build()?)
        .with_context(|| format!("cannot change device {}", link.name))
}

pub fn delete(rtnl: &Rtnl, link: &Link) -> Result<()> {
    let msg = IfinfomsgBuilder::default()
        .ifi_family(RtAddrFamily::Unspecified)
        .ifi_index(ifindex(link)?)
        .build()?;
    rtnl.request(Rtm::Dellink, NlmF::empty(), msg)
        .with_context(|| format!("cannot delete device {}", link.name))
}

/// The parameters of a fan's FOU tunnel device, as `ip link add NAME type
/// ipip local LOCAL encap fou encap-sport auto encap-dport PORT` sends
/// them. A change of the device repeats them: ipip resets what a change
/// leaves out.
pub fn fou_tunnel_params(local: Ipv4Addr, port: u16) -> Result<Vec<Rtattr<u16, Buffer>>> {
    Ok(vec![
        attr(IFLA_IPTUN_LOCAL, local.octets().to_vec())?,
        attr(
            IFLA_IPTUN_ENCAP_TYPE,
            TUNNEL_ENCAP_FOU.to_ne_bytes().to_vec(),
        )?,
        attr(IFLA_IPTUN_ENCAP_FLAGS, 0u16.to_ne_bytes().to_vec())?,
        // source port 0: chosen per flow, spreading flows over the underlay
        attr(IFLA_IPTUN_ENCAP_SPORT, 0u16.to_be_bytes().to_vec())?,
        attr(IFLA_IPTUN_ENCAP_DPORT, port.to_be_bytes().to_vec())?,
    ])
}

/// Sends one `struct ifla_fan_map` (already in wire format) to an ipip
/// device, with the device's `params` (none for tunl0): adds a map, or
/// removes one when its underlay is zero.
pub fn change_fan_map(
    rtnl: &Rtnl,
    link: &Link,
    wire: &[u8],
    params: &[Rtattr<u16, Buffer>],
) -> Result<()> {
    let mapping = attr(IFLA_FAN_MAPPING, wire.to_vec())?;
    let fan_map = attr(IFLA_IPTUN_FAN_MAP, Vec::<u8>::new())?.nest(&mapping)?;
    let mut data = params.to_vec();
    data.push(fan_map);
    let mut attrs = RtBuffer::new();
    attrs.push(linkinfo("ipip", &data)?);
    let msg = IfinfomsgBuilder::default()
        .ifi_family(RtAddrFamily::Unspecified)
        .ifi_index(ifindex(link)?)
        .rtattrs(attrs)
        .build()?;
    rtnl.request(Rtm::Newlink, NlmF::empty(), msg)
        .with_context(|| format!("cannot change the fan maps of {}", link.name))
}
