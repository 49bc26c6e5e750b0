//! The command lines of `fanctl docker`, `fanctl cni` and `fanctl lxd`.

use std::path::PathBuf;

use clap::Args;
use fanmap::Prefix;

use crate::{
    paths::RunDirArg,
    spec::{self, SpecError},
};

pub const DOCKER_EXAMPLES: &str = "\
Examples:
  fanctl docker 250                       print the command for fan 250.0.0.0/8
  fanctl docker 250.0.0.0/8 eth0/16 --apply
  fanctl docker -o 250 --name fan | sh
  docker run --rm --network fan-250 busybox ip -4 addr show eth0

The network uses the fan's bridge as it is: --subnet is this host's slice, \
--gateway the bridge's address, and Docker's address allocator is kept off the \
host's reserved addresses (host-reserve) with --ip-range and --aux-address; the \
container MTU is the bridge's. Docker's masquerading is off, since the fan \
already NATs traffic leaving the overlay, and the gateway mode is \
nat-unprotected so that containers on other fan hosts reach every port, not \
only published ones (Docker before 27 ignores that option). Docker leaves the \
bridge and its address in place on `docker network rm`. Remove the Docker \
network before `fanctl down`.

With a fan that runs `dhcp`, Docker does not see the DHCP server's leases: \
bring such a fan up without dhcp when Docker assigns the addresses.";

pub const CNI_EXAMPLES: &str = "\
Examples:
  fanctl cni 250 --output /etc/cni/net.d/10-fan.conflist
  fanctl cni -o 250 -u eth0/16 --name fan > fan.conflist

The list has one plugin, the reference `bridge` plugin on the fan's bridge with \
`host-local` addresses from this host's slice after the reserved ones and a \
default route via the bridge. The plugin neither takes the gateway address \
(isGateway: false: the bridge already holds it) nor masquerades (ipMasq: \
false: the fan NATs traffic leaving the overlay). containerd and CRI-O read \
/etc/cni/net.d (the first file in name order is the pod network); the plugins \
are looked up in /opt/cni/bin, or /usr/lib/cni with Debian's \
containernetworking-plugins. --output writes the file whole (a temporary file, \
then rename), since runtimes watch that directory.

With a fan that runs `dhcp`, host-local does not see the DHCP server's leases: \
bring such a fan up without dhcp when CNI assigns the addresses.";

pub const LXD_EXAMPLES: &str = "\
Examples:
  lxc profile create fan-250
  fanctl lxd 250 | lxc profile edit fan-250
  lxc launch ubuntu:24.04 c1 --profile default --profile fan-250

The profile has one NIC, eth0, bridged onto the fan's bridge with the bridge's \
MTU; later profiles win, so it replaces the default profile's eth0. LXD does \
not assign addresses on a bridge it does not manage: instances take theirs \
from the fan's DHCP server (`fanctl up ... dhcp`), or are configured by hand. \
The bridge name, and so the profile, differs from host to host, unless every \
host brings the fan up with the same `bridge NAME`.";

/// Which fan: `OVERLAY [UNDERLAY]` or `-o OVERLAY [-u UNDERLAY]`, as for
/// `fanctl down`.
#[derive(Debug, Args)]
pub struct FanArgs {
    /// OVERLAY [UNDERLAY]
    #[arg(value_name = "ARGS", num_args = 0..=2, conflicts_with = "overlay")]
    pub words: Vec<String>,
    /// Overlay network: N (N.0.0.0/8) or A.B.C.D/len
    #[arg(short, long)]
    pub overlay: Option<String>,
    /// Underlay (checked for form only: the overlay names the fan)
    #[arg(short, long, requires = "overlay")]
    pub underlay: Option<String>,
    #[command(flatten)]
    pub run_dir: RunDirArg,
}

impl FanArgs {
    /// The fan's overlay; `command` names the help to point at.
    pub fn overlay(&self, command: &str) -> Result<Prefix, SpecError> {
        let (overlay, underlay) = match self.words.as_slice() {
            [] => (self.overlay.as_deref(), self.underlay.as_deref()),
            [overlay] => (Some(overlay.as_str()), None),
            [overlay, underlay] => (Some(overlay.as_str()), Some(underlay.as_str())),
            _ => return Err(SpecError("too many arguments".into())),
        };
        let overlay = overlay.ok_or_else(|| {
            SpecError(format!(
                "missing OVERLAY, e.g. 250 or 250.0.0.0/8 (see fanctl {command} --help)"
            ))
        })?;
        if let Some(underlay) = underlay {
            spec::parse_underlay(underlay)?;
        }
        spec::parse_overlay(overlay)
    }
}

