// SPDX-License-Identifier: GPL-2.0

//! Per network namespace state: Linux's ip_tunnel table with the `tunl0`
//! fallback device, and the fan's sysctls under `net.fan`:
//!
//! - `version` (read-only, 3): how Ubuntu's tools detect a fan kernel;
//! - `validate_source` (0 or 1, default 1): drop decapsulated packets whose
//!   inner source lies in a mapped overlay but belongs to another host.

use crate::skb::SkbRef;
use crate::sys::{self, KernelStatic};
use crate::tunnel::Tunnel;
use core::ffi::{c_int, c_ulong, c_void};
use core::mem::size_of;
use core::net::Ipv4Addr;
use core::ptr;
use core::sync::atomic::{AtomicPtr, AtomicU32, Ordering};
use kernel::alloc::{flags, KBox};
use kernel::error::{code::ENOMEM, to_result, Result};

/// The kernel's id for our per-namespace data (set at registration).
static NET_ID: AtomicU32 = AtomicU32::new(0);

/// The link kind `tunl0` is made of, given at registration: the link kind
/// (`link.rs`) is built on this module, not the other way round.
static TUNL0_KIND: AtomicPtr<sys::rtnl_link_ops> = AtomicPtr::new(ptr::null_mut());

/// What `net_generic` holds for us. `itn` must come first: the ip_tunnel
/// helpers read `net_generic()` as a `struct ip_tunnel_net`.
#[repr(C)]
struct FanNet {
    itn: sys::ip_tunnel_net,
    validate_source: c_int,
    sysctl: *mut sys::ctl_table_header,
    sysctl_table: *mut SysctlTable,
}

const VERSION: c_int = 3;
static VERSION_VALUE: c_int = VERSION;
static ZERO: c_int = 0;
static ONE: c_int = 1;

type SysctlTable = [sys::ctl_table; 2];

fn sysctl_template() -> SysctlTable {
    let mut version: sys::ctl_table = sys::zeroed();
    version.procname = sys::c_str(c"version");
    version.data = ptr::addr_of!(VERSION_VALUE).cast_mut().cast::<c_void>();
    version.maxlen = size_of::<c_int>() as c_int;
    version.mode = 0o444;
    version.proc_handler = Some(sys::proc_dointvec);

    let mut validate: sys::ctl_table = sys::zeroed();
    validate.procname = sys::c_str(c"validate_source");
    validate.maxlen = size_of::<c_int>() as c_int;
    validate.mode = 0o644;
    validate.proc_handler = Some(sys::proc_dointvec_minmax);
    validate.extra1 = ptr::addr_of!(ZERO).cast_mut().cast::<c_void>();
    validate.extra2 = ptr::addr_of!(ONE).cast_mut().cast::<c_void>();
    [version, validate]
}

pub(crate) fn id() -> u32 {
    NET_ID.load(Ordering::Relaxed)
}

/// # Safety
///
/// `net` is a live namespace in which our pernet data is initialized.
unsafe fn fan_net(net: *const sys::net) -> *mut FanNet {
    // SAFETY: registered with size_of::<FanNet>() (caller: initialized).
    unsafe { sys::net_generic(net, id()).cast() }
}

/// The namespace's ip_tunnel table.
///
/// # Safety
///
/// As for `fan_net`.
unsafe fn tunnel_net(net: *const sys::net) -> *mut sys::ip_tunnel_net {
    // SAFETY: `itn` is the first field of FanNet (caller as for fan_net).
    unsafe { ptr::addr_of_mut!((*fan_net(net)).itn) }
}

/// `net.fan.validate_source` of the tunnel's namespace.
pub(crate) fn validate_source(tunnel: &Tunnel<'_>) -> bool {
    // SAFETY: a tunnel's namespace is live and has our data while the
    // tunnel exists; the sysctl writes this int concurrently: read it once.
    unsafe { ptr::read_volatile(ptr::addr_of!((*fan_net(tunnel.net())).validate_source)) != 0 }
}

/// Whether the tunnel is its namespace's fallback device `tunl0`.
pub(crate) fn is_fallback(tunnel: &Tunnel<'_>) -> bool {
    // SAFETY: as for `validate_source`; the pointer is only compared.
    let fallback = unsafe { (*tunnel_net(tunnel.net())).fb_tunnel_dev };
    ptr::eq(fallback, tunnel.dev())
}

