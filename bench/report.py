#!/usr/bin/env python3
"""Turn bench/guest.sh's "BENCH key=value ..." lines into a Markdown report
and a PNG bar chart.

  bench/report.py RAW MARKDOWN PNG

Medians over the rounds, with min and max; ratios are of medians. The chart
is skipped (with a note) when matplotlib is missing.

Times are named by the clock QEMU really ran with (bench/run reads it back
from QEMU's command line): instruction-counted time under -icount,
wall-clock time without it. When that clock is unknown or not the one
asked for, the times are not named either way and the exit status is 1.
"""

import statistics
import sys
from collections import defaultdict

CONFIGS = {
    "a": "(a) no tunnel",
    "b": "(b) Linux ipip, fixed remote",
    "c": "(c) fan_ipip, fixed remote",
    "d": "(d) fan_ipip, fan map on tunl0",
    "bf": "(bf) (b) in UDP: Linux ipip + FOU",
    "df": "(df) (d) in UDP: fan_ipip + FOU, fan map",
}
# Diagnostic configurations, beside the four the targets are about.
EXTRA = {
    "e": "(e) Linux ipip, tunl0 + fanctl's fallback routes",
    "dnv": "(d) with validate_source=0",
}
TESTS = {
    "tcp1": ("TCP, 1 stream", "Mbit/s"),
    "tcp4": ("TCP, 4 streams", "Mbit/s"),
    "udp64": ("UDP 64 B", "kpps"),
    "udp512": ("UDP 512 B", "kpps"),
}
MAPS = [("d", 1), ("d16", 16), ("d64", 64), ("d256", 256)]
SETUP = [
    ("fanctl_up", "module", "`fanctl up`, module mode"),
    ("fanctl_down", "module", "`fanctl down`, module mode"),
    ("fanctl_up", "fallback", "`fanctl up`, fallback, /16 underlay"),
    ("fanctl_down", "fallback", "`fanctl down`, fallback, /16 underlay"),
    ("exec_true", "baseline", "reference: bash running /bin/true"),
    ("nft_apply", "baseline", "reference: one `nft -f` transaction"),
]


def parse(path):
    records = []
    with open(path) as f:
        for line in f:
            if not line.startswith("BENCH "):
                continue
            rec = {}
            for field in line.split()[1:]:
                key, _, value = field.partition("=")
                rec[key] = value
            records.append(rec)
    return records


def num(text):
    try:
        return float(text)
    except (TypeError, ValueError):
        return None


class Stats:
    def __init__(self, values):
        self.values = [v for v in values if v is not None]
        self.n = len(self.values)
        self.median = statistics.median(self.values) if self.values else None
        self.min = min(self.values) if self.values else None
        self.max = max(self.values) if self.values else None

    @property
    def spread(self):
        """(max - min) / median, as a fraction."""
        if not self.n or not self.median:
            return None
        return (self.max - self.min) / self.median


def fmt(value, digits=None):
    if value is None:
        return "–"
    if digits is None:
        digits = 0 if abs(value) >= 100 else 1 if abs(value) >= 10 else 2
    return f"{value:,.{digits}f}"


def pct(frac):
    return "–" if frac is None else f"{frac * 100:.0f} %"


def ratio(x, y):
    if x is None or not y:
        return None
    return x / y


def rfmt(r):
    return "–" if r is None else f"{r:.3f}"


class Report:
    def __init__(self, records):
        self.records = records
        self.info = {}
        for r in records:
            if r.get("kind") == "info":
                self.info.update({k: v for k, v in r.items() if k != "kind"})
        self.warnings = [r["msg"].replace("_", " ") for r in records if r.get("kind") == "warning"]
        self.routes = [r for r in records if r.get("kind") == "routes"]
        # (kind, test, cfg) -> {round: record}
        self.by = defaultdict(dict)
        for r in records:
            if r.get("kind") in ("net", "setup"):
                self.by[(r["kind"], r["test"], r["cfg"])][r["round"]] = r

    def rows(self, kind, test, cfg):
        return list(self.by.get((kind, test, cfg), {}).values())

    def stats(self, kind, test, cfg, field="value"):
        return Stats([num(r.get(field)) for r in self.rows(kind, test, cfg)])

    def paired(self, kind, test, cfg, ref_test, ref_cfg):
        """Per-round ratios cfg/ref (same round): how much noise the ratio has."""
        mine = self.by.get((kind, test, cfg), {})
        ref = self.by.get((kind, ref_test, ref_cfg), {})
        return Stats(
            [ratio(num(mine[k]["value"]), num(ref[k]["value"])) for k in mine if k in ref]
        )

    def quick(self):
        return self.info.get("quick") == "1"


