//! The command line as a user meets it: help, man page, completions, exit
//! statuses, `show` with nothing up. None of this needs root.

use std::{
    fs,
    process::{Command, Output},
};

const BIN: &str = env!("CARGO_BIN_EXE_fanctl");

fn fanctl(args: &[&str], run_dir: &str) -> Output {
    Command::new(BIN)
        .args(args)
        .env("FAN_RUN_DIR", run_dir)
        .output()
        .unwrap()
}

fn stdout(out: &Output) -> String {
    String::from_utf8_lossy(&out.stdout).into_owned()
}

fn temp_dir(tag: &str) -> String {
    let dir = std::env::temp_dir().join(format!("fanctl-cli-{}-{tag}", std::process::id()));
    fs::create_dir_all(&dir).unwrap();
    dir.to_string_lossy().into_owned()
}

#[test]
fn help_teaches_the_forms_and_exit_statuses() {
    let out = fanctl(&["--help"], "/nonexistent");
    assert!(out.status.success());
    let help = stdout(&out);
    for want in [
        "fanctl up 250.0.0.0/8 eth0/16 dhcp",
        "default/len",
        "Exit status:",
        "0  success",
        "1  the command failed on this host",
        "2  the command line is wrong",
        "FAN_RUN_DIR",
    ] {
        assert!(help.contains(want), "{want:?} not in --help");
    }
    let up = stdout(&fanctl(&["up", "--help"], "/nonexistent"));
    assert!(up.contains("fanctl up -o OVERLAY -u UNDERLAY"), "{up}");
    assert!(up.contains("--no-fallback"), "{up}");
    // No arguments: usage on stderr, status 2.
    assert_eq!(fanctl(&[], "/nonexistent").status.code(), Some(2));
}

#[test]
fn man_page_and_completions() {
    let man = stdout(&fanctl(&["man"], "/nonexistent"));
    for want in [
        ".TH fanctl 8",
        ".SH SUBCOMMANDS",
        "Exit status:",
        "the command line is wrong",
    ] {
        assert!(man.contains(want), "{want:?} not in the man page");
    }

    let dir = temp_dir("man");
    let out = fanctl(&["man", "--dir", &dir], "/nonexistent");
    assert!(out.status.success());
    for page in ["fanctl.8", "fanctl-up.8", "fanctl-down.8", "fanctl-show.8"] {
        let text = fs::read_to_string(format!("{dir}/{page}")).unwrap();
        assert!(text.contains(".TH"), "{page}");
    }
    fs::remove_dir_all(&dir).unwrap();

    for shell in ["bash", "zsh", "fish"] {
        let out = fanctl(&["completions", shell], "/nonexistent");
        assert!(out.status.success(), "{shell}");
        let script = stdout(&out);
        assert!(
            script.contains("fanctl") && script.contains("host-reserve"),
            "{shell}"
        );
    }
    assert_eq!(
        fanctl(&["completions", "tcsh"], "/nonexistent")
            .status
            .code(),
        Some(2)
    );
}

#[test]
fn show_with_nothing_up() {
    let dir = temp_dir("show");
    let out = fanctl(&["show"], &dir);
    assert!(out.status.success());
    assert_eq!(stdout(&out), "Bridge Overlay Underlay Flags\n");
    let json: serde_json::Value =
        serde_json::from_str(&stdout(&fanctl(&["show", "--json"], &dir))).unwrap();
    assert_eq!(json, serde_json::json!({ "fans": [] }));
    // A damaged state file is an error (status 1), not an empty table.
    fs::write(format!("{dir}/state.json"), "{").unwrap();
    let out = fanctl(&["show"], &dir);
    assert_eq!(out.status.code(), Some(1));
    assert!(String::from_utf8_lossy(&out.stderr).contains("state.json"));
    fs::remove_dir_all(&dir).unwrap();
}

#[test]
fn bad_fans_are_usage_errors() {
    for args in [
        ["up", "250.0.0.0/33", "eth0/16"],
        ["up", "250.1.0.0/8", "eth0/16"],
        ["up", "250", "172.30.0.28/33"],
        ["up", "250.0.0.0/16", "172.30.0.28/16"],
        ["up", "250", "eth0"],
    ] {
        let out = fanctl(&args, "/nonexistent");
        assert_eq!(out.status.code(), Some(2), "{args:?}");
        let err = String::from_utf8_lossy(&out.stderr);
        assert!(err.starts_with("fanctl: error: "), "{err}");
    }
}

