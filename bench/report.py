#!/usr/bin/env python3
"""Summarise a bench/run results folder: medians, ratios to the anchors of the
same run, goals; writes summary.json, results.md and SVG plots (gnuplot).

    bench/report.py RESULTS_DIR [--publish DOCS_DIR]

--publish also writes DOCS_DIR/performance.md and copies the plots there as
perf-*.svg, so that the page renders from the repository.
"""
import csv
import glob
import json
import os
import re
import shutil
import statistics
import subprocess
import sys
from collections import defaultdict


def load_raw(path):
    """{(bench, variant, param): {metric: [values by run]}}"""
    data = defaultdict(lambda: defaultdict(list))
    with open(path) as f:
        for row in csv.DictReader(f):
            try:
                v = float(row["value"])
            except ValueError:
                continue
            data[(row["bench"], row["variant"], row["param"])][row["metric"]].append(v)
    return data


def med(values):
    return statistics.median(values) if values else None


def spread(values):
    """Relative spread (max - min) / median, for the noise column."""
    if not values or len(values) < 2:
        return None
    m = statistics.median(values)
    return (max(values) - min(values)) / m if m else None


def load_conf(path):
    """conf-load.sh output -> {(kind, n): {load_ms: [...], cpu_ms: [...], rss: x}}"""
    out = defaultdict(lambda: defaultdict(list))
    if not os.path.exists(path):
        return out
    key = None
    for line in open(path):
        m = re.match(r"== (\d+) (\w+) domain files", line)
        if m:
            key = (m.group(2), int(m.group(1)))
            continue
        m = re.match(r"load \d+: .* in ([\d.]+) ms \(([\d.]+) ms of CPU\)", line)
        if m and key:
            out[key]["load_ms"].append(float(m.group(1)))
            out[key]["cpu_ms"].append(float(m.group(2)))
        m = re.match(r"peak RSS: ([\d.]+) MiB", line)
        if m and key:
            out[key]["rss_mib"].append(float(m.group(1)))
    return out


def fmt(x, nd=1):
    if x is None:
        return "–"
    if abs(x) >= 100:
        return f"{x:,.0f}"
    return f"{x:.{nd}f}"


def verdict(ok):
    if ok is None:
        return "not measured"
    return "**met**" if ok else "**missed**"


VARIANT_NAMES = {
    "pty": "bare pty (read directly)",
    "conbroker-unix": "conbroker, Unix socket",
    "conbroker-tcp": "conbroker, TCP loopback",
    "socat": "socat (pty ↔ TCP)",
    "ser2net": "ser2net 4 (TCP)",
    "conman": "ConMan (conmand, TCP)",
}
VARIANTS = list(VARIANT_NAMES)


