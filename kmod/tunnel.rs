// SPDX-License-Identifier: GPL-2.0

//! A tunnel device's private area: Linux's `struct ip_tunnel`, which the
//! kernel's ip_tunnel helpers own, followed by the fan's own state.
//!
//! The fan state is one pointer to the device's map table. Writers (netlink
//! requests) run under RTNL and replace the whole table; readers (transmit,
//! receive) run inside RCU read sections and never lock. An old table is
//! freed after a grace period. Beside it, the device's caches of answers
//! the kernel would otherwise look up for every packet: which underlay
//! destinations are local, and their routes.

use crate::fanmap::{backoff, LocalCache, MapTable};
use crate::nla::Attrs;
use crate::route::{self, BhDisabled, Route, RouteCache, RouteKey};
use crate::skb::{Skb, SkbRef};
use crate::sys;
use core::cell::UnsafeCell;
use core::ffi::c_int;
use core::marker::PhantomData;
use core::mem::{align_of, size_of};
use core::net::Ipv4Addr;
use core::ptr::{self, NonNull};
use core::sync::atomic::{AtomicPtr, AtomicU32, Ordering};
use kernel::alloc::{flags, KBox};
use kernel::error::to_result;
use kernel::prelude::*;

/// What the fan adds to each tunnel device.
#[repr(C)]
struct FanState {
    /// Null: not a fan device (plain ipip). Otherwise a non-empty table.
    maps: AtomicPtr<RcuTable>,
    /// Which underlay destinations are this host's (see `is_local`).
    local: LocalCache,
    /// Per-CPU underlay routes: set in `init` and released in `uninit`,
    /// when no transmit runs (receivers may still read the maps).
    routes: UnsafeCell<Option<RouteCache>>,
}

/// A map table as published: freed through `call_rcu`.
#[repr(C)]
pub(crate) struct RcuTable {
    rcu: sys::callback_head,
    table: MapTable,
}

const FAN_OFFSET: usize = size_of::<sys::ip_tunnel>().next_multiple_of(align_of::<FanState>());

/// `rtnl_link_ops.priv_size`: `struct ip_tunnel` then `FanState`.
pub(crate) const PRIV_SIZE: usize = FAN_OFFSET + size_of::<FanState>();

/// A device of this driver, for the duration of a kernel callback about it.
///
/// Every callback of the driver runs under RTNL (configuration) or inside
/// an RCU read section (data path): `'a` is that callback.
pub(crate) struct Tunnel<'a> {
    dev: NonNull<sys::net_device>,
    _callback: PhantomData<&'a sys::net_device>,
}

/// A tunnel's encapsulation settings, kept across a change that may fail.
pub(crate) struct SavedEncap {
    encap: sys::ip_tunnel_encap,
    encap_hlen: i32,
    hlen: i32,
}

/// Why a packet is dropped, for the device's error counters.
#[derive(Clone, Copy)]
pub(crate) enum TxError {
    /// A protocol the device does not carry: tx_errors only.
    Protocol,
    /// No fan map for the destination: tx_carrier_errors.
    NoMap,
    /// The derived destination is this host: tx_aborted_errors.
    ToSelf,
    /// No underlay route to the destination: tx_carrier_errors.
    NoRoute,
    /// The underlay route leads back into the tunnel: collisions.
    Loop,
    /// The underlay routes the destination as broadcast or multicast:
    /// tx_aborted_errors, as for this host.
    NotUnicast,
    /// Too big for the path with DF set: an ICMP error was sent instead.
    TooBig,
    /// No memory for the outer headers: tx_dropped only.
    NoRoom,
}

impl<'a> Tunnel<'a> {
    /// # Safety
    ///
    /// `dev` is a live net_device created with this driver's
    /// `rtnl_link_ops` (its private area is `PRIV_SIZE` bytes, zeroed at
    /// allocation, and set up by `ip_tunnel_setup`), and the caller holds
    /// RTNL or is inside an RCU read section for `'a`.
    pub(crate) unsafe fn from_raw(dev: *mut sys::net_device) -> Option<Self> {
        NonNull::new(dev).map(|dev| Self {
            dev,
            _callback: PhantomData,
        })
    }

