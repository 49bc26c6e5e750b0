//! The command line: both the announcement's positional form
//! (`fanctl up 250.0.0.0/8 eth0/16 dhcp`) and options (`-o`, `-u`, `--dhcp`).

use std::path::PathBuf;

use clap::{Args, Parser, Subcommand};
use clap_complete::Shell;

use crate::{
    paths::{Paths, RunDirArg, DEFAULT_DNSMASQ, DEFAULT_NFT, DEFAULT_STATE_DIR},
    runtime::args::{CniArgs, DockerArgs, LxdArgs, CNI_EXAMPLES, DOCKER_EXAMPLES, LXD_EXAMPLES},
    spec::{self, FanSpec, Flags, SpecError},
};

const ABOUT: &str = "Set up fan networking: container networks across hosts by address arithmetic";

const LONG_ABOUT: &str = "\
Set up fan networking: container networks across hosts by address arithmetic.

A fan maps an overlay network onto an underlay network: with overlay 250.0.0.0/8 \
over underlay 172.30.0.0/16, the host 172.30.0.28 owns the overlay slice \
250.0.28.0/24 and a packet for 250.0.27.3 goes IP-in-IP to 172.30.0.27. \
`fanctl up` creates the slice's bridge (fan-250-0-28, address 250.0.28.1), the fan \
map on tunl0, the overlay route, IPv4 forwarding, NAT out of the overlay and \
optionally a DHCP server; `fanctl down` removes exactly that.";

const EXAMPLES: &str = "\
Examples:
  fanctl up 250.0.0.0/8 eth0/16 dhcp     fan 250/8 over eth0's /16, with DHCP
  fanctl up -o 250 -u 172.30.0.28 --dhcp --host-reserve 2
  fanctl up -a                           every fan in /etc/network/fan, marked auto
  fanctl show                            Bridge Overlay Underlay Flags
  fanctl down 250.0.0.0/8 eth0/16
  fanctl down -a                         every fan marked auto
  fanctl down -e                         every fan
  fanctl docker 250 --apply              a Docker network on the fan's bridge
  fanctl cni 250 --output /etc/cni/net.d/10-fan.conflist
  fanctl lxd 250 | lxc profile edit fan-250

OVERLAY is N (N.0.0.0/8, N in 1..=255) or A.B.C.D/len. UNDERLAY is A.B.C.D (implies /16), \
A.B.C.D/len, IFACE/len (the interface's first IPv4 address) or default/len \
(the interface of the default route).

Exit status:
  0  success
  1  the command failed on this host: no such interface or address, a fan
     already up with other settings, a step of `up` or a kernel request
     failed, a bad line in the config file
  2  the command line is wrong: an unknown option, a malformed overlay,
     underlay or flag, a fan that cannot exist (an overlay that does not
     fit the underlay, a host-reserve that does not fit the slice)

Environment: FAN_CONFIG, FAN_RUN_DIR, FAN_STATE_DIR, FAN_DNSMASQ, FAN_NFT, \
FAN_DOCKER (see the options of the same names).";

const UP_EXAMPLES: &str = "\
Examples:
  fanctl up 250.0.0.0/8 eth0/16 dhcp
  fanctl up 250 172.30.0.28 dhcp host-reserve 2 mtu 1480
  fanctl up -o 250.0.0.0/8 -u default/16 --dhcp --bridge fanbr
  fanctl up 251 eth0/16 auto
  fanctl up 250 eth0/16 dhcp encap fou port 5555
  fanctl up -a

`up -a` brings up every line of the config file not marked `off` and marks each \
fan `auto`, as the flag `auto` does; a bad line or a failed fan is reported as \
FILE:LINE, the other lines are still brought up, and the exit status is 1.

Running `up` for a fan that is already up does nothing and succeeds. The fan, the \
underlay's interface and address, the fans already up and the kernel's ipip are \
checked before the bridge is made. When a step fails, what this run made is removed \
again and the step is named. Without the fan \
kernel module (no /proc/sys/net/fan/version), the fan runs on plain ipip with one \
route per peer host, unless --no-fallback.

`encap fou` carries the fan in UDP (Linux's foo-over-UDP, to port 5555 unless \
`port N`) for underlays that drop IP protocol 4; every host of the fan must use \
the same encapsulation and port, and the underlay must let that UDP port through. \
Such a fan runs on its own tunnel device, fan-fou (source: the host's underlay \
address), and its bridge MTU is the underlay's minus 28. The fans of one host all \
use one encapsulation.";

const DOWN_EXAMPLES: &str = "\
Examples:
  fanctl down 250.0.0.0/8 eth0/16
  fanctl down 250
  fanctl down -a
  fanctl down -e --force

`down -a` takes down the fans marked `auto` (brought up by `up -a` or with the \
flag `auto`), newest first, and leaves the others up; `down -e` takes down every \
fan. `down` refuses while interfaces (containers) are attached to the fan bridge, \
unless --force. Taking down a fan that is not up succeeds.";

const SHOW_EXAMPLES: &str = "\
Example:
  $ fanctl show
  Bridge       Overlay     Underlay       Flags
  fan-250-0-28 250.0.0.0/8 172.30.0.28/16 dhcp host-reserve 1

Flags say `fallback` when the fan runs on plain ipip routes (no fan module).";

#[derive(Debug, Parser)]
#[command(
    name = "fanctl",
    version,
    about = ABOUT,
    long_about = LONG_ABOUT,
    after_help = EXAMPLES,
    propagate_version = true,
    subcommand_required = true,
    arg_required_else_help = true
)]
pub struct Cli {
    #[command(subcommand)]
    pub command: Command,
}

