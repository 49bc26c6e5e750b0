#!/usr/bin/env python3
"""Speak rtnetlink to an ipip device's fan maps, byte for byte.

A test helper: it sends exactly the request asked for, including malformed
ones, and reports the kernel's answer (errno and extended ack message).

  fannl.py add NAME [--local A] [--remote A] [OPTIONS] [MAP-OPTIONS]
  fannl.py change DEV [--remote A] [OPTIONS] [MAP-OPTIONS]
  fannl.py dump DEV           one "OVERLAY/len:UNDERLAY/len" line per map
  fannl.py attr-types DEV     the nla_type, flags included, of each
                              IFLA_IPTUN_FAN_MAP of a dump

MAP-OPTIONS, in any number, in order:
  --map OV/len:UL/len      an IFLA_FAN_MAPPING (UL 0.0.0.0/0 removes, all 0 flushes)
  --raw-mapping HEX        an IFLA_FAN_MAPPING with this exact payload
  --raw-fan HEX            the whole IFLA_IPTUN_FAN_MAP payload, as given
  --next-attr              what follows goes into another IFLA_IPTUN_FAN_MAP
                           (as Ubuntu's ip sends `fan-map A fan-map B`)
OPTIONS:
  --no-nested-flag         IFLA_IPTUN_FAN_MAP without NLA_F_NESTED (Ubuntu's ip)
  --raw-data HEX           more IFLA_INFO_DATA attributes, as given

Exit status 0 on success; 1 with "error: ERRNO-NAME: MESSAGE" on stderr when
the kernel refuses.
"""

import argparse
import errno
import os
import socket
import struct
import sys

NETLINK_ROUTE = 0
NETLINK_EXT_ACK = 11
RTM_NEWLINK, RTM_GETLINK = 16, 18
NLM_F_REQUEST, NLM_F_ACK, NLM_F_EXCL, NLM_F_CREATE = 1, 4, 0x200, 0x400
NLMSG_ERROR = 2
NLM_F_ACK_TLVS = 0x200
NLMSGERR_ATTR_MSG = 1
IFLA_IFNAME, IFLA_LINKINFO = 3, 18
IFLA_INFO_KIND, IFLA_INFO_DATA = 1, 2
IFLA_IPTUN_LOCAL, IFLA_IPTUN_REMOTE = 2, 3
IFLA_IPTUN_FAN_MAP, IFLA_FAN_MAPPING = 33, 1
NLA_F_NESTED = 1 << 15


def attr(kind, payload):
    hdr = struct.pack("=HH", 4 + len(payload), kind)
    pad = b"\0" * (-len(payload) % 4)
    return hdr + payload + pad


def parse_attrs(data, mask=True):
    out = []
    while len(data) >= 4:
        length, kind = struct.unpack_from("=HH", data)
        if length < 4:
            break
        out.append((kind & ~(3 << 14) if mask else kind, data[4:length]))
        data = data[(length + 3) & ~3:]
    return out


def prefix(text):
    addr, _, length = text.partition("/")
    return socket.inet_aton(addr), int(length)


def mapping_payload(text):
    overlay, _, underlay = text.partition(":")
    (ov, ovl), (ul, ull) = prefix(overlay), prefix(underlay)
    return ul + ov + struct.pack("=HH", ull, ovl)


class MapList(argparse.Action):
    """Keep --map/--raw-mapping/--raw-fan/--next-attr in command-line order."""

    def __call__(self, parser, namespace, value, option):
        items = getattr(namespace, "fan", None) or []
        items.append((option, value))
        namespace.fan = items


def fan_attrs(items, nested_flag):
    """One IFLA_IPTUN_FAN_MAP per run of items between --next-attr."""
    if not items:
        return b""
    kind = IFLA_IPTUN_FAN_MAP | (NLA_F_NESTED if nested_flag else 0)
    out, nested = b"", b""
    for option, value in items:
        if option == "--map":
            nested += attr(IFLA_FAN_MAPPING, mapping_payload(value))
        elif option == "--raw-mapping":
            nested += attr(IFLA_FAN_MAPPING, bytes.fromhex(value))
        elif option == "--next-attr":
            out += attr(kind, nested)
            nested = b""
        else:
            nested += bytes.fromhex(value)
    return out + attr(kind, nested)


def request(msg_type, flags, body):
    sock = socket.socket(socket.AF_NETLINK, socket.SOCK_RAW, NETLINK_ROUTE)
    sock.setsockopt(270, NETLINK_EXT_ACK, 1)  # SOL_NETLINK
    sock.bind((0, 0))
    msg = struct.pack("=IHHII", 16 + len(body), msg_type, flags | NLM_F_REQUEST, 1, 0) + body
    sock.send(msg)
    return sock