fn stderr(out: &Output) -> String {
    String::from_utf8_lossy(&out.stderr).into_owned()
}

#[test]
fn a_missing_fan_points_at_the_commands_own_help() {
    let dir = temp_dir("missing");
    for cmd in ["up", "down", "docker", "cni", "lxd"] {
        let out = fanctl(&[cmd], &dir);
        let err = stderr(&out);
        assert_eq!(out.status.code(), Some(2), "{cmd}: {err}");
        assert!(err.contains("missing OVERLAY"), "{cmd}: {err}");
        assert!(
            err.contains(&format!("(see fanctl {cmd} --help)")),
            "{cmd}: {err}"
        );
        assert_eq!(err.matches("--help").count(), 1, "{cmd}: {err}");
    }
    fs::remove_dir_all(&dir).unwrap();
}

/// Whether the underlay is an address or an interface, a fan that cannot
/// exist is a bad command line, found before fanctl looks at the host.
#[test]
fn the_same_mistake_gets_the_same_status_whatever_the_underlay_form() {
    let dir = temp_dir("same");
    for (flags, want) in [
        (&["0.0.0.0/0"][..], "prefix length 0 is out of range 1..=32"),
        (
            &["250", "host-reserve", "300"],
            "host-reserve 300 does not fit a /24 slice",
        ),
        (
            &["250", "dhcp", "host-reserve", "254"],
            "no address of a /24 slice is left for DHCP",
        ),
        (
            &["250.0.0.0/24"],
            "must be shorter than its underlay prefix",
        ),
    ] {
        for underlay in ["172.30.0.28/16", "eth0/16", "default/16"] {
            let mut args = vec!["up", flags[0], underlay];
            args.extend(&flags[1..]);
            let out = fanctl(&args, &dir);
            let err = stderr(&out);
            assert_eq!(out.status.code(), Some(2), "{args:?}: {err}");
            assert!(err.contains(want), "{args:?}: {err}");
        }
    }
    fs::remove_dir_all(&dir).unwrap();
}

#[test]
fn ranges_are_worded_alike_and_say_what_is_allowed() {
    for (args, want) in [
        (
            &["up", "250.0.0.0/33", "eth0/16"][..],
            "prefix length 33 is out of range 1..=32",
        ),
        (
            &["up", "0.0.0.0/0", "eth0/16"],
            "prefix length 0 is out of range 1..=32",
        ),
        (
            &["up", "250", "eth0/40"],
            "prefix length 40 is out of range 1..=32",
        ),
        (
            &["up", "250", "172.30.0.28/33"],
            "prefix length 33 is out of range 1..=32",
        ),
        (
            &["up", "250", "172.30.0.28/0"],
            "prefix length 0 is out of range 1..=32",
        ),
        (
            &["up", "250", "eth0/16", "mtu", "20"],
            "mtu 20 is out of range 68..=65535",
        ),
        (
            &["down", "250", "eth0/0"],
            "prefix length 0 is out of range 1..=32",
        ),
        (
            &["up", "250", "eth0/16", "encap", "fou", "port", "70000"],
            "port 70000 is out of range 1..=65535",
        ),
        (
            &[
                "up", "-o", "250", "-u", "eth0/16", "--encap", "fou", "--port", "0",
            ],
            "port 0 is out of range 1..=65535",
        ),
        (
            &["up", "250", "eth0/16", "encap", "gre"],
            "bad encap \"gre\": expected ipip or fou",
        ),
        (
            &["up", "250", "eth0/16", "port", "5555"],
            "port 5555 needs encap fou",
        ),
    ] {
        let out = fanctl(args, "/nonexistent");
        let err = stderr(&out);
        assert_eq!(out.status.code(), Some(2), "{args:?}: {err}");
        assert!(err.contains(want), "{args:?}: {err}");
        assert!(!err.contains("0..=32"), "{args:?}: {err}");
    }
}

