//! rtnetlink through neli: single requests, dumps, and batches of many
//! requests per `sendmsg` (the fallback installs tens of thousands of routes).

pub mod addr;
pub mod fou;
pub mod link;
#[cfg(any(test, feature = "reference-encoder"))]
pub mod reference;
pub mod route;

use std::{
    cell::{Cell, RefCell},
    fmt,
    io::Cursor,
};

use anyhow::{bail, Context, Result};
use neli::{
    consts::{
        nl::{NlmF, Nlmsg, NlmsgerrAttr},
        rtnl::Rtm,
        socket::{Msg, NlFamily},
    },
    err::Nlmsgerr,
    nl::{NlPayload, Nlmsghdr},
    socket::NlSocket,
    types::Buffer,
    utils::Groups,
    FromBytes, FromBytesWithInput, Size, ToBytes,
};

use crate::host::HostNet;

/// `sizeof(struct nlmsghdr)`.
const NLMSG_HDRLEN: usize = 16;
/// Big enough for any single dump datagram the kernel sends.
const RECV_BUF: usize = 256 * 1024;
/// Asked of the kernel so that a whole batch of refusals fits in the queue.
const SOCKET_RCVBUF: usize = 4 * 1024 * 1024;
/// Requests per `sendmsg`: each refusal costs about 1 KiB of receive queue
/// (it quotes the request), and the kernel caps the queue at twice
/// `net.core.rmem_max` (416 KiB by default).
pub const BATCH: usize = 256;

/// The kernel refused a request: errno plus its extended-ack message.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NetlinkError {
    pub errno: i32,
    pub detail: Option<String>,
}

impl fmt::Display for NetlinkError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}", std::io::Error::from_raw_os_error(self.errno))?;
        if let Some(detail) = &self.detail {
            write!(f, " ({detail})")?;
        }
        Ok(())
    }
}

impl std::error::Error for NetlinkError {}

impl NetlinkError {
    fn from_nlmsgerr<M>(err: &Nlmsgerr<M>) -> Self {
        let detail = err
            .ext_ack()
            .iter()
            .find(|attr| *attr.nla_type().nla_type() == NlmsgerrAttr::Msg)
            .map(|attr| {
                String::from_utf8_lossy(attr.nla_payload().as_ref())
                    .trim_end_matches('\0')
                    .to_string()
            })
            .filter(|msg| !msg.is_empty());
        NetlinkError {
            errno: -*err.error(),
            detail,
        }
    }
}

/// The errno of a netlink refusal anywhere in an error chain.
pub fn errno_of(err: &anyhow::Error) -> Option<i32> {
    err.chain()
        .find_map(|cause| cause.downcast_ref::<NetlinkError>())
        .map(|e| e.errno)
}

/// Appends one netlink message to `out`, padded to 4 bytes (and its length
/// with them, as iproute2 and neli count it). The header
/// (`struct nlmsghdr`) is written by hand, straight into `out`: no builder
/// and no buffer of its own for each request of a batch of tens of thousands.
pub fn encode_request<P>(
    seq: u32,
    ty: Rtm,
    flags: NlmF,
    payload: P,
    out: &mut Vec<u8>,
) -> Result<()>
where
    P: Size + ToBytes,
{
    let start = out.len();
    out.resize(start + NLMSG_HDRLEN, 0);
    let mut cursor = Cursor::new(std::mem::take(out));
    cursor.set_position(cursor.get_ref().len() as u64);
    let written = payload.to_bytes(&mut cursor);
    *out = cursor.into_inner();
    written.context("cannot encode a netlink message")?;
    out.resize(out.len().next_multiple_of(4), 0);
    let len = u32::try_from(out.len() - start).context("netlink message too long")?;
    let header = &mut out[start..start + NLMSG_HDRLEN];
    header[0..4].copy_from_slice(&len.to_ne_bytes());
    header[4..6].copy_from_slice(&u16::from(ty).to_ne_bytes());
    header[6..8].copy_from_slice(&flags.bits().to_ne_bytes());
    header[8..12].copy_from_slice(&seq.to_ne_bytes());
    // 12..16, the port id: 0, the kernel.
    Ok(())
}

/// The interfaces, addresses and default route of this namespace.
pub fn host_net(rtnl: &Rtnl) -> Result<HostNet> {
    Ok(HostNet {
        links: link::list(rtnl)?,
        addrs: addr::list(rtnl)?,
        default_oif: route::default_oif(rtnl)?,
    })
}

/// A route netlink socket of the current network namespace.
pub struct Rtnl {
    sock: NlSocket,
    seq: Cell<u32>,
    buf: RefCell<Vec<u8>>,
}

impl Rtnl {
    pub fn open() -> Result<Self> {
        let sock = NlSocket::connect(NlFamily::Route, None, Groups::empty())
            .context("cannot open a route netlink socket")?;
        sock.block()?;
        // Both are best effort: older kernels lack extended acks, and an
        // unprivileged caller gets the default queue size.
        let _ = sock.enable_ext_ack(true);
        let _ = sock.set_recv_buffer_size(SOCKET_RCVBUF);
        Ok(Rtnl {
            sock,
            seq: Cell::new(1),
            buf: RefCell::new(vec![0; RECV_BUF]),
        })
    }

    fn next_seq(&self) -> u32 {
        let seq = self.seq.get();
        self.seq.set(seq.wrapping_add(1));
        seq
    }