    /// The device, for the kernel's helpers.
    pub(crate) fn dev(&self) -> *mut sys::net_device {
        self.dev.as_ptr()
    }

    /// Linux's tunnel state in the private area (`netdev_priv`, computed
    /// here rather than called: the data path asks for it several times a
    /// packet).
    pub(crate) fn ip_tunnel(&self) -> *mut sys::ip_tunnel {
        // SAFETY: a live device of ours (type invariant), whose private area
        // starts where `netdev_priv` puts it, inside the same allocation.
        unsafe {
            self.dev()
                .cast::<u8>()
                .add(sys::FAN_NETDEV_PRIV_OFFSET)
                .cast()
        }
    }

    fn state(&self) -> &sys::ip_tunnel {
        // SAFETY: the private area starts with the `struct ip_tunnel` that
        // `ip_tunnel_setup` initialized (type invariant). The kernel changes
        // it only under RTNL, which configuration callbacks hold; the data
        // path reads it unlocked as Linux's ipip does.
        unsafe { &*self.ip_tunnel() }
    }

    /// The header template: source, destination (remote), ttl, tos,
    /// protocol. A copy: the data path reads it while a configuration
    /// change under RTNL may be writing it, as in Linux's ipip.
    pub(crate) fn template(&self) -> sys::iphdr {
        // SAFETY: a live tunnel of ours (type invariant); a plain-data
        // header, read whole.
        unsafe { ptr::read(ptr::addr_of!((*self.ip_tunnel()).parms.iph)) }
    }

    pub(crate) fn parms(&self) -> &sys::ip_tunnel_parm_kern {
        &self.state().parms
    }

    pub(crate) fn collect_md(&self) -> bool {
        self.state().collect_md
    }

    pub(crate) fn fwmark(&self) -> u32 {
        self.state().fwmark
    }

    pub(crate) fn encap(&self) -> &sys::ip_tunnel_encap {
        &self.state().encap
    }

    /// Whether packets are sent as plain IP-in-IP (no FOU/GUE).
    pub(crate) fn is_plain_ipip(&self) -> bool {
        self.encap().type_ == sys::tunnel_encap_types_TUNNEL_ENCAP_NONE as u16
    }

    /// The underlay device the tunnel is bound to (0: any), which a
    /// configuration change may write while packets are sent.
    pub(crate) fn link(&self) -> i32 {
        // SAFETY: a live tunnel of ours (type invariant); one aligned int,
        // read once as C's READ_ONCE does.
        unsafe { ptr::read_volatile(ptr::addr_of!((*self.ip_tunnel()).parms.link)) }
    }

    /// Whether the inner header's DF bit is left out of the outer one.
    pub(crate) fn ignores_df(&self) -> bool {
        self.state().ignore_df
    }

    /// Bytes of encapsulation between the outer IPv4 header and the packet.
    pub(crate) fn encap_len(&self) -> i32 {
        self.state().hlen
    }

    pub(crate) fn mtu(&self) -> u32 {
        // SAFETY: a live device (type invariant); a plain integer.
        unsafe { (*self.dev()).mtu }
    }

    /// Whether a recent ICMP error about the tunnel's packets should be
    /// passed on to this packet's sender (`err_count`, as Linux's ipip).
    pub(crate) fn take_reported_error(&self) -> bool {
        let t = self.ip_tunnel();
        // SAFETY: plain integers of our tunnel state, updated unlocked by
        // the transmit and error paths as in Linux's ipip.
        let (count, time) = unsafe { ((*t).err_count, (*t).err_time) };
        if count <= 0 {
            return false;
        }
        let (report, count) = backoff::error_taken(count, within_backoff(time));
        // SAFETY: as above.
        unsafe { (*t).err_count = count };
        report
    }

