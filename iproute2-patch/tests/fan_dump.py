#!/usr/bin/env python3
"""Write crafted RTM_NEWLINK messages, as a kernel with the fan module
would dump them, to the file named by argv[1] (for nlfake.so).

Links:
  fan0   ipip, local 172.30.0.28, two maps, FAN_MAP with NLA_F_NESTED
  tunl0  ipip, one map, FAN_MAP without NLA_F_NESTED (as older kernels)
  plain0 ipip, remote 192.0.2.1, no FAN_MAP attribute at all
  empty0 ipip, empty FAN_MAP nest
  bad0   ipip, FAN_MAP holding a short mapping, an unknown attribute
         and one good map (only the good map must be printed)
"""
import socket
import struct
import sys

RTM_NEWLINK = 16
IFLA_IFNAME, IFLA_MTU, IFLA_TXQLEN, IFLA_LINKINFO = 3, 4, 13, 18
IFLA_INFO_KIND, IFLA_INFO_DATA = 1, 2
IFLA_IPTUN_LOCAL, IFLA_IPTUN_REMOTE, IFLA_IPTUN_TTL = 2, 3, 4
IFLA_IPTUN_PROTO, IFLA_IPTUN_PMTUDISC = 9, 10
IFLA_IPTUN_FAN_MAP = 33
IFLA_FAN_MAPPING = 1
NLA_F_NESTED = 0x8000
ARPHRD_TUNNEL = 768
IFF_UP, IFF_RUNNING, IFF_NOARP = 0x1, 0x40, 0x80


def attr(atype, payload):
    hdr = struct.pack("=HH", 4 + len(payload), atype)
    pad = b"\0" * ((4 - len(payload) % 4) % 4)
    return hdr + payload + pad


def ip4(addr):
    return socket.inet_aton(addr)


def fan_map(overlay, underlay):
    """struct ifla_fan_map for "OVERLAY/ov" and "UNDERLAY/ul"."""
    ov_addr, ov_len = overlay.split("/")
    ul_addr, ul_len = underlay.split("/")
    return ip4(ul_addr) + ip4(ov_addr) + struct.pack("=HH", int(ul_len), int(ov_len))


def link(index, name, data):
    ifi = struct.pack("=BxHiII", 0, ARPHRD_TUNNEL, index,
                      IFF_UP | IFF_RUNNING | IFF_NOARP, 0)
    body = ifi
    body += attr(IFLA_IFNAME, name.encode() + b"\0")
    body += attr(IFLA_MTU, struct.pack("=I", 1480))
    body += attr(IFLA_TXQLEN, struct.pack("=I", 1000))
    body += attr(IFLA_LINKINFO,
                 attr(IFLA_INFO_KIND, b"ipip\0") + attr(IFLA_INFO_DATA, data))
    return struct.pack("=IHHII", 16 + len(body), RTM_NEWLINK, 0, 0, 0) + body


def tunnel(local="0.0.0.0", remote="0.0.0.0"):
    return (attr(IFLA_IPTUN_PROTO, b"\x04")
            + attr(IFLA_IPTUN_LOCAL, ip4(local))
            + attr(IFLA_IPTUN_REMOTE, ip4(remote))
            + attr(IFLA_IPTUN_TTL, b"\0")
            + attr(IFLA_IPTUN_PMTUDISC, b"\x01"))


def main():
    msgs = b""
    msgs += link(5, "fan0", tunnel(local="172.30.0.28") + attr(
        IFLA_IPTUN_FAN_MAP | NLA_F_NESTED,
        attr(IFLA_FAN_MAPPING, fan_map("250.0.0.0/8", "172.30.0.0/16"))
        + attr(IFLA_FAN_MAPPING, fan_map("10.0.0.0/8", "192.168.0.0/16"))))
    msgs += link(6, "tunl0", tunnel() + attr(
        IFLA_IPTUN_FAN_MAP,
        attr(IFLA_FAN_MAPPING, fan_map("100.64.0.0/10", "10.224.220.0/24"))))
    msgs += link(7, "plain0", tunnel(remote="192.0.2.1"))
    msgs += link(8, "empty0", tunnel() + attr(IFLA_IPTUN_FAN_MAP | NLA_F_NESTED, b""))
    msgs += link(9, "bad0", tunnel() + attr(
        IFLA_IPTUN_FAN_MAP | NLA_F_NESTED,
        attr(IFLA_FAN_MAPPING, fan_map("251.0.0.0/8", "172.31.0.0/16")[:8])
        + attr(7, fan_map("252.0.0.0/8", "172.31.0.0/16"))
        + attr(IFLA_FAN_MAPPING, fan_map("253.0.0.0/8", "172.31.0.0/16"))))
    with open(sys.argv[1], "wb") as f:
        f.write(msgs)


if __name__ == "__main__":
    main()