def net_table(rep, out):
    out.append(
        "| test | configuration | median | min | max | spread | vs (b) | vs (a) "
        "| CPU µs/packet | runs |"
    )
    out.append("|---|---|--:|--:|--:|--:|--:|--:|--:|--:|")
    for test, (label, unit) in TESTS.items():
        b = rep.stats("net", test, "b").median
        a = rep.stats("net", test, "a").median
        for cfg, cfg_label in list(CONFIGS.items()) + [("e", EXTRA["e"])]:
            s = rep.stats("net", test, cfg)
            if not s.n:
                continue
            cpu = "–"
            if test.startswith("udp"):
                w = rep.stats("net", test, cfg, "window_cpu_us_per_pkt")
                cpu = fmt(w.median) if w.n else fmt(rep.stats("net", test, cfg, "cpu_us_per_pkt").median)
            out.append(
                f"| {label} | {cfg_label} | {fmt(s.median)} {unit} | {fmt(s.min)} | {fmt(s.max)} "
                f"| {pct(s.spread)} | {rfmt(ratio(s.median, b))} | {rfmt(ratio(s.median, a))} "
                f"| {cpu} | {s.n} |"
            )


def diagnosis_table(rep, out):
    """(d) against (e): both send each packet to a destination of its own."""
    out.append("| test | (b) | (e) | (d) | (e)/(b) | (d)/(e) | (d)/(b) |")
    out.append("|---|--:|--:|--:|--:|--:|--:|")
    for test, (label, unit) in TESTS.items():
        b, e, d = (rep.stats("net", test, c).median for c in ("b", "e", "d"))
        if e is None:
            continue
        out.append(
            f"| {label} | {fmt(b)} {unit} | {fmt(e)} | {fmt(d)} | {rfmt(ratio(e, b))} "
            f"| {rfmt(ratio(d, e))} | {rfmt(ratio(d, b))} |"
        )
    fou = [
        f"{label} {rfmt(ratio(df, bf))} ((df)/(bf)), {rfmt(ratio(df, d))} ((df)/(d))"
        for test, (label, _) in TESTS.items()
        for bf, df, d in [tuple(rep.stats("net", test, c).median for c in ("bf", "df", "d"))]
        if df is not None
    ]
    if fou:
        out.append("")
        out.append("FOU: the fan in UDP against Linux's ipip in UDP, and against the fan in IP: " + "; ".join(fou) + ".")
    nv = rep.stats("net", "udp64", "dnv")
    if nv.n:
        d = rep.stats("net", "udp64", "d").median
        out.append("")
        out.append(
            f"Source validation: (d) with `net.fan.validate_source=0` on both hosts: UDP 64 B "
            f"{fmt(nv.median)} kpps (min {fmt(nv.min)}, max {fmt(nv.max)}), "
            f"{rfmt(ratio(nv.median, d))} × (d) with it on."
        )


def routes_lines(rep, out):
    """(e)'s routes: how many fanctl made, whether the hosts held exactly them."""
    made = {r["host"]: r for r in rep.routes if "fanctl_routes" in r}
    held = {r["host"]: r for r in rep.routes if "installed_routes" in r}
    if not made:
        return
    parts = []
    for host in sorted(made):
        text = (
            f"{host}: {int(made[host]['fanctl_routes']):,} routes on tunl0 "
            f"({int(made[host]['fanctl_peer_routes']):,} to peers)"
        )
        if host in held:
            same = held[host].get("same_as_fanctl") == "1"
            text += ", " + ("held exactly" if same else "**not** held exactly")
        parts.append(text)
    out.append(
        "Routes of (e), made by `fanctl up` in fallback mode for each host's "
        "underlay address and replayed with `ip -batch`: " + "; ".join(parts) + "."
    )
    out.append("")