    /// The namespace the tunnel sends in.
    pub(crate) fn net(&self) -> *mut sys::net {
        self.state().net
    }

    pub(crate) fn is_point_to_point(&self) -> bool {
        // SAFETY: a live device (type invariant); a plain flags word.
        unsafe { (*self.dev()).flags & sys::FAN_IFF_POINTOPOINT != 0 }
    }

    /// `ipip_tunnel_init`: the device's addresses from the tunnel's, then
    /// Linux's common tunnel setup. Under RTNL.
    pub(crate) fn init(&mut self) -> Result {
        self.set_routes(Some(RouteCache::new()?));
        let result = self.init_ip_tunnel();
        if result.is_err() {
            self.set_routes(None);
        }
        result
    }

    fn init_ip_tunnel(&mut self) -> Result {
        let iph = self.template();
        let t = self.ip_tunnel();
        let dev = self.dev();
        // SAFETY: ndo_init under RTNL (type invariant): nothing else uses
        // the device yet. `dev_addr` and `broadcast` hold at least 4 bytes
        // (addr_len 4, set in `setup`).
        unsafe {
            let local = iph.saddr().octets();
            sys::__dev_addr_set(dev, local.as_ptr().cast(), 4);
            let remote = iph.daddr().octets();
            ptr::copy_nonoverlapping(remote.as_ptr(), (*dev).broadcast.as_mut_ptr(), 4);
            // ipip has no tunnel header of its own: only FOU/GUE's.
            (*t).tun_hlen = 0;
            (*t).hlen = (*t).encap_hlen;
            to_result(sys::fan_compat_ip_tunnel_init(dev))
        }
    }

    /// `ip_tunnel_uninit`: unhash the tunnel; release the routes it kept.
    /// Under RTNL, after the device's last transmit.
    pub(crate) fn uninit(&mut self) {
        // SAFETY: ndo_uninit under RTNL (type invariant).
        unsafe { sys::ip_tunnel_uninit(self.dev()) }
        self.set_routes(None);
    }

    /// The tunnel ioctls (`ip_tunnel_ctl`), parameters already checked.
    pub(crate) fn ioctl(&self, parms: &mut sys::ip_tunnel_parm_kern, cmd: c_int) -> c_int {
        // SAFETY: ndo_tunnel_ctl under RTNL (type invariant).
        unsafe { sys::ip_tunnel_ctl(self.dev(), parms, cmd) }
    }

    /// Whether the request's sender may change a device of this namespace.
    pub(crate) fn link_net_capable(&self) -> bool {
        // SAFETY: a device of ours under RTNL (type invariant).
        unsafe { sys::rtnl_dev_link_net_capable(self.dev(), self.net()) }
    }

    /// Apply the request's encapsulation (FOU/GUE) attributes, if any.
    /// The encapsulation settings, for putting back after a refused change
    /// (`ip_tunnel_encap_setup` clears them before it validates the new).
    pub(crate) fn saved_encap(&self) -> SavedEncap {
        let t = self.state();
        SavedEncap {
            encap: t.encap,
            encap_hlen: t.encap_hlen,
            hlen: t.hlen,
        }
    }

    pub(crate) fn restore_encap(&mut self, saved: SavedEncap) {
        let t = self.ip_tunnel();
        // SAFETY: a tunnel of ours under RTNL (type invariant); the data path
        // reads these unlocked, as it does while `ip_tunnel_encap_setup`
        // writes them.
        unsafe {
            (*t).encap = saved.encap;
            (*t).encap_hlen = saved.encap_hlen;
            (*t).hlen = saved.hlen;
        }
    }

