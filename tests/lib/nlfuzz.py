#!/usr/bin/env python3
"""Structure-aware rtnetlink fuzzer for ipip devices and their fan maps.

Run inside a network namespace made for it (the VM test makes one): it
creates, changes and deletes ipip devices there, and changes tunl0.

  nlfuzz.py run [--seed S] [--count N] [--stop-at I] [--report N]
  nlfuzz.py self-test
  nlfuzz.py send HEX          one raw request (a reproducer), print the answer

Every request is built from a seeded random generator, so a run is
replayed by the same seed and count in a fresh namespace (`--stop-at I`
stops after request I). What it checks:

- every request gets an answer (an ack, an error, or a reply), and one
  whose netlink header lies about its length is ignored without harm (a
  probe sent right after it is answered);
- a refused request changes nothing: the dump of every ipip device (name,
  MTU, flags, address, the whole IFLA_INFO_DATA with the fan maps) is the
  same before and after it;
- some accepted requests do change that dump (so the comparison can see a
  change at all: otherwise the run fails).

The kernel's own reports (oops, KASAN, ...) are the harness's to catch.
Exit status 0 when every check passed, 1 otherwise; counts go to stdout as
"measure:" lines.
"""

import argparse
import collections
import errno
import os
import random
import select
import socket
import struct
import sys
import time

NETLINK_ROUTE = 0
SOL_NETLINK = 270
NETLINK_EXT_ACK = 11
NETLINK_GET_STRICT_CHK = 12
NLMSG_ERROR, NLMSG_DONE = 2, 3
NLM_F_REQUEST, NLM_F_MULTI, NLM_F_ACK = 1, 2, 4
NLM_F_ROOT, NLM_F_MATCH = 0x100, 0x200
NLM_F_DUMP = NLM_F_ROOT | NLM_F_MATCH
NLM_F_REPLACE, NLM_F_EXCL, NLM_F_CREATE, NLM_F_APPEND = 0x100, 0x200, 0x400, 0x800
NLM_F_CAPPED, NLM_F_ACK_TLVS = 0x100, 0x200
NLMSGERR_ATTR_MSG = 1
RTM_NEWLINK, RTM_DELLINK, RTM_GETLINK, RTM_SETLINK = 16, 17, 18, 19

IFLA_ADDRESS, IFLA_BROADCAST, IFLA_IFNAME, IFLA_MTU = 1, 2, 3, 4
IFLA_LINKINFO = 18
IFLA_INFO_KIND, IFLA_INFO_DATA = 1, 2
NLA_F_NESTED, NLA_F_NET_BYTEORDER = 1 << 15, 1 << 14

# include/uapi/linux/if_tunnel.h, and the fan's own attribute.
IPTUN = {
    "LINK": 1, "LOCAL": 2, "REMOTE": 3, "TTL": 4, "TOS": 5, "ENCAP_LIMIT": 6,
    "FLOWINFO": 7, "FLAGS": 8, "PROTO": 9, "PMTUDISC": 10, "6RD_PREFIX": 11,
    "6RD_RELAY_PREFIX": 12, "6RD_PREFIXLEN": 13, "6RD_RELAY_PREFIXLEN": 14,
    "ENCAP_TYPE": 15, "ENCAP_FLAGS": 16, "ENCAP_SPORT": 17, "ENCAP_DPORT": 18,
    "COLLECT_METADATA": 19, "FWMARK": 20, "FAN_MAP": 33,
}
IPTUN_NAME = {v: k for k, v in IPTUN.items()}
IFLA_FAN_MAPPING = 1

IFF_BROADCAST, IFF_POINTOPOINT, IFF_NOARP, IFF_MULTICAST = 0x2, 0x10, 0x80, 0x1000
# The flags a link request can change; the others follow carrier and state.
CONFIG_FLAGS = IFF_BROADCAST | IFF_POINTOPOINT | IFF_NOARP | IFF_MULTICAST

# Devices the fuzzer may create; tunl0 is always there.
POOL = ["fz0", "fz1", "fz2", "fz3"]
ANSWER_TIMEOUT = 20.0


def attr(kind, payload, length=None, pad=True):
    """A netlink attribute; `length` overrides the header's length field."""
    if length is None:
        length = 4 + len(payload)
    out = struct.pack("=HH", length & 0xFFFF, kind & 0xFFFF) + payload
    if pad:
        out += b"\0" * (-len(out) % 4)
    return out


def parse_attrs(data):
    out = []
    while len(data) >= 4:
        length, kind = struct.unpack_from("=HH", data)
        if length < 4 or length > len(data):
            break
        out.append((kind & ~(NLA_F_NESTED | NLA_F_NET_BYTEORDER), data[4:length]))
        data = data[(length + 3) & ~3:]
    return out


