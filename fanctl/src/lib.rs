//! fanctl: sets up and tears down fan networks (FAN-SPEC section 4).
//! The binary is `main.rs`; the modules are a library so that integration
//! tests can drive the netlink parts directly.

pub mod cli;
pub mod commands;
pub mod config;
pub mod dhcp;
pub mod down;
pub mod fan;
pub mod lock;
pub mod nat;
pub mod netlink;
pub mod paths;
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
