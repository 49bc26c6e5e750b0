//! Linux's FOU receive ports (`ip fou add port N ipproto 4`), through the
//! "fou" generic netlink family. Asking for the family loads the fou
//! module when it is one.

use anyhow::{Context, Result};
use neli::{
    consts::{nl::NlmF, socket::NlFamily},
    genl::{AttrTypeBuilder, Genlmsghdr, GenlmsghdrBuilder, NlattrBuilder},
    nl::NlPayload,
    router::synchronous::NlRouter,
    types::{Buffer, GenlBuffer},
    utils::Groups,
};

use super::NetlinkError;

const FAMILY: &str = "fou";
const VERSION: u8 = 1;
const CMD_ADD: u8 = 1;
const CMD_DEL: u8 = 2;
const ATTR_PORT: u16 = 1;
const ATTR_AF: u16 = 2;
const ATTR_IPPROTO: u16 = 3;
const ATTR_TYPE: u16 = 4;
/// The payload right after the UDP header (not GUE).
const ENCAP_DIRECT: u8 = 1;
const IPPROTO_IPIP: u8 = 4;

const NO_FOU: &str = "this kernel has no foo-over-UDP support (CONFIG_NET_FOU is not \
     set, no fou module): encap fou needs it; encap ipip does not";

fn attr<P>(ty: u16, payload: P) -> Result<neli::genl::Nlattr<u16, Buffer>>
where
    P: neli::Size + neli::ToBytes,
{
    Ok(NlattrBuilder::default()
        .nla_type(AttrTypeBuilder::default().nla_type(ty).build()?)
        .nla_payload(payload)
        .build()?)
}

/// Sends one FOU command for `port` (IPv4, IP-in-IP inside) and waits for
/// the kernel's answer.
fn command(cmd: u8, port: u16) -> Result<()> {
    let (router, _) = NlRouter::connect(NlFamily::Generic, None, Groups::empty())
        .context("cannot open a generic netlink socket")?;
    // Best effort: older kernels lack extended acks.
    let _ = router.enable_ext_ack(true);
    let family = router.resolve_genl_family(FAMILY).map_err(|e| match e {
        neli::err::RouterError::Nlmsgerr(_) => anyhow::anyhow!(NO_FOU),
        other => anyhow::Error::new(other).context("cannot look up the fou netlink family"),
    })?;
    let attrs: GenlBuffer<u16, Buffer> = [
        attr(ATTR_PORT, port.to_be())?,
        attr(ATTR_AF, libc::AF_INET as u8)?,
        attr(ATTR_IPPROTO, IPPROTO_IPIP)?,
        attr(ATTR_TYPE, ENCAP_DIRECT)?,
    ]
    .into_iter()
    .collect();
    let msg = GenlmsghdrBuilder::<u8, u16>::default()
        .cmd(cmd)
        .version(VERSION)
        .attrs(attrs)
        .build()?;
    let replies = router
        .send::<u16, Genlmsghdr<u8, u16>, u16, Genlmsghdr<u8, u16>>(
            family,
            NlmF::ACK,
            NlPayload::Payload(msg),
        )
        .context("cannot send a fou netlink request")?;
    for reply in replies {
        match reply {
            Ok(_) => {}
            Err(neli::err::RouterError::Nlmsgerr(err)) => {
                return Err(NetlinkError::from_nlmsgerr(&err).into())
            }
            Err(e) => return Err(anyhow::Error::new(e).context("fou netlink request failed")),
        }
    }
    Ok(())
}

/// `ip fou add port PORT ipproto 4`. Returns whether this call made it:
/// false when the port was already there (another fan, or the admin).
pub fn add_port(port: u16) -> Result<bool> {
    match command(CMD_ADD, port) {
        Ok(()) => Ok(true),
        Err(e) if super::errno_of(&e) == Some(libc::EALREADY) => Ok(false),
        Err(e) => Err(e.context(format!("cannot open FOU port {port}"))),
    }
}

/// `ip fou del port PORT`; a port already gone is not an error (the
/// kernel says EINVAL for a port it does not have).
pub fn delete_port(port: u16) -> Result<()> {
    match command(CMD_DEL, port) {
        Err(e) if super::errno_of(&e) == Some(libc::EINVAL) => Ok(()),
        other => other.with_context(|| format!("cannot close FOU port {port}")),
    }
}