def ifinfo(index=0, family=socket.AF_UNSPEC, flags=0, change=0, kind=0):
    return struct.pack("=BxHiII", family, kind, index, flags, change)


def ip(text):
    return socket.inet_aton(text)


def nlmsg(msg_type, flags, seq, body, length=None):
    if length is None:
        length = 16 + len(body)
    return struct.pack("=IHHII", length & 0xFFFFFFFF, msg_type, flags, seq, 0) + body


class Answer:
    """What the kernel said to one request."""

    def __init__(self):
        self.error = None  # 0 for an ack, a positive errno for a refusal
        self.message = ""  # the extended ack message
        self.replies = []  # (type, body) of non-error messages
        self.done = False

    def __repr__(self):
        if self.error is None:
            return "no answer"
        if self.error == 0:
            return f"ok ({len(self.replies)} replies)"
        return f"{errno.errorcode.get(self.error, self.error)}: {self.message!r}"


class Netlink:
    def __init__(self, strict=False):
        self.sock = socket.socket(socket.AF_NETLINK, socket.SOCK_RAW, NETLINK_ROUTE)
        self.sock.setsockopt(SOL_NETLINK, NETLINK_EXT_ACK, 1)
        if strict:
            self.sock.setsockopt(SOL_NETLINK, NETLINK_GET_STRICT_CHK, 1)
        self.sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 1 << 20)
        self.sock.bind((0, 0))
        self.seq = 1
        # Sequence numbers of messages that came while waiting for another.
        self.stray = []

    def next_seq(self):
        self.seq += 1
        return self.seq

    def send(self, data):
        self.sock.send(data)

    def wait(self, seq, timeout=ANSWER_TIMEOUT):
        """Collect the answer to request `seq`, skipping anything else."""
        answer = Answer()
        deadline = time.monotonic() + timeout
        while True:
            left = deadline - time.monotonic()
            if left <= 0 or not select.select([self.sock], [], [], left)[0]:
                return answer
            data = self.sock.recv(1 << 20)
            while len(data) >= 16:
                length, msg_type, flags, mseq, _ = struct.unpack_from("=IHHII", data)
                if length < 16 or length > len(data):
                    break
                body = data[16:length]
                data = data[(length + 3) & ~3:]
                if mseq != seq:
                    self.stray.append(mseq)
                    continue
                if msg_type == NLMSG_ERROR:
                    (err,) = struct.unpack_from("=i", body)
                    answer.error = -err
                    answer.message = extack_message(body, flags)
                    return answer
                if msg_type == NLMSG_DONE:
                    answer.error = 0
                    answer.done = True
                    return answer
                # Every request asks for an ack: a reply is followed by one.
                answer.replies.append((msg_type, body))

    def request(self, msg_type, flags, body):
        seq = self.next_seq()
        self.send(nlmsg(msg_type, flags | NLM_F_REQUEST, seq, body))
        return self.wait(seq)

    def links_raw(self):
        """The dump of every ipip device of the namespace, as received."""
        kind = attr(IFLA_LINKINFO | NLA_F_NESTED, attr(IFLA_INFO_KIND, b"ipip\0"))
        answer = self.request(RTM_GETLINK, NLM_F_DUMP, ifinfo() + kind)
        if answer.error != 0:
            raise RuntimeError(f"dump of the ipip devices failed: {answer}")
        return tuple(body for msg_type, body in answer.replies if msg_type == RTM_NEWLINK)

    def links(self):
        """Every ipip device of the namespace: {ifindex: state}."""
        return parse_links(self.links_raw())


def parse_links(raw):
    """What a request may change of each device in a dump: {ifindex: state}."""
    state = {}
    for body in raw:
        if len(body) < 16:
            continue
        _, _, index, flags, _ = struct.unpack_from("=BxHiII", body)
        fields = {"flags": flags & CONFIG_FLAGS}
        for kind, payload in parse_attrs(body[16:]):
            if kind == IFLA_IFNAME:
                fields["name"] = payload.rstrip(b"\0").decode()
            elif kind == IFLA_MTU:
                fields["mtu"] = struct.unpack("=I", payload)[0]
            elif kind in (IFLA_ADDRESS, IFLA_BROADCAST):
                fields["address" if kind == IFLA_ADDRESS else "broadcast"] = payload.hex()
            elif kind == IFLA_LINKINFO:
                for ikind, ipayload in parse_attrs(payload):
                    if ikind == IFLA_INFO_DATA:
                        fields["data"] = ipayload
        state[index] = fields
    return state


