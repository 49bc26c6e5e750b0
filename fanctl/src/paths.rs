//! Where fanctl keeps its lock, state, pid and lease files, and which
//! programs it runs. Every one can be moved (tests use temporary dirs).

use std::path::{Path, PathBuf};

use anyhow::{anyhow, bail, Result};
use clap::Args;

pub const DEFAULT_STATE_DIR: &str = "/var/lib/fan";
pub const DEFAULT_DNSMASQ: &str = "dnsmasq";
pub const DEFAULT_NFT: &str = "nft";

/// `--run-dir`, for every command that reads or writes the state.
#[derive(Debug, Clone, Args)]
#[command(next_help_heading = "Files and programs")]
pub struct RunDirArg {
    /// Lock, state and dnsmasq pid files
    #[arg(
        long,
        env = "FAN_RUN_DIR",
        default_value = "/run/fan",
        value_name = "DIR"
    )]
    pub run_dir: PathBuf,
}

#[derive(Debug, Clone)]
pub struct Paths {
    /// Lock, state and dnsmasq pid files (`FAN_RUN_DIR`, /run/fan).
    pub run_dir: PathBuf,
    /// dnsmasq lease files (`FAN_STATE_DIR`, /var/lib/fan).
    pub state_dir: PathBuf,
    /// The dnsmasq program (`FAN_DNSMASQ`).
    pub dnsmasq: PathBuf,
    /// The nft program (`FAN_NFT`).
    pub nft: PathBuf,
}

impl Paths {
    /// The files of `run_dir`, with the default programs and lease
    /// directory for the commands that are not offered those options.
    pub fn in_run_dir(run_dir: &RunDirArg) -> Paths {
        Paths {
            run_dir: run_dir.run_dir.clone(),
            state_dir: DEFAULT_STATE_DIR.into(),
            dnsmasq: DEFAULT_DNSMASQ.into(),
            nft: DEFAULT_NFT.into(),
        }
    }

    pub fn lock(&self) -> PathBuf {
        self.run_dir.join("lock")
    }

    pub fn state(&self) -> PathBuf {
        self.run_dir.join("state.json")
    }

    pub fn dnsmasq_pid(&self, bridge: &str) -> PathBuf {
        self.run_dir.join(format!("dnsmasq-{bridge}.pid"))
    }

    pub fn dnsmasq_leases(&self, bridge: &str) -> PathBuf {
        self.state_dir.join(format!("dnsmasq-{bridge}.leases"))
    }
}

/// Finds a program: a path is used as is, a bare name is looked up in
/// `PATH` and then in the sbin directories (ifupdown hooks may lack them).
pub fn find_program(program: &Path) -> Result<PathBuf> {
    if program.components().count() > 1 {
        return if program.is_file() {
            Ok(program.to_path_buf())
        } else {
            bail!("{} does not exist", program.display())
        };
    }
    let path = std::env::var_os("PATH").unwrap_or_default();
    std::env::split_paths(&path)
        .chain(["/usr/sbin", "/sbin", "/usr/bin", "/bin"].map(PathBuf::from))
        .map(|dir| dir.join(program))
        .find(|candidate| candidate.is_file())
        .ok_or_else(|| anyhow!("{} not found in PATH", program.display()))
}