    /// The MTUs the device takes: `dev_validate_mtu`'s range narrowed by
    /// `ip_tunnel_change_mtu`'s, which leaves room for the outer header and
    /// the encapsulation.
    pub(crate) fn mtu_range(&self) -> (u32, u32) {
        // `ETH_MIN_MTU` and `IP_MAX_MTU` of the kernel's headers.
        const ETH_MIN_MTU: u32 = 68;
        const IP_MAX_MTU: u32 = 0xffff;
        // SAFETY: a live device (type invariant); plain integers.
        let (min, max) = unsafe { ((*self.dev()).min_mtu, (*self.dev()).max_mtu) };
        let headers = u32::try_from(self.state().hlen)
            .unwrap_or(0)
            .saturating_add(size_of::<sys::iphdr>() as u32);
        let tunnel_max = IP_MAX_MTU.saturating_sub(headers);
        let max = match max {
            0 => tunnel_max,
            max => max.min(tunnel_max),
        };
        (min.max(ETH_MIN_MTU), max)
    }

    pub(crate) fn setup_encap(&mut self, data: Attrs<'_>) -> Result {
        if data.is_empty() {
            return Ok(());
        }
        let mut encap: sys::ip_tunnel_encap = sys::zeroed();
        // SAFETY: a parsed attribute table (Attrs) of the request, and a
        // tunnel of ours under RTNL (type invariant).
        unsafe {
            if sys::ip_tunnel_netlink_encap_parms(data.as_raw(), &mut encap) {
                to_result(sys::ip_tunnel_encap_setup(self.ip_tunnel(), &mut encap))?;
            }
        }
        Ok(())
    }

    pub(crate) fn set_collect_md(&mut self, collect_md: bool) {
        // SAFETY: a tunnel of ours under RTNL (type invariant), being created.
        unsafe { (*self.ip_tunnel()).collect_md = collect_md };
    }

    /// Register the new device with these parameters (`ip_tunnel_newlink`),
    /// linked in `link_net`.
    ///
    /// # Safety
    ///
    /// `link_net` is the namespace newlink was given for the link, live for
    /// the call.
    pub(crate) unsafe fn newlink(
        &mut self,
        link_net: *mut sys::net,
        tb: Attrs<'_>,
        parms: &mut sys::ip_tunnel_parm_kern,
        fwmark: u32,
    ) -> Result {
        // SAFETY: newlink of a device of ours under RTNL (type invariant),
        // with the request's parsed top-level attributes and link namespace.
        to_result(unsafe {
            sys::fan_compat_ip_tunnel_newlink(link_net, self.dev(), tb.as_raw(), parms, fwmark)
        })
    }

    /// Change the device to these parameters (`ip_tunnel_changelink`).
    pub(crate) fn changelink(
        &mut self,
        tb: Attrs<'_>,
        parms: &mut sys::ip_tunnel_parm_kern,
        fwmark: u32,
    ) -> Result {
        // SAFETY: changelink of a device of ours under RTNL (type invariant),
        // with the request's parsed top-level attributes.
        to_result(unsafe { sys::ip_tunnel_changelink(self.dev(), tb.as_raw(), parms, fwmark) })
    }

    /// Whether `addr` is an address of this host, in the tunnel's namespace.
    ///
    /// Asked for every packet a fan device sends; answered from the
    /// device's `LocalCache` until an address or route changes.
    pub(crate) fn is_local(&self, addr: Ipv4Addr) -> bool {
        let generation = self.address_generation();
        self.fan().local.is_local(addr, generation, |addr| {
            // SAFETY: the namespace lives as long as the device (type
            // invariant); `__ip_dev_find` takes the RCU read lock itself,
            // and without a reference taken the result is only compared
            // with null.
            !unsafe { sys::__ip_dev_find(self.net(), sys::be32(addr), false) }.is_null()
        })
    }