def extack_message(body, flags):
    if not flags & NLM_F_ACK_TLVS or len(body) < 20:
        return ""
    orig_len = struct.unpack_from("=I", body, 4)[0]
    start = 4 + (16 if flags & NLM_F_CAPPED else orig_len)
    start = (start + 3) & ~3
    for kind, payload in parse_attrs(body[start:]):
        if kind == NLMSGERR_ATTR_MSG:
            return payload.rstrip(b"\0").decode(errors="replace")
    return ""


def describe_data(data):
    """IFLA_INFO_DATA, readable: one NAME=HEX per attribute, maps decoded."""
    out = []
    for kind, payload in parse_attrs(data):
        if kind == IPTUN["FAN_MAP"]:
            maps = []
            for _, m in parse_attrs(payload):
                if len(m) == 12:
                    ull, ovl = struct.unpack_from("=HH", m, 8)
                    maps.append(f"{socket.inet_ntoa(m[4:8])}/{ovl}:{socket.inet_ntoa(m[0:4])}/{ull}")
                else:
                    maps.append(m.hex())
            out.append("FAN_MAP=[" + " ".join(maps) + "]")
        else:
            out.append(f"{IPTUN_NAME.get(kind, kind)}={payload.hex()}")
    return " ".join(out)


def describe_state(state):
    lines = []
    for index in sorted(state):
        f = dict(state[index])
        data = describe_data(f.pop("data", b""))
        lines.append(f"  {index} {f} {data}")
    return "\n".join(lines)


def changed_fields(before, after):
    """What differs, as short names: "tunl0:ENCAP_TYPE", "fz1:appeared"."""
    out = set()
    for index in set(before) | set(after):
        b, a = before.get(index), after.get(index)
        if b == a:
            continue
        if b is None or a is None:
            out.add(f"{(a or b).get('name')}:{'appeared' if b is None else 'disappeared'}")
            continue
        name = b.get("name")
        for key in set(b) | set(a):
            if b.get(key) == a.get(key):
                continue
            if key != "data":
                out.add(f"{name}:{key}")
                continue
            battrs = dict(parse_attrs(b.get("data", b"")))
            aattrs = dict(parse_attrs(a.get("data", b"")))
            for kind in set(battrs) | set(aattrs):
                if battrs.get(kind) != aattrs.get(kind):
                    out.add(f"{name}:{IPTUN_NAME.get(kind, kind)}")
    return sorted(out)


def state_diff(before, after):
    lines = []
    for index in sorted(set(before) | set(after)):
        b, a = before.get(index), after.get(index)
        if b == a:
            continue
        if b is None:
            lines.append(f"  device {index} appeared: {a.get('name')}")
            continue
        if a is None:
            lines.append(f"  device {index} disappeared: {b.get('name')}")
            continue
        for key in sorted(set(b) | set(a)):
            if b.get(key) == a.get(key):
                continue
            if key == "data":
                lines.append(f"  {b.get('name')} data before: {describe_data(b.get(key, b''))}")
                lines.append(f"  {b.get('name')} data after:  {describe_data(a.get(key, b''))}")
            else:
                lines.append(f"  {b.get('name')} {key}: {b.get(key)} -> {a.get(key)}")
    return "\n".join(lines)


