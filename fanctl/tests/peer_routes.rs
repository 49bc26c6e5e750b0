//! The fallback's route batching through fanctl's library, on a bridge
//! instead of tunl0 (this machine's kernel has no ipip): 65,533 onlink
//! routes in batches, all-or-nothing on a refusal, and batched deletion.

mod common;

use std::{
    fs::File,
    os::fd::AsRawFd,
    thread,
    time::{Duration, Instant},
};

use common::{require_root, Netns};
use fanctl::{
    netlink::{link, route, Rtnl},
    plan::peer_routes,
};

/// Runs `body` on a thread that has entered the namespace (network
/// namespaces are per thread), with a netlink socket there.
fn in_netns<T: Send + 'static>(ns: &Netns, body: impl FnOnce(&Rtnl) -> T + Send + 'static) -> T {
    let file = File::open(format!("/run/netns/{}", ns.name)).unwrap();
    thread::spawn(move || {
        // SAFETY: setns on a valid namespace descriptor, for this thread only.
        let rc = unsafe { libc::setns(file.as_raw_fd(), libc::CLONE_NEWNET) };
        assert_eq!(rc, 0, "setns: {}", std::io::Error::last_os_error());
        body(&Rtnl::open().unwrap())
    })
    .join()
    .unwrap()
}

fn routes_on(ns: &Netns, dev: &str) -> usize {
    ns.ip(&format!("route show dev {dev}")).lines().count()
}

#[test]
fn a_slash_16_of_peer_routes_goes_in_and_out_in_batches() {
    require_root();
    let ns = Netns::new("peers");
    ns.ip("link add fanbr type bridge");
    ns.ip("addr add 250.0.28.1/24 dev fanbr");
    ns.ip("link set fanbr up");
    // The connected route of the bridge address.
    assert_eq!(routes_on(&ns, "fanbr"), 1);

    let (count, took) = in_netns(&ns, |rtnl| {
        let dev = link::by_name_required(rtnl, "fanbr").unwrap();
        let routes = peer_routes(
            &"250.0.0.0/8".parse().unwrap(),
            &"172.30.0.28/16".parse().unwrap(),
            dev.index,
            "250.0.28.1".parse().unwrap(),
        )
        .unwrap();
        let start = Instant::now();
        route::add_all(rtnl, &routes).unwrap();
        (routes.len(), start.elapsed())
    });
    eprintln!("installed {count} routes in {took:?}");
    assert_eq!(count, 65_533);
    assert_eq!(routes_on(&ns, "fanbr"), 1 + 65_533);
    let one = ns.ip("route show 250.0.27.0/24");
    assert!(
        one.starts_with("250.0.27.0/24 via 172.30.0.27 dev fanbr") && one.contains("onlink"),
        "{one}"
    );
    assert!(
        one.contains("src 250.0.28.1") && one.contains("metric 27"),
        "{one}"
    );
    // The target is 2 s in a release build; a debug build gets slack.
    let limit = if cfg!(debug_assertions) { 20 } else { 2 };
    assert!(took < Duration::from_secs(limit), "took {took:?}");

    in_netns(&ns, |rtnl| {
        let dev = link::by_name_required(rtnl, "fanbr").unwrap();
        let routes = peer_routes(
            &"250.0.0.0/8".parse().unwrap(),
            &"172.30.0.28/16".parse().unwrap(),
            dev.index,
            "250.0.28.1".parse().unwrap(),
        )
        .unwrap();
        route::delete_all(rtnl, &routes).unwrap();
        // Deleting again is fine: they are already gone.
        route::delete_all(rtnl, &routes).unwrap();
    });
    assert_eq!(routes_on(&ns, "fanbr"), 1);
}

#[test]
fn one_refused_route_undoes_the_whole_batch() {
    require_root();
    let ns = Netns::new("refused");
    ns.ip("link add fanbr type bridge");
    ns.ip("addr add 250.0.28.1/24 dev fanbr");
    ns.ip("link set fanbr up");
    // Someone else's route where our 11th (to 172.30.0.11) would go; the
    // same metric makes it the same route to the kernel.
    let taken = "250.0.11.0/24 via 172.30.11.7 dev fanbr onlink metric 11";
    ns.ip(&format!("route add {taken}"));

    let err = in_netns(&ns, |rtnl| {
        let dev = link::by_name_required(rtnl, "fanbr").unwrap();
        let routes = peer_routes(
            &"250.0.0.0/8".parse().unwrap(),
            &"172.30.0.28/16".parse().unwrap(),
            dev.index,
            "250.0.28.1".parse().unwrap(),
        )
        .unwrap();
        format!("{:#}", route::add_all(rtnl, &routes).unwrap_err())
    });
    assert!(err.contains("250.0.11.0/24 via 172.30.0.11"), "{err}");
    assert!(err.contains("File exists"), "{err}");
    // Only the connected route and the other route remain.
    let left = ns.ip("route show dev fanbr");
    assert_eq!(left.lines().count(), 2, "{left}");
    assert!(left.contains("250.0.11.0/24 via 172.30.11.7"), "{left}");
}