    /// A count that changes whenever an IPv4 address or route of the
    /// tunnel's namespace does: the sum of `rt_genid` (routes flushed),
    /// `dev_addr_genid` (addresses) and `fib_seq` (every route added,
    /// replaced or removed, in any table: a local route removed without a
    /// flush, as `ip route del local ADDR table local` may do, moves only
    /// this one).
    fn address_generation(&self) -> u32 {
        let net = self.net();
        // SAFETY: integers of the namespace, which lives as long as the
        // device (type invariant), written by others (`fib_seq` under RTNL)
        // and read once each, with acquire ordering so that the lookup that
        // follows sees at least the change a new generation stands for.
        unsafe {
            let routes = atomic_u32(ptr::addr_of_mut!((*net).ipv4.rt_genid.counter).cast());
            let addrs = atomic_u32(ptr::addr_of_mut!((*net).ipv4.dev_addr_genid.counter).cast());
            let fib = atomic_u32(ptr::addr_of_mut!((*net).ipv4.fib_seq));
            routes
                .load(Ordering::Acquire)
                .wrapping_add(addrs.load(Ordering::Acquire))
                .wrapping_add(fib.load(Ordering::Acquire))
        }
    }

    /// Send `skb` with the outer `header` (`ip_tunnel_xmit`), or by its
    /// metadata on an external device; the kernel takes the packet.
    pub(crate) fn send(&self, skb: Skb, header: &sys::iphdr, ipproto: u8) {
        // SAFETY: a device of ours inside the transmit path's RCU read
        // section (type invariant); both helpers consume the skb.
        unsafe {
            if self.collect_md() {
                sys::ip_md_tunnel_xmit(skb.into_raw(), self.dev(), ipproto, 0);
            } else {
                sys::ip_tunnel_xmit(skb.into_raw(), self.dev(), header, ipproto);
            }
        }
    }

    /// The underlay route for `key`, from this CPU's cache if the kernel
    /// still deems it valid.
    pub(crate) fn route(
        &self,
        bh: &mut BhDisabled<'_>,
        key: RouteKey,
        skb: &mut Skb,
    ) -> Result<Route> {
        // SAFETY: transmit runs only between `init` and `uninit`, the only
        // writers (see `set_routes`).
        match unsafe { &*self.fan().routes.get() } {
            Some(routes) => routes.route(bh, key, self.net(), skb),
            None => route::lookup(key, self.net(), skb),
        }
    }

    /// Send `skb` along `route` (`iptunnel_xmit`) with the outer header's
    /// variable fields (addresses in network byte order).
    pub(crate) fn send_routed(
        &self,
        skb: Skb,
        route: Route,
        daddr: u32,
        tos: u8,
        ttl: u8,
        df_be: u16,
    ) {
        let saddr = route.saddr();
        // SAFETY: a device of ours inside the transmit path (type invariant);
        // its namespace and the tunnel's live as long as it does.
        let xnet = unsafe { self.net() != sys::dev_net(self.dev()) };
        // SAFETY: the helper consumes the skb and the route's reference.
        unsafe {
            sys::fan_compat_iptunnel_xmit(
                ptr::null_mut(),
                route.into_raw(),
                skb.into_raw(),
                saddr,
                daddr,
                sys::IPPROTO_IPIP as u8,
                tos,
                ttl,
                df_be,
                xnet,
            )
        }
    }

    /// Grow the device's headroom hint to `headroom` (`ip_tunnel_adj_headroom`).
    pub(crate) fn adjust_headroom(&self, headroom: u32) {
        // SAFETY: a live device of ours (type invariant); the helper
        // updates `needed_headroom` with WRITE_ONCE.
        unsafe { sys::ip_tunnel_adj_headroom(self.dev(), headroom) }
    }

