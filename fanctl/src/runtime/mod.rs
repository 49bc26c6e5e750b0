//! Container runtimes on a fan that is up: `fanctl docker`, `fanctl cni` and
//! `fanctl lxd` describe the fan's bridge to Docker, to CNI (containerd,
//! CRI-O, Kubernetes) and to LXD. Everything comes from the state `up`
//! recorded; the rendering (`docker`, `cni`, `lxd`) is pure, the few
//! effects (reading state, writing a file, running docker) are here.

pub mod args;
pub mod cni;
pub mod docker;
pub mod lxd;

use std::{
    fs,
    io::Write,
    net::Ipv4Addr,
    path::{Path, PathBuf},
    process::Command,
};

use anyhow::{anyhow, bail, Context, Result};
use ipnetwork::Ipv4Network;

use crate::{
    fan::network,
    paths::{find_program, Paths},
    spec::SpecError,
    state::{FanRecord, State},
};

use self::args::{CniArgs, DockerArgs, FanArgs, LxdArgs};

/// A fan as a container runtime sees it: a bridge, a subnet with its
/// gateway, and the addresses containers may take.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FanNet {
    /// The runtime's name for the network (`fan-250`).
    pub name: String,
    pub bridge: String,
    pub overlay: Ipv4Network,
    pub slice: Ipv4Network,
    /// The bridge's address, the containers' default gateway.
    pub gateway: Ipv4Addr,
    pub mtu: u32,
    /// The addresses kept for the host (`host-reserve`): gateway ..= this.
    pub last_reserved: Ipv4Addr,
    /// The addresses left for containers, first ..= last (before broadcast).
    pub containers: (Ipv4Addr, Ipv4Addr),
    /// Whether the fan's own DHCP server hands out the containers' range.
    pub dhcp: bool,
}

/// The runtime's network name when none is given: the same on every host
/// of the fan, from the overlay alone. `fan-250` for 250.0.0.0/8,
/// `fan-10-100` for 10.100.0.0/16, `fan-10-96-0-0-12` for 10.96.0.0/12 (a
/// length that is not whole bytes is spelled out after all four).
pub fn default_name(overlay: &Ipv4Network) -> String {
    let octets = overlay.network().octets();
    let len = overlay.prefix();
    let mut parts: Vec<String> = if len % 8 == 0 {
        octets[..usize::from(len / 8).max(1)]
            .iter()
            .map(u8::to_string)
            .collect()
    } else {
        octets.iter().map(u8::to_string).collect()
    };
    if len % 8 != 0 {
        parts.push(len.to_string());
    }
    format!("fan-{}", parts.join("-"))
}

/// Network names every runtime accepts: Docker's and CNI's
/// `[A-Za-z0-9][A-Za-z0-9_.-]*`, within LXD's 63 characters for profiles.
pub fn parse_name(text: &str) -> Result<String, SpecError> {
    let mut chars = text.chars();
    let first_ok = chars.next().is_some_and(|c| c.is_ascii_alphanumeric());
    let rest_ok = chars.all(|c| c.is_ascii_alphanumeric() || matches!(c, '_' | '.' | '-'));
    if first_ok && rest_ok && text.len() <= 63 {
        Ok(text.to_string())
    } else {
        Err(SpecError(format!(
            "bad network name {text:?}: 1 to 63 letters, digits, '_', '.' or '-', starting with a letter or digit"
        )))
    }
}

impl FanNet {
    pub fn new(fan: &FanRecord, name: Option<&str>) -> Result<FanNet> {
        let slice = fan.slice;
        let base = u32::from(slice.network());
        let broadcast = u32::from(slice.broadcast());
        if !slice.contains(fan.address) || fan.address == slice.network() {
            bail!(
                "the state of {} is damaged: bridge address {} is not a host address of {}",
                fan.bridge,
                fan.address,
                slice
            );
        }
        // As `up` counts it: a reserve of 0 still keeps the bridge's .1.
        let last_reserved = base.checked_add(fan.host_reserve.max(1));
        let first = last_reserved.and_then(|r| r.checked_add(1));
        let last = broadcast.checked_sub(1);
        let (Some(last_reserved), Some(first), Some(last)) = (last_reserved, first, last) else {
            bail!("no address of {slice} is left for containers");
        };
        if first > last || last <= base {
            bail!(
                "no address of {slice} is left for containers after host-reserve {}",
                fan.host_reserve
            );
        }
        Ok(FanNet {
            name: name.map_or_else(|| default_name(&fan.overlay), str::to_string),
            bridge: fan.bridge.clone(),
            overlay: fan.overlay,
            slice,
            gateway: fan.address,
            mtu: fan.mtu,
            last_reserved: Ipv4Addr::from(last_reserved),
            containers: (Ipv4Addr::from(first), Ipv4Addr::from(last)),
            dhcp: fan.dhcp,
        })
    }

