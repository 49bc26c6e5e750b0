// SPDX-License-Identifier: GPL-2.0
/*
 * What Rust cannot call because it only exists as a C macro. Nothing here
 * decides anything: each function is one macro, named after it.
 */
#include <linux/cpumask.h>
#include <linux/netdevice.h>
#include <linux/percpu.h>
#include <linux/skbuff.h>
#include <net/ip.h>

#define FAN_DEV_STATS_INC(field)                                        \
	void fan_dev_stats_inc_##field(struct net_device *dev);         \
	void fan_dev_stats_inc_##field(struct net_device *dev)          \
	{                                                               \
		DEV_STATS_INC(dev, field);                              \
	}

FAN_DEV_STATS_INC(tx_errors)
FAN_DEV_STATS_INC(tx_carrier_errors)
FAN_DEV_STATS_INC(tx_aborted_errors)
FAN_DEV_STATS_INC(tx_dropped)
FAN_DEV_STATS_INC(collisions)
FAN_DEV_STATS_INC(rx_errors)
FAN_DEV_STATS_INC(rx_frame_errors)

unsigned long fan_jiffies(void);
unsigned long fan_jiffies(void)
{
	return jiffies;
}

/* Fields bindgen can only reach through config-dependent anonymous unions. */
struct net_device *fan_skb_dev(const struct sk_buff *skb);
struct net_device *fan_skb_dev(const struct sk_buff *skb)
{
	return skb->dev;
}

__be16 fan_skb_protocol(const struct sk_buff *skb);
__be16 fan_skb_protocol(const struct sk_buff *skb)
{
	return skb->protocol;
}

void fan_dev_set_lltx(struct net_device *dev);
void fan_dev_set_lltx(struct net_device *dev)
{
	dev->lltx = true;
}

/*
 * No netpoll (netconsole) through a tunnel: netpoll hands over Ethernet
 * frames, which a tunnel would carry as garbage, and transmits with
 * interrupts disabled, in the middle of whatever this CPU was sending
 * (the per-CPU route cache included).
 */
void fan_dev_disable_netpoll(struct net_device *dev);
void fan_dev_disable_netpoll(struct net_device *dev)
{
	dev->priv_flags |= IFF_DISABLE_NETPOLL;
}

unsigned int fan_ll_reserved_space(const struct net_device *dev);
unsigned int fan_ll_reserved_space(const struct net_device *dev)
{
	return LL_RESERVED_SPACE(dev);
}

/* IP options of a packet about to be answered with ICMP: none. */
void fan_skb_clear_ip_options(struct sk_buff *skb);
void fan_skb_clear_ip_options(struct sk_buff *skb)
{
	memset(&IPCB(skb)->opt, 0, sizeof(IPCB(skb)->opt));
}

void __percpu *fan_alloc_percpu(size_t size, size_t align);
void __percpu *fan_alloc_percpu(size_t size, size_t align)
{
	return __alloc_percpu_gfp(size, align, GFP_KERNEL);
}

void *fan_this_cpu_ptr(void __percpu *ptr);
void *fan_this_cpu_ptr(void __percpu *ptr)
{
	return this_cpu_ptr(ptr);
}

void *fan_per_cpu_ptr(void __percpu *ptr, unsigned int cpu);
void *fan_per_cpu_ptr(void __percpu *ptr, unsigned int cpu)
{
	return per_cpu_ptr(ptr, cpu);
}

bool fan_cpu_possible(unsigned int cpu);
bool fan_cpu_possible(unsigned int cpu)
{
	return cpu_possible(cpu);
}

unsigned int fan_nr_cpu_ids(void);
unsigned int fan_nr_cpu_ids(void)
{
	return nr_cpu_ids;
}
