//! What the user asks for, as written on the command line or in
//! /etc/network/fan: `OVERLAY UNDERLAY [dhcp] [host-reserve N] [bridge NAME] [mtu N]
//! [encap ipip|fou [port N]]`.
//! Nothing here looks at the host; see `underlay` for that.

use std::{fmt, net::Ipv4Addr};

use fanmap::{FanMap, ParseError, Prefix, Slice, DEFAULT_HOST_RESERVE};
use serde::{Deserialize, Serialize};

/// A malformed fan description (exit status 2 on the command line).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SpecError(pub String);

impl fmt::Display for SpecError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl std::error::Error for SpecError {}

fn err<T>(msg: impl Into<String>) -> Result<T, SpecError> {
    Err(SpecError(msg.into()))
}

/// Where this host's underlay address comes from.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum UnderlaySpec {
    /// `A.B.C.D[/len]`: this host's address, or the underlay network (the
    /// host's address in it is looked up). Without `/len`, /16.
    Address { addr: Ipv4Addr, len: u8 },
    /// `IFACE/len`: the interface's first IPv4 address.
    Interface { name: String, len: u8 },
    /// `default/len`: the first IPv4 address of the default route's interface.
    DefaultRoute { len: u8 },
}

impl UnderlaySpec {
    pub fn prefix_len(&self) -> u8 {
        match self {
            UnderlaySpec::Address { len, .. }
            | UnderlaySpec::Interface { len, .. }
            | UnderlaySpec::DefaultRoute { len } => *len,
        }
    }
}

impl fmt::Display for UnderlaySpec {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            UnderlaySpec::Address { addr, len } => write!(f, "{addr}/{len}"),
            UnderlaySpec::Interface { name, len } => write!(f, "{name}/{len}"),
            UnderlaySpec::DefaultRoute { len } => write!(f, "default/{len}"),
        }
    }
}

/// How fan packets travel between hosts.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "kebab-case")]
pub enum Encap {
    /// IP-in-IP (IP protocol 4), the fan's own.
    #[default]
    Ipip,
    /// IP-in-IP inside UDP to `port` (Linux's FOU), for underlays that
    /// drop IP protocol 4.
    Fou { port: u16 },
}

/// The UDP port of `encap fou` without `port N`.
pub const DEFAULT_FOU_PORT: u16 = 5555;

impl Encap {
    /// Bytes the encapsulation adds to each packet: the outer IPv4
    /// header, and for FOU a UDP header.
    pub fn overhead(&self) -> u32 {
        match self {
            Encap::Ipip => 20,
            Encap::Fou { .. } => 28,
        }
    }
}

impl fmt::Display for Encap {
    /// As the flags are written: `encap ipip`, `encap fou port N`.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Encap::Ipip => write!(f, "encap ipip"),
            Encap::Fou { port } => write!(f, "encap fou port {port}"),
        }
    }
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FanSpec {
    pub overlay: Prefix,
    pub underlay: UnderlaySpec,
    pub dhcp: bool,
    pub host_reserve: u32,
    pub bridge: Option<String>,
    pub mtu: Option<u32>,
    pub encap: Encap,
    /// Marked for `down -a`; what `up -a` brings up always is.
    pub auto: bool,
}

/// Linux interface names: 1 to 15 bytes, no '/', ':' or whitespace.
pub fn valid_ifname(name: &str) -> bool {
    (1..16).contains(&name.len())
        && name != "."
        && name != ".."
        && !name
            .chars()
            .any(|c| c == '/' || c == ':' || c.is_whitespace() || c.is_control())
}

/// Prefix lengths of an overlay or underlay; the kernel's fan maps take
/// the same.
const PREFIX_LENGTHS: std::ops::RangeInclusive<u8> = 1..=32;
const OVERLAY_FORMS: &str = "an overlay is N (N.0.0.0/8) or A.B.C.D/len";
const UNDERLAY_FORMS: &str = "an underlay is A.B.C.D[/len], IFACE/len or default/len";

/// Every range message reads "VALUE is out of range LOW..=HIGH", as the
/// kernel's fan-map messages do.
fn out_of_range(value: impl fmt::Display, low: u32, high: u32) -> String {
    format!("{value} is out of range {low}..={high}")
}

