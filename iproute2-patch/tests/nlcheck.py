#!/usr/bin/env python3
"""Check the netlink requests that `ip` sent, from the output of
    strace -qq -e trace=sendmsg,sendto -e write=all -o FILE ip ...

usage: nlcheck.py FILE CHECK [ARG...]

checks:
  no-request            nothing but iproute2's RTM_NEWLINK capability probe
                        (a bare ifinfomsg without attributes) was sent
  maps HEX...           the RTM_NEWLINK request for an ipip link carries one
                        IFLA_IPTUN_FAN_MAP (33, NLA_F_NESTED) holding exactly
                        these IFLA_FAN_MAPPING payloads (24 hex digits each,
                        struct ifla_fan_map as it is on the wire), in order,
                        and no IFLA_IPTUN_REMOTE
  no-fan                the request carries no IFLA_IPTUN_FAN_MAP
  local HEX             the request carries IFLA_IPTUN_LOCAL = HEX

Prints nothing and exits 0 when the check holds; prints why and exits 1
when it does not.
"""
import re
import struct
import sys

RTM_NEWLINK = 16
IFLA_IFNAME, IFLA_LINKINFO = 3, 18
IFLA_INFO_KIND, IFLA_INFO_DATA = 1, 2
IFLA_IPTUN_LOCAL, IFLA_IPTUN_REMOTE = 2, 3
IFLA_IPTUN_FAN_MAP = 33
IFLA_FAN_MAPPING = 1
NLA_F_NESTED, NLA_F_NET_BYTEORDER = 0x8000, 0x4000
NLA_TYPE_MASK = ~(NLA_F_NESTED | NLA_F_NET_BYTEORDER) & 0xFFFF
SYSCALL = re.compile(r"^(?:\d+ +)?(sendmsg|sendto)\(")
DUMP = re.compile(r"^ \| [0-9a-f]{5}  ")


class CheckFailed(Exception):
    pass


def sent_buffers(path):
    """One bytes object per send syscall, from strace's hex dumps."""
    bufs = []
    with open(path, encoding="utf-8", errors="replace") as f:
        for line in f:
            if SYSCALL.match(line):
                bufs.append(bytearray())
            elif DUMP.match(line) and bufs:
                # " | 00000  xx xx ... xx  xx ... xx  ascii |": the hex
                # column is 49 characters wide after the offset.
                bufs[-1] += bytes(int(t, 16) for t in line[10:59].split())
    return [bytes(b) for b in bufs]


def messages(buf):
    off = 0
    while off + 16 <= len(buf):
        length, mtype, flags, _seq, _pid = struct.unpack_from("=IHHII", buf, off)
        if length < 16 or off + length > len(buf):
            raise CheckFailed(f"malformed netlink message at offset {off}")
        yield mtype, flags, buf[off + 16:off + length]
        off += (length + 3) & ~3


def attrs(data):
    """List of (type, flags, payload) of the attributes in data."""
    out = []
    off = 0
    while off + 4 <= len(data):
        length, atype = struct.unpack_from("=HH", data, off)
        if length < 4 or off + length > len(data):
            raise CheckFailed(f"malformed attribute at offset {off}")
        out.append((atype & NLA_TYPE_MASK, atype & ~NLA_TYPE_MASK & 0xFFFF,
                    data[off + 4:off + length]))
        off += (length + 3) & ~3
    return out


def find(alist, atype):
    found = [a for a in alist if a[0] == atype]
    if len(found) > 1:
        raise CheckFailed(f"attribute {atype} appears {len(found)} times")
    return found[0] if found else None


def link_requests(path):
    """(flags, top-level attrs) of every RTM_NEWLINK that has attributes."""
    reqs = []
    for buf in sent_buffers(path):
        for mtype, flags, payload in messages(buf):
            if mtype != RTM_NEWLINK:
                continue
            top = attrs(payload[16:])  # after struct ifinfomsg
            if top:
                reqs.append((flags, top))
    return reqs


def ipip_data(path):
    reqs = link_requests(path)
    if len(reqs) != 1:
        raise CheckFailed(f"expected one RTM_NEWLINK request, found {len(reqs)}")
    _flags, top = reqs[0]
    linkinfo = find(top, IFLA_LINKINFO)
    if not linkinfo:
        raise CheckFailed("request has no IFLA_LINKINFO")
    info = attrs(linkinfo[2])
    kind = find(info, IFLA_INFO_KIND)
    if not kind or kind[2].rstrip(b"\0") != b"ipip":
        raise CheckFailed(f"IFLA_INFO_KIND is {kind[2] if kind else None!r}, not ipip")
    data = find(info, IFLA_INFO_DATA)
    if not data:
        raise CheckFailed("request has no IFLA_INFO_DATA")
    return attrs(data[2])


def check(path, name, args):
    if name == "no-request":
        reqs = link_requests(path)
        if reqs:
            raise CheckFailed(f"{len(reqs)} RTM_NEWLINK request(s) with attributes were sent")
        for buf in sent_buffers(path):
            for mtype, _flags, payload in messages(buf):
                if mtype != RTM_NEWLINK or len(payload) > 16:
                    raise CheckFailed(f"unexpected netlink message type {mtype} sent")
    elif name == "maps":
        data = ipip_data(path)
        fan = find(data, IFLA_IPTUN_FAN_MAP)
        if not fan:
            raise CheckFailed("no IFLA_IPTUN_FAN_MAP (33) in IFLA_INFO_DATA")
        if not fan[1] & NLA_F_NESTED:
            raise CheckFailed("IFLA_IPTUN_FAN_MAP lacks NLA_F_NESTED")
        got = []
        for atype, aflags, payload in attrs(fan[2]):
            if atype != IFLA_FAN_MAPPING or aflags:
                raise CheckFailed(f"unexpected attribute {atype}/{aflags:#x} in IFLA_IPTUN_FAN_MAP")
            if len(payload) != 12:
                raise CheckFailed(f"IFLA_FAN_MAPPING payload is {len(payload)} bytes, not 12")
            got.append(payload.hex())
        want = [a.lower() for a in args]
        if got != want:
            raise CheckFailed(f"mappings {got} != expected {want}")
        if find(data, IFLA_IPTUN_REMOTE):
            raise CheckFailed("IFLA_IPTUN_REMOTE sent together with fan maps")
    elif name == "no-fan":
        if find(ipip_data(path), IFLA_IPTUN_FAN_MAP):
            raise CheckFailed("IFLA_IPTUN_FAN_MAP sent without fan-map")
    elif name == "local":
        local = find(ipip_data(path), IFLA_IPTUN_LOCAL)
        if not local or local[2].hex() != args[0].lower():
            raise CheckFailed(f"IFLA_IPTUN_LOCAL is {local[2].hex() if local else None}, not {args[0]}")
    else:
        raise CheckFailed(f"unknown check {name}")


def main():
    if len(sys.argv) < 3:
        print(__doc__, file=sys.stderr)
        return 2
    try:
        check(sys.argv[1], sys.argv[2], sys.argv[3:])
    except CheckFailed as e:
        print(e)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
