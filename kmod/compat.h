/* SPDX-License-Identifier: GPL-2.0 */
/*
 * What differs between the kernels the module builds for (6.12 to 7.x), as
 * one declaration per difference with the same meaning on every kernel:
 * the Rust code calls these and has no kernel versions in it. compat.c
 * implements them on the side of each difference that Kbuild's probes of
 * the kernel's headers found (FAN_HAVE_*).
 */
#ifndef FAN_COMPAT_H
#define FAN_COMPAT_H

#include <linux/netdevice.h>
#include <net/ip_tunnels.h>
#include <net/net_namespace.h>
#include <net/rtnetlink.h>

/*
 * rtnl_link_ops.newlink, of the kernel's own type (7.x passes the request
 * as struct rtnl_newlink_params). It calls fan_link_newlink (link.rs).
 */
#ifdef FAN_HAVE_NEWLINK_PARAMS
int fan_compat_rtnl_newlink(struct net_device *dev,
			    struct rtnl_newlink_params *params,
			    struct netlink_ext_ack *extack);
#else
int fan_compat_rtnl_newlink(struct net *src_net, struct net_device *dev,
			    struct nlattr *tb[], struct nlattr *data[],
			    struct netlink_ext_ack *extack);
#endif

/* Implemented in Rust (link.rs): newlink, with the namespace of the link. */
int fan_link_newlink(struct net *link_net, struct net_device *dev,
		     struct nlattr *tb[], struct nlattr *data[],
		     struct netlink_ext_ack *extack);

/* ip_tunnel_newlink in link_net (6.12's takes the device's own). */
int fan_compat_ip_tunnel_newlink(struct net *link_net, struct net_device *dev,
				 struct nlattr *tb[],
				 struct ip_tunnel_parm_kern *p, __u32 fwmark);

/* ip_tunnel_init (a macro in 7.x). */
int fan_compat_ip_tunnel_init(struct net_device *dev);

/* iptunnel_xmit, with no IP control block flags (7.x takes them). */
void fan_compat_iptunnel_xmit(struct sock *sk, struct rtable *rt,
			      struct sk_buff *skb, __be32 src, __be32 dst,
			      u8 proto, u8 tos, u8 ttl, __be16 df, bool xnet);

/*
 * Sets ops' teardown of the tunnels of namespaces going away, under RTNL
 * (6.12: exit_batch_rtnl and ip_tunnel_delete_nets; 7.x: exit_rtnl and
 * ip_tunnel_delete_net), for tunl0_kind's devices. Call once, before
 * registering ops.
 */
void fan_compat_pernet_set_exit_rtnl(struct pernet_operations *ops,
				     struct rtnl_link_ops *tunl0_kind);

#endif
