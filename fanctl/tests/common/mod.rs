//! Throwaway network namespaces for fanctl's integration tests: each test
//! makes its own (an underlay veth with 172.30.0.28/16 and MTU 9001, a
//! default route) and its own run/state directories, and removes them all.
//! These tests need root; without it they say so and pass vacuously.

#![allow(dead_code)] // each test file uses a different part

use std::{
    fs,
    path::{Path, PathBuf},
    process::{Command, Output, Stdio},
    sync::atomic::{AtomicUsize, Ordering},
};

pub const BIN: &str = env!("CARGO_BIN_EXE_fanctl");

static COUNTER: AtomicUsize = AtomicUsize::new(0);

/// Tests that make network namespaces need root: without it they fail,
/// rather than pass having checked nothing.
pub fn require_root() {
    // SAFETY: geteuid has no preconditions.
    let root = unsafe { libc::geteuid() } == 0;
    assert!(root, "this test makes network namespaces: run it as root");
}

pub fn run(cmd: &mut Command) -> Output {
    let out = cmd
        .output()
        .unwrap_or_else(|e| panic!("cannot run {cmd:?}: {e}"));
    assert!(
        out.status.success(),
        "{cmd:?} failed: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    out
}

pub fn text(out: &Output) -> (String, String) {
    (
        String::from_utf8_lossy(&out.stdout).into_owned(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

pub struct Netns {
    pub name: String,
    pub dir: PathBuf,
}

impl Netns {
    pub fn new(tag: &str) -> Netns {
        let n = COUNTER.fetch_add(1, Ordering::SeqCst);
        let name = format!("fanctl-t{}-{n}-{tag}", std::process::id());
        let dir = std::env::temp_dir().join(&name);
        let _ = fs::remove_dir_all(&dir);
        fs::create_dir_all(dir.join("run")).unwrap();
        fs::create_dir_all(dir.join("state")).unwrap();
        run(Command::new("ip").args(["netns", "add", &name]));
        let ns = Netns { name, dir };
        // No IPv6: its link-local addresses and routes come and go on their
        // own and would make before/after snapshots differ.
        for key in ["all", "default"] {
            ns.exec(&[
                "sysctl",
                "-qw",
                &format!("net.ipv6.conf.{key}.disable_ipv6=1"),
            ]);
        }
        for args in [
            "link set lo up",
            "link add ul0 mtu 9001 type veth peer name ul1",
            "link set ul1 mtu 9001",
            "addr add 172.30.0.28/16 dev ul0",
            "link set ul0 up",
            "link set ul1 up",
            "route add default via 172.30.0.1 dev ul0",
        ] {
            ns.ip(args);
        }
        ns
    }

    pub fn ip(&self, args: &str) -> String {
        let out = run(Command::new("ip")
            .args(["-n", &self.name])
            .args(args.split_whitespace()));
        text(&out).0
    }

    pub fn exec(&self, args: &[&str]) -> Output {
        run(Command::new("ip")
            .args(["netns", "exec", &self.name])
            .args(args))
    }

    pub fn run_dir(&self) -> PathBuf {
        self.dir.join("run")
    }

    pub fn state_dir(&self) -> PathBuf {
        self.dir.join("state")
    }

    /// fanctl inside the namespace, with its files in this test's directories.
    pub fn fanctl_cmd(&self, args: &[&str], env: &[(&str, &str)]) -> Command {
        let mut cmd = Command::new("ip");
        cmd.args(["netns", "exec", &self.name, BIN])
            .args(args)
            .env("FAN_RUN_DIR", self.run_dir())
            .env("FAN_STATE_DIR", self.state_dir())
            .env("FAN_CONFIG", self.dir.join("fan.conf"))
            .env_remove("FANCTL_FAIL_AT")
            .env_remove("FANCTL_TEST_NO_TUNNEL")
            .env_remove("FAN_DNSMASQ")
            .env_remove("FAN_NFT")
            .stdin(Stdio::null());
        for (k, v) in env {
            cmd.env(k, v);
        }
        cmd
    }

    pub fn fanctl(&self, args: &[&str], env: &[(&str, &str)]) -> Output {
        self.fanctl_cmd(args, env).output().unwrap()
    }

    /// fanctl that must succeed; returns stdout.
    pub fn fanctl_ok(&self, args: &[&str], env: &[(&str, &str)]) -> String {
        let out = self.fanctl(args, env);
        let (stdout, stderr) = text(&out);
        assert!(
            out.status.success(),
            "fanctl {args:?} failed ({}):\n{stdout}{stderr}",
            out.status
        );
        stdout
    }

    /// Links, addresses, routes, nftables and forwarding: what fanctl may
    /// touch and must leave as it found it.
    pub fn snapshot(&self) -> String {
        let nft = text(&self.exec(&["nft", "list", "ruleset"])).0;
        let forward = text(&self.exec(&["cat", "/proc/sys/net/ipv4/ip_forward"])).0;
        format!(
            "links:\n{}addrs:\n{}routes:\n{}nft:\n{nft}forward: {forward}",
            self.ip("-d -br link show"),
            self.ip("-br addr show"),
            self.ip("route show table all"),
        )
    }

    pub fn show_json(&self) -> serde_json::Value {
        serde_json::from_str(&self.fanctl_ok(&["show", "--json"], &[])).unwrap()
    }

    /// `ip -j -d addr show dev DEV` (the link with its addresses) as JSON,
    /// `None` if there is no such device.
    pub fn device(&self, dev: &str) -> Option<serde_json::Value> {
        let out = Command::new("ip")
            .args(["-n", &self.name, "-j", "-d", "addr", "show", "dev", dev])
            .output()
            .unwrap();
        if !out.status.success() {
            return None;
        }
        let list: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
        Some(list[0].clone())
    }

    pub fn nft_table(&self) -> Option<String> {
        let out = Command::new("ip")
            .args([
                "netns", "exec", &self.name, "nft", "list", "table", "ip", "fan",
            ])
            .output()
            .unwrap();
        out.status
            .success()
            .then(|| String::from_utf8_lossy(&out.stdout).into_owned())
    }
}

/// Whether a process exists and is not a zombie.
pub fn running(pid: i64) -> bool {
    fs::read_to_string(format!("/proc/{pid}/stat"))
        .map(|stat| {
            let state = stat.rsplit(')').next().unwrap_or("").trim_start();
            !state.starts_with('Z')
        })
        .unwrap_or(false)
}

pub fn cmdline(pid: i64) -> Vec<String> {
    fs::read(format!("/proc/{pid}/cmdline"))
        .unwrap_or_default()
        .split(|&b| b == 0)
        .map(|s| String::from_utf8_lossy(s).into_owned())
        .collect()
}

impl Drop for Netns {
    fn drop(&mut self) {
        // A failed test may leave a dnsmasq behind: end it by its pid file.
        if let Ok(entries) = fs::read_dir(self.run_dir()) {
            for entry in entries.flatten() {
                let path = entry.path();
                if path.extension().is_some_and(|e| e == "pid") {
                    if let Some(pid) = read_pid(&path) {
                        if cmdline(pid).iter().any(|a| a.starts_with("--interface=")) {
                            // SAFETY: kill(2) on a dnsmasq this test started.
                            unsafe { libc::kill(pid as i32, libc::SIGTERM) };
                        }
                    }
                }
            }
        }
        let _ = Command::new("ip")
            .args(["netns", "del", &self.name])
            .status();
        let _ = fs::remove_dir_all(&self.dir);
    }
}

pub fn read_pid(path: &Path) -> Option<i64> {
    fs::read_to_string(path).ok()?.trim().parse().ok()
}