/// `--config`, for the commands with `-a`.
#[derive(Debug, Args)]
#[command(next_help_heading = "Files and programs")]
pub struct ConfigArg {
    /// The fans for -a
    #[arg(
        long,
        env = "FAN_CONFIG",
        default_value = "/etc/network/fan",
        value_name = "FILE"
    )]
    pub config: PathBuf,
}

/// `--nft`, for the commands that change the NAT rules.
#[derive(Debug, Args)]
#[command(next_help_heading = "Files and programs")]
pub struct NftArg {
    /// The nft program
    #[arg(
        long,
        env = "FAN_NFT",
        default_value = DEFAULT_NFT,
        value_name = "PROGRAM"
    )]
    pub nft: PathBuf,
}

/// What `up` needs to start a DHCP server.
#[derive(Debug, Args)]
#[command(next_help_heading = "Files and programs")]
pub struct DhcpArgs {
    /// dnsmasq lease files
    #[arg(
        long,
        env = "FAN_STATE_DIR",
        default_value = DEFAULT_STATE_DIR,
        value_name = "DIR"
    )]
    pub state_dir: PathBuf,
    /// The dnsmasq program
    #[arg(
        long,
        env = "FAN_DNSMASQ",
        default_value = DEFAULT_DNSMASQ,
        value_name = "PROGRAM"
    )]
    pub dnsmasq: PathBuf,
}

#[derive(Debug, Subcommand)]
pub enum Command {
    /// Bring a fan up (or every fan of the config file with -a)
    #[command(
        after_help = UP_EXAMPLES,
        override_usage = "fanctl up OVERLAY UNDERLAY [dhcp] [host-reserve N] [bridge NAME] [mtu N] [encap ipip|fou [port N]]\n       \
                          fanctl up -o OVERLAY -u UNDERLAY [--dhcp] [--host-reserve N] [--bridge NAME] [--mtu N] [--encap ipip|fou [--port N]]\n       \
                          fanctl up -a"
    )]
    Up(UpArgs),
    /// Take a fan down (every fan of the config file with -a, every fan with -e)
    #[command(
        after_help = DOWN_EXAMPLES,
        override_usage = "fanctl down OVERLAY [UNDERLAY] [--force]\n       \
                          fanctl down -o OVERLAY [-u UNDERLAY] [--force]\n       \
                          fanctl down -a|-e [--force]"
    )]
    Down(DownArgs),
    /// Show the fans that are up
    #[command(after_help = SHOW_EXAMPLES)]
    Show(ShowArgs),
    /// Print (or run) the `docker network create` that puts Docker on a fan
    #[command(
        after_help = DOCKER_EXAMPLES,
        override_usage = "fanctl docker OVERLAY [UNDERLAY] [--name NAME] [--apply]\n       \
                          fanctl docker -o OVERLAY [-u UNDERLAY] [--name NAME] [--apply]"
    )]
    Docker(DockerArgs),
    /// Write a CNI network list (bridge, host-local) for a fan
    #[command(
        after_help = CNI_EXAMPLES,
        override_usage = "fanctl cni OVERLAY [UNDERLAY] [--name NAME] [--output FILE]\n       \
                          fanctl cni -o OVERLAY [-u UNDERLAY] [--name NAME] [--output FILE]"
    )]
    Cni(CniArgs),
    /// Print an LXD profile with a NIC on a fan
    #[command(
        after_help = LXD_EXAMPLES,
        override_usage = "fanctl lxd OVERLAY [UNDERLAY] [--name NAME]\n       \
                          fanctl lxd -o OVERLAY [-u UNDERLAY] [--name NAME]"
    )]
    Lxd(LxdArgs),
    /// Print a shell completion script
    #[command(after_help = "Example:\n  fanctl completions bash > /etc/bash_completion.d/fanctl")]
    Completions {
        #[arg(value_enum)]
        shell: Shell,
    },
    /// Print the man page (roff), or write one per command into a directory
    #[command(hide = true)]
    Man {
        #[arg(long, value_name = "DIR")]
        dir: Option<PathBuf>,
    },
}