def summarise(d, raw, conf):
    s = {"goals": []}
    md = []

    def goal(name, figure, target, ok):
        s["goals"].append({"goal": name, "figure": figure, "target": target, "met": ok})

    # --- throughput
    tput = {}
    for v in VARIANTS:
        r = raw.get(("tput", v, next((k[2] for k in raw if k[0] == "tput" and k[1] == v), "")))
        if r:
            mib = [b / 1048576 for b in r["bytes"]]
            tput[v] = {
                "mibps": med(r["mibps"]), "spread": spread(r["mibps"]), "runs": len(r["mibps"]),
                "relay_cpu_s_per_gib": med([c / m * 1024 for c, m in zip(r["relay_cpu_s"], mib) if m]),
                "complete": min(r["complete"]) if r["complete"] else None,
            }
    s["tput"] = tput
    base = tput.get("pty", {}).get("mibps")
    if tput:
        md.append("### Guest-output throughput\n")
        md.append("The hypervisor side writes as fast as the pty takes bytes; the client reads "
                  "and drops them. Median of the runs; ratio to the bare pty of the same runs. "
                  "Relay CPU: the relay process alone (conbrokerd, socat, ser2net, conmand).\n")
        md.append("| path | MiB/s | × bare pty | spread | relay CPU s/GiB |")
        md.append("|---|---:|---:|---:|---:|")
        for v, t in tput.items():
            ratio = t["mibps"] / base if base else None
            t["ratio"] = ratio
            note = "" if t["complete"] else " (timed out; rate of what arrived)"
            md.append(f"| {VARIANT_NAMES[v]}{note} | {fmt(t['mibps'])} | {fmt(ratio, 2)} | "
                      f"{fmt(100 * t['spread'], 0) + ' %' if t['spread'] is not None else '–'} | "
                      f"{fmt(t['relay_cpu_s_per_gib'], 2) if v != 'pty' else '–'} |")
        md.append("")
        for v in ("conbroker-unix", "conbroker-tcp"):
            if v in tput and base:
                goal(f"throughput, {VARIANT_NAMES[v]}", f"{tput[v]['ratio']:.2f} × bare pty",
                     "≥ 0.95 ×", tput[v]["ratio"] >= 0.95)

    # --- cpu per GiB with real clients
    cpu = {}
    for v in ("conbroker", "socat"):
        key = next((k for k in raw if k[0] == "cpu" and k[1] == v), None)
        if key:
            r = raw[key]
            cpu[v] = {"cpu_s_per_gib": med(r["cpu_s_per_gib"]), "mibps": med(r["mibps"]),
                      "spread": spread(r["cpu_s_per_gib"])}
    s["cpu"] = cpu
    if cpu:
        md.append("### CPU per GiB relayed (relay + its client, client output to /dev/null)\n")
        md.append("conbroker: conbrokerd + `conbroker console` (writer session); socat: the relay "
                  "(`TCP-LISTEN` ↔ the pty) + `socat -u TCP:… STDOUT`. CPU from /proc/PID/stat "
                  "(10 ms ticks), summed over both processes.\n")
        md.append("| relay + client | CPU s/GiB | × socat | writer-side MiB/s |")
        md.append("|---|---:|---:|---:|")
        sb = cpu.get("socat", {}).get("cpu_s_per_gib")
        for v, c in cpu.items():
            c["ratio"] = c["cpu_s_per_gib"] / sb if sb else None
            md.append(f"| {v} | {fmt(c['cpu_s_per_gib'], 2)} | {fmt(c['ratio'], 2)} | {fmt(c['mibps'])} |")
        md.append("")
        if "conbroker" in cpu and sb:
            goal("CPU per GiB (daemon + client)", f"{cpu['conbroker']['ratio']:.2f} × socat",
                 "≤ 0.7 ×", cpu["conbroker"]["ratio"] <= 0.7)

    # --- rtt
    rtt = {}
    for v in VARIANTS:
        r = raw.get(("rtt", v, "1B"))
        if r:
            rtt[v] = {m: med(r[m]) for m in ("p50_us", "p99_us", "p999_us", "mean_us")}
            rtt[v]["p99_spread"] = spread(r["p99_us"])
    s["rtt"] = rtt
    if rtt:
        md.append("### Keystroke round trip\n")
        md.append("One byte written by the client, echoed by the hypervisor side, read back; "
                  "200 µs between keys. Median over the runs of each run's percentile; overhead "
                  "= minus the bare pty's figure of the same runs.\n")
        md.append("| path | p50 µs | p99 µs | p99.9 µs | p99 overhead µs |")
        md.append("|---|---:|---:|---:|---:|")
        bp = rtt.get("pty", {}).get("p99_us")
        for v, t in rtt.items():
            t["p99_overhead_us"] = t["p99_us"] - bp if bp is not None else None
            md.append(f"| {VARIANT_NAMES[v]} | {fmt(t['p50_us'])} | {fmt(t['p99_us'])} | "
                      f"{fmt(t['p999_us'])} | {fmt(t['p99_overhead_us']) if v != 'pty' else '–'} |")
        md.append("")
        for v in ("conbroker-unix", "conbroker-tcp"):
            if v in rtt and bp is not None:
                goal(f"keystroke p99 overhead, {VARIANT_NAMES[v]}",
                     f"{rtt[v]['p99_overhead_us']:.0f} µs", "≤ 50 µs", rtt[v]["p99_overhead_us"] <= 50)

    # --- scale
    scale = {}
    for key, r in raw.items():
        if key[0] == "scale":
            scale[int(key[2])] = {m: med(vals) for m, vals in r.items()}
    s["scale"] = dict(sorted(scale.items()))
    if scale:
        md.append("### Scale: consoles attached at once\n")
        md.append("One process holds every pty (echoing), one libuv client holds every session "
                  "(a writer each, with heartbeats). RSS: the broker's VmRSS after attaching minus "
                  "before, per console. Idle CPU: the broker over the idle window. Echo: 1,000 "
                  "keys on one console, 1 ms apart, while the others idle, then while "
                  f"{raw_meta(d).get('stream_consoles', '100')} of them each stream "
                  f"{int(raw_meta(d).get('stream_bps', '65536')) // 1024} KiB/s.\n")
        md.append("| consoles | attached | attach all s | RSS/console KiB | idle CPU % | "
                  "echo p50/p99 µs, idle | echo p50/p99 µs, streaming | broker CPU % streaming |")
        md.append("|---:|---:|---:|---:|---:|---:|---:|---:|")
        for n, t in sorted(scale.items()):
            md.append(f"| {n:,} | {fmt(t.get('attached'), 0)} | {fmt(t.get('attach_all_secs'), 2)} | "
                      f"{fmt(t.get('rss_per_console_kib'), 1)} | {fmt(t.get('idle_cpu_pct'), 2)} | "
                      f"{fmt(t.get('rtt_idle_p50_us'))} / {fmt(t.get('rtt_idle_p99_us'))} | "
                      f"{fmt(t.get('rtt_stream_p50_us'))} / {fmt(t.get('rtt_stream_p99_us'))} | "
                      f"{fmt(t.get('stream_cpu_pct'), 1)} |")
        md.append("")
        big = scale.get(max(scale))
        n = max(scale)
        goal(f"{n:,} consoles attached", f"{fmt(big.get('attached'), 0)}", f"{n:,}",
             (big.get("attached") or 0) >= n)
        if big.get("idle_cpu_pct") is not None:
            goal(f"idle CPU at {n:,} consoles", f"{big['idle_cpu_pct']:.2f} %", "< 1 %",
                 big["idle_cpu_pct"] < 1)
        if big.get("rss_per_console_kib") is not None:
            goal(f"memory per console at {n:,}", f"{big['rss_per_console_kib']:.1f} KiB",
                 "≤ 32 KiB beyond the ring", big["rss_per_console_kib"] <= 32)

    # --- fanout
    fan = {}
    for key, r in raw.items():
        if key[0] == "fanout":
            w = int(key[2])
            fan[w] = {"mibps": med(r["mibps"]), "spread": spread(r["mibps"]),
                      "relay_cpu_s": med(r["relay_cpu_s"])}
            if r.get("watcher_bytes") and r.get("bytes") and w:
                fan[w]["watcher_share"] = med([wb / (b * w) for wb, b in zip(r["watcher_bytes"], r["bytes"])])
    s["fanout"] = dict(sorted(fan.items()))
    if fan:
        alone = fan.get(0, {}).get("mibps")
        md.append("### Fan-out: one console, its writer and N watchers\n")
        md.append("The writer's throughput (the same transfer as above, over the Unix socket) "
                  "while N read-only watchers, in one other process, read as fast as they can. "
                  "Watchers that fall a ring behind skip ahead (their share of the stream is "
                  "shown).\n")
        md.append("| watchers | writer MiB/s | × alone | share of the stream each watcher got |")
        md.append("|---:|---:|---:|---:|")
        for w, t in sorted(fan.items()):
            t["ratio"] = t["mibps"] / alone if alone else None
            md.append(f"| {w} | {fmt(t['mibps'])} | {fmt(t['ratio'], 2)} | "
                      f"{fmt(100 * t['watcher_share'], 0) + ' %' if t.get('watcher_share') is not None else '–'} |")
        md.append("")
        if 100 in fan and alone:
            goal("writer throughput with 100 watchers", f"{fan[100]['ratio']:.2f} × alone",
                 "≥ 0.9 ×", fan[100]["ratio"] >= 0.9)

    # --- sessions
    sess = {}
    for key, r in raw.items():
        if key[0] == "session":
            sess[key[1]] = {m: med(v) for m, v in r.items()}
    s["session"] = sess
    if sess:
        md.append("### Attach and forced takeover (Unix socket)\n")
        md.append("Attach: connect, HELLO, OPEN, until OPENED (the device is opened and locked "
                  "at each attach, then released at DETACH). Takeover: OPEN with FORCE on a "
                  "console with a live writer, until OPENED; evicted: until the old writer has "
                  "its CLOSED.\n")
        md.append("| operation | OPEN→OPENED p50 µs | p99 µs | connect→OPENED p50 µs | p99 µs |")
        md.append("|---|---:|---:|---:|---:|")
        for k in ("attach", "takeover"):
            if k in sess:
                t = sess[k]
                md.append(f"| {k} | {fmt(t.get('open_p50_us'))} | {fmt(t.get('open_p99_us'))} | "
                          f"{fmt(t.get('full_p50_us'))} | {fmt(t.get('full_p99_us'))} |")
        if "takeover" in sess and sess["takeover"].get("evicted_p99_us") is not None:
            t = sess["takeover"]
            md.append(f"| evicted writer told | {fmt(t.get('evicted_p50_us'))} | "
                      f"{fmt(t.get('evicted_p99_us'))} | | |")
        md.append("")
        if "takeover" in sess:
            p99 = sess["takeover"].get("open_p99_us")
            if p99 is not None:
                goal("forced takeover p99", f"{p99 / 1000:.2f} ms", "≤ 5 ms", p99 <= 5000)

    # --- conf
    if conf:
        s["conf"] = {f"{k[0]}-{k[1]}": {m: med(v) for m, v in t.items()} for k, t in conf.items()}
        md.append("### Config load (`bench/conf-load.sh`)\n")
        md.append("`conf_load()` of a domains directory of libvirt files: live `<domstatus>` "
                  "files as in /run/libvirt/qemu, and inactive definitions; median of 3 loads.\n")
        md.append("| domain files | kind | load ms | CPU ms | peak RSS MiB |")
        md.append("|---:|---|---:|---:|---:|")
        for (kind, n), t in sorted(conf.items(), key=lambda x: (x[0][1], x[0][0])):
            md.append(f"| {n:,} | {kind} | {fmt(med(t['load_ms']))} | {fmt(med(t['cpu_ms']))} | "
                      f"{fmt(med(t['rss_mib']))} |")
        md.append("")
        for kind in ("live", "inactive"):
            t = conf.get((kind, 10000))
            if t:
                ms = med(t["load_ms"])
                goal(f"config load, 10,000 {kind} domain files", f"{ms / 1000:.2f} s", "≤ 1 s", ms <= 1000)
    return s, md