    /// Hand a received packet to the stack as coming from this tunnel
    /// (`ip_tunnel_rcv`), or drop it if its outer header cannot be removed.
    pub(crate) fn deliver(&self, mut skb: Skb, tpi: &sys::tnl_ptk_info) {
        if !skb.pull_tunnel_header(tpi.proto) {
            return;
        }
        let mut tun_dst = ptr::null_mut();
        if self.collect_md() {
            let no_flags: [core::ffi::c_ulong; 1] = [0];
            // SAFETY: a received skb of ours; the metadata dst is attached to
            // the skb, which frees it.
            tun_dst = unsafe { sys::ip_tun_rx_dst(skb.as_raw(), no_flags.as_ptr(), 0, 0) };
            if tun_dst.is_null() {
                return;
            }
            // SAFETY: `tun_dst` was just allocated for this skb. `tun_info`
            // is a member of the union `u`, at its start (bindgen makes the
            // union a Rust union or, on 7.x, a struct of placeholders).
            unsafe {
                let info = ptr::addr_of_mut!((*tun_dst).u).cast::<sys::ip_tunnel_info>();
                sys::ip_tunnel_md_udp_encap(skb.as_raw(), info)
            };
        }
        skb.reset_mac_header();
        // SAFETY: a tunnel of ours inside the receive path's RCU read
        // section (type invariant); `ip_tunnel_rcv` consumes the skb.
        unsafe { sys::ip_tunnel_rcv(self.ip_tunnel(), skb.into_raw(), tpi, tun_dst, true) };
    }

    /// An ICMP "fragmentation needed" about a packet the tunnel sent.
    pub(crate) fn update_pmtu(&self, icmp: SkbRef<'_>, mtu: u32, protocol: u8) {
        // SAFETY: the ICMP error's skb, in the error handler's RCU section.
        unsafe {
            sys::ipv4_update_pmtu(icmp.as_raw(), self.net(), mtu, self.parms().link, protocol)
        };
    }

    /// An ICMP redirect about a packet the tunnel sent.
    pub(crate) fn redirect(&self, icmp: SkbRef<'_>, protocol: u8) {
        // SAFETY: as for `update_pmtu`.
        unsafe { sys::ipv4_redirect(icmp.as_raw(), self.net(), self.parms().link, protocol) };
    }

    /// Count an ICMP error for the tunnel's error backoff (`err_count`,
    /// `err_time`), as Linux's ipip does.
    pub(crate) fn note_error(&self) {
        let t = self.ip_tunnel();
        // SAFETY: plain integers of our tunnel state, written unlocked by
        // the error handler as in Linux's ipip; nothing else writes them.
        unsafe {
            (*t).err_count = backoff::error_noted((*t).err_count, within_backoff((*t).err_time));
            (*t).err_time = sys::jiffies();
        }
    }

    /// Count a dropped packet.
    pub(crate) fn count_tx_error(&self, why: TxError) {
        let dev = self.dev();
        // SAFETY: a live device (type invariant); the counters are atomic.
        unsafe {
            match why {
                TxError::Protocol | TxError::TooBig => {}
                TxError::NoMap | TxError::NoRoute => sys::fan_dev_stats_inc_tx_carrier_errors(dev),
                TxError::ToSelf | TxError::NotUnicast => {
                    sys::fan_dev_stats_inc_tx_aborted_errors(dev)
                }
                TxError::Loop => sys::fan_dev_stats_inc_collisions(dev),
                TxError::NoRoom => return sys::fan_dev_stats_inc_tx_dropped(dev),
            }
            sys::fan_dev_stats_inc_tx_errors(dev);
        }
    }

    /// Count a received packet dropped for a forged source.
    pub(crate) fn count_rx_frame_error(&self) {
        // SAFETY: a live device (type invariant); the counters are atomic.
        unsafe {
            sys::fan_dev_stats_inc_rx_frame_errors(self.dev());
            sys::fan_dev_stats_inc_rx_errors(self.dev());
        }
    }

    fn fan(&self) -> &FanState {
        // SAFETY: the private area is PRIV_SIZE bytes (type invariant), so
        // FAN_OFFSET is in bounds and aligned for FanState; alloc_netdev
        // zeroes it, which is a valid FanState (null pointers, `None`).
        unsafe {
            &*self
                .ip_tunnel()
                .cast::<u8>()
                .add(FAN_OFFSET)
                .cast::<FanState>()
        }
    }

    /// Replace the route cache (dropping the old one releases its routes).
    /// Only `init` and `uninit` call it: before the device's first transmit
    /// and after its last, so nothing reads the cache meanwhile.
    fn set_routes(&mut self, routes: Option<RouteCache>) {
        // SAFETY: see above; `&mut self` is ndo_init or ndo_uninit under RTNL.
        unsafe { *self.fan().routes.get() = routes };
    }