fn bad_prefix_length(len: impl fmt::Display) -> String {
    out_of_range(
        format_args!("prefix length {len}"),
        (*PREFIX_LENGTHS.start()).into(),
        (*PREFIX_LENGTHS.end()).into(),
    )
}

/// `A.B.C.D/len` with a length in 1..=32; host bits are allowed (an
/// underlay may be written as this host's address). A malformed text is
/// told the accepted `forms`.
fn parse_addr_len(text: &str, forms: &str) -> Result<(Ipv4Addr, u8), String> {
    match fanmap::text::parse_addr_len(text) {
        Ok((addr, len)) if PREFIX_LENGTHS.contains(&len) => Ok((addr, len)),
        Ok((_, len)) => Err(bad_prefix_length(len)),
        Err(ParseError::LengthOutOfRange(len)) => Err(bad_prefix_length(len)),
        Err(e) => Err(format!("{e}; {forms}")),
    }
}

/// `250` (250.0.0.0/8) or `250.0.0.0/8`.
pub fn parse_overlay(text: &str) -> Result<Prefix, SpecError> {
    let bad = |why: String| SpecError(format!("bad overlay {text:?}: {why}"));
    if !text.is_empty() && text.bytes().all(|b| b.is_ascii_digit()) {
        return match text.parse::<u8>() {
            Ok(first @ 1..) => {
                Prefix::new(Ipv4Addr::new(first, 0, 0, 0), 8).map_err(|e| bad(e.to_string()))
            }
            _ => Err(bad(format!(
                "{} (N means N.0.0.0/8)",
                out_of_range(text, 1, 255)
            ))),
        };
    }
    if !text.contains('/') {
        return Err(bad(OVERLAY_FORMS.into()));
    }
    let (addr, len) = parse_addr_len(text, OVERLAY_FORMS).map_err(bad)?;
    Prefix::new(addr, len).map_err(|_| bad(ParseError::HostBits { addr, len }.to_string()))
}

fn parse_len(text: &str, whole: &str) -> Result<u8, SpecError> {
    let bad = |why: String| SpecError(format!("bad underlay {whole:?}: {why}"));
    if text.is_empty() || !text.bytes().all(|b| b.is_ascii_digit()) {
        return Err(bad(format!("prefix length {text:?} is not a number")));
    }
    match text.parse::<u8>() {
        Ok(len) if PREFIX_LENGTHS.contains(&len) => Ok(len),
        _ => Err(bad(bad_prefix_length(text))),
    }
}

/// `A.B.C.D` (/16), `A.B.C.D/len`, `IFACE/len` or `default/len`.
pub fn parse_underlay(text: &str) -> Result<UnderlaySpec, SpecError> {
    let (head, len) = text.split_once('/').unwrap_or((text, ""));
    if head.chars().all(|c| c.is_ascii_digit() || c == '.') {
        let bad = |why: String| SpecError(format!("bad underlay {text:?}: {why}"));
        if !text.contains('/') {
            let addr = head
                .parse::<Ipv4Addr>()
                .map_err(|_| bad(format!("not an IPv4 address (A.B.C.D); {UNDERLAY_FORMS}")))?;
            return Ok(UnderlaySpec::Address { addr, len: 16 });
        }
        let (addr, len) = parse_addr_len(text, UNDERLAY_FORMS).map_err(bad)?;
        return Ok(UnderlaySpec::Address { addr, len });
    }
    let Some(len) = text.contains('/').then_some(len) else {
        return err(format!(
            "bad underlay {text:?}: an interface needs a prefix length, e.g. {head}/16"
        ));
    };
    let len = parse_len(len, text)?;
    if head == "default" {
        return Ok(UnderlaySpec::DefaultRoute { len });
    }
    if !valid_ifname(head) {
        return err(format!("bad underlay {text:?}: not an interface name"));
    }
    Ok(UnderlaySpec::Interface {
        name: head.to_string(),
        len,
    })
}

/// Optional settings shared by both syntaxes.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Flags {
    pub dhcp: bool,
    pub host_reserve: Option<u32>,
    pub bridge: Option<String>,
    pub mtu: Option<u32>,
    /// `encap ipip|fou`: "ipip" or "fou", checked by `parse_encap`.
    pub encap: Option<String>,
    /// `port N` of `encap fou`.
    pub port: Option<u16>,
    /// Only meaningful in /etc/network/fan: the line is disabled.
    pub off: bool,
    /// The fan is marked `auto`: `down -a` takes it down.
    pub auto: bool,
}