def maps_table(rep, out):
    out.append("| maps on tunl0 | median | min | max | spread | vs 1 map | vs (b) | CPU µs/packet | runs |")
    out.append("|--:|--:|--:|--:|--:|--:|--:|--:|--:|")
    one = rep.stats("net", "udp64", "d").median
    b = rep.stats("net", "udp64", "b").median
    for cfg, n in MAPS:
        s = rep.stats("net", "udp64", cfg)
        if not s.n:
            continue
        w = rep.stats("net", "udp64", cfg, "window_cpu_us_per_pkt")
        out.append(
            f"| {n} | {fmt(s.median)} kpps | {fmt(s.min)} | {fmt(s.max)} | {pct(s.spread)} "
            f"| {rfmt(ratio(s.median, one))} | {rfmt(ratio(s.median, b))} | {fmt(w.median)} | {s.n} |"
        )


class Clock:
    """The guest's clock: what was asked for (the guest's `clock`) against
    what QEMU's command line showed (bench/run's `qemu_clock`)."""

    def __init__(self, info):
        self.asked = info.get("clock", "?")
        self.seen = info.get("qemu_clock", "none")
        self.verified = self.seen == self.asked
        # The guest's side: under icount QEMU's TSC counts virtual
        # nanoseconds, so the guest calibrates it at 1000 MHz; without, it
        # runs at the host's TSC rate.
        self.tsc_mhz = num(info.get("guest_cpu_mhz"))
        self.tsc_wrong = (
            self.verified
            and self.seen.startswith("icount-shift-")
            and self.tsc_mhz is not None
            and abs(self.tsc_mhz - 1000) > 10
        )
        self.verified = self.verified and not self.tsc_wrong
        self.shift = None
        if self.verified and self.seen.startswith("icount-shift-"):
            self.shift = int(self.seen.rsplit("-", 1)[1])
        if self.shift is not None:
            self.name, self.short = "instruction-counted time", "instruction-counted"
        elif self.verified and self.seen == "wall":
            self.name, self.short = "wall-clock time", "wall-clock"
        else:
            self.name, self.short = "guest time, clock unverified", "clock unverified"

    def problem(self):
        if self.verified:
            return None
        if self.tsc_wrong:
            return (
                f"QEMU's command line shows {self.seen}, but the guest's TSC runs at "
                f"{self.tsc_mhz:,.0f} MHz, not the 1000 MHz of icount's virtual nanoseconds"
            )
        if self.seen == "none":
            return (
                f"{self.asked} was asked for, and no QEMU command line was read back "
                "(was the guest booted through bench/run's wrapper?)"
            )
        return f"{self.asked} was asked for, QEMU's command line shows {self.seen}"


def icount_shift(rep):
    return Clock(rep.info).shift


def setup_table(rep, out):
    clock = Clock(rep.info)
    shift = clock.shift
    insn = " | guest instructions (busy ÷ 2^shift ns)" if shift is not None else ""
    out.append(f"| operation | median {clock.name} | min | max | median busy CPU (user + kernel){insn} | runs |")
    out.append("|---|--:|--:|--:|--:|" + ("--:|" if shift is not None else "") + "--:|")
    for test, cfg, label in SETUP:
        s = rep.stats("setup", test, cfg)
        if s.n:
            busy = rep.stats("setup", test, cfg, "busy_ms")
            extra = ""
            if shift is not None:
                extra = f" | {fmt(busy.median * 1e6 / 2**shift / 1e6, 1)} M" if busy.n else " | –"
            user = rep.stats("setup", test, cfg, "user_ms")
            kern = rep.stats("setup", test, cfg, "sys_ms")
            busy_text = f"{fmt(busy.median)} ms" if busy.n else "–"
            if user.n and kern.n:
                busy_text += f" ({fmt(user.median)} + {fmt(kern.median)})"
            out.append(
                f"| {label} | {fmt(s.median)} ms | {fmt(s.min)} | {fmt(s.max)} "
                f"| {busy_text}{extra} | {s.n} |"
            )
    out.append("")
    out.append("| kernel memory taken by `fanctl up` | median | min | max | runs |")
    out.append("|---|--:|--:|--:|--:|")
    for cfg, label in (("fallback", "fallback, /16 underlay"), ("module", "module mode")):
        rows = rep.rows("setup", "kmem", cfg)
        if not rows:
            continue
        s = rep.stats("setup", "kmem", cfg)
        routes = next((r["tunl0_routes"] for r in rows if r.get("tunl0_routes")), "?")
        parts = []
        for field, name in (("slab_kib", "slab"), ("vmalloc_kib", "vmalloc"), ("percpu_kib", "per-cpu")):
            parts.append(f"{name} {fmt(rep.stats('setup', 'kmem', cfg, field).median, 0)}")
        out.append(
            f"| {label} ({routes} route{'' if routes == '1' else 's'} on tunl0; {', '.join(parts)} KiB) "
            f"| {fmt(s.median, 0)} KiB | {fmt(s.min, 0)} | {fmt(s.max, 0)} | {s.n} |"
        )