class Generator:
    """Builds the requests: mostly plausible, each with a few things wrong.

    Values come from small pools so that requests collide with each other
    (the same overlay added twice, removed, flushed; two devices with the
    same endpoints), which is where a configuration path has its edge
    cases, rather than from uniform noise that is refused at the first
    attribute."""

    OVERLAYS = [
        ("250.0.0.0", 8), ("251.0.0.0", 8), ("252.0.0.0", 16), ("252.1.0.0", 16),
        ("252.0.0.0", 12), ("10.0.0.0", 8), ("100.64.0.0", 10), ("253.128.0.0", 9),
    ]
    UNDERLAYS = [
        ("172.30.0.0", 16), ("10.1.0.0", 16), ("192.168.7.0", 24), ("172.16.0.0", 12),
        ("172.30.0.0", 24), ("0.0.0.0", 16),
    ]
    ADDRESSES = ["0.0.0.0", "172.30.0.1", "172.30.0.2", "10.1.0.1", "224.0.0.5",
                 "255.255.255.255", "127.0.0.1", "172.30.255.255"]

    def __init__(self, rng, links):
        self.rng = rng
        self.links = links  # {name: ifindex} of the ipip devices, kept current

    # --- fan maps ---

    def prefix(self, pool):
        return self.rng.choice(pool)

    def mapping(self, overlay, ovl, underlay, ull):
        return ip(underlay) + ip(overlay) + struct.pack("=HH", ull, ovl)

    def valid_add(self):
        r = self.rng
        while True:
            ov, ovl = self.prefix(self.OVERLAYS)
            ul, ull = self.prefix(self.UNDERLAYS)
            if ovl < ull and ul != "0.0.0.0":
                return self.mapping(ov, ovl, ul, ull)
            if r.random() < 0.1:  # sometimes keep an invalid pair
                return self.mapping(ov, ovl, ul, ull)

    def mapping_payload(self):
        r = self.rng
        choice = r.random()
        if choice < 0.40:
            return self.valid_add()
        if choice < 0.55:  # remove one overlay
            ov, ovl = self.prefix(self.OVERLAYS)
            return self.mapping(ov, ovl, "0.0.0.0", r.choice([0, 0, 16, 33]))
        if choice < 0.62:  # flush
            return bytes(12)
        if choice < 0.72:  # host bits, prefixes out of range, overlay 0
            ov, ovl = self.prefix(self.OVERLAYS)
            ul, ull = self.prefix(self.UNDERLAYS)
            bad = r.randrange(6)
            if bad == 0:
                ov = "250.1.0.0"
            elif bad == 1:
                ul = "172.30.0.9"
            elif bad == 2:
                ovl = r.choice([0, 33, 64, 0xFFFF, ull, ull + 1])
            elif bad == 3:
                ull = r.choice([0, 33, 0xFFFF, ovl])
            elif bad == 4:
                ov, ovl = "0.0.0.0", r.choice([0, 8])
            else:
                ovl, ull = ull, ovl
            return self.mapping(ov, ovl, ul, ull)
        if choice < 0.80:  # a payload that is not 12 bytes
            n = r.choice([0, 1, 4, 8, 11, 13, 16, 24, 100])
            return self.valid_add()[:n] + r.randbytes(max(0, n - 12))
        return r.randbytes(12)

    def fan_nest(self):
        """An IFLA_IPTUN_FAN_MAP payload."""
        r = self.rng
        if r.random() < 0.03:
            return b""
        if r.random() < 0.03:
            return r.randbytes(r.choice([1, 2, 3, 4, 7, 12, 40]))
        if r.random() < 0.005:
            # More maps than a device may hold: /24 overlays in one /8.
            base = r.randrange(0, 256)
            items = [attr(IFLA_FAN_MAPPING, self.mapping(f"240.{base}.{i % 256}.0", 24,
                                                         "172.30.0.0", 28))
                     for i in range(r.choice([255, 256, 257, 300]))]
            return b"".join(items)
        items = []
        for _ in range(r.choice([1, 1, 1, 2, 2, 3, 4, 8])):
            kind = IFLA_FAN_MAPPING
            roll = r.random()
            if roll < 0.04:
                kind = r.choice([0, 2, 3, 255, 0x3FFF])
            elif roll < 0.08:
                kind |= r.choice([NLA_F_NESTED, NLA_F_NET_BYTEORDER])
            payload = self.mapping_payload()
            roll = r.random()
            if roll < 0.03:  # header announcing more than is there
                items.append(attr(kind, payload, length=4 + len(payload) + r.choice([1, 4, 64])))
            elif roll < 0.05:  # header announcing less than a header
                items.append(attr(kind, payload, length=r.randrange(4)))
            elif roll < 0.07:  # no padding
                items.append(attr(kind, payload, pad=False))
            else:
                items.append(attr(kind, payload))
        payload = b"".join(items)
        if r.random() < 0.05:
            payload += r.randbytes(r.randrange(1, 4))
        return payload

    # --- the stock attributes ---

    def value(self, name):
        r = self.rng
        if name in ("LOCAL", "REMOTE"):
            if name == "REMOTE" and r.random() < 0.6:
                return bytes(4)
            if r.random() < 0.9:
                return ip(r.choice(self.ADDRESSES))
            return r.randbytes(4)
        if name == "LINK":
            pick = r.choice([0, 0, 1, 2, 0xFFFF, 0x7FFFFFFF, 0xFFFFFFFF]
                            + list(self.links.values()))
            return struct.pack("=I", pick)
        if name == "FWMARK":
            return struct.pack("=I", r.choice([0, 1, 0xFFFFFFFF, r.getrandbits(32)]))
        if name in ("TTL", "TOS", "PMTUDISC"):
            return bytes([r.choice([0, 1, 2, 64, 255, r.getrandbits(8)])])
        if name == "PROTO":
            return bytes([r.choice([0, 4, 4, 137, 41, 47, 255, r.getrandbits(8)])])
        if name == "ENCAP_TYPE":
            return struct.pack("=H", r.choice([0, 0, 1, 2, 3, 4, 0xFFFF]))
        if name == "ENCAP_FLAGS":
            return struct.pack("=H", r.choice([0, 1, 2, 4, 7, 0xFFFF]))
        if name in ("ENCAP_SPORT", "ENCAP_DPORT"):
            return struct.pack("!H", r.choice([0, 5555, 6080, 0xFFFF]))
        if name == "COLLECT_METADATA":
            return b""
        if name == "FAN_MAP":
            return self.fan_nest()
        # Attributes ipip does not use (ip6/sit ones): any payload.
        return r.randbytes(r.choice([0, 1, 2, 4, 8, 16]))

    def info_data(self):
        """IFLA_INFO_DATA's payload: some attributes, in any order."""
        r = self.rng
        names = list(IPTUN)
        out = []
        count = r.choice([0, 1, 1, 2, 2, 3, 4, 6])
        chosen = [r.choice(names) for _ in range(count)]
        # The fan map is the point: most requests carry one.
        if r.random() < 0.7 and "FAN_MAP" not in chosen:
            chosen.append("FAN_MAP")
        for name in chosen:
            kind, payload = IPTUN[name], self.value(name)
            if name == "FAN_MAP" and r.random() < 0.85:
                kind |= NLA_F_NESTED
            roll = r.random()
            if roll < 0.06 and name != "FAN_MAP":  # wrong size
                size = r.choice([0, 1, 2, 3, 5, 8])
                payload = (payload + r.randbytes(8))[:size]
            elif roll < 0.08:
                out.append(attr(kind, payload, length=r.choice([0, 1, 2, 3])))
                continue
            elif roll < 0.10:  # flag bits on a plain attribute
                kind |= NLA_F_NET_BYTEORDER
            out.append(attr(kind, payload))
        if r.random() < 0.05:  # unknown attribute types
            for _ in range(r.randrange(1, 3)):
                kind = r.choice([0, 21, 22, 30, 32, 34, 40, 0x3FFF])
                out.append(attr(kind, r.randbytes(r.choice([0, 1, 4, 12]))))
        if r.random() < 0.05 and out:  # duplicates
            out.append(r.choice(out))
        if r.random() < 0.1:  # Ubuntu's ip: one fan map attribute per fan-map
            out.append(attr(IPTUN["FAN_MAP"] | r.choice([0, NLA_F_NESTED]), self.fan_nest()))
        r.shuffle(out)
        return b"".join(out)

    def linkinfo(self):
        r = self.rng
        # Other kinds never reach the module (and each unknown one makes the
        # kernel run modprobe): only spellings of "ipip".
        kind = b"ipip\0"
        if r.random() < 0.02:
            kind = r.choice([b"ipip", b"ipip\0\0\0\0"])
        items = [attr(IFLA_INFO_KIND, kind)]
        if r.random() < 0.95:
            data_kind = IFLA_INFO_DATA | (NLA_F_NESTED if r.random() < 0.8 else 0)
            items.append(attr(data_kind, self.info_data()))
            if r.random() < 0.03:  # the kernel takes the last of two
                items.append(attr(data_kind, self.info_data()))
        if r.random() < 0.02:
            items.append(attr(r.choice([0, 6, 7, 100]), r.randbytes(4)))
        if r.random() < 0.2:
            r.shuffle(items)
        nested = NLA_F_NESTED if r.random() < 0.9 else 0
        return attr(IFLA_LINKINFO | nested, b"".join(items))

    # --- whole requests ---

    def target(self):
        """A device name and its ifindex (0 if it does not exist)."""
        name = self.rng.choice(["tunl0", "tunl0"] + POOL)
        return name, self.links.get(name, 0)

    def addressing(self, name, index):
        """How a request names its device: by index, or by name."""
        if index and self.rng.random() < 0.7:
            return ifinfo(index), b""
        return ifinfo(0), attr(IFLA_IFNAME, name.encode() + b"\0")

    def request(self):
        """(nlmsg type, flags, body) of the next request."""
        r = self.rng
        name, index = self.target()
        roll = r.random()
        if roll < 0.55:  # change (or create, with NLM_F_CREATE)
            msg_type = RTM_NEWLINK
            flags = r.choice([0, 0, NLM_F_CREATE, NLM_F_REPLACE, NLM_F_APPEND])
            head, named = self.addressing(name, index)
            body = head + named + self.linkinfo()
        elif roll < 0.75:  # create
            msg_type = RTM_NEWLINK
            flags = NLM_F_CREATE | (NLM_F_EXCL if r.random() < 0.8 else 0)
            body = ifinfo() + attr(IFLA_IFNAME, name.encode() + b"\0")
            if r.random() < 0.1:
                body += attr(IFLA_MTU, struct.pack("=I", r.choice([0, 68, 1280, 1480, 65535])))
            body += self.linkinfo()
        elif roll < 0.85:
            msg_type = RTM_GETLINK
            # A dump too (filtered by kind through the link info), which
            # ends with NLMSG_DONE rather than an ack.
            flags = NLM_F_DUMP if r.random() < 0.2 else 0
            head, named = self.addressing(name, index)
            body = head + named
            if r.random() < 0.3:
                body += self.linkinfo()
        elif roll < 0.92:  # SETLINK takes no link info, but may be sent one
            msg_type = RTM_SETLINK
            flags = 0
            head, named = self.addressing(name, index)
            body = head + named + (self.linkinfo() if r.random() < 0.8 else b"")
        else:
            msg_type = RTM_DELLINK
            flags = 0
            head, named = self.addressing(name, index)
            body = head + named
        return msg_type, flags, body

    def damage(self, body):
        """Sometimes truncate the message body: cut at any byte."""
        r = self.rng
        if r.random() < 0.04:
            return body[: r.randrange(0, len(body) + 1)]
        return body