def read_reply(sock):
    """The first non-error message's body, or raise OSError with extack."""
    data = sock.recv(1 << 20)
    length, msg_type, flags, _, _ = struct.unpack_from("=IHHII", data)
    if msg_type != NLMSG_ERROR:
        return data[16:length]
    (err,) = struct.unpack_from("=i", data, 16)
    if err == 0:
        return b""
    message = ""
    if flags & NLM_F_ACK_TLVS:
        orig_len = struct.unpack_from("=I", data, 20)[0]
        tlv_start = 20 + (16 if flags & 0x100 else orig_len)  # NLM_F_CAPPED
        for kind, payload in parse_attrs(data[tlv_start:length]):
            if kind == NLMSGERR_ATTR_MSG:
                message = payload.rstrip(b"\0").decode()
    raise OSError(-err, message)


def ifinfo(index=0):
    return struct.pack("=BxHiII", socket.AF_UNSPEC, 0, index, 0, 0)


def configure(name, fan, create, local=None, remote=None, nested_flag=True, raw_data=()):
    """RTM_NEWLINK for the ipip device NAME: FAN as fan_attrs takes it,
    RAW_DATA hex strings appended to IFLA_INFO_DATA as they are."""
    data = b""
    if local:
        data += attr(IFLA_IPTUN_LOCAL, socket.inet_aton(local))
    if remote:
        data += attr(IFLA_IPTUN_REMOTE, socket.inet_aton(remote))
    data += fan_attrs(fan, nested_flag)
    for raw in raw_data:
        data += bytes.fromhex(raw)
    linkinfo = attr(IFLA_INFO_KIND, b"ipip\0") + attr(IFLA_INFO_DATA | NLA_F_NESTED, data)
    if create:
        body = ifinfo() + attr(IFLA_IFNAME, name.encode() + b"\0")
        flags = NLM_F_ACK | NLM_F_CREATE | NLM_F_EXCL
    else:
        body = ifinfo(socket.if_nametoindex(name))
        flags = NLM_F_ACK
    body += attr(IFLA_LINKINFO | NLA_F_NESTED, linkinfo)
    read_reply(request(RTM_NEWLINK, flags, body))


def fan_map_attrs(name):
    """(raw nla_type, payload) of each IFLA_IPTUN_FAN_MAP in a dump of NAME."""
    sock = request(RTM_GETLINK, 0, ifinfo(socket.if_nametoindex(name)))
    body = read_reply(sock)
    for kind, payload in parse_attrs(body[16:]):
        if kind != IFLA_LINKINFO:
            continue
        for ikind, ipayload in parse_attrs(payload):
            if ikind != IFLA_INFO_DATA:
                continue
            for raw_kind, dpayload in parse_attrs(ipayload, mask=False):
                if raw_kind & ~(3 << 14) == IFLA_IPTUN_FAN_MAP:
                    yield raw_kind, dpayload


def dump(args):
    for _, payload in fan_map_attrs(args.name):
        for _, m in parse_attrs(payload):
            ul, ov = socket.inet_ntoa(m[0:4]), socket.inet_ntoa(m[4:8])
            ull, ovl = struct.unpack_from("=HH", m, 8)
            print(f"{ov}/{ovl}:{ul}/{ull}")


def attr_types(args):
    for raw_kind, _ in fan_map_attrs(args.name):
        print(raw_kind)


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    sub = parser.add_subparsers(dest="command", required=True)
    for name in ("add", "change"):
        p = sub.add_parser(name)
        p.add_argument("name")
        p.add_argument("--local")
        p.add_argument("--remote")
        for option in ("--map", "--raw-mapping", "--raw-fan"):
            p.add_argument(option, action=MapList, dest="fan", default=[])
        p.add_argument("--next-attr", action=MapList, dest="fan", nargs=0)
        p.add_argument("--no-nested-flag", action="store_true")
        p.add_argument("--raw-data", action="append", default=[])
    sub.add_parser("dump").add_argument("name")
    sub.add_parser("attr-types").add_argument("name")
    args = parser.parse_args()
    try:
        if args.command == "dump":
            dump(args)
        elif args.command == "attr-types":
            attr_types(args)
        else:
            configure(args.name, args.fan, create=args.command == "add",
                      local=args.local, remote=args.remote,
                      nested_flag=not args.no_nested_flag, raw_data=args.raw_data)
    except OSError as e:
        name = errno.errorcode.get(e.errno, str(e.errno))
        print(f"error: {name}: {e.strerror}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
