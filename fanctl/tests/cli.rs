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
        "Exit status: 0 success, 1 error, 2 bad command line",
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
    for want in [".TH fanctl 8", ".SH SUBCOMMANDS", "Exit status: 0 success"] {
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