    /// The device's fan maps, if it is a fan device.
    ///
    /// The borrow of `self` keeps the table alive: readers are inside an RCU
    /// read section for the callback, and a writer under RTNL cannot
    /// `publish` (which needs `&mut self`) while it holds the result.
    pub(crate) fn maps(&self) -> Option<&MapTable> {
        let table = self.fan().maps.load(Ordering::Acquire);
        // SAFETY: a non-null pointer is a published table, freed only after
        // a grace period following its replacement (see above).
        unsafe { table.as_ref() }.map(|t| &t.table)
    }

    /// Publish `next` as the device's maps (an empty table makes it a plain
    /// ipip device again) and free the old table after a grace period.
    /// Caller holds RTNL.
    pub(crate) fn publish(&mut self, next: Option<KBox<RcuTable>>) {
        let next = match next {
            Some(table) if !table.table.is_empty() => KBox::into_raw(table),
            _ => ptr::null_mut(), // dropping an unused table frees it now
        };
        let old = self.fan().maps.swap(next, Ordering::AcqRel);
        retire(old);
    }
}

impl RcuTable {
    /// A new, empty table on the heap.
    pub(crate) fn new() -> Result<KBox<RcuTable>> {
        let table = KBox::new(
            RcuTable {
                rcu: sys::zeroed(),
                table: MapTable::new(),
            },
            flags::GFP_KERNEL,
        )?;
        Ok(table)
    }

    pub(crate) fn table(&self) -> &MapTable {
        &self.table
    }

    pub(crate) fn table_mut(&mut self) -> &mut MapTable {
        &mut self.table
    }
}

/// The stock tunnel attributes of a request (`ip_tunnel_netlink_parms`).
pub(crate) fn read_netlink_parms(data: Attrs<'_>, parms: &mut sys::ip_tunnel_parm_kern) {
    if data.is_empty() {
        return;
    }
    // SAFETY: a parsed attribute table of the request (Attrs), with every
    // slot up to IFLA_IPTUN_MAX; the helper reads only what is present.
    unsafe { sys::ip_tunnel_netlink_parms(data.as_raw(), parms) }
}

/// Whether the tunnel's last ICMP error (at `err_time`) is recent enough to
/// matter (`time_before(jiffies, err_time + IPTUNNEL_ERR_TIMEO)`).
fn within_backoff(err_time: core::ffi::c_ulong) -> bool {
    let until = err_time.wrapping_add(sys::FAN_IPTUNNEL_ERR_TIMEO);
    (sys::jiffies().wrapping_sub(until) as core::ffi::c_long) < 0
}

/// An aligned kernel integer that others write concurrently, as an atomic.
///
/// # Safety
///
/// `p` points to a live, aligned 32-bit integer for `'a`.
unsafe fn atomic_u32<'a>(p: *mut u32) -> &'a AtomicU32 {
    // SAFETY: the caller's guarantee; the kernel writes it with plain or
    // atomic stores of the whole word.
    unsafe { AtomicU32::from_ptr(p) }
}

/// Free a table that readers may still see, after an RCU grace period.
fn retire(table: *mut RcuTable) {
    if table.is_null() {
        return;
    }
    // SAFETY: `table` came from KBox::into_raw and has just been unpublished;
    // call_rcu runs free_table once every reader that could see it is done.
    unsafe { sys::call_rcu(ptr::addr_of_mut!((*table).rcu), Some(free_table)) };
}

/// # Safety
///
/// Called once by RCU for a table `retire` queued.
unsafe extern "C" fn free_table(head: *mut sys::callback_head) {
    // SAFETY: `head` is the first field of a #[repr(C)] RcuTable that was
    // leaked by KBox::into_raw in `publish`, and this is its only release.
    drop(unsafe { KBox::from_raw(head.cast::<RcuTable>()) });
}