def targets_table(rep, out):
    out.append("| target | measured (ratio of medians) | per-round ratios, min–max | met |")
    out.append("|---|--:|--:|:-:|")

    def row(label, value, goal, paired=None, lower_is_better=False, unit=""):
        if value is None:
            out.append(f"| {label} | not measured | – | – |")
            return
        met = value <= goal if lower_is_better else value >= goal
        rng = "–"
        if paired is not None and paired.n:
            rng = f"{paired.min:.3f}–{paired.max:.3f}"
        shown = f"{fmt(value)} {unit}".strip() if unit else f"{value:.3f}"
        out.append(f"| {label} | {shown} | {rng} | {'yes' if met else '**no**'} |")

    for cfg in ("d", "c"):
        for test, (label, _) in TESTS.items():
            row(
                f"({cfg})/(b) {label} >= 0.98",
                ratio(rep.stats("net", test, cfg).median, rep.stats("net", test, "b").median),
                0.98,
                rep.paired("net", test, cfg, test, "b"),
            )
    row(
        "256 maps / 1 map, UDP 64 B packet rate >= 0.97",
        ratio(rep.stats("net", "udp64", "d256").median, rep.stats("net", "udp64", "d").median),
        0.97,
        rep.paired("net", "udp64", "d256", "udp64", "d"),
    )
    clock = Clock(rep.info)
    row(
        f"`fanctl up`, module mode, <= 50 ms ({clock.short})",
        rep.stats("setup", "fanctl_up", "module").median,
        50,
        lower_is_better=True,
        unit="ms",
    )
    row(
        f"`fanctl up`, fallback, /16 underlay, <= 2 s ({clock.short})",
        rep.stats("setup", "fanctl_up", "fallback").median,
        2000,
        lower_is_better=True,
        unit="ms",
    )


def checks(rep):
    """Sanity: the clock was the one asked for, one vCPU, the tunnel
    configurations really sent through their tunnel, (e) had fanctl's
    routes."""
    notes = []
    problem = Clock(rep.info).problem()
    if problem:
        notes.append(f"the clock is unverified: {problem}")
    if rep.info.get("vcpus", "1") != "1":
        notes.append(f"the guest had {rep.info['vcpus']} vCPUs: the method is that of one")
    for r in rep.routes:
        if r.get("same_as_fanctl") == "0":
            notes.append(f"(e): {r['host']}'s tunl0 routes were not those fanctl made")
    for (kind, test, cfg), rounds in sorted(rep.by.items()):
        if kind != "net" or cfg == "a":
            continue
        for rnd, r in rounds.items():
            if (num(r.get("dev_tx_pkts")) or 0) <= 0:
                notes.append(f"{test} {cfg} round {rnd}: nothing went out through {r.get('dev')}")
    return notes


