//! fanctl: sets up and tears down fan networks (docs/fanctl.md).
//! The binary is `main.rs`; the modules are a library so that integration
//! tests can drive the netlink parts directly.
//!
//! The modules are layered, each using only those below it (checked by
//! tests/layers.rs): the words of a fan, files and test hooks (`spec`,
//! `config`, `paths`, `hooks`); planning from those words and the host's
//! facts (`host`, `underlay`, `fan`, `plan`); the kernel and program
//! interfaces (`netlink`, `sysctl`, `nat`, `dhcp`, `lock`); the record of
//! what was made (`resource`, `state`); the commands (`session`, `tunnel`,
//! `up`, `down`, `show`, `runtime`, `cli`, `commands`).

pub mod cli;
pub mod commands;
pub mod config;
pub mod dhcp;
pub mod down;
pub mod fan;
pub mod hooks;
pub mod host;
pub mod lock;
pub mod nat;
pub mod netlink;
pub mod paths;
pub mod plan;
pub mod resource;
pub mod runtime;
pub mod session;
pub mod show;
pub mod spec;
pub mod state;
pub mod sysctl;
pub mod tunnel;
pub mod underlay;
pub mod up;
