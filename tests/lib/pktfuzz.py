#!/usr/bin/env python3
"""Hostile IP-in-IP packets for a fan host, injected on its underlay.

Run in a namespace whose interface sits on the same L2 underlay as the
target host (the VM test gives it one): every frame goes to the target's
MAC address (or to the underlay's broadcast and multicast addresses), with
any outer header, so the target's receive path (decapsulation, the fan's
source check, ICMP error handling) sees what a hostile or broken peer could
send.

  pktfuzz.py --iface IF --dst-mac MAC --counts FILE [--seed S] [--count N]
             [--host A] [--peer A] [--any-host A] [--any-peer A] [--kinds K,...]

--host is the target's underlay address on tunl0's fan (map
250.0.0.0/8:172.30.0.0/16), --any-host its address on a second fan device
that carries any protocol (map 251.0.0.0/8:172.31.0.0/16); --peer and
--any-peer are other hosts' addresses on those underlays.

Deterministic from the seed (printed first). FILE gets "NAME VALUE" lines:
what was sent, per kind, and the numbers the test checks the target's
counters against (spoofed packets with valid headers, per device; valid
packets; IP-in-IP layers sent).
"""

import argparse
import collections
import os
import random
import socket
import struct
import sys
import time

ETH_P_IP = 0x0800
IPPROTO_ICMP, IPPROTO_IPIP, IPPROTO_UDP, IPPROTO_MPLS = 1, 4, 17, 137
IP_MF, IP_DF = 0x2000, 0x4000


def csum(data):
    if len(data) % 2:
        data += b"\0"
    total = sum(struct.unpack(f"!{len(data) // 2}H", data))
    while total >> 16:
        total = (total & 0xFFFF) + (total >> 16)
    return ~total & 0xFFFF


def ipv4(src, dst, proto, payload, ttl=64, tos=0, ident=0, frag=0, options=b"",
         ihl=None, tot_len=None, version=4, good_csum=True):
    """An IPv4 packet; every field may be given a wrong value."""
    options += b"\0" * (-len(options) % 4)
    if ihl is None:
        ihl = 5 + len(options) // 4
    if tot_len is None:
        tot_len = 20 + len(options) + len(payload)
    header = struct.pack("!BBHHHBBH4s4s", (version << 4) | (ihl & 0xF), tos, tot_len & 0xFFFF,
                         ident, frag, ttl, proto, 0, socket.inet_aton(src),
                         socket.inet_aton(dst)) + options
    check = csum(header)
    if not good_csum:
        check ^= 0x5A5A
    header = header[:10] + struct.pack("!H", check) + header[12:]
    return header + payload


def udp(sport, dport, payload):
    return struct.pack("!HHHH", sport, dport, 8 + len(payload), 0) + payload


def icmp(kind, code, rest, payload):
    body = struct.pack("!BBH4s", kind, code, 0, rest) + payload
    return body[:2] + struct.pack("!H", csum(body)) + body[4:]


