//! `fanctl up`: build a fan step by step, recording each thing made; when
//! a step fails, undo this run's work and name the step.

use anyhow::{anyhow, bail, Context, Result};

use crate::{
    dhcp::Dnsmasq,
    fan::{prefix_of, Fan},
    hooks,
    nat::{self, NatRule},
    netlink::{addr, host_net, link},
    plan::Mode,
    resource::{undo_all, Resource, Transaction},
    session::Session,
    spec::FanSpec,
    state::FanRecord,
    sysctl, tunnel,
};

#[derive(Debug, Clone, Copy, Default)]
pub struct UpOptions {
    /// Fail rather than fall back to plain ipip without the fan module.
    pub no_fallback: bool,
}

fn step<T>(name: &str, run: impl FnOnce() -> Result<T>) -> Result<T> {
    if let Some(why) = hooks::injected_failure(name) {
        bail!("step {name} failed: {why}");
    }
    run().with_context(|| format!("step {name} failed"))
}

fn make_bridge(s: &Session, fan: &Fan, tx: &mut Transaction) -> Result<()> {
    link::create_bridge(&s.rtnl, &fan.bridge, fan.bridge_mac())?;
    tx.record(Resource::Bridge {
        name: fan.bridge.clone(),
    });
    let bridge = link::by_name_required(&s.rtnl, &fan.bridge)?;
    addr::add(
        &s.rtnl,
        bridge.index,
        fan.address,
        fan.slice.prefix().prefix_len(),
    )?;
    link::set(&s.rtnl, &bridge, Some(fan.mtu), Some(true))
}

fn enable_forwarding(tx: &mut Transaction) -> Result<()> {
    let previous = sysctl::ip_forward()?;
    if previous != "1" {
        sysctl::set_ip_forward("1")?;
        if !tx.has_shared(|r| matches!(r, Resource::Forwarding { .. })) {
            tx.record_shared(Resource::Forwarding { previous });
        }
    }
    Ok(())
}

fn start_dhcp(s: &Session, fan: &Fan, tx: &mut Transaction) -> Result<()> {
    let (first, last) = fan
        .dhcp_range
        .ok_or_else(|| anyhow!("no DHCP range for {}", fan.bridge))?;
    let dnsmasq = Dnsmasq {
        bridge: fan.bridge.clone(),
        address: fan.address,
        netmask: fan.slice_network().mask(),
        first,
        last,
        mtu: fan.mtu,
        pid_file: s.paths.dnsmasq_pid(&fan.bridge),
        lease_file: s.paths.dnsmasq_leases(&fan.bridge),
    };
    let pid = dnsmasq.start(&s.paths.dnsmasq)?;
    tx.record(Resource::Dnsmasq {
        bridge: fan.bridge.clone(),
        pid,
        pid_file: dnsmasq.pid_file,
    });
    Ok(())
}

fn build(s: &Session, fan: &Fan, opts: UpOptions, tx: &mut Transaction) -> Result<Mode> {
    let tunnel = if hooks::no_tunnel() {
        None
    } else {
        Some(step("ipip", || {
            tunnel::prepare(&s.rtnl, fan, tx, opts.no_fallback)
        })?)
    };
    step("bridge", || make_bridge(s, fan, tx))?;
    if let Some(plan) = &tunnel {
        step("tunnel", || tunnel::setup(&s.rtnl, fan, plan, tx))?;
        step("route", || {
            tunnel::add_overlay_route(&s.rtnl, fan, &plan.dev, tx)
        })?;
    }
    step("forwarding", || enable_forwarding(tx))?;
    step("nat", || {
        let mut rules = s.nat_rules_except(&fan.bridge);
        rules.push(NatRule {
            bridge: fan.bridge.clone(),
            slice: fan.slice_network(),
            overlay: fan.overlay(),
        });
        nat::apply(&s.paths.nft, &rules)?;
        tx.record(Resource::Nat);
        Ok(())
    })?;
    if fan.dhcp {
        step("dhcp", || start_dhcp(s, fan, tx))?;
    }
    Ok(tunnel.map_or(Mode::NoTunnel, |plan| plan.mode))
}

