//! The release build (`make fanctl`, the packages) has no test hooks: the
//! environment cannot make it fail a step of `up` or run a fan without its
//! tunnel. Builds it with cargo, as `make fanctl` does.

mod common;

use std::{
    fs,
    path::PathBuf,
    process::{Command, Stdio},
};

use common::{require_root, text, Netns, BIN};

const HOOKS: [&str; 2] = ["FANCTL_FAIL_AT", "FANCTL_TEST_NO_TUNNEL"];

fn release_binary() -> PathBuf {
    let cargo = std::env::var("CARGO").unwrap_or_else(|_| "cargo".into());
    let manifest = concat!(env!("CARGO_MANIFEST_DIR"), "/Cargo.toml");
    let status = Command::new(cargo)
        .args(["build", "--release", "--quiet", "-p", "fanctl"])
        .args(["--manifest-path", manifest])
        .status()
        .expect("cannot run cargo");
    assert!(status.success(), "cargo build --release -p fanctl failed");
    // BIN is TARGET/debug/fanctl.
    let target = PathBuf::from(BIN)
        .parent()
        .and_then(|debug| debug.parent())
        .expect("the test binary is not in a target directory")
        .to_path_buf();
    target.join("release/fanctl")
}

fn contains(haystack: &[u8], needle: &str) -> bool {
    haystack
        .windows(needle.len())
        .any(|w| w == needle.as_bytes())
}

#[test]
fn the_release_binary_ignores_the_test_hooks() {
    let release = release_binary();
    let bytes = fs::read(&release).unwrap();
    let with_hooks = fs::read(BIN).unwrap();
    for hook in HOOKS {
        assert!(contains(&with_hooks, hook), "{hook} not in the test build");
        assert!(!contains(&bytes, hook), "{hook} in {}", release.display());
    }
    require_root();
    // Asked to fail at the bridge and to skip the tunnel, the release
    // binary does neither: it brings the fan up with its tunnel, or on a
    // kernel without ipip fails at the tunnel, before the bridge.
    let ns = Netns::new("release");
    let out = Command::new("ip")
        .args(["netns", "exec", &ns.name])
        .arg(&release)
        .args(["up", "250.0.0.0/8", "ul0/16"])
        .env("FAN_RUN_DIR", ns.run_dir())
        .env("FAN_STATE_DIR", ns.state_dir())
        .env("FANCTL_FAIL_AT", "bridge")
        .env("FANCTL_TEST_NO_TUNNEL", "1")
        .stdin(Stdio::null())
        .output()
        .unwrap();
    let (stdout, stderr) = text(&out);
    assert!(!stderr.contains("injected"), "{stderr}");
    if out.status.success() {
        assert!(!stdout.contains("no-tunnel"), "{stdout}");
        ns.fanctl_ok(&["down", "-e"], &[]);
    } else {
        assert!(stderr.contains("step ipip failed"), "{stderr}");
    }
}
