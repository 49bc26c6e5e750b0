//! Fan networking maps: the arithmetic, the netlink wire format and the map
//! table shared by the kernel module and `fanctl`.
//!
//! A fan map pairs an overlay network with an underlay network
//! (`250.0.0.0/8:172.30.0.0/16`): the host at underlay address 172.30.0.28
//! owns the overlay slice 250.0.28.0/24, and a packet for 250.0.27.3 is sent
//! IP-in-IP to 172.30.0.27.
//!
//! The crate is `no_std`, allocates nothing, contains no `unsafe` and cannot
//! panic on any input. Everything lives in `fanmap.rs` so that the kernel
//! module, which builds one crate per module, can include the same sources
//! with `#[path = "../fanmap/src/fanmap.rs"] mod fanmap;`. This file holds
//! only what is crate-level.
//!
//! ```
//! use core::net::Ipv4Addr;
//! use fanmap::{FanMap, MapTable, Request};
//!
//! let map: FanMap = "250.0.0.0/8:172.30.0.0/16".parse().unwrap();
//! let slice = map.slice_for(Ipv4Addr::new(172, 30, 0, 28)).unwrap();
//! assert_eq!(slice.to_string(), "250.0.28.0/24");
//! assert_eq!(slice.bridge_name().unwrap().as_str(), "fan-250-0-28");
//!
//! // What the kernel does with a netlink request, then on transmit.
//! let payload = map.to_wire();
//! let mut next = Box::new(MapTable::new());
//! let requests = [Request::from_wire(&payload)];
//! MapTable::new().apply_into(&mut next, requests).unwrap();
//! let dst = Ipv4Addr::new(250, 0, 27, 3);
//! assert_eq!(next.underlay_for(dst), Some(Ipv4Addr::new(172, 30, 0, 27)));
//! ```

#![no_std]
#![forbid(unsafe_code)]

#[cfg(test)]
extern crate std;

#[path = "fanmap.rs"]
mod fanmap;

pub use fanmap::*;