def run(args):
    seed = args.seed if args.seed is not None else int.from_bytes(os.urandom(4), "little")
    print(f"nlfuzz: seed {seed}, {args.count} requests (replay: nlfuzz.py run --seed {seed} "
          f"--count {args.count})", flush=True)
    rng = random.Random(seed)
    nl = Netlink()
    strict = Netlink(strict=True)
    state_nl = Netlink(strict=True)
    started = time.monotonic()

    refused = collections.Counter()
    accepted = 0
    changed_by_accepted = 0
    bad_envelopes = 0
    failures = []  # the first few of each kind
    failure_kinds = collections.Counter()
    messages = collections.Counter()

    def fail(failure):
        failure_kinds[failure[4]] += 1
        if failure_kinds[failure[4]] <= args.report:
            failures.append(failure)

    def links_by_name(state):
        return {f["name"]: index for index, f in state.items() if "name" in f}

    # The dump is parsed only when its bytes differ from the last one (the
    # common case is a refusal that changed nothing): parsing every dump
    # in Python costs more than the request itself in the VM.
    last = [None, None]

    def links():
        raw = state_nl.links_raw()
        if raw != last[0]:
            last[0], last[1] = raw, parse_links(raw)
        return last[1]

    before = links()
    gen = Generator(rng, links_by_name(before))
    for i in range(1, args.count + 1):
        msg_type, flags, body = gen.request()
        body = gen.damage(body)
        sock = strict if rng.random() < 0.2 else nl
        seq = sock.next_seq()
        envelope = rng.random()
        if envelope < 0.01:
            # The header claims more bytes than were sent, or fewer than a
            # header: the kernel must drop it silently. The probe behind it
            # shows that the socket still works and that nothing came back.
            length = rng.choice([16 + len(body) + rng.choice([1, 4, 1000]), rng.randrange(16)])
            raw = nlmsg(msg_type, flags | NLM_F_REQUEST | NLM_F_ACK, seq, body, length=length)
            sock.stray.clear()
            sock.send(raw)
            probe = sock.request(RTM_GETLINK, NLM_F_ACK, ifinfo(gen.links["tunl0"]))
            if probe.error != 0:
                fail((i, raw, f"probe after a bad header: {probe}", "", "probe"))
            bad_envelopes += 1
            if seq in sock.stray:
                fail((i, raw, "a message with a bad header was answered", "",
                      "bad header answered"))
            after = links()
            if after != before:
                fail((i, raw, "a dropped message changed the configuration",
                      state_diff(before, after), "dropped but changed"))
            if after is not before:
                gen.links = links_by_name(after)
            before = after
            continue
        raw = nlmsg(msg_type, flags | NLM_F_REQUEST | NLM_F_ACK, seq, body)
        sock.send(raw)
        answer = sock.wait(seq)
        after = links()
        if answer.error is None:
            fail((i, raw, "no answer", state_diff(before, after), "no answer"))
        elif answer.error == 0:
            accepted += 1
            if after != before:
                changed_by_accepted += 1
        else:
            refused[answer.error] += 1
            if answer.message:
                messages[answer.message] += 1
            if after != before:
                # Without the device names, and the encapsulation as one, so
                # that one fault on several devices and fields is one kind.
                fields = sorted({"encapsulation" if f.split(":", 1)[1].startswith("ENCAP_")
                                 else f.split(":", 1)[1] for f in changed_fields(before, after)})
                kind = (f"refused with {errno.errorcode.get(answer.error, answer.error)} but "
                        f"changed {', '.join(fields)}")
                fail((i, raw, f"{kind} (message {answer.message!r})",
                      state_diff(before, after), kind))
        if after is not before:
            gen.links = links_by_name(after)
        before = after
        if args.stop_at and i >= args.stop_at:
            print(f"nlfuzz: stopped after request {i}: {answer}")
            print(f"nlfuzz: request {raw.hex()}")
            print(describe_state(before))
            break
        if args.progress and i % args.progress == 0:
            print(f"nlfuzz: {i} requests, {time.monotonic() - started:.0f} s", flush=True)

    # Leave only tunl0, without maps.
    cleanup = []
    for name, index in sorted(gen.links.items()):
        if name != "tunl0":
            cleanup.append((f"delete {name}", nl.request(RTM_DELLINK, NLM_F_ACK, ifinfo(index))))
    flush = attr(IPTUN["FAN_MAP"] | NLA_F_NESTED, attr(IFLA_FAN_MAPPING, bytes(12)))
    info = attr(IFLA_INFO_KIND, b"ipip\0") + attr(IFLA_INFO_DATA | NLA_F_NESTED, flush)
    cleanup.append(("flush tunl0's maps", nl.request(
        RTM_NEWLINK, NLM_F_ACK, ifinfo(gen.links["tunl0"]) + attr(IFLA_LINKINFO | NLA_F_NESTED, info))))
    for what, answer in cleanup:
        if answer.error != 0:
            fail((0, b"", f"cleanup: {what}: {answer}", "", f"cleanup: {what}"))

    elapsed = time.monotonic() - started
    total_refused = sum(refused.values())
    print(f"measure: nlfuzz seed {seed}")
    print(f"measure: nlfuzz requests {i} in {elapsed:.0f} s ({i / elapsed:.0f}/s)")
    print(f"measure: nlfuzz accepted {accepted} (changed the configuration: {changed_by_accepted})")
    print(f"measure: nlfuzz refused {total_refused}: "
          + ", ".join(f"{errno.errorcode.get(e, e)} {n}" for e, n in refused.most_common()))
    print(f"measure: nlfuzz bad headers {bad_envelopes} (dropped unanswered, as they must be)")
    print(f"measure: nlfuzz refusals with an extended ack message: {sum(messages.values())}"
          f" ({len(messages)} distinct)")
    if args.messages:
        for message, n in messages.most_common():
            print(f"  {n:7d} {message}")
    ok = True
    if failures:
        ok = False
        kinds = failure_kinds
        print(f"nlfuzz: FAIL: {sum(kinds.values())} failed checks (seed {seed}), of {len(kinds)}"
              f" kinds; the first {args.report} of each kind:")
        for kind, n in kinds.most_common():
            print(f"=== {n} x {kind}")
            for i, raw, what, diff, _ in [f for f in failures if f[4] == kind][: args.report]:
                print(f"--- request {i}: {what}")
                print(f"    request hex: {raw.hex()}")
                if diff:
                    print(diff)
    if not args.stop_at and changed_by_accepted == 0:
        ok = False
        print("nlfuzz: FAIL: no accepted request changed the dump: the comparison sees nothing")
    if not args.stop_at and total_refused == 0:
        ok = False
        print("nlfuzz: FAIL: nothing was refused: the requests are not hostile")
    return 0 if ok else 1


