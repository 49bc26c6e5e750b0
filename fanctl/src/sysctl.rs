//! The few kernel settings fanctl reads or writes, through /proc/sys
//! (they are per network namespace).

use std::{fs, io, path::Path};

use anyhow::{Context, Result};

const IP_FORWARD: &str = "/proc/sys/net/ipv4/ip_forward";
/// Present while the fan kernel module is loaded (docs/netlink.md).
const FAN_VERSION: &str = "/proc/sys/net/fan/version";

fn read(path: &str) -> io::Result<String> {
    Ok(fs::read_to_string(path)?.trim().to_string())
}

pub fn ip_forward() -> Result<String> {
    read(IP_FORWARD).with_context(|| format!("cannot read {IP_FORWARD}"))
}

pub fn set_ip_forward(value: &str) -> Result<()> {
    fs::write(IP_FORWARD, value).with_context(|| format!("cannot write {IP_FORWARD}"))
}

/// The fan module's version, `None` when the module is not loaded.
pub fn fan_version() -> Option<String> {
    Path::new(FAN_VERSION)
        .exists()
        .then(|| read(FAN_VERSION).ok())
        .flatten()
}
