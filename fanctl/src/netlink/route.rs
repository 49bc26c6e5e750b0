//! IPv4 routes in the main table, one at a time or in batches.

use anyhow::{anyhow, bail, Context, Result};
use neli::{
    consts::{
        nl::NlmF,
        rtnl::{RtAddrFamily, RtScope, RtTable, Rta, Rtm, Rtn, Rtprot},
    },
    rtnl::{Rtmsg, RtmsgBuilder},
    types::Buffer,
};

use super::{Rtnl, BATCH};
use crate::plan::Route;

/// `RTNH_F_ONLINK`: the gateway is reachable through the device even
/// though no address of the device covers it (a tunnel has none).
const RTNH_F_ONLINK: u32 = 4;
const RT_TABLE_MAIN: u32 = 254;

impl Route {
    /// The request: `struct rtmsg` and its attributes, written out by hand:
    /// the fallback sends tens of thousands, and neli's builders, which
    /// allocate for every attribute of every one, take 6 times the
    /// instructions (`bench/route-encoding`, BENCHMARKS.md). Checked byte
    /// for byte against them (`netlink::reference`) in the tests below.
    pub fn message(&self, add: bool) -> Buffer {
        // A delete matches any scope, protocol and type; an add says what
        // `ip route add` would.
        let (scope, protocol, kind) = match (add, self.gateway) {
            (false, _) => (
                libc::RT_SCOPE_NOWHERE,
                libc::RTPROT_UNSPEC,
                libc::RTN_UNSPEC,
            ),
            (true, Some(_)) => (
                libc::RT_SCOPE_UNIVERSE,
                libc::RTPROT_BOOT,
                libc::RTN_UNICAST,
            ),
            (true, None) => (libc::RT_SCOPE_LINK, libc::RTPROT_BOOT, libc::RTN_UNICAST),
        };
        let flags = if self.gateway.is_some() {
            RTNH_F_ONLINK
        } else {
            0
        };
        let mut out = Vec::with_capacity(RTMSG_LEN + 5 * 8);
        out.extend_from_slice(&[
            libc::AF_INET as u8,
            self.prefix,
            0, // source length
            0, // tos
            RT_TABLE_MAIN as u8,
            protocol,
            scope,
            kind,
        ]);
        out.extend_from_slice(&flags.to_ne_bytes());
        if self.prefix > 0 {
            attr(&mut out, libc::RTA_DST, &self.dst.octets());
        }
        attr(&mut out, libc::RTA_OIF, &self.oif.to_ne_bytes());
        if let Some(gw) = self.gateway {
            attr(&mut out, libc::RTA_GATEWAY, &gw.octets());
        }
        if let Some(metric) = self.metric {
            attr(&mut out, libc::RTA_PRIORITY, &metric.to_ne_bytes());
        }
        if let (true, Some(src)) = (add, self.prefsrc) {
            attr(&mut out, libc::RTA_PREFSRC, &src.octets());
        }
        Buffer::from(out)
    }
}

/// `sizeof(struct rtmsg)`.
const RTMSG_LEN: usize = 12;

/// Appends one route attribute: `struct rtattr` (length, type) and the
/// payload, padded to 4 bytes.
fn attr(out: &mut Vec<u8>, kind: u16, payload: &[u8]) {
    let len = 4 + payload.len();
    out.extend_from_slice(&(len as u16).to_ne_bytes());
    out.extend_from_slice(&kind.to_ne_bytes());
    out.extend_from_slice(payload);
    out.resize(out.len() + (4 - len % 4) % 4, 0);
}

pub fn add(rtnl: &Rtnl, route: &Route) -> Result<()> {
    rtnl.request(
        Rtm::Newroute,
        NlmF::CREATE | NlmF::EXCL,
        route.message(true),
    )
    .with_context(|| format!("cannot add route {route}"))
}

/// Deletes a route; one that is already gone is not an error.
pub fn delete(rtnl: &Rtnl, route: &Route) -> Result<()> {
    match rtnl.request(Rtm::Delroute, NlmF::empty(), route.message(false)) {
        Err(e) if super::errno_of(&e) == Some(libc::ESRCH) => Ok(()),
        other => other.with_context(|| format!("cannot delete route {route}")),
    }
}

