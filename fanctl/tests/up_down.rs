//! `fanctl up`/`down`/`show` against this machine's kernel, each test in a
//! network namespace of its own. Kernels without ipip (like the development
//! machine's) run the fan without its tunnel through the test-only
//! FANCTL_TEST_NO_TUNNEL; `tunnel_step_*` covers the tunnel itself.

mod common;

use std::{
    fs,
    io::{BufRead, BufReader},
    os::fd::AsRawFd,
    process::Stdio,
    sync::mpsc,
    thread,
    time::Duration,
};

use common::{cmdline, read_pid, require_root, running, text, Netns};

const NO_TUNNEL: (&str, &str) = ("FANCTL_TEST_NO_TUNNEL", "1");

fn dnsmasq_pid(ns: &Netns) -> i64 {
    ns.show_json()["fans"][0]["dnsmasq_pid"]
        .as_i64()
        .expect("no dnsmasq pid in fanctl show --json")
}

#[test]
fn up_makes_bridge_nat_and_dhcp_and_down_removes_them() {
    require_root();
    let ns = Netns::new("updown");
    let before = ns.snapshot();

    let out = ns.fanctl_ok(&["up", "250.0.0.0/8", "ul0/16", "dhcp"], &[NO_TUNNEL]);
    assert!(out.contains("fan-250-0-28"), "{out}");

    // The bridge: slice .1 with the slice's prefix, MTU 9001 - 20, up.
    let bridge = ns.device("fan-250-0-28").expect("no bridge");
    assert_eq!(bridge["mtu"], 8981);
    assert_eq!(bridge["linkinfo"]["info_kind"], "bridge");
    assert!(bridge["flags"].as_array().unwrap().contains(&"UP".into()));
    let addr = &bridge["addr_info"][0];
    assert_eq!(addr["local"], "250.0.28.1");
    assert_eq!(addr["prefixlen"], 24);

    // NAT out of the overlay, and forwarding.
    let table = ns.nft_table().expect("no ip fan table");
    assert!(
        table.contains("ip saddr 250.0.28.0/24 ip daddr != 250.0.0.0/8 masquerade"),
        "{table}"
    );
    let forward = text(&ns.exec(&["cat", "/proc/sys/net/ipv4/ip_forward"])).0;
    assert_eq!(forward.trim(), "1");

    // dnsmasq on the bridge, after the reserved .1, pushing the MTU.
    let pid = dnsmasq_pid(&ns);
    assert!(running(pid));
    let args = cmdline(pid);
    for want in [
        "--interface=fan-250-0-28",
        "--dhcp-range=250.0.28.2,250.0.28.254,255.255.255.0,1h",
        "--dhcp-option-force=option:mtu,8981",
    ] {
        assert!(args.iter().any(|a| a == want), "{want} not in {args:?}");
    }
    let pid_file = ns.run_dir().join("dnsmasq-fan-250-0-28.pid");
    assert_eq!(read_pid(&pid_file), Some(pid));
    assert!(ns.state_dir().join("dnsmasq-fan-250-0-28.leases").exists());

    // The announcement's table.
    let show = ns.fanctl_ok(&["show"], &[]);
    let rows: Vec<Vec<&str>> = show
        .lines()
        .map(|l| l.split_whitespace().collect())
        .collect();
    assert_eq!(rows[0], ["Bridge", "Overlay", "Underlay", "Flags"]);
    assert_eq!(
        rows[1][..6],
        [
            "fan-250-0-28",
            "250.0.0.0/8",
            "172.30.0.28/16",
            "dhcp",
            "host-reserve",
            "1"
        ]
    );

    ns.fanctl_ok(&["down", "250.0.0.0/8", "ul0/16"], &[]);
    assert!(!running(pid), "dnsmasq still runs");
    assert!(!pid_file.exists());
    assert_eq!(ns.snapshot(), before);
    assert_eq!(ns.show_json()["fans"], serde_json::json!([]));
}

