/* SPDX-License-Identifier: GPL-2.0 */
/*
 * The kernel interfaces the fan driver uses. 6.12's `kernel` crate has no
 * networking, so the module generates its own bindings from these headers
 * (see Kbuild); static inline functions get C wrappers the same way.
 */
#include <linux/icmp.h>
#include <linux/if_arp.h>
#include <linux/inetdevice.h>
#include <linux/if_tunnel.h>
#include <linux/netdevice.h>
#include <linux/rcupdate.h>
#include <linux/skbuff.h>
#include <linux/slab.h>
#include <linux/sysctl.h>
#include <net/dst.h>
#include <net/dst_metadata.h>
#include <net/inet_dscp.h>
#include <net/icmp.h>
#include <net/ip.h>
#include <net/ip_tunnels.h>
#include <net/net_namespace.h>
#include <net/netns/generic.h>
#include <net/netlink.h>
#include <net/route.h>
#include <net/rtnetlink.h>
#include <net/xfrm.h>

#include "compat.h"

/* The fan's uapi, as Ubuntu defined it (not in mainline headers). */
#define FAN_IFLA_IPTUN_FAN_MAP 33
enum { FAN_IFLA_FAN_UNSPEC, FAN_IFLA_FAN_MAPPING };

/* Macros bindgen cannot see, as constants. */
const gfp_t FAN_GFP_KERNEL = GFP_KERNEL;
const unsigned long FAN_IPTUNNEL_ERR_TIMEO = IPTUNNEL_ERR_TIMEO;
const unsigned int FAN_IFF_NOARP = IFF_NOARP;
const unsigned int FAN_IFF_POINTOPOINT = IFF_POINTOPOINT;
const int FAN_SIOCADDTUNNEL = SIOCADDTUNNEL;
const int FAN_SIOCCHGTUNNEL = SIOCCHGTUNNEL;
const int FAN_SKB_GSO_IPXIP4 = SKB_GSO_IPXIP4;
const int FAN_XFRM_POLICY_IN = XFRM_POLICY_IN;
const unsigned int FAN_IFLA_MAX = IFLA_MAX;
const unsigned int FAN_IFLA_MTU = IFLA_MTU;
const unsigned int FAN_IFLA_LINKINFO = IFLA_LINKINFO;
const u16 FAN_IFLA_INFO_DATA = IFLA_INFO_DATA;
const int FAN_EMSGSIZE = EMSGSIZE;
const int FAN_EOPNOTSUPP = EOPNOTSUPP;
const u8 FAN_INET_DSCP_MASK = INET_DSCP_MASK;
const unsigned short FAN_RTN_UNICAST = RTN_UNICAST;
/* Where netdev_priv() finds a device's private area. */
const size_t FAN_NETDEV_PRIV_OFFSET = ALIGN(sizeof(struct net_device), NETDEV_ALIGN);
const u8 FAN_NLA_UNSPEC = NLA_UNSPEC;
const u8 FAN_NLA_U8 = NLA_U8;
const u8 FAN_NLA_U16 = NLA_U16;
const u8 FAN_NLA_U32 = NLA_U32;
const u8 FAN_NLA_FLAG = NLA_FLAG;
const u8 FAN_NLA_NESTED = NLA_NESTED;
const u16 FAN_ETH_P_IP = ETH_P_IP;
const u16 FAN_ETH_P_MPLS_UC = ETH_P_MPLS_UC;
const netdev_features_t FAN_IPIP_FEATURES = NETIF_F_SG | NETIF_F_FRAGLIST |
	NETIF_F_HIGHDMA | NETIF_F_GSO_SOFTWARE | NETIF_F_HW_CSUM;
