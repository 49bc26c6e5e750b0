//! `fanctl docker`, `cni` and `lxd` as a user runs them, against a state
//! file such as `fanctl up` leaves (no root needed: they only read it), and
//! with a stand-in docker program for `--apply`.

use std::{
    fs,
    os::unix::fs::PermissionsExt,
    path::{Path, PathBuf},
    process::{Command, Output},
};

use fanctl::{
    plan::Mode,
    state::{FanRecord, State},
};

const BIN: &str = env!("CARGO_BIN_EXE_fanctl");

struct Host {
    dir: PathBuf,
}

impl Host {
    /// A run directory; with `dhcp` given, a fan 250.0.0.0/8 is up in it as
    /// on 172.30.0.28.
    fn new(tag: &str, up: Option<bool>) -> Host {
        let dir = std::env::temp_dir().join(format!("fanctl-rt-{}-{tag}", std::process::id()));
        let _ = fs::remove_dir_all(&dir);
        fs::create_dir_all(dir.join("run")).unwrap();
        if let Some(dhcp) = up {
            let fan = FanRecord {
                bridge: "fan-250-0-28".into(),
                overlay: "250.0.0.0/8".parse().unwrap(),
                underlay: "172.30.0.28/16".parse().unwrap(),
                underlay_device: "eth0".into(),
                slice: "250.0.28.0/24".parse().unwrap(),
                address: "250.0.28.1".parse().unwrap(),
                mtu: 8981,
                mtu_given: false,
                dhcp,
                host_reserve: 3,
                mode: Mode::Module,
                encap: Default::default(),
                auto: false,
                resources: vec![],
            };
            let state = State {
                fans: vec![fan],
                shared: vec![],
            };
            state.save(&dir.join("run/state.json")).unwrap();
        }
        Host { dir }
    }

    fn fanctl(&self, args: &[&str], env: &[(&str, &Path)]) -> Output {
        let mut cmd = Command::new(BIN);
        cmd.args(args)
            .env("FAN_RUN_DIR", self.dir.join("run"))
            .env_remove("FAN_DOCKER");
        for (key, value) in env {
            cmd.env(key, value);
        }
        cmd.output().unwrap()
    }

    /// A docker stand-in that records its arguments, one a line, and exits
    /// with `status` after printing `message` on stderr.
    fn docker(&self, status: i32, message: &str) -> (PathBuf, PathBuf) {
        let program = self.dir.join(format!("docker-{status}"));
        let log = self.dir.join(format!("docker-{status}.args"));
        fs::write(
            &program,
            format!(
                "#!/bin/sh\nprintf '%s\\n' \"$@\" > '{}'\necho '{message}' >&2\nexit {status}\n",
                log.display()
            ),
        )
        .unwrap();
        fs::set_permissions(&program, fs::Permissions::from_mode(0o755)).unwrap();
        (program, log)
    }
}

impl Drop for Host {
    fn drop(&mut self) {
        let _ = fs::remove_dir_all(&self.dir);
    }
}

/// The words of a docker command line as /bin/sh reads them.
fn shell_words(text: &str) -> Vec<String> {
    let script = format!("docker() {{ printf '%s\\0' docker \"$@\"; }}\n{text}");
    let out = Command::new("sh").args(["-c", &script]).output().unwrap();
    assert!(out.status.success(), "not shell syntax: {text}");
    String::from_utf8(out.stdout)
        .unwrap()
        .split_terminator('\0')
        .map(str::to_string)
        .collect()
}

fn text(out: &[u8]) -> String {
    String::from_utf8_lossy(out).into_owned()
}

#[test]
fn a_fan_that_is_not_up_is_named_in_the_error() {
    let host = Host::new("notup", None);
    for cmd in ["docker", "cni", "lxd"] {
        let out = host.fanctl(&[cmd, "250.0.0.0/8", "eth0/16"], &[]);
        assert_eq!(out.status.code(), Some(1), "{cmd}");
        assert_eq!(
            text(&out.stderr),
            "fanctl: error: no fan on overlay 250.0.0.0/8 is up on this host: run `fanctl up 250.0.0.0/8 UNDERLAY` first\n",
            "{cmd}"
        );
        assert!(out.stdout.is_empty());
    }
    // Up, but on another overlay.
    let host = Host::new("other", Some(false));
    let out = host.fanctl(&["cni", "-o", "251"], &[]);
    assert_eq!(out.status.code(), Some(1));
    assert!(text(&out.stderr).contains("fanctl up 251.0.0.0/8 UNDERLAY"));
}

#[test]
fn bad_overlays_are_usage_errors() {
    let host = Host::new("bad", Some(false));
    for args in [
        &["docker", "250.1.0.0/8"][..],
        &["cni", "250/33"],
        &["lxd", "250", "eth0"],
        &["lxd"],
    ] {
        let out = host.fanctl(args, &[]);
        assert_eq!(out.status.code(), Some(2), "{args:?}");
        assert!(text(&out.stderr).contains("error"), "{args:?}");
        assert!(out.stdout.is_empty(), "{args:?}");
    }
}

