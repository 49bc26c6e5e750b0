// SPDX-License-Identifier: GPL-2.0
/*
 * What Rust cannot call because it only exists as a C macro. Nothing here
 * decides anything: each function is one macro, named after it.
 */
#include <linux/netdevice.h>
#include <linux/skbuff.h>

#define FAN_DEV_STATS_INC(field)                                        \
	void fan_dev_stats_inc_##field(struct net_device *dev);         \
	void fan_dev_stats_inc_##field(struct net_device *dev)          \
	{                                                               \
		DEV_STATS_INC(dev, field);                              \
	}

FAN_DEV_STATS_INC(tx_errors)
FAN_DEV_STATS_INC(tx_carrier_errors)
FAN_DEV_STATS_INC(tx_aborted_errors)
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
