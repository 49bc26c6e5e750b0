//! A dnsmasq per fan bridge, serving the slice's addresses after the host's
//! reserved ones and pushing the bridge MTU to containers (DHCP option 26).

use std::{
    fs,
    net::Ipv4Addr,
    path::{Path, PathBuf},
    process::{Command, Stdio},
    thread,
    time::{Duration, Instant},
};

use anyhow::{bail, Context, Result};

use crate::paths::find_program;

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Dnsmasq {
    pub bridge: String,
    pub address: Ipv4Addr,
    pub netmask: Ipv4Addr,
    pub first: Ipv4Addr,
    pub last: Ipv4Addr,
    pub mtu: u32,
    pub pid_file: PathBuf,
    pub lease_file: PathBuf,
}

impl Dnsmasq {
    pub fn args(&self) -> Vec<String> {
        vec![
            // Ignore /etc/dnsmasq.conf: this instance serves only the bridge.
            "--conf-file=/dev/null".into(),
            "--strict-order".into(),
            "--bind-interfaces".into(),
            "--except-interface=lo".into(),
            format!("--interface={}", self.bridge),
            format!("--listen-address={}", self.address),
            format!(
                "--dhcp-range={},{},{},1h",
                self.first, self.last, self.netmask
            ),
            format!("--dhcp-option-force=option:mtu,{}", self.mtu),
            "--dhcp-no-override".into(),
            "--dhcp-authoritative".into(),
            format!("--pid-file={}", self.pid_file.display()),
            format!("--dhcp-leasefile={}", self.lease_file.display()),
        ]
    }

    /// Starts the daemon and returns its pid. dnsmasq's parent exits only
    /// once the daemon is ready, with an error message if it is not.
    pub fn start(&self, program: &Path) -> Result<i32> {
        let program = find_program(program).context("cannot run dnsmasq (install dnsmasq-base)")?;
        for file in [&self.pid_file, &self.lease_file] {
            if let Some(dir) = file.parent() {
                fs::create_dir_all(dir)
                    .with_context(|| format!("cannot create {}", dir.display()))?;
            }
        }
        let _ = fs::remove_file(&self.pid_file);
        let out = Command::new(&program)
            .args(self.args())
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::piped())
            .output()
            .with_context(|| format!("cannot run {}", program.display()))?;
        if !out.status.success() {
            bail!(
                "dnsmasq failed ({}): {}",
                out.status,
                String::from_utf8_lossy(&out.stderr).trim()
            );
        }
        let text = fs::read_to_string(&self.pid_file)
            .with_context(|| format!("dnsmasq wrote no pid file {}", self.pid_file.display()))?;
        match text.trim().parse::<i32>() {
            Ok(pid) if pid > 0 && alive(pid) => Ok(pid),
            _ => bail!("dnsmasq exited right after starting (pid file: {text:?})"),
        }
    }
}

fn alive(pid: i32) -> bool {
    // SAFETY: signal 0 only checks that the process exists.
    unsafe { libc::kill(pid, 0) == 0 }
}

/// Whether `pid` is still the dnsmasq we started for `bridge` (pids get reused).
fn is_ours(pid: i32, bridge: &str) -> bool {
    let Ok(cmdline) = fs::read(format!("/proc/{pid}/cmdline")) else {
        return false;
    };
    let wanted = format!("--interface={bridge}");
    cmdline
        .split(|&b| b == 0)
        .any(|arg| arg == wanted.as_bytes())
}

/// Stops the dnsmasq started for `bridge`; one already gone is fine.
pub fn stop(pid: i32, bridge: &str, pid_file: &Path) -> Result<()> {
    if is_ours(pid, bridge) {
        // SAFETY: plain kill(2) on a pid just checked to be our dnsmasq.
        unsafe { libc::kill(pid, libc::SIGTERM) };
        let deadline = Instant::now() + Duration::from_secs(3);
        while alive(pid) && is_ours(pid, bridge) {
            if Instant::now() > deadline {
                // SAFETY: as above.
                unsafe { libc::kill(pid, libc::SIGKILL) };
                break;
            }
            thread::sleep(Duration::from_millis(20));
        }
    }
    match fs::remove_file(pid_file) {
        Err(e) if e.kind() != std::io::ErrorKind::NotFound => {
            Err(e).with_context(|| format!("cannot remove {}", pid_file.display()))
        }
        _ => Ok(()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn serves_the_range_on_the_bridge_with_the_mtu() {
        let d = Dnsmasq {
            bridge: "fan-250-0-28".into(),
            address: Ipv4Addr::new(250, 0, 28, 1),
            netmask: Ipv4Addr::new(255, 255, 255, 0),
            first: Ipv4Addr::new(250, 0, 28, 2),
            last: Ipv4Addr::new(250, 0, 28, 254),
            mtu: 8981,
            pid_file: "/run/fan/dnsmasq-fan-250-0-28.pid".into(),
            lease_file: "/var/lib/fan/dnsmasq-fan-250-0-28.leases".into(),
        };
        let args = d.args();
        for want in [
            "--interface=fan-250-0-28",
            "--listen-address=250.0.28.1",
            "--dhcp-range=250.0.28.2,250.0.28.254,255.255.255.0,1h",
            "--dhcp-option-force=option:mtu,8981",
            "--pid-file=/run/fan/dnsmasq-fan-250-0-28.pid",
            "--dhcp-leasefile=/var/lib/fan/dnsmasq-fan-250-0-28.leases",
            "--conf-file=/dev/null",
        ] {
            assert!(args.iter().any(|a| a == want), "missing {want} in {args:?}");
        }
    }
}