def markdown(rep):
    info = rep.info
    out = ["# Fan benchmarks: latest run", ""]
    if rep.quick():
        out += [
            "> **QUICK MODE** (`FAN_BENCH_QUICK=1`): 1-second runs, 1 round. For",
            "> developing the benchmark only: these figures are not for claims.",
            "",
        ]
    c = Clock(info)
    shift = c.shift
    if shift is not None:
        clock = (
            f"instruction-counted time (QEMU `-icount shift={shift},sleep=on`, read back from "
            f"QEMU's command line; the guest's TSC at {fmt(c.tsc_mhz, 1)} MHz, one tick per "
            f"virtual ns, as icount makes it: while the guest runs, its clock advances {2**shift} ns per "
            "instruction executed, so a saturated run measures instructions, not the busy host; "
            "idle time passes in real time)"
        )
    elif c.verified:
        clock = (
            "wall-clock time (QEMU TCG without icount, read back from QEMU's command line; "
            f"the guest's TSC at {fmt(c.tsc_mhz, 0)} MHz: the busy host's noise is in the figures)"
        )
    else:
        clock = f"**unverified**: {c.problem()}. Times and rates below are on an unknown clock"
    out += [
        f"- Date: {info.get('date', '?')}, commit {info.get('git', '?')}",
        f"- Host: {info.get('host_cpu', '?').replace('_', ' ')}, {info.get('host_cores', '?')} cores, "
        f"{info.get('host_mem_gib', '?')} GiB, kernel {info.get('host_kernel', '?')}, "
        f"QEMU {info.get('qemu', '?')}; load average (1/5/15 min) "
        f"{info.get('host_load_before', '?')} before, {info.get('host_load_after', '?')} after",
        f"- Guest: Linux {info.get('guest_kernel', '?')} under QEMU TCG (no KVM), "
        f"{info.get('vcpus', '?')} vCPU (QEMU `-smp {info.get('qemu_smp', '?')}`; "
        f"{info.get('guest_cpu', '?').replace('_', ' ')}), "
        f"iperf3 {info.get('iperf3', '?')}",
        f"- Clock: {clock}",
        f"- {info.get('rounds', '?')} round(s), {info.get('seconds', '?')} s per iperf3 run, "
        f"configurations alternating {info.get('configs', '?').replace(',', ' ')} in every round; "
        f"{info.get('guest_seconds', '?')} s of guest time, {info.get('host_seconds', '?')} s in all; "
        f"VM exit status {info.get('vm_status', '?')}",
        "",
        "Medians over the rounds, min and max beside them; *spread* is",
        "(max − min) / median. Rates and times are per second of the guest's",
        "clock above. Ratios are ratios of medians. Absolute figures",
        "from a TCG guest say nothing about hardware: compare ratios. CPU",
        "µs/packet: the guest's busy CPU time (/proc/stat) over the packets",
        "c28 received, from 1 s into a run to 0.5 s before its end; every run",
        "saturates the vCPU, so it is close to 1 / packet rate.",
        "",
        "## Throughput and packet rate (c27 → c28, across two hosts)",
        "",
    ]
    net_table(rep, out)
    out += [
        "",
        "## Where (d)'s cost goes: (e) sends each packet to its own destination too",
        "",
        "(e) is Linux's ipip on tunl0 with no remote and the routes fanctl's",
        "fallback installs (one onlink route per peer host and the overlay",
        "route): like (d), and unlike (b) and (c), it finds the underlay",
        "destination per packet. It looks the underlay route up for every",
        "packet (ip_tunnel_xmit's dst_cache serves fixed-remote tunnels only);",
        "(d) keeps routes per CPU and destination (kmod/route.rs).",
        "",
    ]
    routes_lines(rep, out)
    diagnosis_table(rep, out)
    out += ["", "## Map count: (d) with more maps on tunl0 (UDP 64 B)", ""]
    maps_table(rep, out)
    out += ["", "## Setup", ""]
    setup_table(rep, out)
    out += ["", "## Targets", ""]
    targets_table(rep, out)
    notes = rep.warnings + checks(rep)
    if notes:
        out += ["", "## Warnings", ""] + [f"- {n}" for n in notes]
    out.append("")
    return "\n".join(out)


