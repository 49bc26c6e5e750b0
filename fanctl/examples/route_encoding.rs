//! What encoding the fallback's route requests costs, without sending them:
//! fanctl's hand-written encoder against neli's builders, for the 65,533
//! peer routes of 250.0.0.0/8 over 172.30.0.28/16, in batches of
//! `netlink::BATCH` as `Rtnl::batch` writes them. `bench/route-encoding`
//! runs each mode under callgrind and subtracts `routes` (building the
//! routes alone).
//!
//!   route_encoding routes|fanctl|neli|check

use std::{hint::black_box, net::Ipv4Addr, process::ExitCode};

use anyhow::{bail, Result};
use fanctl::{
    netlink::{encode_request, reference, BATCH},
    plan::{peer_routes, Route},
};
use neli::consts::{nl::NlmF, rtnl::Rtm};

/// Encodes every route with `encode`, batch by batch; returns the bytes of
/// each batch (or only their total length when `keep` is false).
fn encode_all(
    routes: &[Route],
    keep: bool,
    mut encode: impl FnMut(u32, NlmF, &Route, &mut Vec<u8>) -> Result<()>,
) -> Result<(usize, Vec<Vec<u8>>)> {
    let (mut total, mut kept, mut bytes) = (0, Vec::new(), Vec::new());
    let mut seq = 1u32;
    for batch in routes.chunks(BATCH) {
        bytes.clear();
        for (i, route) in batch.iter().enumerate() {
            let ack = if i + 1 == batch.len() {
                NlmF::ACK
            } else {
                NlmF::empty()
            };
            encode(
                seq,
                NlmF::REQUEST | NlmF::CREATE | NlmF::EXCL | ack,
                route,
                &mut bytes,
            )?;
            seq = seq.wrapping_add(1);
        }
        total += black_box(&bytes).len();
        if keep {
            kept.push(bytes.clone());
        }
    }
    Ok((total, kept))
}

fn fanctl(seq: u32, flags: NlmF, route: &Route, out: &mut Vec<u8>) -> Result<()> {
    encode_request(seq, Rtm::Newroute, flags, route.message(true), out)
}

fn neli(seq: u32, flags: NlmF, route: &Route, out: &mut Vec<u8>) -> Result<()> {
    reference::request(
        seq,
        Rtm::Newroute,
        flags,
        reference::route_message(route, true)?,
        out,
    )
}

fn run(mode: &str) -> Result<()> {
    let routes = peer_routes(
        &"250.0.0.0/8".parse()?,
        &"172.30.0.28/16".parse()?,
        5,
        Ipv4Addr::new(250, 0, 28, 1),
    )?;
    match mode {
        "routes" => println!("{} routes", black_box(&routes).len()),
        "fanctl" => println!("{} bytes", encode_all(&routes, false, fanctl)?.0),
        "neli" => println!("{} bytes", encode_all(&routes, false, neli)?.0),
        "check" => {
            let (_, ours) = encode_all(&routes, true, fanctl)?;
            let (_, theirs) = encode_all(&routes, true, neli)?;
            if ours != theirs {
                bail!("fanctl's requests differ from neli's");
            }
            println!(
                "{} routes: fanctl's requests are neli's, byte for byte",
                routes.len()
            );
        }
        other => bail!("unknown mode {other:?}: routes, fanctl, neli or check"),
    }
    Ok(())
}

fn main() -> ExitCode {
    let mode = std::env::args().nth(1).unwrap_or_default();
    match run(&mode) {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("route_encoding: {e:#}");
            ExitCode::FAILURE
        }
    }
}