def raw_meta(d):
    meta = {}
    p = os.path.join(d, "machine.txt")
    if os.path.exists(p):
        for line in open(p):
            if "=" in line:
                k, v = line.rstrip("\n").split("=", 1)
                meta[k] = v
    return meta


def goals_table(s):
    md = ["| goal | measured | target | |", "|---|---:|---:|---|"]
    for g in s["goals"]:
        md.append(f"| {g['goal']} | {g['figure']} | {g['target']} | {verdict(g['met'])} |")
    return md


def machine_md(meta):
    keys = [("nproc", "CPUs"), ("cpu", "CPU model"), ("kernel", "kernel"), ("memory", "memory"),
            ("libuv", "libuv"), ("socat", "socat"), ("ser2net", "ser2net"), ("conman", "ConMan"),
            ("gcc", "gcc"), ("conbroker", "conbroker commit"), ("date", "date"),
            ("mode", "mode"), ("runs", "runs per figure"), ("idle_secs", "idle window, s"),
            ("loadavg_start", "load average at start"), ("loadavg_end", "load average at end"),
            ("suite_secs", "suite time, s"), ("pty_max_raised_from", "pty/max raised from")]
    out = ["| | |", "|---|---|"]
    for k, name in keys:
        if k in meta:
            out.append(f"| {name} | {meta[k]} |")
    return out