#[test]
fn up_twice_is_a_no_op_and_options_work() {
    require_root();
    let ns = Netns::new("twice");
    let before = ns.snapshot();
    let args = [
        "up",
        "-o",
        "250",
        "-u",
        "172.30.0.28",
        "--dhcp",
        "--host-reserve",
        "5",
        "--bridge",
        "fanbr",
        "--mtu",
        "1400",
    ];
    ns.fanctl_ok(&args, &[NO_TUNNEL]);
    let pid = dnsmasq_pid(&ns);
    let again = ns.fanctl_ok(&args, &[NO_TUNNEL]);
    assert!(again.contains("already up"), "{again}");
    // The positional form of the same fan is the same fan.
    let again = ns.fanctl_ok(
        &[
            "up",
            "250.0.0.0/8",
            "ul0/16",
            "dhcp",
            "host-reserve",
            "5",
            "bridge",
            "fanbr",
            "mtu",
            "1400",
        ],
        &[NO_TUNNEL],
    );
    assert!(again.contains("already up"), "{again}");
    assert_eq!(dnsmasq_pid(&ns), pid);

    let fans = ns.show_json()["fans"].clone();
    assert_eq!(fans.as_array().unwrap().len(), 1);
    assert_eq!(fans[0]["bridge"], "fanbr");
    assert_eq!(fans[0]["flags"], "dhcp host-reserve 5 mtu 1400 no-tunnel");
    assert_eq!(ns.device("fanbr").unwrap()["mtu"], 1400);
    assert!(cmdline(pid)
        .iter()
        .any(|a| a == "--dhcp-range=250.0.28.6,250.0.28.254,255.255.255.0,1h"));

    // A second, different fan on the same overlay is refused.
    let out = ns.fanctl(&["up", "250.0.0.0/8", "ul0/16"], &[NO_TUNNEL]);
    assert_eq!(out.status.code(), Some(1));
    assert!(
        text(&out).1.contains("already in use by fanbr"),
        "{:?}",
        text(&out)
    );

    ns.fanctl_ok(&["down", "-o", "250", "-u", "ul0/16"], &[]);
    assert_eq!(ns.snapshot(), before);
    // Down again: nothing to do, still success.
    ns.fanctl_ok(&["down", "250"], &[]);
}

#[test]
fn a_failed_step_rolls_back_everything_before_it() {
    require_root();
    let ns = Netns::new("rollback");
    let before = ns.snapshot();
    for step in ["bridge", "forwarding", "nat", "dhcp", "state"] {
        let out = ns.fanctl(
            &["up", "250.0.0.0/8", "ul0/16", "dhcp"],
            &[NO_TUNNEL, ("FANCTL_FAIL_AT", step)],
        );
        let (_, stderr) = text(&out);
        assert_eq!(out.status.code(), Some(1), "{step}: {stderr}");
        assert!(stderr.contains(&format!("step {step} failed")), "{stderr}");
        assert!(stderr.contains("removed again"), "{stderr}");
        assert_eq!(ns.snapshot(), before, "left behind after failing at {step}");
        assert_eq!(ns.show_json()["fans"], serde_json::json!([]));
        assert!(!ns.run_dir().join("dnsmasq-fan-250-0-28.pid").exists());
    }
}

#[test]
fn a_missing_dnsmasq_fails_the_dhcp_step_and_rolls_back() {
    require_root();
    let ns = Netns::new("nodnsmasq");
    let before = ns.snapshot();
    let out = ns.fanctl(
        &["up", "250.0.0.0/8", "ul0/16", "dhcp"],
        &[NO_TUNNEL, ("FAN_DNSMASQ", "/nonexistent/dnsmasq")],
    );
    let (_, stderr) = text(&out);
    assert_eq!(out.status.code(), Some(1), "{stderr}");
    assert!(stderr.contains("step dhcp failed"), "{stderr}");
    assert!(stderr.contains("/nonexistent/dnsmasq"), "{stderr}");
    assert_eq!(ns.snapshot(), before);
}

#[test]
fn down_refuses_while_a_container_is_attached() {
    require_root();
    let ns = Netns::new("attached");
    ns.fanctl_ok(&["up", "250", "ul0/16", "dhcp"], &[NO_TUNNEL]);
    ns.ip("link add c0 type veth peer name c1");
    ns.ip("link set c0 master fan-250-0-28");

    let out = ns.fanctl(&["down", "250", "ul0/16"], &[]);
    let (_, stderr) = text(&out);
    assert_eq!(out.status.code(), Some(1), "{stderr}");
    assert!(
        stderr.contains("still has 1 attached interface (c0)"),
        "{stderr}"
    );
    assert!(ns.device("fan-250-0-28").is_some());
    assert!(ns.nft_table().is_some());
    let out = ns.fanctl(&["down", "-e"], &[]);
    assert_eq!(out.status.code(), Some(1));

    ns.fanctl_ok(&["down", "-e", "--force"], &[]);
    assert!(ns.device("fan-250-0-28").is_none());
    assert!(ns.nft_table().is_none());
    assert!(
        ns.device("c0").is_some(),
        "the container's veth is not fanctl's"
    );
}

