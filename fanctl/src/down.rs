//! `fanctl down`: undo what `up` recorded for a fan, newest first.

use anyhow::{bail, Result};
use ipnetwork::Ipv4Network;

use crate::{netlink::link, resource::undo_all, session::Session, state::FanRecord};

/// The devices attached to `bridge` (containers' veths).
fn ports(s: &Session, bridge: &str) -> Result<Vec<String>> {
    let Some(br) = link::by_name(&s.rtnl, bridge)? else {
        return Ok(Vec::new());
    };
    Ok(link::list(&s.rtnl)?
        .into_iter()
        .filter(|l| l.master == Some(br.index))
        .map(|l| l.name)
        .collect())
}

/// Takes down the recorded fan on `bridge`. What cannot be undone stays
/// recorded, so that another `down` can retry it.
pub fn take_down(s: &mut Session, bridge: &str, force: bool) -> Result<()> {
    let Some(index) = s.state.fans.iter().position(|f| f.bridge == bridge) else {
        bail!("{bridge} is not a fan bridge fanctl made");
    };
    if !force {
        let ports = ports(s, bridge)?;
        if !ports.is_empty() {
            bail!(
                "{bridge} still has {} attached interface{} ({}): stop the containers first, or use --force",
                ports.len(),
                if ports.len() == 1 { "" } else { "s" },
                ports.join(", ")
            );
        }
    }
    let record = s.state.fans[index].clone();
    let failed = undo_all(record.resources.iter(), &s.undo_context(bridge));
    let mut errors: Vec<_> = failed.iter().map(|(_, e)| format!("{e:#}")).collect();
    if failed.is_empty() {
        s.state.fans.remove(index);
    } else {
        s.state.fans[index].resources = failed.into_iter().map(|(r, _)| r).collect();
    }
    if s.state.fans.is_empty() {
        let shared = std::mem::take(&mut s.state.shared);
        let failed = undo_all(shared.iter(), &s.undo_context(bridge));
        errors.extend(failed.iter().map(|(_, e)| format!("{e:#}")));
        s.state.shared = failed.into_iter().map(|(r, _)| r).collect();
    }
    s.save()?;
    if !errors.is_empty() {
        bail!("{bridge} is only partly down: {}", errors.join("; "));
    }
    println!(
        "{bridge}: {} over {} is down",
        record.overlay, record.underlay
    );
    Ok(())
}

/// `fanctl down OVERLAY [UNDERLAY]`: a fan that is not up is no error, so
/// that ifupdown's `down` lines can run twice.
pub fn down_overlay(s: &mut Session, overlay: Ipv4Network, force: bool) -> Result<()> {
    match s.state.find_overlay(&overlay) {
        Some(fan) => {
            let bridge = fan.bridge.clone();
            take_down(s, &bridge, force)
        }
        None => {
            println!("{overlay}: no fan is up on this overlay");
            Ok(())
        }
    }
}

/// `fanctl down -a`: the fans marked `auto`, newest first.
pub fn down_auto(s: &mut Session, force: bool) -> Result<()> {
    let bridges = newest_first(s, |f| f.auto);
    if bridges.is_empty() {
        println!("no fan marked auto is up");
    }
    take_down_each(s, &bridges, force)
}

/// `fanctl down -e`: every fan fanctl made, newest first.
pub fn down_everything(s: &mut Session, force: bool) -> Result<()> {
    let bridges = newest_first(s, |_| true);
    if bridges.is_empty() {
        println!("no fan is up");
    }
    take_down_each(s, &bridges, force)
}

fn newest_first(s: &Session, which: impl Fn(&FanRecord) -> bool) -> Vec<String> {
    s.state
        .fans
        .iter()
        .rev()
        .filter(|f| which(f))
        .map(|f| f.bridge.clone())
        .collect()
}

/// Takes down each fan, going on past failures.
fn take_down_each(s: &mut Session, bridges: &[String], force: bool) -> Result<()> {
    let mut failed = 0;
    for bridge in bridges {
        if let Err(e) = take_down(s, bridge, force) {
            eprintln!("fanctl: error: {e:#}");
            failed += 1;
        }
    }
    if failed > 0 {
        bail!("{failed} of {} fans could not be taken down", bridges.len());
    }
    Ok(())
}
