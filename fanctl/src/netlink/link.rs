//! Network devices: list, create, change, delete.

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

fn attr<P>(ty: Ifla, payload: P) -> Result<Rtattr<Ifla, Buffer>>
where
    P: neli::Size + neli::ToBytes,
{
    RtattrBuilder::default()
        .rta_type(ty)
        .rta_payload(payload)
        .build()
        .context("cannot build a link attribute")
}

fn linkinfo(kind: &str, data: Option<Rtattr<u16, Buffer>>) -> Result<Rtattr<Ifla, Buffer>> {
    let mut info = RtattrBuilder::default()
        .rta_type(Ifla::Linkinfo)
        .rta_payload(Vec::<u8>::new())
        .build()?
        .nest(
            &RtattrBuilder::default()
                .rta_type(IflaInfo::Kind)
                .rta_payload(kind)
                .build()?,
        )?;
    if let Some(data) = data {
        let wrapped = RtattrBuilder::default()
            .rta_type(IflaInfo::Data)
            .rta_payload(Vec::<u8>::new())
            .build()?
            .nest(&data)?;
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
    let mut attrs = RtBuffer::new();
    attrs.push(attr(Ifla::Ifname, name)?);
    attrs.push(linkinfo(kind, None)?);
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

/// Sends one `struct ifla_fan_map` (already in wire format) to an ipip
/// device: adds a map, or removes one when its underlay is zero.
pub fn change_fan_map(rtnl: &Rtnl, link: &Link, wire: &[u8]) -> Result<()> {
    let mapping = RtattrBuilder::default()
        .rta_type(IFLA_FAN_MAPPING)
        .rta_payload(wire.to_vec())
        .build()?;
    let fan_map = RtattrBuilder::default()
        .rta_type(IFLA_IPTUN_FAN_MAP)
        .rta_payload(Vec::<u8>::new())
        .build()?
        .nest(&mapping)?;
    let mut attrs = RtBuffer::new();
    attrs.push(linkinfo("ipip", Some(fan_map))?);
    let msg = IfinfomsgBuilder::default()
        .ifi_family(RtAddrFamily::Unspecified)
        .ifi_index(ifindex(link)?)
        .rtattrs(attrs)
        .build()?;
    rtnl.request(Rtm::Newlink, NlmF::empty(), msg)
        .with_context(|| format!("cannot change the fan maps of {}", link.name))
}
