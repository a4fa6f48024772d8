#!/usr/bin/env python3
"""readme_table.py: README.md's performance tables from one `make bench`
run's JSON (var/bench/latest.json), so the README says what one run
measured and nothing else.

    tests/bench/readme_table.py [JSON]            print the markdown
    tests/bench/readme_table.py --update [JSON]   also copy the run's JSON,
        plot and flame graph into tests/bench/results/ and replace what
        README.md holds between its bench-table markers

Renders: the closed-loop rows (BENCH_CONNS and the extra points) with
their ratios, the open-loop points with their targets, every section a
measurement added to the JSON ("sections": the x50 comparison, the
micro-cache, ...), login, memory, the flame graph, the plot and every
target, met or not, with its number.
"""
import datetime
import json
import os
import shutil
import sys

ROOT = os.path.realpath(os.path.join(os.path.dirname(__file__), "..", ".."))
LATEST = os.path.join(ROOT, "var", "bench", "latest.json")
RESULTS = os.path.join(ROOT, "tests", "bench", "results")
README = os.path.join(ROOT, "README.md")
BEGIN = "<!-- bench-table:begin (tests/bench/readme_table.py --update) -->"
END = "<!-- bench-table:end -->"
REF_NAMES = {"static return 200": "static",
             "GET /api/healthz": "FastCGI ceiling",
             "pgbench tpcb-like": "pgbench"}


def num(x):
    return "{:,.0f}".format(x)


def ms(x):
    return "%.1f" % x if x >= 10 else "%.2f" % x


def table(columns, rows):
    out = ["| " + " | ".join(columns) + " |",
           "|" + "|".join("---" for _ in columns) + "|"]
    out += ["| " + " | ".join(str(c) for c in r) + " |" for r in rows]
    return out


def closed_rows(doc):
    conns = set(doc.get("conns") or [16, 64])
    extra = {tuple(p) for p in doc.get("extra_points") or
             [("POST /pay/v1/payments", 1)]}
    idx = {(r["endpoint"], r["conns"]): r for r in doc["rows"]}
    out = []
    for r in doc["rows"]:
        if r["conns"] not in conns and (r["endpoint"], r["conns"]) \
                not in extra:
            continue
        ratio = []
        if r.get("ratio") is not None:
            ref = idx.get((r["ref"], r["conns"]))
            ratio.append("%.2f× %s%s" % (
                r["ratio"], REF_NAMES.get(r["ref"], r["ref"]),
                " (%s)" % num(ref["rps"]) if r["ref"] == "pgbench tpcb-like"
                and ref else ""))
        if r.get("ratio_flask"):
            ratio.append("%.1f× Flask" % r["ratio_flask"])
        out.append((r["endpoint"], r["conns"], num(r["rps"]), ms(r["p50_ms"]),
                    ms(r["p99_ms"]), r["non2xx"] + r["socket_errors"],
                    ", ".join(ratio)))
    return out


def open_rows(doc):
    out = []
    for r in doc.get("open_loop") or []:
        target = ""
        if r.get("target_p99_ms") is not None and r["load_pct"] == 50:
            ok = r["p99_ms"] <= r["target_p99_ms"] and not (
                r["non2xx"] or r["socket_errors"])
            target = "%s (≤ %d ms)" % ("met" if ok else "**not met**",
                                       r["target_p99_ms"])
        # The seconds' p99 from lowest to highest: a tail in one second
        # (low to high) is a stall, in every second (high to high) queueing.
        sec = r.get("p99_by_second_ms") or []
        spread = "%s–%s" % (ms(min(sec)), ms(max(sec))) if sec else ""
        lag = ms(r["send_lag_p99_ms"]) if "send_lag_p99_ms" in r else ""
        out.append((r["endpoint"], "%d %%" % r["load_pct"],
                    num(r["rate"]), num(r["saturation_rps"]),
                    ms(r["p50_ms"]), ms(r["p99_ms"]), ms(r["p999_ms"]),
                    spread, lag, r["non2xx"] + r["socket_errors"], target))
    return out