#[derive(Debug, Args)]
pub struct UpArgs {
    /// OVERLAY UNDERLAY, then flags: dhcp, host-reserve N, bridge NAME, mtu N, encap ipip|fou, port N, auto
    #[arg(value_name = "ARGS", num_args = 0.., conflicts_with_all = ["all", "overlay", "underlay"])]
    pub words: Vec<String>,
    /// Overlay network: N (N.0.0.0/8) or A.B.C.D/len
    #[arg(short, long, requires = "underlay", conflicts_with = "all")]
    pub overlay: Option<String>,
    /// Underlay: A.B.C.D[/len], IFACE/len or default/len
    #[arg(short, long, requires = "overlay", conflicts_with = "all")]
    pub underlay: Option<String>,
    /// Run a DHCP server (dnsmasq) for the slice on the bridge
    #[arg(long, conflicts_with_all = ["all", "words"])]
    pub dhcp: bool,
    /// Keep the first N addresses of the slice for the host (default 1)
    #[arg(long, value_name = "N", conflicts_with_all = ["all", "words"])]
    pub host_reserve: Option<String>,
    /// Bridge name instead of fan-A-B-C
    #[arg(long, value_name = "NAME", conflicts_with_all = ["all", "words"])]
    pub bridge: Option<String>,
    /// Bridge MTU instead of the underlay interface's MTU minus the
    /// encapsulation (20 bytes for ipip, 28 for fou)
    #[arg(long, value_name = "N", conflicts_with_all = ["all", "words"])]
    pub mtu: Option<String>,
    /// Between hosts: ipip (IP protocol 4, the default) or fou (ipip in UDP,
    /// for underlays that drop protocol 4)
    #[arg(long, value_name = "ENCAP", conflicts_with_all = ["all", "words"])]
    pub encap: Option<String>,
    /// The UDP port of --encap fou, the same on every host (default 5555)
    #[arg(long, value_name = "N", conflicts_with_all = ["all", "words"])]
    pub port: Option<String>,
    /// Mark the fan `auto`, for `down -a`
    #[arg(long, conflicts_with_all = ["all", "words"])]
    pub auto: bool,
    /// Every fan of the config file not marked `off`, each marked `auto`
    #[arg(short, long)]
    pub all: bool,
    /// Fail instead of using plain ipip routes when the fan module is missing
    #[arg(long)]
    pub no_fallback: bool,
    #[command(flatten)]
    pub config: ConfigArg,
    #[command(flatten)]
    pub run_dir: RunDirArg,
    #[command(flatten)]
    pub dhcp_files: DhcpArgs,
    #[command(flatten)]
    pub nft: NftArg,
}