/// Records the new fan; the state file is the last thing written.
fn commit(s: &mut Session, fan: &Fan, mode: Mode, tx: &Transaction) -> Result<()> {
    let mut state = s.state.clone();
    state.fans.push(record_of(fan, mode, tx.made(false)));
    state.shared.extend(tx.made(true));
    state.save(&s.paths.state())?;
    s.state = state;
    Ok(())
}

/// What the state file keeps of a fan that is up.
fn record_of(fan: &Fan, mode: Mode, resources: Vec<Resource>) -> FanRecord {
    FanRecord {
        bridge: fan.bridge.clone(),
        overlay: fan.overlay(),
        underlay: fan.underlay_host(),
        underlay_device: fan.underlay.device.clone(),
        slice: fan.slice_network(),
        address: fan.address,
        mtu: fan.mtu,
        mtu_given: fan.mtu_given,
        dhcp: fan.dhcp,
        host_reserve: fan.host_reserve,
        mode,
        encap: fan.encap,
        auto: fan.auto,
        resources,
    }
}

/// How the fan asked for differs from the same fan that is up, in words:
/// a second `up` that would silently keep the old settings is refused.
fn differences(old: &FanRecord, fan: &Fan) -> Vec<String> {
    let yes_no = |b: bool| if b { "dhcp" } else { "no dhcp" };
    let mut out = Vec::new();
    if old.dhcp != fan.dhcp {
        out.push(format!(
            "{} up, {} asked",
            yes_no(old.dhcp),
            yes_no(fan.dhcp)
        ));
    }
    if old.host_reserve != fan.host_reserve {
        out.push(format!(
            "host-reserve {} up, {} asked",
            old.host_reserve, fan.host_reserve
        ));
    }
    if old.mtu != fan.mtu {
        out.push(format!("mtu {} up, {} asked", old.mtu, fan.mtu));
    }
    if old.encap != fan.encap {
        out.push(format!("{} up, {} asked", old.encap, fan.encap));
    }
    out
}

/// The fans of a host share one encapsulation: a received packet goes to
/// the tunnel device that matches its addresses, whatever carried it, so
/// an ipip fan's packets would reach `fan-fou` and be checked against
/// the FOU fans' maps only; and `fan-fou` has one port.
fn check_same_encap(other: &FanRecord, fan: &Fan) -> Result<()> {
    if other.encap != fan.encap {
        bail!(
            "{} is up with {}, this fan asks {}: the fans of a host use one \
             encapsulation (and one FOU port)",
            other.bridge,
            other.encap,
            fan.encap
        );
    }
    Ok(())
}

/// What is already up of the fan asked for.
enum Existing {
    Nothing,
    /// This very fan, with its bridge.
    Up,
    /// A record of this fan whose bridge is gone: taken down before `up`.
    Stale(String),
}

/// Refuses fans that clash with one already up. Reads only: a stale record
/// is cleaned up by the caller once every check has passed.
fn check_existing(s: &Session, fan: &Fan) -> Result<Existing> {
    let overlay = fan.overlay();
    let mut existing = Existing::Nothing;
    if let Some(old) = s.state.find_overlay(&overlay) {
        let same = old.bridge == fan.bridge && old.underlay == fan.underlay_host();
        if !same {
            bail!(
                "overlay {overlay} is already in use by {} (underlay {})",
                old.bridge,
                old.underlay
            );
        }
        if link::by_name(&s.rtnl, &old.bridge)?.is_none() {
            existing = Existing::Stale(old.bridge.clone());
        } else {
            let changed = differences(old, fan);
            if !changed.is_empty() {
                bail!(
                    "{} is already up with other settings ({}): take it down first",
                    old.bridge,
                    changed.join(", ")
                );
            }
            return Ok(Existing::Up);
        }
    }
    let mine = fan.map.overlay();
    for other in s.state.fans.iter().filter(|f| f.overlay != overlay) {
        if prefix_of(&other.overlay)?.overlaps(&mine) {
            bail!(
                "overlay {overlay} overlaps {} of {}",
                other.overlay,
                other.bridge
            );
        }
        check_same_encap(other, fan)?;
    }
    if matches!(existing, Existing::Nothing) && link::by_name(&s.rtnl, &fan.bridge)?.is_some() {
        bail!("a network interface named {} already exists", fan.bridge);
    }
    Ok(existing)
}