def render(doc, results_rel="tests/bench/results"):
    t = datetime.datetime.strptime(doc["time"], "%Y%m%d-%H%M%S")
    load = doc.get("loadavg_start")
    seed = doc.get("seed", {})
    md = ["Run of %s (%d cores%s; `BENCH_SCALE=%s`, %d s per closed-loop "
          "point%s%s; the whole `make bench` took %.0f s; JSON: "
          "`%s/latest.json`):" % (
              t.strftime("%Y-%m-%d %H:%M"), doc.get("host_cpus", 0),
              ", load average %.1f at the start" % load[0] if load else "",
              seed.get("scale", 1), doc.get("seconds", 0),
              ", %d s per open-loop point" % doc["open_loop_seconds"]
              if doc.get("open_loop_seconds") else "",
              " after %d s of warm-up" % doc["open_loop_warmup"]
              if doc.get("open_loop_warmup") else "",
              doc.get("elapsed_s", 0), results_rel), ""]
    md += table(("endpoint", "conns", "req/s", "p50 ms", "p99 ms", "errors",
                 "ratio"), closed_rows(doc))
    ol = open_rows(doc)
    if ol:
        md += ["", "Open loop (`tests/bench/openloop.c`): a constant offered "
               "rate at a share of the endpoint's saturation (its best req/s "
               "over every closed-loop point of the run, the plot's sweep "
               "included), latency from each request's intended start; "
               "\"p99 by second\" is the lowest and highest p99 of the "
               "seconds of the point (a tail in one second is a stall, in "
               "every second queueing), \"sent late p99\" how late the "
               "generator wrote its requests (its own share of the cores, "
               "or all its connections busy):", ""]
        md += table(("endpoint", "load", "offered req/s", "saturation req/s",
                     "p50 ms", "p99 ms", "p99.9 ms", "p99 by second ms",
                     "sent late p99 ms", "errors", "p99 target at 50 %"), ol)
    for s in doc.get("sections") or []:
        md += ["", "%s:" % s["title"].rstrip(":"), ""]
        md += table(s["columns"], s["rows"])
        if s.get("note"):
            md += ["", s["note"]]
    lg = doc.get("login")
    if lg:
        md += ["", "Login (Argon2id, %d MiB per hash, on purpose): %.1f/s at "
               "%d connections, p50 %.0f ms, p99 %.0f ms, errors %d." % (
                   lg["argon2id_memory_kib"] // 1024, lg["rps"], lg["conns"],
                   lg["p50_ms"], lg["p99_ms"], lg["errors"])]
    b, a = doc.get("rss_before") or {}, doc.get("rss_after") or {}
    if b:
        md += ["Replica RSS over the closed-loop points: " + ", ".join(
            "%s %.1f → %.1f MB" % (k, v["rss_kb"] / 1024,
                                   a[k]["rss_kb"] / 1024)
            for k, v in sorted(b.items()) if v and a.get(k)) + "."]
    p = doc.get("profile")
    if p:
        md += ["", "Profile (`make bench PROFILE=1`): %s at %d connections "
               "once more under `perf record -e %s -F %d --call-graph %s` "
               "on %s (samples: %s; %s req/s under perf). Flame graph, one "
               "tower per process (hover a box for its share): "
               "[`%s/flame-latest.svg`](%s/flame-latest.svg)." % (
                   p["endpoint"], p["conns"], p["event"], p["hz"],
                   p.get("call_graph", "dwarf"),
                   ", ".join(p["processes"]), ", ".join(
                       "%s %d" % kv for kv in sorted(p["samples"].items())),
                   num(p["rps_under_perf"]), results_rel, results_rel)]
    if doc.get("plot"):
        md += ["", "![throughput and p99 against connections](%s/"
               "bench-latest.png)" % results_rel]
    md += ["", "Targets, as this run measured them:", ""]
    md += ["- %s %s: %s" % ("met:" if x["met"] else "**not met**:",
                            x["target"], x["detail"])
           for x in doc.get("targets") or []]
    return "\n".join(md) + "\n"


def copy(src, dst):
    """src to dst unless they are one file already."""
    if os.path.exists(dst) and os.path.samefile(src, dst):
        return
    shutil.copyfile(src, dst)


def update(doc, src):
    """The run's files go along only from the run's own var/bench/ (a
    JSON copied elsewhere names files that may be another run's now)."""
    os.makedirs(RESULTS, exist_ok=True)
    copy(src, os.path.join(RESULTS, "latest.json"))
    here = os.path.dirname(os.path.realpath(src))
    plot = doc.get("plot") or ""
    if os.path.dirname(plot) == here and os.path.exists(plot):
        copy(plot, os.path.join(RESULTS, "bench-latest.png"))
    svg = ((doc.get("profile") or {}).get("svg") or {}).get("all", "")
    if os.path.dirname(os.path.dirname(svg)) == here and \
            os.path.exists(svg):
        copy(svg, os.path.join(RESULTS, "flame-latest.svg"))
    with open(README) as f:
        text = f.read()
    if BEGIN not in text or END not in text:
        raise SystemExit("readme_table: README.md has no bench-table "
                         "markers")
    head, rest = text.split(BEGIN, 1)
    _, tail = rest.split(END, 1)
    with open(README, "w") as f:
        f.write(head + BEGIN + "\n" + render(doc) + END + tail)


def main(argv):
    args = [a for a in argv[1:] if a != "--update"]
    src = args[0] if args else LATEST
    with open(src) as f:
        doc = json.load(f)
    if "--update" in argv:
        update(doc, src)
        print("readme_table: README.md and %s updated from %s" % (
            os.path.relpath(RESULTS, ROOT), src))
    else:
        sys.stdout.write(render(doc))
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