#[test]
fn docker_prints_the_command_and_apply_runs_it() {
    let host = Host::new("docker", Some(false));
    let out = host.fanctl(&["docker", "250"], &[]);
    assert!(out.status.success(), "{}", text(&out.stderr));
    let printed = text(&out.stdout);
    let words = shell_words(&printed);
    assert_eq!(&words[..3], ["docker", "network", "create"]);
    assert_eq!(words.last().map(String::as_str), Some("fan-250"));
    for pair in [
        ["--subnet", "250.0.28.0/24"],
        ["--gateway", "250.0.28.1"],
        // host-reserve 3: .2 and .3 are the host's.
        ["--aux-address", "host-2=250.0.28.2"],
        ["--aux-address", "host-3=250.0.28.3"],
        ["--opt", "com.docker.network.bridge.name=fan-250-0-28"],
        ["--opt", "com.docker.network.driver.mtu=8981"],
        [
            "--opt",
            "com.docker.network.bridge.enable_ip_masquerade=false",
        ],
    ] {
        assert!(
            words.windows(2).any(|w| w == pair),
            "{pair:?} not in {printed}"
        );
    }

    // --apply runs exactly those words, with the name asked for.
    let (docker, log) = host.docker(0, "");
    let out = host.fanctl(
        &["docker", "-o", "250", "--name", "fan", "--apply"],
        &[("FAN_DOCKER", docker.as_path())],
    );
    assert!(out.status.success(), "{}", text(&out.stderr));
    assert!(text(&out.stdout).contains("docker network fan is on fan-250-0-28"));
    let ran: Vec<String> = fs::read_to_string(&log)
        .unwrap()
        .lines()
        .map(str::to_string)
        .collect();
    let mut want = words[1..words.len() - 1].to_vec();
    want.push("fan".into());
    assert_eq!(ran, want);

    // docker's own complaint comes back with what was run.
    let (docker, _) = host.docker(
        1,
        "Error response from daemon: network with name fan-250 already exists",
    );
    let out = host.fanctl(
        &["docker", "250", "--apply"],
        &[("FAN_DOCKER", docker.as_path())],
    );
    assert_eq!(out.status.code(), Some(1));
    let err = text(&out.stderr);
    assert!(err.contains("network create --driver bridge"), "{err}");
    assert!(
        err.contains("network with name fan-250 already exists"),
        "{err}"
    );
    let out = host.fanctl(
        &[
            "docker",
            "250",
            "--apply",
            "--docker",
            "/nonexistent/docker",
        ],
        &[],
    );
    assert_eq!(out.status.code(), Some(1));
    assert!(text(&out.stderr).contains("cannot run docker"));
}

#[test]
fn dhcp_fans_get_a_warning_from_docker_and_cni() {
    let host = Host::new("dhcp", Some(true));
    for cmd in ["docker", "cni"] {
        let out = host.fanctl(&[cmd, "250"], &[]);
        assert!(out.status.success());
        let err = text(&out.stderr);
        assert!(err.starts_with("fanctl: warning: fan-250-0-28 also runs the fan's DHCP server over 250.0.28.4-250.0.28.254"), "{err}");
    }
    let out = host.fanctl(&["lxd", "250"], &[]);
    assert!(out.status.success());
    assert!(out.stderr.is_empty(), "{}", text(&out.stderr));
}

#[test]
fn cni_writes_the_list_whole() {
    let host = Host::new("cni", Some(false));
    let file = host.dir.join("etc/cni/net.d/10-fan.conflist");
    let out = host.fanctl(&["cni", "250", "--output", file.to_str().unwrap()], &[]);
    assert!(out.status.success(), "{}", text(&out.stderr));
    assert!(text(&out.stdout).contains("CNI network fan-250 on fan-250-0-28"));
    let list: serde_json::Value =
        serde_json::from_str(&fs::read_to_string(&file).unwrap()).unwrap();
    let printed = host.fanctl(&["cni", "250"], &[]);
    assert_eq!(
        list,
        serde_json::from_slice::<serde_json::Value>(&printed.stdout).unwrap()
    );
    let range = &list["plugins"][0]["ipam"]["ranges"][0][0];
    assert_eq!(range["rangeStart"], "250.0.28.4");
    assert_eq!(range["rangeEnd"], "250.0.28.254");
    // Nothing else is left in the directory the runtimes watch.
    let names: Vec<_> = fs::read_dir(file.parent().unwrap())
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .collect();
    assert_eq!(names, ["10-fan.conflist"]);
}

#[test]
fn lxd_prints_the_profile() {
    let host = Host::new("lxd", Some(false));
    let out = host.fanctl(&["lxd", "250", "--name", "fan"], &[]);
    assert!(out.status.success());
    let yaml: serde_norway::Value = serde_norway::from_slice(&out.stdout).unwrap();
    assert_eq!(yaml["name"].as_str(), Some("fan"));
    assert_eq!(
        yaml["devices"]["eth0"]["parent"].as_str(),
        Some("fan-250-0-28")
    );
    assert_eq!(yaml["devices"]["eth0"]["mtu"].as_str(), Some("8981"));
    // Without DHCP on the fan, instances have no way to an address.
    assert!(text(&out.stderr).contains("runs no DHCP server"));
}

#[test]
fn help_has_examples() {
    for (cmd, want) in [
        ("docker", "fanctl docker 250.0.0.0/8 eth0/16 --apply"),
        ("cni", "/etc/cni/net.d/10-fan.conflist"),
        ("lxd", "lxc profile edit fan-250"),
    ] {
        let out = Command::new(BIN).args([cmd, "--help"]).output().unwrap();
        assert!(out.status.success());
        assert!(text(&out.stdout).contains(want), "{cmd}");
    }
}