#[test]
fn config_file_up_all_and_down_all() {
    require_root();
    let ns = Netns::new("config");
    let before = ns.snapshot();
    fs::write(
        ns.dir.join("fan.conf"),
        "# fans of this host\n\
         250.0.0.0/8 ul0/16 dhcp\n\
         251 172.30.0.28/16 host-reserve 3   # no DHCP\n\
         252 default/16 off\n",
    )
    .unwrap();
    ns.fanctl_ok(&["up", "-a"], &[NO_TUNNEL]);
    // A fan brought up by hand is not `auto`: `down -a` leaves it.
    ns.fanctl_ok(&["up", "253", "ul0/16"], &[NO_TUNNEL]);
    let fans = ns.show_json()["fans"].clone();
    let bridges_flags: Vec<(&str, bool)> = fans
        .as_array()
        .unwrap()
        .iter()
        .map(|f| {
            let flags = f["flags"].as_str().unwrap();
            (
                f["bridge"].as_str().unwrap(),
                flags.split(' ').any(|w| w == "auto"),
            )
        })
        .collect();
    assert_eq!(
        bridges_flags,
        [
            ("fan-250-0-28", true),
            ("fan-251-0-28", true),
            ("fan-253-0-28", false)
        ]
    );
    let table = ns.nft_table().unwrap();
    assert!(
        table.contains("250.0.28.0/24") && table.contains("251.0.28.0/24"),
        "{table}"
    );
    // Up -a again: both already up.
    let again = ns.fanctl_ok(&["up", "-a"], &[NO_TUNNEL]);
    assert_eq!(again.matches("already up").count(), 2, "{again}");

    // Taking one down keeps the other's NAT rule.
    ns.fanctl_ok(&["down", "250"], &[]);
    let table = ns.nft_table().unwrap();
    assert!(
        !table.contains("250.0.28.0/24") && table.contains("251.0.28.0/24"),
        "{table}"
    );

    let out = ns.fanctl_ok(&["down", "-a"], &[]);
    assert!(out.contains("fan-251-0-28"), "{out}");
    let fans = ns.show_json()["fans"].clone();
    assert_eq!(fans.as_array().unwrap().len(), 1, "{fans}");
    assert_eq!(fans[0]["bridge"], "fan-253-0-28");
    ns.fanctl_ok(&["down", "-e"], &[]);
    assert_eq!(ns.snapshot(), before);

    // Bad lines are named, the good ones between them still come up, and
    // the run fails at the end.
    fs::write(
        ns.dir.join("fan.conf"),
        "nonsense here\n250 ul0/16\n251 ul0/16 frobnicate\n",
    )
    .unwrap();
    let out = ns.fanctl(&["up", "-a"], &[NO_TUNNEL]);
    let (stdout, stderr) = text(&out);
    assert_eq!(out.status.code(), Some(1), "{stderr}");
    assert!(stderr.contains("fan.conf:1: bad overlay"), "{stderr}");
    assert!(stderr.contains("fan.conf:3: unknown flag"), "{stderr}");
    assert!(stderr.contains("2 of 3 lines"), "{stderr}");
    assert!(stdout.contains("fan-250-0-28"), "{stdout}");
    assert_eq!(ns.show_json()["fans"][0]["bridge"], "fan-250-0-28");
    ns.fanctl_ok(&["down", "-a"], &[]);
    assert_eq!(ns.snapshot(), before);
}