    /// Appends one request to `out`; returns its sequence number.
    fn encode<P>(&self, ty: Rtm, flags: NlmF, payload: P, out: &mut Vec<u8>) -> Result<u32>
    where
        P: Size + ToBytes,
    {
        let seq = self.next_seq();
        encode_request(seq, ty, flags | NlmF::REQUEST, payload, out)?;
        Ok(seq)
    }

    fn send(&self, bytes: &[u8]) -> Result<()> {
        let sent = self
            .sock
            .send(bytes, Msg::empty())
            .context("netlink send failed")?;
        if sent != bytes.len() {
            bail!("netlink send was short: {sent} of {} bytes", bytes.len());
        }
        Ok(())
    }

    /// Receives one datagram and returns its messages.
    fn recv(&self) -> Result<Vec<Nlmsghdr<u16, Buffer>>> {
        let mut buf = self.buf.borrow_mut();
        let (len, _) = self
            .sock
            .recv(&mut buf[..], Msg::empty())
            .context("netlink receive failed")?;
        let mut cursor = Cursor::new(&buf[..len]);
        let mut msgs = Vec::new();
        while (cursor.position() as usize) < len {
            msgs.push(
                Nlmsghdr::<u16, Buffer>::from_bytes(&mut cursor)
                    .context("cannot parse a netlink reply")?,
            );
        }
        Ok(msgs)
    }

    /// Sends one request and waits for its ack.
    pub fn request<P>(&self, ty: Rtm, flags: NlmF, payload: P) -> Result<()>
    where
        P: Size + ToBytes,
    {
        let results = self.batch(ty, flags, std::iter::once(payload))?;
        match results.into_iter().next() {
            Some(Err(err)) => Err(err.into()),
            _ => Ok(()),
        }
    }

    /// Sends the requests in batches of [`BATCH`] per `sendmsg` and returns
    /// one result per request, in order.
    ///
    /// Only the last request of a batch asks for an ack: the kernel handles
    /// a datagram's requests in order and answers a refused one whether
    /// asked or not, so when the last ack arrives every refusal of the
    /// batch is already queued before it. Tens of thousands of routes
    /// (fallback mode) then cost the kernel and us one ack per batch, not
    /// one per route.
    pub fn batch<P, I>(
        &self,
        ty: Rtm,
        flags: NlmF,
        payloads: I,
    ) -> Result<Vec<Result<(), NetlinkError>>>
    where
        P: Size + ToBytes,
        I: IntoIterator<Item = P>,
    {
        let mut results = Vec::new();
        let mut payloads = payloads.into_iter().peekable();
        let mut bytes = Vec::new();
        while payloads.peek().is_some() {
            bytes.clear();
            let first = self.seq.get();
            let mut count = 0usize;
            while count < BATCH {
                let Some(payload) = payloads.next() else {
                    break;
                };
                count += 1;
                let last = count == BATCH || payloads.peek().is_none();
                let ack = if last { NlmF::ACK } else { NlmF::empty() };
                self.encode(ty, flags | ack, payload, &mut bytes)?;
            }
            self.send(&bytes)?;
            let base = results.len();
            results.resize(base + count, Ok(()));
            let mut done = false;
            while !done {
                for mut msg in self.recv()? {
                    let index = msg.nl_seq().wrapping_sub(first) as usize;
                    if *msg.nl_type() != u16::from(Nlmsg::Error) || index >= count {
                        continue;
                    }
                    done |= index == count - 1;
                    if let Some(err) = msg.get_err() {
                        results[base + index] = Err(NetlinkError::from_nlmsgerr(&err));
                    }
                }
            }
        }
        Ok(results)
    }

    /// Dumps objects of one kind, returning each reply's payload.
    pub fn dump<P, R>(&self, ty: Rtm, payload: P) -> Result<Vec<R>>
    where
        P: Size + ToBytes,
        R: Size + FromBytesWithInput<Input = usize>,
    {
        let mut bytes = Vec::new();
        let seq = self.encode(ty, NlmF::DUMP, payload, &mut bytes)?;
        self.send(&bytes)?;
        let mut out = Vec::new();
        loop {
            for mut msg in self.recv()? {
                if *msg.nl_seq() != seq {
                    continue;
                }
                let kind = *msg.nl_type();
                if kind == u16::from(Nlmsg::Done) {
                    if let NlPayload::DumpExtAck(ack) = msg.nl_payload() {
                        if *ack.error() != 0 {
                            return Err(NetlinkError::from_nlmsgerr(ack).into());
                        }
                    }
                    return Ok(out);
                }
                if kind == u16::from(Nlmsg::Error) {
                    if let Some(err) = msg.get_err() {
                        return Err(NetlinkError::from_nlmsgerr(&err).into());
                    }
                    continue;
                }
                if let NlPayload::Payload(buf) = msg.nl_payload() {
                    let parsed =
                        R::from_bytes_with_input(&mut Cursor::new(buf.as_ref()), buf.len())
                            .context("cannot parse a netlink dump entry")?;
                    out.push(parsed);
                }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn requests_match_what_neli_builds_back_to_back() {
        let mut ours = Vec::new();
        let mut theirs = Vec::new();
        for (seq, payload) in [(7u32, &[1u8, 2, 3, 4][..]), (8, &[9, 9, 9]), (9, &[])] {
            let flags = NlmF::REQUEST | NlmF::ACK;
            encode_request(seq, Rtm::Newroute, flags, Buffer::from(payload), &mut ours).unwrap();
            reference::request(
                seq,
                Rtm::Newroute,
                flags,
                Buffer::from(payload),
                &mut theirs,
            )
            .unwrap();
            assert_eq!(ours.len() % 4, 0, "padded");
        }
        assert_eq!(ours, theirs);
    }
}