/// Brings the fan up: everything that can be checked without changing the
/// host is, first; then each step, with everything undone on a failure.
pub fn up(s: &mut Session, spec: &FanSpec, opts: UpOptions) -> Result<()> {
    let fan = Fan::resolve(spec, &host_net(&s.rtnl)?)?;
    match check_existing(s, &fan)? {
        Existing::Up => {
            println!(
                "{}: {} over {} is already up",
                fan.bridge,
                fan.overlay(),
                fan.underlay_host()
            );
            return Ok(());
        }
        Existing::Stale(bridge) => {
            eprintln!("fanctl: {bridge} is recorded as up but its bridge is gone: cleaning up");
            crate::down::take_down(s, &bridge, true)?;
        }
        Existing::Nothing => {}
    }
    let mut tx = Transaction::new(&s.state.shared);
    let built = build(s, &fan, opts, &mut tx)
        .and_then(|mode| step("state", || commit(s, &fan, mode, &tx)).map(|()| mode));
    match built {
        Ok(mode) => {
            println!(
                "{}: {} over {} is up (slice {}, address {}, mtu {}, {})",
                fan.bridge,
                fan.overlay(),
                fan.underlay_host(),
                fan.slice_network(),
                fan.address,
                fan.mtu,
                mode.name()
            );
            Ok(())
        }
        Err(err) => {
            let failures = undo_all(tx.all(), &s.undo_context(&fan.bridge));
            for (_, failure) in &failures {
                eprintln!("fanctl: warning: rollback incomplete: {failure:#}");
            }
            let what = if failures.is_empty() {
                "everything this run made was removed again"
            } else {
                "some of what this run made could not be removed (see warnings)"
            };
            Err(err.context(format!("cannot bring up {} ({what})", fan.bridge)))
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::host::example_net;

    fn fan(line: &str) -> Fan {
        let words: Vec<&str> = line.split_whitespace().collect();
        Fan::resolve(&FanSpec::from_words(&words).unwrap().0, &example_net()).unwrap()
    }

    fn record(fan: &Fan) -> FanRecord {
        record_of(fan, Mode::Module, vec![])
    }

    #[test]
    fn a_second_up_must_ask_for_the_same_fan() {
        let up = record(&fan("250.0.0.0/8 eth0/16 dhcp"));
        assert!(differences(&up, &fan("250.0.0.0/8 eth0/16 dhcp")).is_empty());
        assert!(differences(&up, &fan("250 172.30.0.28 dhcp host-reserve 1 mtu 8981")).is_empty());
        assert_eq!(
            differences(&up, &fan("250.0.0.0/8 eth0/16")),
            ["dhcp up, no dhcp asked"]
        );
        assert_eq!(
            differences(
                &up,
                &fan("250.0.0.0/8 eth0/16 dhcp host-reserve 3 mtu 1480")
            ),
            ["host-reserve 1 up, 3 asked", "mtu 8981 up, 1480 asked"]
        );
        assert_eq!(
            differences(&up, &fan("250.0.0.0/8 eth0/16 dhcp mtu 8981 encap fou")),
            ["encap ipip up, encap fou port 5555 asked"]
        );
    }

    #[test]
    fn one_encapsulation_per_host() {
        let ipip = record(&fan("250.0.0.0/8 eth0/16"));
        let fou = record(&fan("251.0.0.0/8 eth0/16 encap fou"));
        assert!(check_same_encap(&ipip, &fan("252.0.0.0/8 eth0/16")).is_ok());
        assert!(check_same_encap(&fou, &fan("252.0.0.0/8 eth0/16 encap fou")).is_ok());
        let e = check_same_encap(&ipip, &fan("252.0.0.0/8 eth0/16 encap fou")).unwrap_err();
        assert_eq!(
            e.to_string(),
            "fan-250-0-28 is up with encap ipip, this fan asks encap fou port 5555: \
             the fans of a host use one encapsulation (and one FOU port)"
        );
        assert!(check_same_encap(&fou, &fan("252.0.0.0/8 eth0/16 encap fou port 6000")).is_err());
    }
}
