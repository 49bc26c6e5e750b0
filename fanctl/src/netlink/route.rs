//! IPv4 routes in the main table, one at a time or in batches.

use std::net::Ipv4Addr;

use anyhow::{anyhow, bail, Context, Result};
use neli::{
    consts::{
        nl::NlmF,
        rtnl::{RtAddrFamily, RtScope, RtTable, Rta, Rtm, RtmF, Rtn, Rtprot},
    },
    rtnl::{RtattrBuilder, Rtmsg, RtmsgBuilder},
    types::RtBuffer,
};

use super::{Rtnl, BATCH};

/// `RTNH_F_ONLINK`: the gateway is reachable through the device even
/// though no address of the device covers it (a tunnel has none).
const RTNH_F_ONLINK: u32 = 4;
const RT_TABLE_MAIN: u32 = 254;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Route {
    pub dst: Ipv4Addr,
    pub prefix: u8,
    pub oif: u32,
    pub gateway: Option<Ipv4Addr>,
    pub prefsrc: Option<Ipv4Addr>,
    pub metric: Option<u32>,
}

impl std::fmt::Display for Route {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}/{}", self.dst, self.prefix)?;
        if let Some(gw) = self.gateway {
            write!(f, " via {gw} onlink")?;
        }
        write!(f, " dev #{}", self.oif)?;
        if let Some(src) = self.prefsrc {
            write!(f, " src {src}")?;
        }
        if let Some(metric) = self.metric {
            write!(f, " metric {metric}")?;
        }
        Ok(())
    }
}

impl Route {
    fn message(&self, add: bool) -> Result<Rtmsg> {
        let mut attrs = RtBuffer::new();
        if self.prefix > 0 {
            attrs.push(
                RtattrBuilder::default()
                    .rta_type(Rta::Dst)
                    .rta_payload(self.dst.octets())
                    .build()?,
            );
        }
        attrs.push(
            RtattrBuilder::default()
                .rta_type(Rta::Oif)
                .rta_payload(self.oif)
                .build()?,
        );
        if let Some(gw) = self.gateway {
            attrs.push(
                RtattrBuilder::default()
                    .rta_type(Rta::Gateway)
                    .rta_payload(gw.octets())
                    .build()?,
            );
        }
        if let Some(metric) = self.metric {
            attrs.push(
                RtattrBuilder::default()
                    .rta_type(Rta::Priority)
                    .rta_payload(metric)
                    .build()?,
            );
        }
        if let (true, Some(src)) = (add, self.prefsrc) {
            attrs.push(
                RtattrBuilder::default()
                    .rta_type(Rta::Prefsrc)
                    .rta_payload(src.octets())
                    .build()?,
            );
        }
        // A delete matches any scope, protocol and type; an add says what
        // `ip route add` would.
        let (scope, protocol, kind) = match (add, self.gateway) {
            (false, _) => (RtScope::Nowhere, Rtprot::Unspec, Rtn::Unspec),
            (true, Some(_)) => (RtScope::Universe, Rtprot::Boot, Rtn::Unicast),
            (true, None) => (RtScope::Link, Rtprot::Boot, Rtn::Unicast),
        };
        let flags = if self.gateway.is_some() {
            RtmF::from_bits_retain(RTNH_F_ONLINK)
        } else {
            RtmF::empty()
        };
        Ok(RtmsgBuilder::default()
            .rtm_family(RtAddrFamily::Inet)
            .rtm_dst_len(self.prefix)
            .rtm_src_len(0)
            .rtm_tos(0)
            .rtm_table(RtTable::Main)
            .rtm_protocol(protocol)
            .rtm_scope(scope)
            .rtm_type(kind)
            .rtm_flags(flags)
            .rtattrs(attrs)
            .build()?)
    }
}