#[derive(Debug, Args)]
pub struct DownArgs {
    /// OVERLAY [UNDERLAY]
    #[arg(value_name = "ARGS", num_args = 0..=2, conflicts_with_all = ["all", "everything", "overlay"])]
    pub words: Vec<String>,
    /// Overlay network: N (N.0.0.0/8) or A.B.C.D/len
    #[arg(short, long, conflicts_with_all = ["all", "everything"])]
    pub overlay: Option<String>,
    /// Underlay (checked for form only: the overlay names the fan)
    #[arg(short, long, requires = "overlay")]
    pub underlay: Option<String>,
    /// Every fan marked `auto` (what `up -a` brought up)
    #[arg(short, long, conflicts_with = "everything")]
    pub all: bool,
    /// Every fan that is up
    #[arg(short, long)]
    pub everything: bool,
    /// Take the fan down even with containers attached to its bridge
    #[arg(long)]
    pub force: bool,
    #[command(flatten)]
    pub run_dir: RunDirArg,
    #[command(flatten)]
    pub nft: NftArg,
}

#[derive(Debug, Args)]
pub struct ShowArgs {
    /// JSON instead of the table
    #[arg(long)]
    pub json: bool,
    #[command(flatten)]
    pub run_dir: RunDirArg,
}

/// The value of a required option, or a message pointing at the help of
/// `command`.
fn required(value: Option<&str>, what: &str, command: &str) -> Result<String, SpecError> {
    value
        .map(str::to_string)
        .ok_or_else(|| SpecError(format!("missing {what} (see fanctl {command} --help)")))
}

impl UpArgs {
    pub fn paths(&self) -> Paths {
        Paths {
            run_dir: self.run_dir.run_dir.clone(),
            state_dir: self.dhcp_files.state_dir.clone(),
            dnsmasq: self.dhcp_files.dnsmasq.clone(),
            nft: self.nft.nft.clone(),
        }
    }

    /// The one fan asked for, or `None` for `-a`.
    pub fn spec(&self) -> Result<Option<FanSpec>, SpecError> {
        if self.all {
            return Ok(None);
        }
        if !self.words.is_empty() {
            let words: Vec<&str> = self.words.iter().map(String::as_str).collect();
            return FanSpec::from_words(&words).map(|(spec, flags)| {
                if flags.off {
                    Err(SpecError("`off` only belongs in the config file".into()))
                } else {
                    Ok(Some(spec))
                }
            })?;
        }
        let overlay = required(self.overlay.as_deref(), "OVERLAY", "up")?;
        let underlay = required(self.underlay.as_deref(), "UNDERLAY", "up")?;
        let flags = Flags {
            dhcp: self.dhcp,
            host_reserve: self
                .host_reserve
                .as_deref()
                .map(spec::parse_host_reserve)
                .transpose()?,
            bridge: self.bridge.as_deref().map(spec::parse_bridge).transpose()?,
            mtu: self.mtu.as_deref().map(spec::parse_mtu).transpose()?,
            encap: self
                .encap
                .as_deref()
                .map(spec::parse_encap_kind)
                .transpose()?,
            port: self.port.as_deref().map(spec::parse_port).transpose()?,
            off: false,
            auto: self.auto,
        };
        FanSpec::new(&overlay, &underlay, &flags).map(Some)
    }
}

/// Which fans `down` is about.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum DownTarget {
    Overlay(fanmap::Prefix),
    /// The fans marked `auto`.
    Auto,
    Everything,
}

impl DownArgs {
    pub fn paths(&self) -> Paths {
        Paths {
            nft: self.nft.nft.clone(),
            ..Paths::in_run_dir(&self.run_dir)
        }
    }