def gnuplot(script):
    subprocess.run(["gnuplot"], input=script, text=True, check=False,
                   stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)


def plots(d, s):
    made = []
    term = "set terminal svg size 720,400 dynamic font 'sans,11' background rgb 'white'\n"
    style = "set style fill solid 0.8 border -1\nset boxwidth 0.6\nset grid ytics\nunset key\n"
    if s.get("tput"):
        dat = os.path.join(d, "plot-tput.dat")
        with open(dat, "w") as f:
            for i, (v, t) in enumerate(s["tput"].items()):
                f.write(f'{i} "{v}" {t["mibps"]:.2f}\n')
        out = os.path.join(d, "perf-throughput.svg")
        gnuplot(term + style + f"""set output '{out}'
set title 'Guest-output throughput (MiB/s, median)'
set ylabel 'MiB/s'
set yrange [0:*]
set xtics rotate by -20
plot '{dat}' using 1:3:xtic(2) with boxes lc rgb '#4472c4', '' using 1:3:(sprintf('%.0f',$3)) with labels offset 0,0.7
""")
        made.append(out)
    if s.get("cpu") or s.get("tput"):
        dat = os.path.join(d, "plot-cpu.dat")
        with open(dat, "w") as f:
            i = 0
            for v, c in s.get("cpu", {}).items():
                f.write(f'{i} "{v} + client" {c["cpu_s_per_gib"]:.3f}\n')
                i += 1
            for v, t in s.get("tput", {}).items():
                if v != "pty" and t.get("relay_cpu_s_per_gib") is not None:
                    f.write(f'{i} "{v} (relay only)" {t["relay_cpu_s_per_gib"]:.3f}\n')
                    i += 1
        out = os.path.join(d, "perf-cpu.svg")
        gnuplot(term + style + f"""set output '{out}'
set title 'CPU seconds per GiB relayed (median)'
set ylabel 'CPU s / GiB'
set yrange [0:*]
set xtics rotate by -25
plot '{dat}' using 1:3:xtic(2) with boxes lc rgb '#ed7d31', '' using 1:3:(sprintf('%.2f',$3)) with labels offset 0,0.7
""")
        made.append(out)
    files = []
    for v in VARIANTS:
        p = os.path.join(d, f"rtt-{v}-1.txt")
        if os.path.exists(p):
            vals = sorted(float(x) for x in open(p) if x.strip())
            if not vals:
                continue
            dat = os.path.join(d, f"plot-rtt-{v}.dat")
            # At most 400 points per curve: the plot, not the samples, is committed.
            step = max(1, len(vals) // 400)
            with open(dat, "w") as f:
                for i in list(range(0, len(vals), step)) + [len(vals) - 1]:
                    f.write(f"{vals[i]} {(i + 1) / len(vals)}\n")
            files.append((v, dat))
    if files:
        out = os.path.join(d, "perf-rtt.svg")
        plot = ", ".join(f"'{dat}' using 1:2 with lines lw 2 title '{v}'" for v, dat in files)
        gnuplot(term + f"""set output '{out}'
set title 'Keystroke round trip, distribution (first run)'
set xlabel 'µs (log scale)'
set ylabel 'fraction of keys'
set logscale x
set grid
set key right bottom
plot {plot}
""")
        made.append(out)
    if s.get("fanout"):
        dat = os.path.join(d, "plot-fanout.dat")
        with open(dat, "w") as f:
            for i, (w, t) in enumerate(sorted(s["fanout"].items())):
                f.write(f'{i} "{w}" {t["mibps"]:.2f}\n')
        out = os.path.join(d, "perf-fanout.svg")
        gnuplot(term + style + f"""set output '{out}'
set title "Writer's throughput with N watchers (MiB/s, median)"
set xlabel 'watchers'
set ylabel 'MiB/s'
set yrange [0:*]
plot '{dat}' using 1:3:xtic(2) with boxes lc rgb '#70ad47', '' using 1:3:(sprintf('%.0f',$3)) with labels offset 0,0.7
""")
        made.append(out)
    if s.get("scale"):
        dat = os.path.join(d, "plot-scale.dat")
        with open(dat, "w") as f:
            for n, t in sorted(s["scale"].items()):
                f.write(f"{n} {t.get('rss_per_console_kib', 0):.2f} {t.get('idle_cpu_pct', 0):.3f} "
                        f"{t.get('rtt_idle_p99_us', 0):.1f} {t.get('rtt_stream_p99_us', 0):.1f}\n")
        out = os.path.join(d, "perf-scale.svg")
        gnuplot(term + f"""set output '{out}'
set multiplot layout 1,2 title 'Scale (consoles attached at once)'
set logscale x
set grid
set xlabel 'consoles'
set ylabel 'KiB per console / idle CPU %'
set key left top
plot '{dat}' using 1:2 with linespoints lw 2 title 'RSS KiB/console', '' using 1:3 with linespoints lw 2 title 'idle CPU %'
set ylabel 'µs'
plot '{dat}' using 1:4 with linespoints lw 2 title 'echo p99, idle', '' using 1:5 with linespoints lw 2 title 'echo p99, streaming'
unset multiplot
""")
        made.append(out)
    return [m for m in made if os.path.exists(m) and os.path.getsize(m) > 0]


def main():
    if len(sys.argv) < 2:
        print(__doc__, file=sys.stderr)
        return 2
    d = sys.argv[1]
    docs = sys.argv[sys.argv.index("--publish") + 1] if "--publish" in sys.argv else None
    raw = load_raw(os.path.join(d, "raw.csv"))
    conf = load_conf(os.path.join(d, "conf-load.txt"))
    meta = raw_meta(d)
    s, body = summarise(d, raw, conf)
    s["machine"] = meta
    with open(os.path.join(d, "summary.json"), "w") as f:
        json.dump(s, f, indent=1, default=str)
    made = plots(d, s)
    head = ["## Goals\n"] + goals_table(s) + ["", "## Machine and versions\n"] + machine_md(meta) + [""]
    with open(os.path.join(d, "results.md"), "w") as f:
        f.write("# conbroker benchmark results\n\n" + "\n".join(head + body) + "\n")
        for m in made:
            f.write(f"![{os.path.basename(m)}]({os.path.basename(m)})\n\n")
    if docs:
        tpl = os.path.join(os.path.dirname(os.path.abspath(__file__)), "performance.md.in")
        text = open(tpl).read()
        for old in glob.glob(os.path.join(docs, "perf-*.svg")):
            os.remove(old)
        imgs = []
        for m in made:
            shutil.copy(m, os.path.join(docs, os.path.basename(m)))
            imgs.append(f"![{os.path.basename(m)[5:-4]}]({os.path.basename(m)})\n")
        text = (text.replace("@GOALS@", "\n".join(goals_table(s)))
                .replace("@MACHINE@", "\n".join(machine_md(meta)))
                .replace("@TABLES@", "\n".join(body))
                .replace("@PLOTS@", "\n".join(imgs)))
        with open(os.path.join(docs, "performance.md"), "w") as f:
            f.write(text)
    print(os.path.join(d, "results.md"))
    return 0


if __name__ == "__main__":
    sys.exit(main())