def self_test(_args):
    """Check the checker: the dump comparison sees a change that an accepted
    request makes, sees none after a refused one, and a bad header goes
    unanswered while the probe behind it is answered."""
    nl = Netlink()
    problems = []

    def expect(what, cond):
        print(f"self-test: {'ok  ' if cond else 'FAIL'} {what}")
        if not cond:
            problems.append(what)

    links = nl.links()
    tunl0 = next(i for i, f in links.items() if f.get("name") == "tunl0")
    gen = Generator(random.Random(0), {})

    def change(index, data):
        info = attr(IFLA_INFO_KIND, b"ipip\0") + attr(IFLA_INFO_DATA | NLA_F_NESTED, data)
        return nl.request(RTM_NEWLINK, NLM_F_ACK,
                          ifinfo(index) + attr(IFLA_LINKINFO | NLA_F_NESTED, info))

    def fan(*mappings):
        return attr(IPTUN["FAN_MAP"] | NLA_F_NESTED,
                    b"".join(attr(IFLA_FAN_MAPPING, m) for m in mappings))

    start = nl.links()
    add = gen.mapping("250.0.0.0", 8, "172.30.0.0", 16)
    answer = change(tunl0, fan(add))
    expect(f"a valid map on tunl0 is accepted ({answer})", answer.error == 0)
    after_add = nl.links()
    expect("the comparison sees the map added", after_add != start)
    expect("the dump shows it",
           "FAN_MAP=[250.0.0.0/8:172.30.0.0/16]" in describe_data(after_add[tunl0].get("data", b"")))

    answer = change(tunl0, fan(gen.mapping("250.0.0.0", 8, "10.1.0.0", 16)))
    expect(f"an overlapping map is refused with EEXIST and a message ({answer})",
           answer.error == errno.EEXIST and answer.message != "")
    expect("the refused request changed nothing", nl.links() == after_add)

    # A valid map then an invalid one, in one request: all or nothing.
    answer = change(tunl0, fan(gen.mapping("251.0.0.0", 8, "172.30.0.0", 16),
                               gen.mapping("250.1.0.0", 8, "172.30.0.0", 16)))
    expect(f"a request whose second map has host bits is refused ({answer})",
           answer.error == errno.EINVAL)
    expect("its valid first map was not applied", nl.links() == after_add)

    # A stock parameter alone, on a created device: the comparison sees
    # IFLA_INFO_DATA, not just the maps. (Its own local address: one without
    # would be the same tunnel as tunl0.)
    local = attr(IPTUN["LOCAL"], ip("172.30.0.1"))
    body = ifinfo() + attr(IFLA_IFNAME, b"fzself\0")
    info = attr(IFLA_INFO_KIND, b"ipip\0") + attr(
        IFLA_INFO_DATA | NLA_F_NESTED, local + attr(IPTUN["TTL"], bytes([64])))
    answer = nl.request(RTM_NEWLINK, NLM_F_ACK | NLM_F_CREATE | NLM_F_EXCL,
                        body + attr(IFLA_LINKINFO | NLA_F_NESTED, info))
    expect(f"a device is created ({answer})", answer.error == 0)
    created = nl.links()
    expect("the comparison sees a new device", set(created) - set(after_add) != set())
    index = next((i for i, f in created.items() if f.get("name") == "fzself"), 0)
    answer = change(index, local + attr(IPTUN["TTL"], bytes([32])))
    expect(f"its TTL is changed ({answer})", answer.error == 0)
    retuned = nl.links()
    expect("the comparison sees a TTL change alone",
           retuned != created and retuned[index]["data"] != created[index]["data"])
    answer = nl.request(RTM_DELLINK, NLM_F_ACK, ifinfo(index))
    expect(f"the device is deleted ({answer})", answer.error == 0)

    # A header that claims more than was sent: dropped, the probe answered.
    # (A good header in the same place is answered: the check can fail.)
    for length, answered in ((16 + 16, True), (1000, False), (8, False)):
        seq = nl.next_seq()
        nl.stray.clear()
        nl.send(nlmsg(RTM_GETLINK, NLM_F_REQUEST | NLM_F_ACK, seq, ifinfo(tunl0),
                      length=length))
        probe = nl.request(RTM_GETLINK, NLM_F_ACK, ifinfo(tunl0))
        expect(f"the probe behind a header of length {length} is answered ({probe})",
               probe.error == 0 and len(probe.replies) == 1)
        expect(f"a header of length {length} is {'' if answered else 'not '}answered",
               (seq in nl.stray) == answered)

    answer = change(tunl0, fan(bytes(12)))
    expect(f"the flush is accepted ({answer})", answer.error == 0)
    expect("after the flush the dump is as at the start", nl.links() == start)
    if problems:
        print(f"self-test: FAIL: {len(problems)} checks failed")
        return 1
    print("self-test: ok")
    return 0