    pub fn target(&self) -> Result<DownTarget, SpecError> {
        if self.everything {
            return Ok(DownTarget::Everything);
        }
        if self.all {
            return Ok(DownTarget::Auto);
        }
        let (overlay, underlay) = match self.words.as_slice() {
            [] => (
                required(self.overlay.as_deref(), "OVERLAY (or -a, -e)", "down")?,
                self.underlay.clone(),
            ),
            [overlay] => (overlay.clone(), None),
            [overlay, underlay] => (overlay.clone(), Some(underlay.clone())),
            _ => return Err(SpecError("too many arguments".into())),
        };
        if let Some(underlay) = underlay {
            spec::parse_underlay(&underlay)?;
        }
        Ok(DownTarget::Overlay(spec::parse_overlay(&overlay)?))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use clap::CommandFactory;

    fn parse(args: &str) -> Result<Cli, clap::Error> {
        Cli::try_parse_from(std::iter::once("fanctl").chain(args.split_whitespace()))
    }

    fn up_spec(args: &str) -> Result<Option<FanSpec>, SpecError> {
        match parse(args).unwrap().command {
            Command::Up(up) => up.spec(),
            other => panic!("not up: {other:?}"),
        }
    }

    fn down_target(args: &str) -> Result<DownTarget, SpecError> {
        match parse(args).unwrap().command {
            Command::Down(down) => down.target(),
            other => panic!("not down: {other:?}"),
        }
    }

    #[test]
    fn clap_definition_is_consistent() {
        Cli::command().debug_assert();
    }

    #[test]
    fn positional_and_option_forms_agree() {
        let a = up_spec("up 250.0.0.0/8 172.30.0.28/16 dhcp host-reserve 2 bridge fb mtu 1400")
            .unwrap();
        let b = up_spec(
            "up -o 250.0.0.0/8 -u 172.30.0.28/16 --dhcp --host-reserve 2 --bridge fb --mtu 1400",
        )
        .unwrap();
        assert_eq!(a, b);
        let c = up_spec("up --overlay 250 --underlay 172.30.0.28 --dhcp --host-reserve=2 --bridge=fb --mtu=1400")
            .unwrap();
        assert_eq!(a, c);
        assert_eq!(up_spec("up -a").unwrap(), None);
        let fou = up_spec("up 250 172.30.0.28 encap fou port 6000").unwrap();
        assert_eq!(
            fou,
            up_spec("up -o 250 -u 172.30.0.28 --encap fou --port 6000").unwrap()
        );
        assert_eq!(fou.unwrap().encap, crate::spec::Encap::Fou { port: 6000 });
    }

    #[test]
    fn usage_errors() {
        for bad in [
            "up -a 250 eth0/16",
            "up -o 250",
            "up -u eth0/16",
            "up 250 eth0/16 --dhcp",
            "up -a --dhcp",
            "down -a -e",
            "down 250 eth0/16 extra",
            "down -a 250",
            "frobnicate",
        ] {
            assert!(parse(bad).is_err(), "{bad:?} accepted");
        }
        for bad in [
            "up 250",
            "up",
            "up 250/33 eth0/16",
            "up 250.1.0.0/8 eth0/16",
            "up 250 eth0/16 off",
            "up -o 250 -u eth0/16 --mtu 10",
            "up -o 250 -u eth0/16 --host-reserve x",
            "up -o 250.0.0.0/16 -u 172.30.0.28/16",
            "up -o 250 -u eth0/16 --encap gre",
            "up -o 250 -u eth0/16 --port 5555",
            "up -o 250 -u eth0/16 --encap fou --port 0",
        ] {
            assert!(up_spec(bad).is_err(), "{bad:?} accepted");
        }
    }

    #[test]
    fn down_forms() {
        let overlay = DownTarget::Overlay(spec::parse_overlay("250").unwrap());
        assert_eq!(down_target("down 250.0.0.0/8 eth0/16").unwrap(), overlay);
        assert_eq!(down_target("down 250").unwrap(), overlay);
        assert_eq!(
            down_target("down -o 250 -u eth0/16 --force").unwrap(),
            overlay
        );
        assert_eq!(down_target("down -a").unwrap(), DownTarget::Auto);
        assert_eq!(down_target("down -e").unwrap(), DownTarget::Everything);
        assert!(down_target("down").is_err());
        assert!(down_target("down 250 eth0").is_err());
    }

    #[test]
    fn paths_from_flags() {
        let cli =
            parse("up -a --run-dir /tmp/r --state-dir /tmp/s --config /tmp/c --nft /n").unwrap();
        let Command::Up(up) = cli.command else {
            panic!("not up")
        };
        let paths = up.paths();
        assert_eq!(paths.state().to_str(), Some("/tmp/r/state.json"));
        assert_eq!(
            paths.dnsmasq_leases("b").to_str(),
            Some("/tmp/s/dnsmasq-b.leases")
        );
        assert_eq!(paths.nft, PathBuf::from("/n"));
        assert_eq!(paths.dnsmasq, PathBuf::from("dnsmasq"));
        assert_eq!(up.config.config, PathBuf::from("/tmp/c"));
        let Command::Down(down) = parse("down -e --run-dir /tmp/r --nft /n").unwrap().command
        else {
            panic!("not down")
        };
        assert_eq!(down.paths().lock().to_str(), Some("/tmp/r/lock"));
        assert_eq!(down.paths().nft, PathBuf::from("/n"));
    }
}