    /// The containers' range as people write it, `250.0.28.2-250.0.28.254`.
    pub fn range_text(&self) -> String {
        format!("{}-{}", self.containers.0, self.containers.1)
    }
}

/// The fan on `overlay` as `up` recorded it, or an error saying to bring it
/// up: a runtime attached to a bridge that is not there would fail later
/// and less clearly.
pub fn fan_up<'a>(state: &'a State, overlay: &Ipv4Network) -> Result<&'a FanRecord> {
    state.find_overlay(overlay).ok_or_else(|| {
        anyhow!(
            "no fan on overlay {overlay} is up on this host: run `fanctl up {overlay} UNDERLAY` first"
        )
    })
}

fn load(command: &str, fan: &FanArgs, name: Option<&str>) -> Result<FanNet> {
    let overlay = network(fan.overlay(command)?);
    let state = State::load(&Paths::in_run_dir(&fan.run_dir).state())?;
    FanNet::new(fan_up(&state, &overlay)?, name)
}

fn stdout(text: &str) -> Result<()> {
    std::io::stdout()
        .write_all(text.as_bytes())
        .context("cannot write to standard output")
}

/// `fanctl docker`: print the command, or run it with `--apply`.
pub fn docker(args: &DockerArgs) -> Result<()> {
    let net = load("docker", &args.fan, args.name.as_deref())?;
    if net.dhcp {
        eprintln!(
            "fanctl: warning: {} also runs the fan's DHCP server over {}: Docker does not see its leases, so addresses may be given twice",
            net.bridge,
            net.range_text()
        );
    }
    let command = docker::network_create(&net);
    if !args.apply {
        return stdout(&command.text());
    }
    run_docker(&args.docker, &command.argv())?;
    println!(
        "docker network {} is on {} ({}, containers {})",
        net.name,
        net.bridge,
        net.slice,
        net.range_text()
    );
    Ok(())
}

fn run_docker(program: &Path, argv: &[String]) -> Result<()> {
    let docker =
        find_program(program).context("cannot run docker (install Docker, or set FAN_DOCKER)")?;
    let out = Command::new(&docker)
        .args(argv)
        .output()
        .with_context(|| format!("cannot run {}", docker.display()))?;
    if !out.status.success() {
        let stderr = String::from_utf8_lossy(&out.stderr);
        let stderr = stderr.trim();
        bail!(
            "`{} {}` failed ({}){}",
            docker.display(),
            argv.join(" "),
            out.status,
            if stderr.is_empty() {
                String::new()
            } else {
                format!(": {stderr}")
            }
        );
    }
    Ok(())
}

/// `fanctl cni`: the network config list on stdout or into a file.
pub fn cni(args: &CniArgs) -> Result<()> {
    let net = load("cni", &args.fan, args.name.as_deref())?;
    if net.dhcp {
        eprintln!(
            "fanctl: warning: {} also runs the fan's DHCP server over {}: host-local does not see its leases, so addresses may be given twice",
            net.bridge,
            net.range_text()
        );
    }
    let text = cni::render(&net)?;
    match &args.output {
        None => stdout(&text),
        Some(path) => {
            write_whole(path, &text)?;
            println!(
                "{}: CNI network {} on {} (containers {})",
                path.display(),
                net.name,
                net.bridge,
                net.range_text()
            );
            Ok(())
        }
    }
}

/// Writes `text` to a temporary file beside `path` and renames it: runtimes
/// such as containerd watch /etc/cni/net.d and must not read half a file.
fn write_whole(path: &Path, text: &str) -> Result<()> {
    let dir = match path.parent() {
        Some(dir) if !dir.as_os_str().is_empty() => dir.to_path_buf(),
        _ => PathBuf::from("."),
    };
    fs::create_dir_all(&dir).with_context(|| format!("cannot create {}", dir.display()))?;
    let name = path
        .file_name()
        .ok_or_else(|| anyhow!("{} names no file", path.display()))?;
    // A name the runtimes skip (they read *.conf, *.conflist, *.json).
    let tmp = dir.join(format!(".{}.tmp", name.to_string_lossy()));
    fs::write(&tmp, text).with_context(|| format!("cannot write {}", tmp.display()))?;
    if let Err(e) = fs::rename(&tmp, path) {
        let _ = fs::remove_file(&tmp);
        return Err(e).with_context(|| format!("cannot replace {}", path.display()));
    }
    Ok(())
}