pub fn parse_mtu(text: &str) -> Result<u32, SpecError> {
    const MTUS: (u32, u32) = (68, 65535);
    if text.is_empty() || !text.bytes().all(|b| b.is_ascii_digit()) {
        return err(format!("bad mtu {text:?}: not a number"));
    }
    match text.parse::<u32>() {
        Ok(mtu) if (MTUS.0..=MTUS.1).contains(&mtu) => Ok(mtu),
        _ => err(out_of_range(format_args!("mtu {text}"), MTUS.0, MTUS.1)),
    }
}

/// A UDP port, 1..=65535.
pub fn parse_port(text: &str) -> Result<u16, SpecError> {
    if text.is_empty() || !text.bytes().all(|b| b.is_ascii_digit()) {
        return err(format!("bad port {text:?}: not a number"));
    }
    match text.parse::<u16>() {
        Ok(port @ 1..) => Ok(port),
        _ => err(out_of_range(format_args!("port {text}"), 1, 65535)),
    }
}

/// `ipip` or `fou`: checked here, the port joined in `encap_of`.
pub fn parse_encap_kind(text: &str) -> Result<String, SpecError> {
    match text {
        "ipip" | "fou" => Ok(text.to_string()),
        _ => err(format!("bad encap {text:?}: expected ipip or fou")),
    }
}

/// The encapsulation the flags ask for; `port` belongs to `encap fou` only.
pub fn encap_of(flags: &Flags) -> Result<Encap, SpecError> {
    match (flags.encap.as_deref(), flags.port) {
        (Some("fou"), port) => Ok(Encap::Fou {
            port: port.unwrap_or(DEFAULT_FOU_PORT),
        }),
        (_, Some(port)) => err(format!("port {port} needs encap fou")),
        _ => Ok(Encap::Ipip),
    }
}

pub fn parse_host_reserve(text: &str) -> Result<u32, SpecError> {
    text.parse::<u32>()
        .map_err(|_| SpecError(format!("bad host-reserve {text:?}: not a number")))
}

pub fn parse_bridge(text: &str) -> Result<String, SpecError> {
    if valid_ifname(text) {
        Ok(text.to_string())
    } else {
        err(format!(
            "bad bridge name {text:?}: 1 to 15 characters, no '/', ':' or spaces"
        ))
    }
}

/// The keyword flags after OVERLAY UNDERLAY: `dhcp`, `host-reserve N`,
/// `bridge NAME`, `mtu N`, `encap ipip|fou`, `port N`, `auto`, `off`.
pub fn parse_flags<'a>(words: impl IntoIterator<Item = &'a str>) -> Result<Flags, SpecError> {
    let mut flags = Flags::default();
    let mut words = words.into_iter();
    while let Some(word) = words.next() {
        let mut value = |what: &str| {
            words
                .next()
                .ok_or_else(|| SpecError(format!("{word} needs {what}")))
        };
        match word {
            "dhcp" => flags.dhcp = true,
            "off" => flags.off = true,
            "auto" => flags.auto = true,
            "host-reserve" => flags.host_reserve = Some(parse_host_reserve(value("a number")?)?),
            "bridge" => flags.bridge = Some(parse_bridge(value("a name")?)?),
            "mtu" => flags.mtu = Some(parse_mtu(value("a number")?)?),
            "encap" => flags.encap = Some(parse_encap_kind(value("ipip or fou")?)?),
            "port" => flags.port = Some(parse_port(value("a number")?)?),
            other => {
                return err(format!(
                    "unknown flag {other:?} (expected dhcp, host-reserve N, bridge NAME, mtu N, \
                 encap ipip|fou, port N, auto or off)"
                ))
            }
        }
    }
    Ok(flags)
}

