// SPDX-License-Identifier: GPL-2.0

//! fan_ipip: Linux's `ipip` tunnel driver, in Rust, with Fan maps.
//!
//! A drop-in replacement for `ipip.ko`: it registers the same link kind,
//! the `tunl0` fallback device in every namespace and the same receive
//! handlers, and adds the `IFLA_IPTUN_FAN_MAP` attribute. On a device with
//! fan maps each packet's underlay destination is computed from its inner
//! destination (see docs/mapping.md and docs/netlink.md).
//!
//! Layout: `link` (netlink configuration), `xmit` and `rcv` (the data path),
//! `pernet` (namespaces and sysctls), `tunnel` (per-device state, RCU),
//! `netlink` (the fan-map attribute). Unsafe code lives in the thin layer
//! over the kernel: `sys` (bindings and C glue), `skb` (packets), `nla`
//! (netlink attributes), `tunnel` (the device), `route` (underlay routes,
//! cached per CPU) and `pernet` (namespaces);
//! the rest is safe Rust but for the `extern "C"` entry points, which
//! only wrap the pointers the kernel passes. The address
//! arithmetic and map table are the `fanmap` crate's, compiled in here.

// A packet or a netlink message must never panic the kernel, which builds
// Rust with overflow checks: arithmetic wraps or saturates where C's would,
// indexing is checked, and nothing unwraps.
#![deny(
    clippy::arithmetic_side_effects,
    clippy::indexing_slicing,
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::unreachable,
    clippy::todo,
    clippy::unimplemented
)]

use kernel::prelude::*;

// What the module does not use of the shared crate is not dead code.
#[allow(dead_code, unreachable_pub, unused_imports)]
#[path = "../fanmap/src/fanmap.rs"]
mod fanmap;

mod link;
mod netlink;
mod nla;
mod pernet;
mod rcv;
mod route;
mod skb;
mod sys;
mod tunnel;
mod xmit;

// No author: 6.12's `module!` takes `author`, 7.x's only `authors`.
module! {
    type: FanIpip,
    name: "fan_ipip",
    description: "IPv4 and MPLS over IPv4 tunnels (ipip) with Fan maps",
    license: "GPL",
    alias: ["rtnl-link-ipip", "netdev-tunl0"],
}

/// The module's registrations, released in field order on unload.
struct FanIpip {
    _link: LinkKind,
    _handlers: rcv::Handlers,
    _pernet: pernet::Registration,
    _rcu: RcuBarrier,
}

/// Waits, on unload, for the RCU callbacks that free retired map tables:
/// they must run before the module's code goes away. Dropped last.
struct RcuBarrier;

impl Drop for RcuBarrier {
    fn drop(&mut self) {
        // SAFETY: module exit runs in process context, where this may sleep.
        unsafe { sys::rcu_barrier() };
    }
}

/// The `ipip` rtnl link kind, registered for as long as this lives.
struct LinkKind(());

impl LinkKind {
    fn register() -> Result<Self> {
        // SAFETY: a static ops table, registered once, unregistered in drop.
        kernel::error::to_result(unsafe { sys::rtnl_link_register(link::LINK_OPS.get()) })?;
        Ok(LinkKind(()))
    }
}

impl Drop for LinkKind {
    fn drop(&mut self) {
        // SAFETY: registered in `register`.
        unsafe { sys::rtnl_link_unregister(link::LINK_OPS.get()) };
    }
}

/// Explain the one failure users will meet: Linux's ipip got there first.
fn explain(step: &str, e: Error) -> Error {
    if e == EEXIST {
        pr_err!(
            "{step} is taken: Linux's ipip module is loaded; unload it first (modprobe -r ipip)\n"
        );
    } else {
        pr_err!("cannot register {step}: error {}\n", e.to_errno());
    }
    e
}

impl kernel::Module for FanIpip {
    fn init(_module: &'static ThisModule) -> Result<Self> {
        // The order of ipip.ko: namespaces (tunl0) before the handlers that
        // look tunnels up in them, and the link kind last.
        let pernet =
            pernet::Registration::register(&link::LINK_OPS).map_err(|e| explain("tunl0", e))?;
        let handlers =
            rcv::Handlers::register().map_err(|e| explain("the ipip receive handler", e))?;
        let link = LinkKind::register().map_err(|e| explain("the ipip link kind", e))?;
        pr_info!("IPv4 and MPLS over IPv4 tunneling driver, with Fan maps\n");
        Ok(FanIpip {
            _link: link,
            _handlers: handlers,
            _pernet: pernet,
            _rcu: RcuBarrier,
        })
    }
}