pub fn add(rtnl: &Rtnl, route: &Route) -> Result<()> {
    rtnl.request(
        Rtm::Newroute,
        NlmF::CREATE | NlmF::EXCL,
        route.message(true)?,
    )
    .with_context(|| format!("cannot add route {route}"))
}

/// Deletes a route; one that is already gone is not an error.
pub fn delete(rtnl: &Rtnl, route: &Route) -> Result<()> {
    match rtnl.request(Rtm::Delroute, NlmF::empty(), route.message(false)?) {
        Err(e) if super::errno_of(&e) == Some(libc::ESRCH) => Ok(()),
        other => other.with_context(|| format!("cannot delete route {route}")),
    }
}

/// Adds all routes, [`BATCH`] requests per `sendmsg`, all or nothing: when
/// one is refused, those added by this call are deleted again.
pub fn add_all(rtnl: &Rtnl, routes: &[Route]) -> Result<()> {
    let messages = routes
        .iter()
        .map(|r| r.message(true))
        .collect::<Result<Vec<_>>>()?;
    let results = rtnl.batch(Rtm::Newroute, NlmF::CREATE | NlmF::EXCL, messages)?;
    let Some((index, err)) = results
        .iter()
        .enumerate()
        .find_map(|(i, r)| r.as_ref().err().map(|e| (i, e.clone())))
    else {
        return Ok(());
    };
    let added: Vec<Route> = routes
        .iter()
        .zip(&results)
        .filter(|(_, r)| r.is_ok())
        .map(|(route, _)| *route)
        .collect();
    let _ = delete_all(rtnl, &added);
    Err(anyhow!(err).context(format!(
        "cannot add route {} ({} of {} in batches of {BATCH})",
        routes[index],
        index + 1,
        routes.len()
    )))
}

/// Deletes all routes in batches; those already gone are skipped.
pub fn delete_all(rtnl: &Rtnl, routes: &[Route]) -> Result<()> {
    let messages = routes
        .iter()
        .map(|r| r.message(false))
        .collect::<Result<Vec<_>>>()?;
    let results = rtnl.batch(Rtm::Delroute, NlmF::empty(), messages)?;
    let failed: Vec<_> = routes
        .iter()
        .zip(results)
        .filter_map(|(route, r)| match r {
            Err(e) if e.errno != libc::ESRCH => Some((route, e)),
            _ => None,
        })
        .collect();
    if let Some((route, err)) = failed.first() {
        bail!(
            "cannot delete {} routes, the first {route}: {err}",
            failed.len()
        );
    }
    Ok(())
}

/// The interface of the main table's default route (the one with the
/// lowest metric if there are several).
pub fn default_oif(rtnl: &Rtnl) -> Result<Option<u32>> {
    let req = RtmsgBuilder::default()
        .rtm_family(RtAddrFamily::Inet)
        .rtm_dst_len(0)
        .rtm_src_len(0)
        .rtm_tos(0)
        .rtm_table(RtTable::Unspec)
        .rtm_protocol(Rtprot::Unspec)
        .rtm_scope(RtScope::Universe)
        .rtm_type(Rtn::Unspec)
        .build()?;
    let routes: Vec<Rtmsg> = rtnl
        .dump(Rtm::Getroute, req)
        .context("cannot list routes")?;
    Ok(routes
        .iter()
        .filter(|r| *r.rtm_dst_len() == 0 && *r.rtm_type() == Rtn::Unicast)
        .filter_map(|r| {
            let attrs = r.rtattrs().get_attr_handle();
            let table = attrs
                .get_attr_payload_as::<u32>(Rta::Table)
                .unwrap_or(u32::from(u8::from(*r.rtm_table())));
            let oif = attrs.get_attr_payload_as::<u32>(Rta::Oif).ok()?;
            let metric = attrs.get_attr_payload_as::<u32>(Rta::Priority).unwrap_or(0);
            (table == RT_TABLE_MAIN).then_some((metric, oif))
        })
        .min()
        .map(|(_, oif)| oif))
}