/// On a kernel without ipip (CONFIG_NET_IPIP unset) `up` must name the
/// missing option and leave nothing behind; on one with ipip but no fan
/// module it must fall back to peer routes; with the module, use it.
#[test]
fn tunnel_step_names_missing_ipip_or_sets_up_the_tunnel() {
    require_root();
    let ns = Netns::new("tunnel");
    let before = ns.snapshot();
    let out = ns.fanctl(&["up", "250.0.0.0/8", "ul0/16"], &[]);
    let (stdout, stderr) = text(&out);
    if !out.status.success() {
        assert_eq!(out.status.code(), Some(1));
        assert!(stderr.contains("step ipip failed"), "{stderr}");
        assert!(stderr.contains("CONFIG_NET_IPIP"), "{stderr}");
        assert_eq!(ns.snapshot(), before, "left behind: {stderr}");
        return;
    }
    let mode = ns.show_json()["fans"][0]["mode"]
        .as_str()
        .unwrap()
        .to_string();
    let routes = ns.ip("route show dev tunl0");
    assert!(
        routes.contains("250.0.0.0/8 scope link src 250.0.28.1"),
        "{routes}"
    );
    match mode.as_str() {
        "fallback" => {
            assert!(stderr.contains("falling back"), "{stderr}");
            let to_27 = routes
                .lines()
                .find(|l| l.starts_with("250.0.27.0/24 via 172.30.0.27 "))
                .expect("no route to 172.30.0.27's slice");
            assert!(to_27.contains("onlink"), "{to_27}");
            assert_eq!(routes.lines().count(), 65_533 + 1);
        }
        "module" => assert!(stdout.contains("module"), "{stdout}"),
        other => panic!("unexpected mode {other}"),
    }
    ns.fanctl_ok(&["down", "250.0.0.0/8", "ul0/16"], &[]);
    assert!(ns.ip("route show dev tunl0").is_empty());
    assert!(ns.device("fan-250-0-28").is_none());
}

#[test]
fn exit_codes_and_errors() {
    require_root();
    let ns = Netns::new("exit");
    let code = |args: &[&str]| ns.fanctl(args, &[NO_TUNNEL]).status.code();
    assert_eq!(code(&["up", "250.0.0.0/33", "ul0/16"]), Some(2));
    assert_eq!(code(&["up", "250.1.0.0/8", "ul0/16"]), Some(2));
    assert_eq!(code(&["up", "250.0.0.0/16", "172.30.0.28/16"]), Some(2));
    assert_eq!(code(&["up", "250", "ul0/16", "frobnicate"]), Some(2));
    assert_eq!(code(&["frobnicate"]), Some(2));
    assert_eq!(code(&["up", "-a", "250", "ul0/16"]), Some(2));
    assert_eq!(code(&["show", "--help"]), Some(0));

    let out = ns.fanctl(&["up", "250", "wlan7/16"], &[NO_TUNNEL]);
    assert_eq!(out.status.code(), Some(1));
    assert!(text(&out).1.contains("no network interface named wlan7"));
    let out = ns.fanctl(&["up", "250", "172.30.0.99"], &[NO_TUNNEL]);
    assert_eq!(out.status.code(), Some(1));
    assert!(text(&out)
        .1
        .contains("172.30.0.99 is not an address of this host"));
    let out = ns.fanctl(&["up", "-a"], &[NO_TUNNEL]);
    assert_eq!(out.status.code(), Some(1));
    assert!(text(&out).1.contains("fan.conf"));
}

#[test]
fn a_second_fanctl_waits_for_the_lock() {
    require_root();
    let ns = Netns::new("lock");
    let lock = fs::File::create(ns.run_dir().join("lock")).unwrap();
    // SAFETY: flock on a descriptor this test owns.
    assert_eq!(unsafe { libc::flock(lock.as_raw_fd(), libc::LOCK_EX) }, 0);

    let mut child = ns
        .fanctl_cmd(&["up", "250", "ul0/16"], &[NO_TUNNEL])
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let (lines, waiting) = mpsc::channel();
    let stderr = child.stderr.take().unwrap();
    let reader = thread::spawn(move || {
        let mut all = String::new();
        for line in BufReader::new(stderr).lines().map_while(Result::ok) {
            let _ = lines.send(line.clone());
            all += &line;
            all += "\n";
        }
        all
    });
    let line = waiting
        .recv_timeout(Duration::from_secs(20))
        .expect("fanctl did not say it waits for the lock");
    assert!(line.contains("waiting for another fanctl"), "{line}");
    thread::sleep(Duration::from_millis(200));
    assert!(child.try_wait().unwrap().is_none(), "fanctl did not wait");
    assert!(
        ns.device("fan-250-0-28").is_none(),
        "fanctl ran under the lock"
    );

    drop(lock);
    let status = child.wait().unwrap();
    let stderr = reader.join().unwrap();
    assert!(status.success(), "{stderr}");
    assert!(ns.device("fan-250-0-28").is_some());
    ns.fanctl_ok(&["down", "-e"], &[]);
}