def send(args):
    """Send one raw request (a reproducer's hex), print the answer and the
    ipip devices before and after."""
    nl = Netlink()
    raw = bytearray(bytes.fromhex(args.hex))
    seq = nl.next_seq()
    if len(raw) >= 16:
        struct.pack_into("=I", raw, 8, seq)
    before = nl.links()
    print("before:\n" + describe_state(before))
    nl.send(bytes(raw))
    answer = nl.wait(seq, timeout=5)
    after = nl.links()
    print(f"answer: {answer}")
    print("after:\n" + describe_state(after))
    if after != before:
        print("changed:\n" + state_diff(before, after))
    return 0


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    sub = parser.add_subparsers(dest="command", required=True)
    p = sub.add_parser("run")
    p.add_argument("--seed", type=int)
    p.add_argument("--count", type=int, default=10000)
    p.add_argument("--stop-at", type=int, default=0, help="stop after this request")
    p.add_argument("--report", type=int, default=2, help="failures of each kind to print")
    p.add_argument("--progress", type=int, default=0, help="print a line every N requests")
    p.add_argument("--messages", action="store_true", help="print every extack message seen")
    sub.add_parser("self-test")
    p = sub.add_parser("send")
    p.add_argument("hex")
    args = parser.parse_args()
    return {"run": run, "self-test": self_test, "send": send}[args.command](args)


if __name__ == "__main__":
    sys.exit(main())