fn name_arg(text: &str) -> Result<String, String> {
    super::parse_name(text).map_err(|e| e.0)
}

#[derive(Debug, Args)]
pub struct DockerArgs {
    #[command(flatten)]
    pub fan: FanArgs,
    /// Docker network name [default: fan-N for overlay N.0.0.0/8]
    #[arg(long, value_name = "NAME", value_parser = name_arg)]
    pub name: Option<String>,
    /// Run `docker network create` instead of printing it
    #[arg(long)]
    pub apply: bool,
    /// The docker program (for --apply)
    #[arg(
        long,
        env = "FAN_DOCKER",
        default_value = "docker",
        value_name = "PROGRAM"
    )]
    pub docker: PathBuf,
}

#[derive(Debug, Args)]
pub struct CniArgs {
    #[command(flatten)]
    pub fan: FanArgs,
    /// CNI network name [default: fan-N for overlay N.0.0.0/8]
    #[arg(long, value_name = "NAME", value_parser = name_arg)]
    pub name: Option<String>,
    /// Write the list to FILE instead of standard output
    #[arg(long, value_name = "FILE")]
    pub output: Option<PathBuf>,
}

#[derive(Debug, Args)]
pub struct LxdArgs {
    #[command(flatten)]
    pub fan: FanArgs,
    /// Profile name, the YAML's `name:` [default: fan-N for overlay N.0.0.0/8]
    #[arg(long, value_name = "NAME", value_parser = name_arg)]
    pub name: Option<String>,
}

#[cfg(test)]
mod tests {
    use clap::Parser;

    use super::*;

    /// The three commands as `fanctl` offers them.
    #[derive(Debug, Parser)]
    enum Command {
        Docker(DockerArgs),
        Cni(CniArgs),
        Lxd(LxdArgs),
    }

    fn parse(args: &[&str]) -> Result<Command, clap::Error> {
        Command::try_parse_from(std::iter::once("fanctl").chain(args.iter().copied()))
    }

    fn overlay(args: &[&str]) -> Result<String, String> {
        let (fan, cmd) = match parse(args).map_err(|e| e.to_string())? {
            Command::Docker(a) => (a.fan, "docker"),
            Command::Cni(a) => (a.fan, "cni"),
            Command::Lxd(a) => (a.fan, "lxd"),
        };
        fan.overlay(cmd).map(|p| p.to_string()).map_err(|e| e.0)
    }

    #[test]
    fn the_fan_is_named_as_for_down() {
        for cmd in ["docker", "cni", "lxd"] {
            for args in [
                &[cmd, "250"][..],
                &[cmd, "250.0.0.0/8", "eth0/16"],
                &[cmd, "-o", "250"],
                &[cmd, "--overlay", "250.0.0.0/8", "-u", "172.30.0.28"],
            ] {
                assert_eq!(overlay(args).as_deref(), Ok("250.0.0.0/8"), "{args:?}");
            }
        }
    }

    #[test]
    fn bad_fans_and_names() {
        // Errors of the fan's words (exit status 2 through SpecError).
        for args in [
            &["docker"][..],
            &["cni", "250.1.0.0/8"],
            &["lxd", "250/33"],
            &["docker", "250", "eth0"],
            &["cni", "-o", "250", "-u", "eth0/40"],
        ] {
            assert!(overlay(args).is_err(), "{args:?} accepted");
        }
        // Errors clap reports (also status 2).
        for args in [
            &["docker", "250", "eth0/16", "extra"][..],
            &["docker", "-u", "eth0/16"],
            &["cni", "250", "-o", "250"],
            &["lxd", "250", "--name", "a b"],
            &["docker", "250", "--name", "-x"],
            &["cni", "250", "--name", ""],
            &["lxd", "250", "--apply"],
        ] {
            assert!(parse(args).is_err(), "{args:?} accepted");
        }
        let cli = parse(&["cni", "250", "--name", "pods", "--output", "/tmp/x"]).unwrap();
        let Command::Cni(args) = cli else {
            panic!("not cni")
        };
        assert_eq!(args.name.as_deref(), Some("pods"));
        assert_eq!(args.output.as_deref(), Some(std::path::Path::new("/tmp/x")));
    }
}