/// `fanctl lxd`: the profile on stdout.
pub fn lxd(args: &LxdArgs) -> Result<()> {
    let net = load("lxd", &args.fan, args.name.as_deref())?;
    if !net.dhcp {
        eprintln!(
            "fanctl: warning: {} runs no DHCP server: instances on this profile need static addresses in {} (or bring the fan up with dhcp)",
            net.bridge,
            net.range_text()
        );
    }
    stdout(&lxd::profile(&net))
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;
    use crate::plan::Mode;

    pub fn record(slice: &str, host_reserve: u32) -> FanRecord {
        let slice: Ipv4Network = slice.parse().unwrap();
        let address = Ipv4Addr::from(u32::from(slice.network()) + 1);
        FanRecord {
            bridge: {
                let [a, b, c, _] = slice.network().octets();
                format!("fan-{a}-{b}-{c}")
            },
            overlay: "250.0.0.0/8".parse().unwrap(),
            underlay: "172.30.0.28/16".parse().unwrap(),
            underlay_device: "eth0".into(),
            slice,
            address,
            mtu: 8981,
            mtu_given: false,
            dhcp: false,
            host_reserve,
            mode: Mode::Module,
            encap: Default::default(),
            auto: false,
            resources: vec![],
        }
    }

    pub fn net(slice: &str, host_reserve: u32) -> FanNet {
        FanNet::new(&record(slice, host_reserve), None).unwrap()
    }

    #[test]
    fn the_announcements_host() {
        let net = net("250.0.28.0/24", 1);
        assert_eq!(net.name, "fan-250");
        assert_eq!(net.bridge, "fan-250-0-28");
        assert_eq!(net.gateway, Ipv4Addr::new(250, 0, 28, 1));
        assert_eq!(net.last_reserved, net.gateway);
        assert_eq!(net.range_text(), "250.0.28.2-250.0.28.254");
    }

    #[test]
    fn host_reserve_moves_the_first_container_address() {
        assert_eq!(
            net("250.0.28.0/24", 0).containers.0,
            Ipv4Addr::new(250, 0, 28, 2)
        );
        let net = net("250.0.28.0/24", 9);
        assert_eq!(net.last_reserved, Ipv4Addr::new(250, 0, 28, 9));
        assert_eq!(net.containers.0, Ipv4Addr::new(250, 0, 28, 10));
        // The largest reserve that leaves one address.
        let one = super::tests::net("250.0.28.0/24", 253);
        assert_eq!(one.containers.0, one.containers.1);
    }

    #[test]
    fn no_room_for_containers_is_an_error() {
        for (slice, reserve) in [
            ("250.0.28.0/24", 254),
            ("250.0.28.0/24", u32::MAX),
            ("250.0.28.0/30", 2),
        ] {
            let err = FanNet::new(&record(slice, reserve), None).unwrap_err();
            assert!(
                format!("{err:#}").contains("left for containers"),
                "{err:#}"
            );
        }
        assert!(FanNet::new(&record("250.0.28.0/30", 1), None).is_ok());
        let mut damaged = record("250.0.28.0/24", 1);
        damaged.address = Ipv4Addr::new(250, 0, 27, 1);
        assert!(FanNet::new(&damaged, None).is_err());
    }

    #[test]
    fn names() {
        let name = |s: &str| default_name(&s.parse().unwrap());
        assert_eq!(name("250.0.0.0/8"), "fan-250");
        assert_eq!(name("10.100.0.0/16"), "fan-10-100");
        assert_eq!(name("10.96.0.0/12"), "fan-10-96-0-0-12");
        assert_eq!(name("192.168.7.0/24"), "fan-192-168-7");
        assert_eq!(
            FanNet::new(&record("250.0.28.0/24", 1), Some("mine"))
                .unwrap()
                .name,
            "mine"
        );
        for good in ["fan-250", "a", "Fan_2.x-y", &"x".repeat(63)] {
            assert_eq!(parse_name(good).as_deref(), Ok(good));
        }
        for bad in [
            "",
            "-fan",
            ".fan",
            "fan 250",
            "fan/250",
            "fän",
            &"x".repeat(64),
        ] {
            assert!(parse_name(bad).is_err(), "{bad:?} accepted");
        }
    }

    #[test]
    fn a_fan_that_is_not_up() {
        let state = State {
            fans: vec![record("250.0.28.0/24", 1)],
            shared: vec![],
        };
        assert!(fan_up(&state, &"250.0.0.0/8".parse().unwrap()).is_ok());
        let err = fan_up(&state, &"251.0.0.0/8".parse().unwrap()).unwrap_err();
        assert_eq!(
            err.to_string(),
            "no fan on overlay 251.0.0.0/8 is up on this host: run `fanctl up 251.0.0.0/8 UNDERLAY` first"
        );
    }
}