#[test]
fn a_bad_overlay_is_told_the_accepted_forms() {
    for (args, n) in [
        (&["up", "999", "eth0/16"][..], "999"),
        (&["down", "999"], "999"),
        (&["docker", "999"], "999"),
        (&["up", "0", "eth0/16"], "0"),
    ] {
        let out = fanctl(args, "/nonexistent");
        let err = stderr(&out);
        assert_eq!(out.status.code(), Some(2), "{args:?}: {err}");
        let want = format!("bad overlay \"{n}\": {n} is out of range 1..=255 (N means N.0.0.0/8)");
        assert!(err.contains(&want), "{args:?}: {err}");
    }
    for bad in ["abc", "250.0.0.0", "250.0.0/8"] {
        let out = fanctl(&["up", bad, "eth0/16"], "/nonexistent");
        let err = stderr(&out);
        assert_eq!(out.status.code(), Some(2), "{bad}: {err}");
        assert!(err.contains("N (N.0.0.0/8) or A.B.C.D/len"), "{bad}: {err}");
    }
    for bad in ["300.1.1.1", "10.0.0/16"] {
        let out = fanctl(&["up", "250", bad], "/nonexistent");
        let err = stderr(&out);
        assert_eq!(out.status.code(), Some(2), "{bad}: {err}");
        assert!(
            err.contains("an underlay is A.B.C.D[/len], IFACE/len or default/len"),
            "{bad}: {err}"
        );
    }
}

#[test]
fn options_are_offered_only_where_they_do_something() {
    for args in [
        &["show", "--dnsmasq", "/bin/true"][..],
        &["show", "--nft", "/bin/true"],
        &["show", "--config", "/etc/network/fan"],
        &["show", "--state-dir", "/tmp"],
        &["down", "250", "--dnsmasq", "/bin/true"],
        &["down", "250", "--state-dir", "/tmp"],
        &["down", "-a", "--config", "/etc/network/fan"],
        &["docker", "250", "--nft", "/bin/true"],
        &["completions", "bash", "--run-dir", "/tmp"],
        &["--run-dir", "/tmp", "show"],
    ] {
        let out = fanctl(args, "/nonexistent");
        assert_eq!(out.status.code(), Some(2), "{args:?} accepted");
        assert!(stderr(&out).contains("unexpected argument"), "{args:?}");
    }
    let help = |cmd: &str| stdout(&fanctl(&[cmd, "--help"], "/nonexistent"));
    let up = help("up");
    for option in ["--config", "--run-dir", "--state-dir", "--dnsmasq", "--nft"] {
        assert!(up.contains(option), "{option} not in up --help");
    }
    let down = help("down");
    for option in ["--run-dir", "--nft"] {
        assert!(down.contains(option), "{option} not in down --help");
    }
    for option in ["--config", "--state-dir", "--dnsmasq"] {
        assert!(!down.contains(option), "{option} in down --help");
    }
    for cmd in ["show", "docker", "cni", "lxd"] {
        let text = help(cmd);
        assert!(text.contains("--run-dir"), "{cmd}");
        for option in ["--config", "--state-dir", "--dnsmasq", "--nft"] {
            assert!(!text.contains(option), "{option} in {cmd} --help");
        }
    }
}

/// docs/fanctl.md names every option of every command, and its exit status
/// table says what --help says.
#[test]
fn docs_fanctl_md_keeps_up_with_the_command_line() {
    use clap::CommandFactory;
    let doc =
        fs::read_to_string(concat!(env!("CARGO_MANIFEST_DIR"), "/../docs/fanctl.md")).unwrap();
    let cli = fanctl::cli::Cli::command();
    for cmd in cli.get_subcommands().filter(|c| !c.is_hide_set()) {
        for arg in cmd.get_arguments() {
            if let Some(long) = arg.get_long() {
                if long == "help" || long == "version" {
                    continue;
                }
                assert!(
                    doc.contains(&format!("--{long}")),
                    "--{long} of {} not in docs/fanctl.md",
                    cmd.get_name()
                );
            }
        }
    }
    let help = stdout(&fanctl(&["--help"], "/nonexistent"));
    let statuses: Vec<&str> = doc
        .lines()
        .filter(|l| l.starts_with("| 1 |") || l.starts_with("| 2 |"))
        .collect();
    assert_eq!(statuses.len(), 2, "no exit status table in docs/fanctl.md");
    for line in statuses {
        let (status, meaning) = line[2..].split_once(" | ").unwrap();
        let first_words: String = meaning.split(':').next().unwrap().to_string();
        assert!(
            help.contains(&format!("{}  {first_words}", status.trim())),
            "{line:?} disagrees with --help"
        );
    }
}