class Fuzzer:
    def __init__(self, args, rng):
        self.a = args
        self.rng = rng
        self.counts = collections.Counter()
        self.ident = rng.randrange(1 << 16)

    def next_ident(self):
        self.ident = (self.ident + 1) & 0xFFFF
        return self.ident

    # --- addresses ---

    def target(self):
        """(outer destination, peer underlay address, overlay first octet,
        the device's name in the counts) of the fan device to hit."""
        if self.rng.random() < 0.8:
            return self.a.host, self.a.peer, 250, "tunl0"
        return self.a.any_host, self.a.any_peer, 251, "fan1"

    @staticmethod
    def slice_of(underlay):
        """The overlay /24 a host owns: the last 16 bits of its address."""
        b = socket.inet_aton(underlay)
        return b[2], b[3]

    def overlay(self, first, owner, host=None):
        a, b = self.slice_of(owner)
        if host is None:
            host = self.rng.randrange(2, 255)
        return f"{first}.{a}.{b}.{host}"

    def other_owner(self, host, peer):
        """An underlay address that is neither the sender nor, sometimes,
        the target: its slice is somebody else's."""
        prefix = ".".join(peer.split(".")[:2])
        while True:
            pick = self.rng.choice([host, f"{prefix}.0.3", f"{prefix}.0.99",
                                    f"{prefix}.{self.rng.randrange(1, 255)}.{self.rng.randrange(1, 255)}"])
            if pick != peer:
                return pick

    def inner_valid(self, src, dst, ttl=64):
        """A well-formed inner packet: UDP to the discard port, or ICMP echo."""
        if self.rng.random() < 0.5:
            payload = udp(self.rng.randrange(1024, 65535), 9, self.rng.randbytes(self.rng.randrange(0, 64)))
            return ipv4(src, dst, IPPROTO_UDP, payload, ttl=ttl, ident=self.next_ident())
        payload = icmp(8, 0, struct.pack("!HH", 0x4242, self.rng.randrange(1 << 16)),
                       self.rng.randbytes(self.rng.randrange(0, 64)))
        return ipv4(src, dst, IPPROTO_ICMP, payload, ttl=ttl, ident=self.next_ident())

    # --- the kinds of packet; each returns (outer IPv4 packets, dst MAC or None) ---

    def legit(self):
        dst, peer, first, dev = self.target()
        a_host = self.slice_of(dst)
        inner = self.inner_valid(self.overlay(first, peer, 2), f"{first}.{a_host[0]}.{a_host[1]}.1")
        self.counts[f"valid_{dev}"] += 1
        return [ipv4(peer, dst, IPPROTO_IPIP, inner, ident=self.next_ident())], None

    def spoofed(self):
        """Inner source in the overlay, owned by another host than the
        outer source (or by the target itself): the fan must drop it."""
        dst, peer, first, dev = self.target()
        a_host = self.slice_of(dst)
        owner = self.other_owner(dst, peer)
        inner = self.inner_valid(self.overlay(first, owner), f"{first}.{a_host[0]}.{a_host[1]}.1")
        self.counts[f"spoofed_valid_{dev}"] += 1
        return [ipv4(peer, dst, IPPROTO_IPIP, inner, ident=self.next_ident())], None

    def bad_inner(self):
        """Inner headers that are wrong in one way, from a source that
        passes the fan's check (so they go on to decapsulation)."""
        r = self.rng
        dst, peer, first, _ = self.target()
        a_host = self.slice_of(dst)
        src = self.overlay(first, peer) if r.random() < 0.8 else self.overlay(first, self.other_owner(dst, peer))
        idst = r.choice([f"{first}.{a_host[0]}.{a_host[1]}.1", f"{first}.{a_host[0]}.{a_host[1]}.2",
                         self.overlay(first, peer)])
        payload = r.randbytes(r.randrange(0, 48))
        fault = r.randrange(8)
        if fault == 0:
            inner = ipv4(src, idst, IPPROTO_UDP, payload, ihl=r.choice([0, 1, 4, 6, 15]))
        elif fault == 1:
            inner = ipv4(src, idst, IPPROTO_UDP, payload,
                         tot_len=r.choice([0, 1, 19, 20, 21, 20 + len(payload) + 1, 65535]))
        elif fault == 2:
            inner = ipv4(src, idst, IPPROTO_UDP, payload, version=r.choice([0, 5, 6, 15]))
        elif fault == 3:
            inner = b""
        elif fault == 4:
            inner = self.inner_valid(src, idst)[: r.randrange(1, 20)]
        elif fault == 5:
            inner = ipv4(src, idst, IPPROTO_UDP, payload, good_csum=False)
        elif fault == 6:
            # A UDP header that claims more than there is.
            inner = ipv4(src, idst, IPPROTO_UDP, struct.pack("!HHHH", 1, 9, 4000, 0) + payload)
        else:
            inner = ipv4(src, idst, r.randrange(256), payload, ttl=r.choice([0, 1, 64]))
        return [ipv4(peer, dst, IPPROTO_IPIP, inner, ident=self.next_ident())], None

    def fragments(self):
        """Outer fragments of an IP-in-IP packet (complete or not, out of
        order, overlapping, tiny), or inner fragments inside whole ones."""
        r = self.rng
        dst, peer, first, _ = self.target()
        a_host = self.slice_of(dst)
        src = self.overlay(first, peer) if r.random() < 0.7 else self.overlay(first, self.other_owner(dst, peer))
        idst = f"{first}.{a_host[0]}.{a_host[1]}.{r.choice([1, 2])}"
        if r.random() < 0.4:
            ident = self.next_ident()
            frag = r.choice([IP_MF, IP_MF | 1, 1, 0x1FFF, IP_MF | 0x1FFF, IP_DF | IP_MF])
            inner = ipv4(src, idst, IPPROTO_UDP, r.randbytes(r.randrange(8, 64)), ident=ident, frag=frag)
            return [ipv4(peer, dst, IPPROTO_IPIP, inner, ident=self.next_ident())], None
        inner = self.inner_valid(src, idst)
        inner += r.randbytes(r.randrange(0, 200))
        ident = self.next_ident()
        step = r.choice([8, 8, 16, 24, 64])
        pieces = []
        offset = 0
        while offset < len(inner):
            size = step * r.randrange(1, 4)
            chunk = inner[offset:offset + size]
            more = IP_MF if offset + size < len(inner) else 0
            pieces.append((offset, chunk, more))
            offset += size
        fault = r.randrange(5)
        if fault == 1 and len(pieces) > 1:
            pieces.pop(r.randrange(len(pieces)))  # never completes
        elif fault == 2:
            r.shuffle(pieces)
        elif fault == 3 and pieces:  # overlap: a piece again with other bytes
            offset, chunk, more = r.choice(pieces)
            pieces.append((offset, r.randbytes(len(chunk)), more))
        elif fault == 4:  # a piece past the end
            pieces.append((len(inner) + 8 * r.randrange(1, 50), r.randbytes(8), 0))
        return [ipv4(peer, dst, IPPROTO_IPIP, chunk, ident=ident, frag=more | (offset // 8))
                for offset, chunk, more in pieces], None

    def quoted_ipip(self, sent_from, sent_to, first):
        """The start of an IP-in-IP packet the target might have sent, as an
        ICMP error quotes it: often cut short."""
        r = self.rng
        inner = self.inner_valid(self.overlay(first, sent_from), self.overlay(first, sent_to))
        proto = r.choice([IPPROTO_IPIP] * 6 + [IPPROTO_MPLS, IPPROTO_UDP])
        quoted = ipv4(sent_from, sent_to, proto, inner, ident=self.next_ident(),
                      frag=r.choice([0, IP_DF]), ihl=r.choice([None] * 8 + [4, 6, 15]))
        return quoted[: r.choice([20, 24, 28, 40, len(quoted), r.randrange(0, len(quoted) + 1)])]

    def icmp_error(self):
        """ICMP errors to the target about IP-in-IP packets it sent
        (fragmentation needed, redirect, time exceeded, ...): the tunnel's
        error handler runs on them."""
        r = self.rng
        dst, peer, first, _ = self.target()
        prefix = ".".join(peer.split(".")[:2])
        sent_to = r.choice([peer, peer, f"{prefix}.0.3", f"{prefix}.9.9", "10.9.9.9"])
        kind, code = r.choice([(3, 4), (3, 4), (3, 4), (5, 0), (5, 1), (5, 2), (5, 3), (11, 0),
                               (11, 1), (3, 0), (3, 1), (3, 3), (3, 5), (3, 13), (12, 0), (4, 0),
                               (r.randrange(256), r.randrange(256))])
        if kind == 3 and code == 4:
            rest = struct.pack("!HH", 0, r.choice([0, 1, 68, 552, 576, 1280, 1400, 1480, 65535,
                                                   r.randrange(1 << 16)]))
        elif kind == 5:
            rest = socket.inet_aton(r.choice([peer, f"{prefix}.0.77", dst, "0.0.0.0"]))
        else:
            rest = r.randbytes(4) if r.random() < 0.2 else bytes(4)
        sender = r.choice([peer, f"{prefix}.0.254", sent_to])
        body = icmp(kind, code, rest, self.quoted_ipip(dst, sent_to, first))
        return [ipv4(sender, dst, IPPROTO_ICMP, body, ident=self.next_ident())], None

    def inner_icmp_error(self):
        """An ICMP error inside an IP-in-IP packet, quoting an IP-in-IP
        packet from the target's overlay address: decapsulated, then
        handled by the target's ICMP layer and the tunnel's error handler."""
        r = self.rng
        dst, peer, first, _ = self.target()
        a_host = self.slice_of(dst)
        target_overlay = f"{first}.{a_host[0]}.{a_host[1]}.1"
        kind, code = r.choice([(3, 4), (5, 1), (11, 0), (3, 1), (12, 0)])
        rest = struct.pack("!HH", 0, r.choice([0, 68, 576, 1400])) if kind == 3 else bytes(4)
        quoted = self.quoted_ipip(r.choice([target_overlay, dst]), r.choice([peer, "10.9.9.9"]), first)
        inner = ipv4(self.overlay(first, peer), target_overlay, IPPROTO_ICMP,
                     icmp(kind, code, rest, quoted), ident=self.next_ident())
        return [ipv4(peer, dst, IPPROTO_IPIP, inner, ident=self.next_ident())], None

    def broadcast(self):
        """Broadcast and multicast destinations, outer or inner."""
        r = self.rng
        dst, peer, first, _ = self.target()
        a_host = self.slice_of(dst)
        prefix = ".".join(dst.split(".")[:2])
        outer_dst, mac = r.choice([(dst, None), (dst, None), (f"{prefix}.255.255", "ff" * 6),
                                   ("255.255.255.255", "ff" * 6), ("224.0.0.1", "01005e000001"),
                                   ("239.1.2.3", "01005e010203")])
        inner_dst = r.choice([f"{first}.{a_host[0]}.{a_host[1]}.255", "255.255.255.255",
                              "224.0.0.251", f"{first}.255.255.255", "239.1.2.3"])
        inner = self.inner_valid(self.overlay(first, peer), inner_dst)
        return [ipv4(peer, outer_dst, IPPROTO_IPIP, inner, ident=self.next_ident())], mac

    def mpls(self):
        """MPLS in IP (protocol 137): a label stack, then IPv4 or noise."""
        r = self.rng
        dst, peer, first, _ = self.target()
        stack = b""
        for depth in range(r.randrange(0, 4)):
            label = r.choice([0, 1, 2, 3, 16, 100, 0xFFFFF, r.randrange(1 << 20)])
            bos = 1 if r.random() < 0.7 else 0
            stack += struct.pack("!I", (label << 12) | (r.randrange(8) << 9) | (bos << 8) | r.choice([0, 1, 64]))
        a_host = self.slice_of(dst)
        rest = self.inner_valid(self.overlay(first, peer), f"{first}.{a_host[0]}.{a_host[1]}.1") \
            if r.random() < 0.6 else r.randbytes(r.randrange(0, 40))
        return [ipv4(peer, dst, IPPROTO_MPLS, stack + rest, ident=self.next_ident())], None

    def options(self):
        """IP options on the outer or the inner header, valid or not."""
        r = self.rng
        dst, peer, first, _ = self.target()
        a_host = self.slice_of(dst)
        opts = r.choice([
            b"\x01\x01\x01\x00",                    # NOP NOP NOP EOL
            b"\x07\x07\x04" + bytes(4),             # record route, one slot
            b"\x44\x0c\x05\x00" + bytes(8),         # timestamp
            b"\x94\x04\x00\x00",                    # router alert
            b"\x07\x02\x04\x00",                    # record route, bad length
            b"\x44\x28\x05\x00",                    # timestamp past the header
            b"\x83\x07\x04" + bytes(4),             # loose source route
            r.randbytes(r.choice([4, 8, 40])),
        ])
        inner_dst = f"{first}.{a_host[0]}.{a_host[1]}.{r.choice([1, 2])}"
        if r.random() < 0.5:
            inner = self.inner_valid(self.overlay(first, peer), inner_dst)
            return [ipv4(peer, dst, IPPROTO_IPIP, inner, options=opts, ident=self.next_ident())], None
        inner = ipv4(self.overlay(first, peer), inner_dst, IPPROTO_UDP,
                     udp(1, 9, r.randbytes(16)), options=opts, ident=self.next_ident())
        return [ipv4(peer, dst, IPPROTO_IPIP, inner, ident=self.next_ident())], None

    def low_ttl(self):
        """TTL 0 or 1 outside, or inside on a packet the target forwards."""
        r = self.rng
        dst, peer, first, _ = self.target()
        a_host = self.slice_of(dst)
        forward = r.random() < 0.5
        inner_dst = self.overlay(first, peer, 2) if forward else f"{first}.{a_host[0]}.{a_host[1]}.2"
        inner = self.inner_valid(self.overlay(first, peer), inner_dst, ttl=r.choice([0, 1, 2]))
        return [ipv4(peer, dst, IPPROTO_IPIP, inner, ttl=r.choice([0, 1, 64]),
                     ident=self.next_ident())], None

    def nested(self):
        """IP-in-IP inside IP-in-IP, several deep: decapsulated again and
        again on the target."""
        r = self.rng
        dst, peer, first, _ = self.target()
        a_host = self.slice_of(dst)
        packet = self.inner_valid(self.overlay(first, peer), f"{first}.{a_host[0]}.{a_host[1]}.1")
        depth = r.randrange(2, 8)
        for _ in range(depth - 1):
            src = r.choice([peer, self.overlay(first, peer), self.overlay(first, self.other_owner(dst, peer))])
            packet = ipv4(src, dst, IPPROTO_IPIP, packet, ident=self.next_ident())
        self.counts["nested_extra_layers"] += depth - 1
        return [ipv4(peer, dst, IPPROTO_IPIP, packet, ident=self.next_ident())], None

    def noise(self):
        """Random bytes: as the payload of a valid outer header, or as the
        whole IPv4 packet."""
        r = self.rng
        dst, peer, _, _ = self.target()
        if r.random() < 0.6:
            return [ipv4(peer, dst, r.choice([IPPROTO_IPIP, IPPROTO_IPIP, IPPROTO_MPLS]),
                         r.randbytes(r.randrange(0, 120)), ident=self.next_ident())], None
        return [r.randbytes(r.randrange(0, 120))], None

    KINDS = [
        ("legit", 8), ("spoofed", 12), ("bad_inner", 14), ("fragments", 12), ("icmp_error", 12),
        ("inner_icmp_error", 6), ("broadcast", 7), ("mpls", 6), ("options", 6), ("low_ttl", 5),
        ("nested", 4), ("noise", 8),
    ]


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--iface", required=True)
    parser.add_argument("--dst-mac", required=True)
    parser.add_argument("--counts", required=True)
    parser.add_argument("--seed", type=int)
    parser.add_argument("--count", type=int, default=10000)
    parser.add_argument("--host", default="172.30.0.1")
    parser.add_argument("--peer", default="172.30.0.2")
    parser.add_argument("--any-host", default="172.31.0.1")
    parser.add_argument("--any-peer", default="172.31.0.2")
    parser.add_argument("--kinds", help="only these kinds of packet (comma-separated)")
    args = parser.parse_args()

    seed = args.seed if args.seed is not None else int.from_bytes(os.urandom(4), "little")
    print(f"pktfuzz: seed {seed}, {args.count} packets", flush=True)
    rng = random.Random(seed)
    fuzzer = Fuzzer(args, rng)
    names = [name for name, weight in Fuzzer.KINDS for _ in range(weight)]
    if args.kinds:
        wanted = args.kinds.split(",")
        unknown = set(wanted) - set(names)
        if unknown:
            parser.error(f"unknown kinds: {', '.join(sorted(unknown))}")
        names = [name for name in names if name in wanted]

    sock = socket.socket(socket.AF_PACKET, socket.SOCK_RAW)
    sock.bind((args.iface, 0))
    src_mac = sock.getsockname()[4]
    dst_mac = bytes.fromhex(args.dst_mac.replace(":", ""))
    kinds = collections.Counter()
    frames = 0
    started = time.monotonic()
    for _ in range(args.count):
        name = rng.choice(names)
        packets, mac = getattr(fuzzer, name)()
        kinds[name] += 1
        eth = (bytes.fromhex(mac) if mac else dst_mac) + src_mac + struct.pack("!H", ETH_P_IP)
        for packet in packets:
            sock.send(eth + packet)
            frames += 1
    elapsed = time.monotonic() - started

    counts = fuzzer.counts
    counts["packets"] = args.count
    counts["frames"] = frames
    counts["seed"] = seed
    counts["seconds"] = round(elapsed)
    # Every frame carries at most one IP-in-IP layer besides the nested ones.
    counts["ipip_layers_max"] = frames + counts["nested_extra_layers"]
    for name, _ in Fuzzer.KINDS:
        counts[f"kind_{name}"] = kinds[name]
    with open(args.counts, "w") as f:
        for key in sorted(counts):
            f.write(f"{key} {counts[key]}\n")
    print(f"measure: pktfuzz seed {seed}: {args.count} packets ({frames} frames) in {elapsed:.0f} s "
          f"({args.count / elapsed:.0f}/s)")
    print("measure: pktfuzz kinds: " + ", ".join(f"{name} {kinds[name]}" for name, _ in Fuzzer.KINDS))
    return 0


if __name__ == "__main__":
    sys.exit(main())