def chart(rep, path):
    try:
        import matplotlib

        matplotlib.use("Agg")
        import matplotlib.pyplot as plt
    except ImportError:
        return "matplotlib is missing: no chart"

    colors = {
        "a": "#999999",
        "b": "#4c72b0",
        "c": "#dd8452",
        "d": "#55a868",
        "e": "#8172b3",
        "bf": "#8fa9d8",
        "df": "#93cfa3",
    }
    fig, axes = plt.subplots(2, 3, figsize=(15, 8.5))
    clock = Clock(rep.info)
    title = "Fan benchmarks (QEMU TCG guest: compare ratios, not absolute figures)"
    if clock.shift is not None:
        title += f", instruction-counted time (icount shift {clock.shift})"
    else:
        title += f", {clock.name}"
    if rep.quick():
        title = "QUICK MODE, NOT FOR CLAIMS: " + title
    fig.suptitle(title, fontsize=12)

    def bars(ax, labels, stats, cols, unit, subtitle, ref=None):
        med = [s.median or 0 for s in stats]
        lo = [(s.median - s.min) if s.n else 0 for s in stats]
        hi = [(s.max - s.median) if s.n else 0 for s in stats]
        xs = range(len(labels))
        ax.bar(xs, med, color=cols, yerr=[lo, hi], capsize=4, ecolor="black")
        ax.set_xticks(list(xs))
        ax.set_xticklabels(labels, fontsize=8)
        ax.set_ylabel(unit)
        ax.set_title(subtitle, fontsize=10)
        for x, s in zip(xs, stats):
            if s.n and ref:
                ax.annotate(
                    f"{s.median / ref:.3f}",
                    (x, s.median),
                    textcoords="offset points",
                    xytext=(0, 3),
                    ha="center",
                    fontsize=8,
                )

    short = {
        "a": "(a) none",
        "b": "(b) ipip.ko",
        "c": "(c) ours,\nfixed",
        "d": "(d) ours,\nfan map",
        "e": "(e) ipip.ko,\nfanctl's\nfallback",
        "bf": "(bf) ipip.ko\n+ FOU",
        "df": "(df) ours\n+ FOU",
    }
    for ax, (test, (label, unit)) in zip(axes.flat, TESTS.items()):
        cfgs = [c for c in list(CONFIGS) + ["e"] if rep.stats("net", test, c).n]
        stats = [rep.stats("net", test, c) for c in cfgs]
        ref = rep.stats("net", test, "b").median
        bars(
            ax,
            [short[c] for c in cfgs],
            stats,
            [colors[c] for c in cfgs],
            unit,
            f"{label} (labels: ratio to (b))",
            ref,
        )

    ax = axes.flat[4]
    stats = [rep.stats("net", "udp64", cfg) for cfg, _ in MAPS]
    bars(
        ax,
        [f"{n} map{'s' if n > 1 else ''}" for _, n in MAPS],
        stats,
        [colors["d"]] * len(MAPS),
        "kpps",
        "(d) UDP 64 B vs map count (labels: ratio to 1 map)",
        rep.stats("net", "udp64", "d").median,
    )

    ax = axes.flat[5]
    items = [
        ("fanctl_up", "module", "up\nmodule"),
        ("fanctl_down", "module", "down\nmodule"),
        ("fanctl_up", "fallback", "up\nfallback /16"),
        ("fanctl_down", "fallback", "down\nfallback /16"),
    ]
    stats = [rep.stats("setup", t, c) for t, c, _ in items]
    bars(ax, [lbl for _, _, lbl in items], stats, ["#55a868", "#55a868", "#c44e52", "#c44e52"], "ms", f"fanctl, {clock.name} (log scale)")
    if any(s.n for s in stats):
        ax.set_yscale("log")
    for x, s in enumerate(stats):
        if s.n:
            ax.annotate(f"{s.median:,.0f} ms", (x, s.median), textcoords="offset points", xytext=(0, 3), ha="center", fontsize=8)

    fig.tight_layout(rect=(0, 0, 1, 0.96))
    fig.savefig(path, dpi=90)
    return None


def main():
    if len(sys.argv) != 4:
        print(__doc__, file=sys.stderr)
        return 2
    rep = Report(parse(sys.argv[1]))
    text = markdown(rep)
    note = chart(rep, sys.argv[3])
    if note:
        text += f"\n({note})\n"
    with open(sys.argv[2], "w") as f:
        f.write(text)
    problem = Clock(rep.info).problem()
    if problem:
        print(f"report.py: the clock is unverified: {problem}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
