//! The fan map library proper, included by `lib.rs` and, with `#[path]`, by
//! the kernel module.
//!
//! Nothing here may depend on crate-level attributes or on the crate's name:
//! modules refer to each other through `super::`, and only `core` is used.
//! The lints below are module-level so that they hold inside the kernel
//! module's crate too: they forbid every way the code could panic (a panic
//! is a kernel BUG, and the kernel builds with overflow checks on). Tests
//! are exempt.

#![forbid(unsafe_code)]
#![deny(missing_docs)]
#![cfg_attr(
    not(test),
    deny(
        clippy::arithmetic_side_effects,
        clippy::indexing_slicing,
        clippy::unwrap_used,
        clippy::expect_used,
        clippy::panic,
        clippy::unreachable,
        clippy::todo,
        clippy::unimplemented,
        clippy::float_arithmetic
    )
)]

pub mod attrs;
pub mod backoff;
pub mod bridge;
pub mod error;
pub mod local_cache;
pub mod map;
pub mod prefix;
pub mod slice;
pub mod table;
pub mod text;
pub mod wire;

pub use bridge::BridgeName;
pub use error::{ApplyError, MapError};
pub use local_cache::{slot_index, LocalCache};
pub use map::FanMap;
pub use prefix::Prefix;
pub use slice::{Slice, DEFAULT_HOST_RESERVE};
pub use table::{MapTable, MAX_MAPS};
pub use text::ParseError;
pub use wire::{Request, IFLA_FAN_MAPPING, IFLA_IPTUN_FAN_MAP, IFLA_IPTUN_FAN_UNDERLAY, WIRE_LEN};