/// Adds all routes, [`BATCH`] requests per `sendmsg`, all or nothing: when
/// one is refused, those added by this call are deleted again.
pub fn add_all(rtnl: &Rtnl, routes: &[Route]) -> Result<()> {
    let messages = routes.iter().map(|r| r.message(true));
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
    let messages = routes.iter().map(|r| r.message(false));
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

#[cfg(test)]
mod tests {
    use super::*;
    use crate::netlink::reference;
    use neli::ToBytes;
    use std::{io::Cursor, net::Ipv4Addr};

    fn neli_bytes(route: &Route, add: bool) -> Vec<u8> {
        let mut cursor = Cursor::new(Vec::new());
        reference::route_message(route, add)
            .unwrap()
            .to_bytes(&mut cursor)
            .unwrap();
        cursor.into_inner()
    }

    fn our_bytes(route: &Route, add: bool) -> Vec<u8> {
        route.message(add).as_ref().to_vec()
    }

    #[test]
    fn requests_match_what_neli_builds() {
        let peer = Route {
            dst: Ipv4Addr::new(250, 0, 27, 0),
            prefix: 24,
            oif: 7,
            gateway: Some(Ipv4Addr::new(172, 30, 0, 27)),
            prefsrc: Some(Ipv4Addr::new(250, 0, 28, 1)),
            metric: Some(27),
        };
        let overlay = Route {
            dst: Ipv4Addr::new(250, 0, 0, 0),
            prefix: 8,
            oif: 3,
            gateway: None,
            prefsrc: Some(Ipv4Addr::new(250, 0, 28, 1)),
            metric: None,
        };
        let default = Route {
            dst: Ipv4Addr::UNSPECIFIED,
            prefix: 0,
            oif: 2,
            gateway: Some(Ipv4Addr::new(10, 0, 0, 1)),
            prefsrc: None,
            metric: Some(100),
        };
        for route in [peer, overlay, default] {
            for add in [true, false] {
                assert_eq!(
                    our_bytes(&route, add),
                    neli_bytes(&route, add),
                    "{route} add={add}"
                );
            }
        }
    }

    #[test]
    fn attributes_are_padded_to_four_bytes() {
        let mut out = Vec::new();
        attr(&mut out, 99, &[1, 2, 3]);
        assert_eq!(out, [7, 0, 99, 0, 1, 2, 3, 0]);
    }

    /// `ip route add 250.0.27.0/24 via 172.30.0.27 dev #7 onlink src
    /// 250.0.28.1 metric 27` as iproute2 sends it, then its delete.
    #[test]
    #[cfg(target_endian = "little")]
    fn a_peer_route_is_what_iproute2_sends() {
        let peer = Route {
            dst: Ipv4Addr::new(250, 0, 27, 0),
            prefix: 24,
            oif: 7,
            gateway: Some(Ipv4Addr::new(172, 30, 0, 27)),
            prefsrc: Some(Ipv4Addr::new(250, 0, 28, 1)),
            metric: Some(27),
        };
        #[rustfmt::skip]
        let add = [
            // AF_INET, /24, no source, tos 0, main table, boot, universe, unicast
            2, 24, 0, 0, 254, 3, 0, 1,
            4, 0, 0, 0, // RTNH_F_ONLINK
            8, 0, 1, 0, 250, 0, 27, 0, // RTA_DST
            8, 0, 4, 0, 7, 0, 0, 0, // RTA_OIF
            8, 0, 5, 0, 172, 30, 0, 27, // RTA_GATEWAY
            8, 0, 6, 0, 27, 0, 0, 0, // RTA_PRIORITY
            8, 0, 7, 0, 250, 0, 28, 1, // RTA_PREFSRC
        ];
        assert_eq!(our_bytes(&peer, true), add);
        // Delete: any protocol, scope nowhere, any type, no source.
        let mut delete = add[..add.len() - 8].to_vec();
        delete[5..8].copy_from_slice(&[0, 255, 0]);
        assert_eq!(our_bytes(&peer, false), delete);
    }

    #[test]
    #[cfg(target_endian = "little")]
    fn the_overlay_route_is_on_link_and_a_default_route_has_no_destination() {
        let overlay = Route {
            dst: Ipv4Addr::new(250, 0, 0, 0),
            prefix: 8,
            oif: 3,
            gateway: None,
            prefsrc: Some(Ipv4Addr::new(250, 0, 28, 1)),
            metric: None,
        };
        #[rustfmt::skip]
        let add = [
            2, 8, 0, 0, 254, 3, 253, 1, // scope link
            0, 0, 0, 0, // no flags
            8, 0, 1, 0, 250, 0, 0, 0,
            8, 0, 4, 0, 3, 0, 0, 0,
            8, 0, 7, 0, 250, 0, 28, 1,
        ];
        assert_eq!(our_bytes(&overlay, true), add);
        let default = Route {
            dst: Ipv4Addr::UNSPECIFIED,
            prefix: 0,
            ..overlay
        };
        let text = our_bytes(&default, false);
        assert_eq!(text.len(), 12 + 8, "rtmsg and RTA_OIF only");
        assert_eq!(text[12..16], [8, 0, 4, 0]);
    }
}