/// Checks the map and the slice's room before the host is looked at. With
/// an interface underlay this host's address is not known yet, but every
/// slice of a map has the same size, so a stand-in address finds the same
/// mistakes: each gets the same message and status whatever the form. The
/// stand-in is the last address of 128.0.0.0/2, whose underlay is unicast
/// at every length but /1 (where every underlay meets a reserved range).
fn check_shape(
    overlay: Prefix,
    underlay: &UnderlaySpec,
    host_reserve: u32,
    dhcp: bool,
) -> Result<(), SpecError> {
    let addr = match underlay {
        UnderlaySpec::Address { addr, .. } => *addr,
        _ => Ipv4Addr::new(191, 255, 255, 255),
    };
    let map = Prefix::containing(addr, underlay.prefix_len())
        .and_then(|ul| FanMap::from_prefixes(overlay, ul))
        .map_err(|e| {
            SpecError(format!(
                "overlay {overlay} does not fit underlay {underlay}: {e}"
            ))
        })?;
    match map.slice_for(addr) {
        Some(slice) => check_slice(&slice, host_reserve, dhcp).map_err(SpecError),
        None => err(format!("{addr} is outside {}", map.underlay())),
    }
}

/// Whether a slice of this size holds the bridge address, the host's
/// reserve and, with DHCP, at least one address for containers.
pub fn check_slice(slice: &Slice, host_reserve: u32, dhcp: bool) -> Result<(), String> {
    let len = slice.prefix().prefix_len();
    if slice.gateway().is_none() {
        return Err(format!("a /{len} slice has no room for a bridge address"));
    }
    if slice.host_range(host_reserve).is_none() {
        return Err(format!(
            "host-reserve {host_reserve} does not fit a /{len} slice"
        ));
    }
    if dhcp && slice.dhcp_range(host_reserve).is_none() {
        return Err(format!(
            "no address of a /{len} slice is left for DHCP after host-reserve {host_reserve}"
        ));
    }
    Ok(())
}

impl FanSpec {
    pub fn new(overlay: &str, underlay: &str, flags: &Flags) -> Result<FanSpec, SpecError> {
        let overlay = parse_overlay(overlay)?;
        let underlay = parse_underlay(underlay)?;
        let host_reserve = flags.host_reserve.unwrap_or(DEFAULT_HOST_RESERVE);
        let encap = encap_of(flags)?;
        check_shape(overlay, &underlay, host_reserve, flags.dhcp)?;
        Ok(FanSpec {
            overlay,
            underlay,
            dhcp: flags.dhcp,
            host_reserve,
            bridge: flags.bridge.clone(),
            mtu: flags.mtu,
            encap,
            auto: flags.auto,
        })
    }

