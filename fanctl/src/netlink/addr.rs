//! IPv4 interface addresses.

use std::net::Ipv4Addr;

use anyhow::{Context, Result};
use neli::{
    consts::{
        nl::NlmF,
        rtnl::{Ifa, RtAddrFamily, RtScope, Rtm},
    },
    rtnl::{Ifaddrmsg, IfaddrmsgBuilder, RtattrBuilder},
    types::RtBuffer,
};

use super::Rtnl;
use crate::host::Addr;

/// Every IPv4 address of every device, in the kernel's order (primary
/// addresses before secondaries on each device).
pub fn list(rtnl: &Rtnl) -> Result<Vec<Addr>> {
    let req = IfaddrmsgBuilder::default()
        .ifa_family(RtAddrFamily::Inet)
        .ifa_prefixlen(0)
        .ifa_scope(RtScope::Universe)
        .ifa_index(0)
        .build()?;
    let msgs: Vec<Ifaddrmsg> = rtnl
        .dump(Rtm::Getaddr, req)
        .context("cannot list addresses")?;
    Ok(msgs
        .iter()
        .filter(|m| *m.ifa_family() == RtAddrFamily::Inet)
        .filter_map(|m| {
            let attrs = m.rtattrs().get_attr_handle();
            let local = attrs
                .get_attr_payload_as::<[u8; 4]>(Ifa::Local)
                .or_else(|_| attrs.get_attr_payload_as::<[u8; 4]>(Ifa::Address))
                .ok()?;
            Some(Addr {
                index: *m.ifa_index(),
                address: Ipv4Addr::from(local),
                prefix_len: *m.ifa_prefixlen(),
            })
        })
        .collect())
}

/// `ip addr add ADDRESS/PREFIX dev INDEX`
pub fn add(rtnl: &Rtnl, index: u32, address: Ipv4Addr, prefix: u8) -> Result<()> {
    let mut attrs = RtBuffer::new();
    for ty in [Ifa::Local, Ifa::Address] {
        attrs.push(
            RtattrBuilder::default()
                .rta_type(ty)
                .rta_payload(address.octets())
                .build()?,
        );
    }
    let msg = IfaddrmsgBuilder::default()
        .ifa_family(RtAddrFamily::Inet)
        .ifa_prefixlen(prefix)
        .ifa_scope(RtScope::Universe)
        .ifa_index(index)
        .rtattrs(attrs)
        .build()?;
    rtnl.request(Rtm::Newaddr, NlmF::CREATE | NlmF::EXCL, msg)
        .with_context(|| format!("cannot add address {address}/{prefix}"))
}