/// The tunnel of ours that a packet from `remote` to `local`, received on
/// the skb's device, belongs to (`ip_tunnel_lookup`, no key).
pub(crate) fn lookup<'a>(skb: SkbRef<'a>, remote: Ipv4Addr, local: Ipv4Addr) -> Option<Tunnel<'a>> {
    let dev = skb.dev();
    let flags: [c_ulong; 1] = [1 << sys::IP_TUNNEL_NO_KEY_BIT];
    // SAFETY: the device a packet arrived on is live while the packet is
    // handled, in a namespace that has our data while the module is loaded;
    // the receive path is inside an RCU read section, as the lookup needs.
    let found = unsafe {
        sys::ip_tunnel_lookup(
            tunnel_net(sys::dev_net(dev)),
            (*dev).ifindex,
            flags.as_ptr(),
            sys::be32(remote),
            sys::be32(local),
            0,
        )
    };
    // SAFETY: the table holds only tunnels of ours, which stay valid for
    // the RCU read section the packet is handled in.
    unsafe { found.as_ref().and_then(|t| Tunnel::from_raw(t.dev)) }
}

/// # Safety
///
/// Called by the kernel as `pernet_operations.init` for a new namespace.
unsafe extern "C" fn init_net(net: *mut sys::net) -> c_int {
    // SAFETY: the kernel initializes our data for a new namespace.
    match unsafe { try_init_net(net) } {
        Ok(()) => 0,
        Err(e) => e.to_errno(),
    }
}

/// # Safety
///
/// `net` is a namespace being set up, with our zeroed data.
unsafe fn try_init_net(net: *mut sys::net) -> Result {
    // SAFETY: as the function's contract.
    unsafe {
        let fnet = fan_net(net);
        (*fnet).validate_source = 1;

        let table = KBox::into_raw(KBox::new(sysctl_template(), flags::GFP_KERNEL)?);
        (*table)[1].data = ptr::addr_of_mut!((*fnet).validate_source).cast();
        let header =
            sys::register_net_sysctl_sz(net, sys::c_str(c"net/fan"), (*table).as_mut_ptr(), 2);
        if header.is_null() {
            drop(KBox::from_raw(table));
            return Err(ENOMEM);
        }
        (*fnet).sysctl = header;
        (*fnet).sysctl_table = table;

        let kind = TUNL0_KIND.load(Ordering::Acquire);
        let err = sys::ip_tunnel_init_net(net, id(), kind, sys::c_str(c"tunl0").cast_mut());
        if err != 0 {
            exit_net(net);
        }
        to_result(err)
    }
}

/// # Safety
///
/// Called by the kernel as `pernet_operations.exit` for a namespace going
/// away, or by `try_init_net` on a failed setup.
unsafe extern "C" fn exit_net(net: *mut sys::net) {
    // SAFETY: the namespace is going away (or failed to initialize after
    // the sysctl was registered); nothing else uses its sysctl now.
    unsafe {
        let fnet = fan_net(net);
        if !(*fnet).sysctl.is_null() {
            sys::unregister_net_sysctl_table((*fnet).sysctl);
            drop(KBox::from_raw((*fnet).sysctl_table));
            (*fnet).sysctl = ptr::null_mut();
        }
    }
}

static PERNET_OPS: KernelStatic<sys::pernet_operations> = KernelStatic::new({
    let mut ops: sys::pernet_operations = sys::zeroed();
    ops.init = Some(init_net);
    ops.exit = Some(exit_net);
    ops.id = NET_ID.as_ptr();
    ops.size = size_of::<FanNet>();
    ops
});

/// Our per-namespace data in every namespace, for as long as this lives.
pub(crate) struct Registration(());

impl Registration {
    /// Registers the per-namespace data; every namespace gets a `tunl0` of
    /// link kind `tunl0_kind`.
    pub(crate) fn register(tunl0_kind: &'static KernelStatic<sys::rtnl_link_ops>) -> Result<Self> {
        // Before any namespace is set up (registration runs `init_net` for
        // each existing one).
        TUNL0_KIND.store(tunl0_kind.get(), Ordering::Release);
        // SAFETY: a static ops table, not registered yet (this runs once, at
        // module init): its teardown of tunl0_kind's devices, then the
        // registration, undone in drop.
        unsafe {
            sys::fan_compat_pernet_set_exit_rtnl(PERNET_OPS.get(), tunl0_kind.get());
            to_result(sys::register_pernet_device(PERNET_OPS.get()))?;
        }
        Ok(Registration(()))
    }
}

impl Drop for Registration {
    fn drop(&mut self) {
        // SAFETY: registered in `register`.
        unsafe { sys::unregister_pernet_device(PERNET_OPS.get()) };
    }
}