    /// `OVERLAY UNDERLAY [flags...]` as words (command line or config line).
    pub fn from_words(words: &[&str]) -> Result<(FanSpec, Flags), SpecError> {
        match words {
            [overlay, underlay, rest @ ..] => {
                let flags = parse_flags(rest.iter().copied())?;
                Ok((FanSpec::new(overlay, underlay, &flags)?, flags))
            }
            [_] => err("missing UNDERLAY after OVERLAY"),
            [] => err("missing OVERLAY and UNDERLAY"),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn words(s: &str) -> Result<FanSpec, SpecError> {
        FanSpec::from_words(&s.split_whitespace().collect::<Vec<_>>()).map(|(spec, _)| spec)
    }

    fn prefix(s: &str, len: u8) -> Prefix {
        Prefix::new(s.parse().unwrap(), len).unwrap()
    }

    #[test]
    fn announcement_forms() {
        let spec = words("250.0.0.0/8 eth0/16 dhcp").unwrap();
        assert_eq!(spec.overlay, prefix("250.0.0.0", 8));
        assert_eq!(
            spec.underlay,
            UnderlaySpec::Interface {
                name: "eth0".into(),
                len: 16
            }
        );
        assert!(spec.dhcp);
        assert_eq!(spec.host_reserve, 1);
        assert_eq!(spec.bridge, None);
        assert_eq!(spec.mtu, None);
    }

    #[test]
    fn short_overlay_means_slash_8() {
        assert_eq!(parse_overlay("250").unwrap(), prefix("250.0.0.0", 8));
        assert_eq!(parse_overlay("10").unwrap(), prefix("10.0.0.0", 8));
        assert_eq!(
            parse_overlay("100.64.0.0/10").unwrap(),
            prefix("100.64.0.0", 10)
        );
    }

    #[test]
    fn every_underlay_form() {
        assert_eq!(
            parse_underlay("172.30.0.28").unwrap(),
            UnderlaySpec::Address {
                addr: "172.30.0.28".parse().unwrap(),
                len: 16
            }
        );
        assert_eq!(
            parse_underlay("172.30.0.28/24").unwrap(),
            UnderlaySpec::Address {
                addr: "172.30.0.28".parse().unwrap(),
                len: 24
            }
        );
        assert_eq!(
            parse_underlay("172.30.0.0/16").unwrap(),
            UnderlaySpec::Address {
                addr: "172.30.0.0".parse().unwrap(),
                len: 16
            }
        );
        assert_eq!(
            parse_underlay("ens3/16").unwrap(),
            UnderlaySpec::Interface {
                name: "ens3".into(),
                len: 16
            }
        );
        assert_eq!(
            parse_underlay("default/16").unwrap(),
            UnderlaySpec::DefaultRoute { len: 16 }
        );
    }

    #[test]
    fn bad_underlays() {
        for bad in [
            "172.30.0.28/33",
            "172.30.0.28/0",
            "172.30.0.28/x",
            "172.30.0/16",
            "300.1.2.3",
            "eth0",
            "default",
            "eth0/33",
            "much-too-long-name0/16",
            "a b/16",
            "",
        ] {
            assert!(parse_underlay(bad).is_err(), "{bad:?} accepted");
        }
    }

    #[test]
    fn bad_overlays() {
        for bad in [
            "250.0.0.0/33",
            "250.1.0.0/8",
            "300",
            "abc",
            "250.0.0.0/",
            "",
        ] {
            assert!(parse_overlay(bad).is_err(), "{bad:?} accepted");
        }
    }

    #[test]
    fn overlay_must_be_shorter_than_underlay() {
        let e = words("250.0.0.0/16 172.30.0.28/16").unwrap_err();
        assert!(e.0.contains("does not fit"), "{e}");
        let e = words("250.0.0.0/24 eth0/16").unwrap_err();
        assert!(e.0.contains("does not fit"), "{e}");
        assert!(words("250.0.0.0/8 172.30.0.28/16").is_ok());
    }

    #[test]
    fn flags() {
        let spec = words("250 172.30.0.28 dhcp host-reserve 3 bridge fanbr mtu 1400").unwrap();
        assert!(spec.dhcp);
        assert_eq!(spec.host_reserve, 3);
        assert_eq!(spec.bridge.as_deref(), Some("fanbr"));
        assert_eq!(spec.mtu, Some(1400));
        assert_eq!(spec.encap, Encap::Ipip);
        for bad in [
            "250 172.30.0.28 dchp",
            "250 172.30.0.28 host-reserve",
            "250 172.30.0.28 host-reserve -1",
            "250 172.30.0.28 mtu 20",
            "250 172.30.0.28 mtu 70000",
            "250 172.30.0.28 bridge this-name-is-too-long",
            "250 172.30.0.28 encap gre",
            "250 172.30.0.28 encap",
            "250 172.30.0.28 port 5555",
            "250 172.30.0.28 encap ipip port 5555",
            "250 172.30.0.28 encap fou port 0",
            "250 172.30.0.28 encap fou port 65536",
            "250 172.30.0.28 encap fou port x",
            "250",
            "",
        ] {
            assert!(words(bad).is_err(), "{bad:?} accepted");
        }
    }

    #[test]
    fn encapsulations() {
        assert_eq!(
            words("250 172.30.0.28 encap ipip").unwrap().encap,
            Encap::Ipip
        );
        assert_eq!(
            words("250 172.30.0.28 encap fou").unwrap().encap,
            Encap::Fou { port: 5555 }
        );
        assert_eq!(
            words("250 172.30.0.28 port 6000 encap fou dhcp")
                .unwrap()
                .encap,
            Encap::Fou { port: 6000 }
        );
        assert_eq!(Encap::Fou { port: 6000 }.to_string(), "encap fou port 6000");
        assert_eq!(Encap::Fou { port: 1 }.overhead(), 28);
        assert_eq!(Encap::Ipip.overhead(), 20);
        let e = words("250 172.30.0.28 port 6000").unwrap_err();
        assert_eq!(e.0, "port 6000 needs encap fou");
        let e = words("250 172.30.0.28 encap fou port 0").unwrap_err();
        assert_eq!(e.0, "port 0 is out of range 1..=65535");
    }
}
