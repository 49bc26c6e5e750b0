// SPDX-License-Identifier: GPL-2.0
/*
 * compat.h's functions, on the side of each interface difference that
 * Kbuild found in this kernel's headers. Nothing here decides anything.
 */
#include "compat.h"

#ifdef FAN_HAVE_NEWLINK_PARAMS
int fan_compat_rtnl_newlink(struct net_device *dev,
			    struct rtnl_newlink_params *params,
			    struct netlink_ext_ack *extack)
{
	/* As ipip.c: the link's namespace, if the request named one. */
	return fan_link_newlink(params->link_net ?: dev_net(dev), dev,
				params->tb, params->data, extack);
}
#else
int fan_compat_rtnl_newlink(struct net *src_net, struct net_device *dev,
			    struct nlattr *tb[], struct nlattr *data[],
			    struct netlink_ext_ack *extack)
{
	return fan_link_newlink(dev_net(dev), dev, tb, data, extack);
}
#endif

int fan_compat_ip_tunnel_newlink(struct net *link_net, struct net_device *dev,
				 struct nlattr *tb[],
				 struct ip_tunnel_parm_kern *p, __u32 fwmark)
{
#ifdef FAN_HAVE_IP_TUNNEL_NEWLINK_NET
	return ip_tunnel_newlink(link_net, dev, tb, p, fwmark);
#else
	return ip_tunnel_newlink(dev, tb, p, fwmark);
#endif
}

int fan_compat_ip_tunnel_init(struct net_device *dev)
{
	return ip_tunnel_init(dev);
}

void fan_compat_iptunnel_xmit(struct sock *sk, struct rtable *rt,
			      struct sk_buff *skb, __be32 src, __be32 dst,
			      u8 proto, u8 tos, u8 ttl, __be16 df, bool xnet)
{
#ifdef FAN_HAVE_IPTUNNEL_XMIT_IPCB_FLAGS
	iptunnel_xmit(sk, rt, skb, src, dst, proto, tos, ttl, df, xnet, 0);
#else
	iptunnel_xmit(sk, rt, skb, src, dst, proto, tos, ttl, df, xnet);
#endif
}

/* Set once, before the pernet operations are registered. */
static const struct pernet_operations *fan_pernet_ops;
static struct rtnl_link_ops *fan_tunl0_kind;

#ifdef FAN_HAVE_IP_TUNNEL_DELETE_NETS
static void fan_exit_batch_rtnl(struct list_head *net_exit_list,
				struct list_head *dev_to_kill)
{
	ip_tunnel_delete_nets(net_exit_list, *fan_pernet_ops->id,
			      fan_tunl0_kind, dev_to_kill);
}
#else
static void fan_exit_rtnl(struct net *net, struct list_head *dev_to_kill)
{
	ip_tunnel_delete_net(net, *fan_pernet_ops->id, fan_tunl0_kind,
			     dev_to_kill);
}
#endif

void fan_compat_pernet_set_exit_rtnl(struct pernet_operations *ops,
				     struct rtnl_link_ops *tunl0_kind)
{
	fan_pernet_ops = ops;
	fan_tunl0_kind = tunl0_kind;
#ifdef FAN_HAVE_IP_TUNNEL_DELETE_NETS
	ops->exit_batch_rtnl = fan_exit_batch_rtnl;
#else
	ops->exit_rtnl = fan_exit_rtnl;
#endif
}
