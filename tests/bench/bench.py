#!/usr/bin/env python3
"""bench.py: the measurements of `make bench` (tests/bench/run.sh starts the
private nginx and the Flask reference, then runs this).

Seeds, logs the bench users in, runs wrk (tests/bench/bench.lua) and pgbench
point by point, prints one table with every figure next to its reference
measured in the same run, writes var/bench/results-<time>.json and
latest.json, and draws var/bench/bench.png with gnuplot.

Settings (environment, defaults in brackets): BENCH_SCALE [1] multiplies the
articles (50: 1M); BENCH_SECONDS [7] per point; BENCH_WARMUP [2] seconds per
endpoint before its first point; BENCH_CONNS [16,64]; BENCH_SWEEP
[1,4,16,64,256] for the plot; BENCH_TOKENS [64] users logged in;
BENCH_PORT [8081 + STACK_PORT_OFFSET] the private nginx; PGBENCH_SCALE [64]; BENCH_RESEED=1
writes the seed again even when it is present.

Open loop (after the closed-loop points, from their saturation):
BENCH_OPEN_LOADS [50,80] percent of each endpoint's best closed-loop req/s;
BENCH_OPEN_SECONDS [6] per point, after BENCH_OPEN_WARMUP [2] seconds at
the same rate that are not counted (openloop -w: connections open, caches
filled after the closed-loop writes emptied them); BENCH_OPEN_CONNS [256]
the most connections the generator opens; OPENLOOP the generator binary
(make builds build/release/bench/openloop).

PROFILE=1: the point BENCH_PROFILE_ENDPOINT [GET /api/articles (auth)] at
BENCH_PROFILE_CONNS [64] runs once more under perf (cpu-clock, DWARF call
graphs) on every replica and both databases; flame graphs (SVG) go to
var/bench/profile/.

Data size: BENCH_X50 [50] after everything else, the lists, the feed and
the article run in BENCH_X50_ROUNDS [5] rounds at BENCH_SCALE, then the
data is seeded again at BENCH_X50 (1M articles; left so: the next run
seeds back) and the same rounds run again; each round is GET /api/healthz,
endpoint, GET /api/healthz, endpoint, ..., at BENCH_X50_CONNS [64] for
BENCH_X50_SECONDS [2] each, and an endpoint's figure is the median of its
ratios to the ceilings measured just before and after it (so that the
machine's drift cancels out; a ceiling measured once per phase moved 40 %
between the phases of one run); 0 skips it. BENCH_DATA_SIZE_ONLY=1 runs
that comparison alone (results in var/bench/data-size-<time>.json).

A subset: BENCH_ONLY, a regular expression, keeps the endpoints whose name
it matches (re.search; the pgbench reference row is named "pgbench
tpcb-like"), closed- and open-loop, and always the two ceilings (every
ratio is to one of them): BENCH_ONLY='pay|pgbench' BENCH_X50=0 runs the
payments' points, their reference and the ceilings. Every row keeps the
time its point started ("started", Unix seconds) to line it up with the
servers' logs (PostgreSQL's checkpoints and autovacuum, for instance).

Adding a measurement: a closed-loop row is an ENDPOINTS entry (and a
bench.lua mode); an open-loop one an OPEN_LOOP entry (and a branch in
open_requests); anything else (a comparison, another data size) appends a
section(...) to the JSON's "sections", which tests/bench/readme_table.py
renders as its own table.
"""
import concurrent.futures
import datetime
import getpass
import json
import os
import random
import re
import shutil
import statistics
import subprocess
import sys
import tempfile
import time

import requests

ROOT = os.path.realpath(os.path.join(os.path.dirname(__file__), "..", ".."))
VAR = os.path.join(ROOT, "var")
RUN = os.path.join(VAR, "run")
OUT = os.path.join(VAR, "bench")
DATA = os.path.join(OUT, "data")
LUA = os.path.join(ROOT, "tests", "bench", "bench.lua")
SEED = os.path.join(ROOT, "tests", "bench", "seed.py")
PG_BIN = os.environ.get("PG_BIN", "/usr/lib/postgresql/15/bin")
PASSWORD = "benchpass123"


def env_int(name, d):
    return int(os.environ.get(name, d))


def env_list(name, d):
    return [int(x) for x in os.environ.get(name, d).replace(",", " ").split()]


SCALE = env_int("BENCH_SCALE", 1)
SECONDS = env_int("BENCH_SECONDS", 7)
WARMUP = env_int("BENCH_WARMUP", 2)
CONNS = env_list("BENCH_CONNS", "16 64")
SWEEP = env_list("BENCH_SWEEP", "1 4 16 64 256")
NTOKENS = env_int("BENCH_TOKENS", 64)
OFFSET = env_int("STACK_PORT_OFFSET", 0)
PORT = env_int("BENCH_PORT", 8081 + OFFSET)
PGSCALE = env_int("PGBENCH_SCALE", 64)
BASE = "http://127.0.0.1:%d" % PORT
IS_ROOT = os.geteuid() == 0
OPENLOOP = os.environ.get("OPENLOOP") or os.path.join(
    ROOT, "build", "release", "bench", "openloop")
OPEN_LOADS = env_list("BENCH_OPEN_LOADS", "50 80")
OPEN_SECONDS = env_int("BENCH_OPEN_SECONDS", 6)
OPEN_WARMUP = env_int("BENCH_OPEN_WARMUP", 2)
OPEN_CONNS = env_int("BENCH_OPEN_CONNS", 256)
PROFILE = os.environ.get("PROFILE", "") not in ("", "0")
PROFILE_ENDPOINT = os.environ.get("BENCH_PROFILE_ENDPOINT",
                                  "GET /api/articles (auth)")
PROFILE_CONNS = env_int("BENCH_PROFILE_CONNS", 64)
X50 = env_int("BENCH_X50", 50)
X50_CONNS = env_int("BENCH_X50_CONNS", 64)
X50_ROUNDS = env_int("BENCH_X50_ROUNDS", 5)
X50_SECONDS = env_int("BENCH_X50_SECONDS", 2)
# Issue 14: every list and the feed within 10 % of its x1 figure at x50.
X50_LISTS = ["GET /api/articles", "GET /api/articles (auth)",
             "GET /api/articles?tag=", "GET /api/articles?tag= (auth)",
             "GET /api/articles/feed"]
ONLY = re.compile(os.environ.get("BENCH_ONLY") or "")
X50_OTHERS = ["GET /api/articles/:slug", "GET /api/articles/:slug (auth)"]

# The references every other row's ratio is measured against.
CEILINGS = ("static return 200", "GET /api/healthz")
# name, wrk mode, fixed path, reference row, kind (for the targets).
ENDPOINTS = [
    ("static return 200", "get", "/static", None, "ceiling"),
    ("GET /api/healthz", "get", "/api/healthz", "static return 200",
     "ceiling"),
    ("GET /api/articles", "list", None, "GET /api/healthz", "list"),
    ("GET /api/articles (auth)", "list_auth", None, "GET /api/healthz",
     "list"),
    ("GET /api/articles?tag=", "tag", None, "GET /api/healthz", "list"),
    ("GET /api/articles?tag= (auth)", "tag_auth", None, "GET /api/healthz",
     "list"),
    # The "GET /api/articles" row through nginx's micro-cache, as the edge
    # has it with EDGE_MICROCACHE_TTL=1 (nginx.conf.in): an anonymous
    # answer may be up to 1 s old, plus the one background refresh.
    ("GET /api/articles (edge micro-cache, 1 s stale)", "list_edge", None,
     "GET /api/healthz", "list"),
    ("GET /api/articles/feed", "feed", None, "GET /api/healthz", "list"),
    ("GET /api/articles/:slug", "slug", None, "GET /api/healthz", "slug"),
    ("GET /api/articles/:slug (auth)", "slug_auth", None,
     "GET /api/healthz", "slug"),
    ("Flask GET /api/articles/:slug", "flask_slug", None,
     "GET /api/healthz", "flask"),
    ("POST /api/articles", "create", None, "GET /api/healthz", "write"),
    ("POST /api/articles/:slug/comments", "comment", None,
     "GET /api/healthz", "write"),
    ("GET /pay/v1/accounts", "accounts", None, "GET /api/healthz", "read"),
    ("POST /pay/v1/payments", "pay", None, "pgbench tpcb-like", "pay"),
]
# Points in the table besides CONNS: payments at one connection, where
# nothing queues, so p99 shows work done on the request's path that is not
# the request's own (housekeeping; issue 14 found key pruning there).
EXTRA_POINTS = {("POST /pay/v1/payments", 1)}
PAY_P99_1CONN_MS = 25
# Open-loop points: name (an ENDPOINTS row, whose closed-loop points give
# the saturation), p99 target at 50 % load in ms (None: a reference, no
# target). Issue 14: every read 10 ms, payments 25 ms.
OPEN_LOOP = [
    ("GET /api/healthz", None),
    ("GET /api/articles", 10),
    ("GET /api/articles (auth)", 10),
    ("GET /api/articles?tag=", 10),
    ("GET /api/articles?tag= (auth)", 10),
    ("GET /api/articles (edge micro-cache, 1 s stale)", 10),
    ("GET /api/articles/feed", 10),
    ("GET /api/articles/:slug", 10),
    ("GET /api/articles/:slug (auth)", 10),
    ("GET /pay/v1/accounts", 10),
    ("POST /pay/v1/payments", 25),
]
# The endpoints swept over SWEEP for the plot (the others: CONNS only).
SWEPT = {"static return 200", "GET /api/healthz", "GET /api/articles",
         "GET /api/articles/:slug (auth)", "Flask GET /api/articles/:slug",
         "POST /pay/v1/payments", "pgbench tpcb-like"}


def log(msg):
    print("bench: " + msg, file=sys.stderr, flush=True)


def secret(name):
    with open(os.path.join(VAR, "secrets", name)) as f:
        return f.read().strip()


def mariadb(sql, extra=()):
    return subprocess.run(
        ["mariadb", "--defaults-file=" + os.path.join(VAR, "my.cnf"),
         "-u", "blog_owner", "-p" + secret("blog_owner.password"), *extra,
         "blog"], input=sql, text=True, capture_output=True, check=True
    ).stdout


def psql(conninfo, sql):
    return subprocess.run(
        ["psql", "-X", "-q", "-v", "ON_ERROR_STOP=1", conninfo],
        input=sql, text=True, capture_output=True, check=True).stdout


# PostgreSQL's superuser, for the pgbench database: the postgres system user
# when we are root (the stack runs the server as postgres), else ourselves.
def pg_super(args, cwd=None):
    cmd = list(args)
    if IS_ROOT:
        cmd = ["runuser", "-u", "postgres", "--"] + cmd
    return subprocess.run(cmd, text=True, capture_output=True, cwd=cwd)


def pg_conn_args(db):
    user = "postgres" if IS_ROOT else os.environ.get("USER", "postgres")
    return ["-h", RUN, "-p", str(5433 + OFFSET), "-U", user, "-d", db]


def seed(scale=None):
    scale = SCALE if scale is None else scale
    t0 = time.time()
    h = subprocess.run([sys.executable, os.path.join(
        os.path.dirname(SEED), "pwhash.py"), PASSWORD], text=True,
        capture_output=True, check=True).stdout.strip()
    force = ["force"] if os.environ.get("BENCH_RESEED") == "1" else []
    sql = subprocess.run([sys.executable, SEED, "blog-sql", str(scale), h,
                          *force],
                         text=True, capture_output=True, check=True).stdout
    out = mariadb(sql)
    counts = out.strip().splitlines()[-2:]
    blog = dict(zip(counts[0].split("\t"), map(int, counts[1].split("\t"))))
    users = mariadb("SELECT id, username FROM users WHERE username LIKE "
                    "'bench\\_%' ORDER BY id", ["-N"])
    sql = subprocess.run([sys.executable, SEED, "pay-sql"], input=users,
                         text=True, capture_output=True, check=True).stdout
    out = psql(secret("pay_owner.url"), sql)
    m = re.search(r"accounts \| min_balance\s*\n-+\+-+\n\s*(\d+) \|\s*(\d+)",
                  out)
    pay = {"accounts": int(m.group(1)), "min_balance": int(m.group(2))}
    names = [l.split("\t")[1] for l in users.splitlines() if "\t" in l]
    slugs = mariadb("SELECT slug FROM articles WHERE slug LIKE "
                    "'bench-seed-%' ORDER BY RAND() LIMIT 100000",
                    ["-N"]).split()
    purge = wait_purge()
    os.makedirs(DATA, exist_ok=True)
    with open(os.path.join(DATA, "users.txt"), "w") as f:
        f.write("\n".join(names) + "\n")
    with open(os.path.join(DATA, "slugs.txt"), "w") as f:
        f.write("\n".join(slugs) + "\n")
    log("seeded in %.1f s (%.1f s of it waiting for InnoDB's purge): "
        "blog %s, pay %s" % (time.time() - t0, purge, blog, pay))
    return {"seconds": round(time.time() - t0, 1), "purge_wait_s": purge,
            "blog": blog, "pay": pay, "scale": scale}, names


def purge_backlog():
    """InnoDB's history list: undo records of deleted or changed rows not
    yet purged (read with the admin login, as tests/stack.sh's
    mysql_admin)."""
    out = subprocess.run(
        ["mariadb", "--defaults-file=" + os.path.join(VAR, "my.cnf"),
         "-u", getpass.getuser(), "-N", "-e",
         "SELECT count FROM information_schema.INNODB_METRICS"
         " WHERE name = 'trx_rseg_history_len'"],
        text=True, capture_output=True, check=True).stdout.strip()
    return int(out or 0)


def wait_purge(below=10000, timeout=1800):
    """A reseed at another scale deletes the previous data: a million
    articles after the x50 phase of the run before. InnoDB purges them in
    the background for many minutes, and the points would share the cores
    with it: in the run of 2026-12-01 23:29, which began that way, 60 % of
    MariaDB's profile samples were background tasks, the feed answered 41
    req/s at 16 connections and then not at all for a whole open-loop
    point. So the points wait until the purge is done."""
    t0 = time.time()
    n = purge_backlog()
    while n > below:
        if time.time() - t0 > timeout:
            sys.exit("bench: InnoDB purge still %d records behind after "
                     "%d s" % (n, timeout))
        log("waiting for InnoDB to purge the old seed: %d undo records" % n)
        time.sleep(10)
        n = purge_backlog()
    return round(time.time() - t0, 1)


def login_all(names):
    """Log NTOKENS users in through the API (the Argon2id cost included)."""
    pick = names[:: max(1, len(names) // NTOKENS)][:NTOKENS]

    def one(n):
        r = requests.post(BASE + "/api/users/login", json={"user": {
            "email": n + "@bench.invalid", "password": PASSWORD}}, timeout=30)
        r.raise_for_status()
        return n, r.json()["user"]["token"]

    t0 = time.time()
    with concurrent.futures.ThreadPoolExecutor(4) as ex:
        toks = list(ex.map(one, pick))
    with open(os.path.join(DATA, "tokens.txt"), "w") as f:
        for n, t in toks:
            f.write("%s\t%s\n" % (n, t))
    log("logged in %d users in %.1f s" % (len(toks), time.time() - t0))


def program_pids():
    """{program: pid} of the stack's running programs (blog-1, pay-2,
    mariadb, nginx, ...): every process of tests/stack.sh is a program of
    its supervisord, which we ask as supervisorctl would."""
    import xmlrpc.client
    from supervisor.xmlrpc import SupervisorTransport
    sock = "unix://" + os.path.join(RUN, "supervisor.sock")
    proxy = xmlrpc.client.ServerProxy(
        "http://127.0.0.1", transport=SupervisorTransport(None, None, sock))
    return {p["name"]: p["pid"]
            for p in proxy.supervisor.getAllProcessInfo() if p["pid"] > 0}


def rss():
    out = {}
    for name, pid in sorted(program_pids().items()):
        if not re.match(r"(blog|pay)-\d+$", name):
            continue
        try:
            with open("/proc/%d/status" % pid) as s:
                kb = int(re.search(r"VmRSS:\s+(\d+)", s.read()).group(1))
            out[name] = {"pid": pid, "rss_kb": kb}
        except (OSError, ValueError, AttributeError):
            out[name] = None
    return out


def wrk(mode, conns, seconds, path=None):
    fd, res = tempfile.mkstemp(prefix="wrk-", suffix=".json", dir=OUT)
    os.close(fd)
    env = dict(os.environ, BENCH_MODE=mode, BENCH_DATA=DATA,
               BENCH_PATH=path or "/", BENCH_OUT=res,
               BENCH_PASSWORD=PASSWORD)
    threads = min(2, conns)
    p = subprocess.run(["wrk", "-t%d" % threads, "-c%d" % conns,
                        "-d%ds" % seconds, "--timeout", "5s", "-s", LUA, BASE],
                       env=env, text=True, capture_output=True)
    try:
        with open(res) as f:
            r = json.loads(f.read())
    except (OSError, ValueError):
        raise SystemExit("bench: wrk failed (%s %d): %s %s" % (
            mode, conns, p.stdout, p.stderr))
    finally:
        os.unlink(res)
    secs = r["duration_us"] / 1e6
    return {"rps": r["requests"] / secs, "requests": r["requests"],
            "p50_ms": r["p50_us"] / 1000, "p99_ms": r["p99_us"] / 1000,
            "max_ms": r["max_us"] / 1000, "non2xx": r["non2xx"],
            "socket_errors": r["connect"] + r["read"] + r["write"] +
            r["timeout"], "errors_detail": {k: r[k] for k in (
                "non2xx", "connect", "read", "write", "timeout")}}


def pgbench_init():
    pg_super([PG_BIN + "/psql", "-X", "-q", *pg_conn_args("postgres"), "-c",
              "CREATE DATABASE pgbench"])
    p = pg_super([PG_BIN + "/psql", "-X", "-At", *pg_conn_args("pgbench"),
                  "-c", "SELECT count(*) FROM pgbench_branches"])
    if p.returncode == 0 and p.stdout.strip() == str(PGSCALE):
        return
    log("pgbench: initialising scale %d (once)" % PGSCALE)
    p = pg_super([PG_BIN + "/pgbench", "-i", "-q", "-s", str(PGSCALE),
                  *pg_conn_args("pgbench")])
    if p.returncode != 0:
        raise SystemExit("bench: pgbench -i failed: " + p.stderr)


def pg_wal_counters():
    """PostgreSQL's checkpoints so far, its WAL totals (records,
    full-page images, bytes) and the blocks it read from outside its
    shared buffers, for the payments' open-loop rows."""
    p = pg_super([PG_BIN + "/psql", "-X", "-At", *pg_conn_args("postgres"),
                  "-c", "SELECT b.checkpoints_timed + b.checkpoints_req,"
                  " w.wal_records, w.wal_fpi, w.wal_bytes,"
                  " (SELECT sum(blks_read) FROM pg_stat_database)"
                  " FROM pg_stat_bgwriter b, pg_stat_wal w"])
    if p.returncode != 0:
        raise SystemExit("bench: pg_stat_wal: " + p.stderr)
    return [int(float(x)) for x in p.stdout.strip().split("|")]


def replica_metrics(svc):
    """The /metrics text of each replica of svc ("blog" or "pay"), from the
    admin addresses tests/stack.sh writes under var/run."""
    out = []
    for f in sorted(os.listdir(RUN)):
        if not re.match(r"%s-\d+\.admin$" % svc, f):
            continue
        with open(os.path.join(RUN, f)) as fh:
            admin = fh.read().strip()
        out.append(requests.get("http://%s/metrics" % admin, timeout=5).text)
    return out


def wait_idle(timeout=60.0):
    """Wait until no worker of any replica is busy (cm_workers_busy 0 in
    two readings 0.1 s apart): a point that overloaded the stack leaves
    requests queued in the replicas after its generator stopped (nginx
    passed them on; they are answered to nobody), and the next open-loop
    point would otherwise share the cores with that backlog. Returns the
    seconds waited."""
    t0 = time.time()
    quiet = 0
    pat = re.compile(r"^cm_workers_busy\{[^}]*\} (\d+)$", re.M)
    while time.time() - t0 < timeout:
        busy = sum(int(n) for svc in ("blog", "pay")
                   for text in replica_metrics(svc) for n in pat.findall(text))
        quiet = quiet + 1 if busy == 0 else 0
        if quiet >= 2:
            break
        time.sleep(0.1)
    return time.time() - t0


def pay_in_replica(method, route):
    """{le: count} of cm_request_duration_seconds for one pay route, summed
    over the pay replicas (their admin ports' /metrics): the time from the
    worker taking the request to its answer written, so what is left of
    the generator's latency is queueing before a worker (nginx, the
    replica's socket, the cores)."""
    tot = {}
    pat = re.compile(r'^cm_request_duration_seconds_bucket\{service="pay",'
                     r'method="%s",route="%s",le="([^"]+)"\} (\d+)$'
                     % (re.escape(method), re.escape(route)), re.M)
    for text in replica_metrics("pay"):
        for le, n in pat.findall(text):
            tot[le] = tot.get(le, 0) + int(n)
    return tot


def in_replica_summary(h0, h1):
    """The point's requests inside the replicas: how many, how many took
    over 10 and 25 ms there, and the bucket p99 falls in (an upper
    bound)."""
    d = {le: h1.get(le, 0) - h0.get(le, 0) for le in h1}
    n = d.get("+Inf", 0)
    finite = sorted((float(le), c) for le, c in d.items() if le != "+Inf")
    over = {ms: n - next((c for le, c in finite if abs(le - ms / 1000)
                          < 1e-9), n) for ms in (10, 25)}
    p99 = next((le * 1000 for le, c in finite if c >= 0.99 * n), None)
    return {"requests": n, "over_10ms": over[10], "over_25ms": over[25],
            "p99_at_most_ms": p99}


def pg_checkpoint():
    """A checkpoint before the points, as wait_purge() waits for InnoDB.
    The first change to a page after a checkpoint writes the whole page to
    the WAL: the first payments after a checkpoint flushed 8-10 KB of WAL
    each before their commit returned (1.1-1.4 full-page images) instead
    of ~3 KB (0.05). With the stack's former 5 min / ~0.5 GB, the seed,
    pgbench -i, a previous run and this run's own closed-loop payments and
    pgbench points (~0.5 GB of WAL) started checkpoints in the middle of
    the points, one of them between the payments' closed- and open-loop
    points, so the open-loop ones were the first writes after it. Done
    now, the next one is not due before checkpoint_timeout (30 min,
    tests/stack.sh) or ~2 GB of WAL, after the run: every payment point
    runs in one checkpoint cycle, and its rows record whether it did."""
    t0 = time.time()
    p = pg_super([PG_BIN + "/psql", "-X", "-q", *pg_conn_args("postgres"),
                  "-c", "CHECKPOINT"])
    if p.returncode != 0:
        raise SystemExit("bench: CHECKPOINT failed: " + p.stderr)
    return round(time.time() - t0, 1)


def pgbench(conns, seconds):
    """tpcb-like, -M prepared; percentiles from its per-transaction log."""
    d = tempfile.mkdtemp(prefix="pgbench-")
    if IS_ROOT:
        shutil.chown(d, "postgres")
    p = pg_super([PG_BIN + "/pgbench", "-M", "prepared", "-c", str(conns),
                  "-j", str(min(2, conns)), "-T", str(seconds), "-n", "-l",
                  "--log-prefix=" + d + "/tx", *pg_conn_args("pgbench")],
                 cwd=d)
    try:
        if p.returncode != 0:
            raise SystemExit("bench: pgbench failed: " + p.stderr)
        tps = float(re.search(r"tps = ([\d.]+) \(without initial",
                              p.stdout).group(1))
        failed = int(re.search(r"number of failed transactions: (\d+)",
                               p.stdout).group(1)) if "failed transactions" \
            in p.stdout else 0
        lat = []
        for f in os.listdir(d):
            with open(os.path.join(d, f)) as fh:
                lat += [int(l.split()[2]) for l in fh if l.strip()]
        lat.sort()
        pct = (lambda q: lat[min(len(lat) - 1, int(q * len(lat)))] / 1000
               ) if lat else (lambda q: 0)
        return {"rps": tps, "requests": len(lat), "p50_ms": pct(0.5),
                "p99_ms": pct(0.99), "max_ms": lat[-1] / 1000 if lat else 0,
                "non2xx": failed, "socket_errors": 0}
    finally:
        shutil.rmtree(d, ignore_errors=True)


def run_points(points):
    rows = []
    by_name = {e[0]: e for e in ENDPOINTS}
    by_name["pgbench tpcb-like"] = ("pgbench tpcb-like", None, None, None,
                                    "pgbench")
    warmed = set()
    total = len(points)
    for i, (name, c) in enumerate(points, 1):
        _, mode, path, ref, kind = by_name[name]
        started = time.time()
        if mode is None:
            r = pgbench(c, SECONDS)
        else:
            if name not in warmed and WARMUP > 0:
                wrk(mode, 16, WARMUP, path)
                warmed.add(name)
            r = wrk(mode, c, SECONDS, path)
        r.update(endpoint=name, conns=c, ref=ref, kind=kind,
                 started=round(started, 3))
        rows.append(r)
        log("[%d/%d] %-34s c=%-3d %9.0f req/s p50 %6.2f ms p99 %7.2f ms "
            "errors %d/%d" % (i, total, name, c, r["rps"], r["p50_ms"],
                              r["p99_ms"], r["non2xx"], r["socket_errors"]))
    return rows


# --- open loop -----------------------------------------------------------

SEQ = "@@OPENLOOP-SEQ@@"  # openloop.c puts the request's number there


def http_request(method, path, headers, body=None):
    lines = ["%s %s HTTP/1.1" % (method, path), "Host: 127.0.0.1:%d" % PORT]
    lines += ["%s: %s" % kv for kv in headers.items()]
    data = b""
    if body is not None:
        data = body.encode()
        lines.append("Content-Length: %d" % len(data))
    return ("\r\n".join(lines) + "\r\n\r\n").encode() + data


def open_requests(mode, path, n=2000):
    """n raw requests of a bench.lua mode, the same random picks (slug,
    tag, token, payee); openloop.c cycles through them. Payments carry
    SEQ in their Idempotency-Key, so every request has its own key."""
    def lines(name):
        with open(os.path.join(DATA, name)) as f:
            return [l.rstrip("\n") for l in f if l.strip()]
    slugs, users = lines("slugs.txt"), lines("users.txt")
    tokens = [l.split("\t", 1) for l in lines("tokens.txt")]
    tags = ["bt-%03d" % i for i in range(200)]
    prefix = "ol-%x-%d" % (int(time.time()), random.randint(1, 10 ** 9))
    out = []
    for _ in range(n):
        h = {}

        def auth():
            name, tok = random.choice(tokens)
            h["Authorization"] = "Token " + tok
            return name
        page = "/api/articles?limit=20&offset=%d" % (random.randint(0, 49)
                                                     * 20)
        if mode == "get":
            r = http_request("GET", path, h)
        elif mode == "list":
            r = http_request("GET", page, h)
        elif mode == "list_auth":
            auth()
            r = http_request("GET", page, h)
        elif mode in ("tag", "tag_auth"):
            if mode == "tag_auth":
                auth()
            r = http_request("GET", "/api/articles?limit=20&tag=" +
                             random.choice(tags), h)
        elif mode == "list_edge":
            r = http_request("GET", "/edge" + page, h)
        elif mode in ("slug", "slug_auth"):
            if mode == "slug_auth":
                auth()
            r = http_request("GET", "/api/articles/" + random.choice(slugs),
                             h)
        elif mode == "feed":
            auth()
            r = http_request("GET", "/api/articles/feed?limit=20", h)
        elif mode == "accounts":
            auth()
            r = http_request("GET", "/pay/v1/accounts", h)
        elif mode == "pay":
            me = auth()
            to = random.choice([u for u in random.sample(users, 3)
                                if u != me])
            h["Content-Type"] = "application/json"
            h["Idempotency-Key"] = prefix + "-" + SEQ
            r = http_request("POST", "/pay/v1/payments", h, json.dumps(
                {"to": to, "amount": 1, "currency": "USD",
                 "description": "bench"}))
        else:
            raise SystemExit("bench: no open-loop requests for mode " + mode)
        out.append(r)
    return b"\0".join(out) + b"\0"


def openloop(mode, path, rate, seconds):
    fd, reqs = tempfile.mkstemp(prefix="openloop-", suffix=".req", dir=OUT)
    with os.fdopen(fd, "wb") as f:
        f.write(open_requests(mode, path))
    try:
        p = subprocess.run([OPENLOOP, "-p", str(PORT), "-r", "%.1f" % rate,
                            "-d", str(seconds), "-c", str(OPEN_CONNS),
                            "-t", "5", "-w", str(OPEN_WARMUP), "-f", reqs],
                           text=True, capture_output=True,
                           timeout=OPEN_WARMUP + seconds + 30)
        r = json.loads(p.stdout)
    except (OSError, ValueError, subprocess.TimeoutExpired) as e:
        raise SystemExit("bench: openloop failed (%s %.0f/s): %s %s" % (
            mode, rate, e, getattr(e, "stderr", "") or ""))
    finally:
        os.unlink(reqs)
    return r


def run_open_loop(rows):
    """Each OPEN_LOOP endpoint at OPEN_LOADS percent of its best
    closed-loop req/s in this run, latency from each request's intended
    start (openloop.c)."""
    by_name = {e[0]: e for e in ENDPOINTS}
    out = []
    todo = [(n, t, load) for n, t in OPEN_LOOP for load in OPEN_LOADS
            if any(r["endpoint"] == n for r in rows)]
    for i, (name, target, load) in enumerate(todo, 1):
        _, mode, path, _, kind = by_name[name]
        sat = max(r["rps"] for r in rows if r["endpoint"] == name)
        rate = max(1.0, sat * load / 100.0)
        # The machine's load as the point starts: a tail on two shared
        # cores may be someone else's work (README "Open-loop tail").
        settled = wait_idle()
        loadavg = os.getloadavg()[0]
        pay = name.startswith(("GET /pay/", "POST /pay/"))
        wal0 = pg_wal_counters() if pay else None
        route = ("POST" if name.startswith("POST") else "GET",
                 name.split()[1]) if pay else None
        hist0 = pay_in_replica(*route) if pay else None
        started = time.time()
        r = openloop(mode, path, rate, OPEN_SECONDS)
        row = {"endpoint": name, "kind": kind, "load_pct": load,
               "saturation_rps": sat, "rate": rate,
               "offered": r["offered"], "answered": r["answered"],
               "p50_ms": r["p50_us"] / 1000, "p90_ms": r["p90_us"] / 1000,
               "p99_ms": r["p99_us"] / 1000, "p999_ms": r["p999_us"] / 1000,
               "max_ms": r["max_us"] / 1000, "non2xx": r["non2xx"],
               "socket_errors": r["socket_errors"] + r["timeouts"],
               "errors_detail": {k: r[k] for k in (
                   "non2xx", "socket_errors", "timeouts", "warmup_errors")},
               "send_lag_p99_ms": r["send_lag_p99_us"] / 1000,
               "p99_by_second_ms": [v / 1000 for v in r["p99_by_second_us"]],
               "peak_conns": r["peak_conns"], "loadavg_1m": loadavg,
               "settled_s": round(settled, 2),
               "started": round(started, 3),
               "target_p99_ms": target}
        if pay:
            # What PostgreSQL wrote per request over the point (warm-up
            # included): full-page images mean pages first changed since
            # a checkpoint (pg_checkpoint), and a checkpoint during the
            # point is counted.
            d = [b - a for a, b in zip(wal0, pg_wal_counters())]
            n = max(1, r["issued"] + r.get("warmup_requests", 0))
            row["pg"] = {"checkpoints": d[0],
                         "wal_records_per_req": round(d[1] / n, 2),
                         "wal_fpi_per_req": round(d[2] / n, 3),
                         "wal_kb_per_req": round(d[3] / n / 1024, 2),
                         "blocks_read": d[4]}
            row["in_replica"] = in_replica_summary(hist0,
                                                   pay_in_replica(*route))
        out.append(row)
        log("[open %d/%d] %-34s %3d%% %7.0f req/s p50 %6.2f p99 %7.2f "
            "p99.9 %7.2f ms errors %d/%d (settled %.1f s)%s" % (
                i, len(todo), name, load, rate, row["p50_ms"],
                row["p99_ms"], row["p999_ms"], row["non2xx"],
                row["socket_errors"], settled, "" if not pay else
                "; %d checkpoints, %.2f full-page images and %.1f KB of "
                "WAL per request; in the replicas p99 <= %s ms, %d of %d "
                "over 10 ms" % (row["pg"]["checkpoints"],
                                row["pg"]["wal_fpi_per_req"],
                                row["pg"]["wal_kb_per_req"],
                                row["in_replica"]["p99_at_most_ms"],
                                row["in_replica"]["over_10ms"],
                                row["in_replica"]["requests"])))
    return out


def open_targets(open_rows):
    res = []
    for r in open_rows:
        if r["target_p99_ms"] is None or r["load_pct"] != 50:
            continue
        res.append({"target": "open loop p99 <= %d ms at 50 %% load: %s" % (
            r["target_p99_ms"], r["endpoint"]),
            "met": r["p99_ms"] <= r["target_p99_ms"] and not (
                r["non2xx"] or r["socket_errors"]),
            "detail": "%.2f ms at %.0f req/s (p50 %.2f, p99.9 %.2f ms)" % (
                r["p99_ms"], r["rate"], r["p50_ms"], r["p999_ms"])})
    # The closed-loop rows have their own; a point whose requests timed out
    # has no latency to judge, so its errors must show as a target too.
    errs = [r for r in open_rows if r["non2xx"] or r["socket_errors"]]
    res.append({"target": "zero errors in every open-loop point",
                "met": not errs,
                "detail": "none" if not errs else "; ".join(
                    "%s %d %%: %d of %d requests failed" % (
                        r["endpoint"], r["load_pct"],
                        r["non2xx"] + r["socket_errors"], r["offered"])
                    for r in errs)})
    return res


def fmt_open_table(open_rows):
    out = ["| endpoint | load | offered req/s | p50 ms | p99 ms | "
           "p99.9 ms | errors | p99 target |", "|---|---|---|---|---|---|"
           "---|---|"]
    for r in open_rows:
        t = ""
        if r["target_p99_ms"] is not None and r["load_pct"] == 50:
            ok = r["p99_ms"] <= r["target_p99_ms"] and not (
                r["non2xx"] or r["socket_errors"])
            t = "%s (<= %d ms)" % ("met" if ok else "NOT met",
                                   r["target_p99_ms"])
        out.append("| %s | %d %% | %.0f | %.2f | %.2f | %.2f | %d | %s |" % (
            r["endpoint"], r["load_pct"], r["rate"], r["p50_ms"],
            r["p99_ms"], r["p999_ms"], r["non2xx"] + r["socket_errors"], t))
    return "\n".join(out)


def section(title, columns, rows, note=""):
    """A table of its own in the JSON's "sections" (rendered by
    tests/bench/readme_table.py): rows are lists of cells, as text."""
    return {"title": title, "columns": list(columns),
            "rows": [[str(c) for c in r] for r in rows], "note": note}


# --- data size ------------------------------------------------------------

def blog_cache_counters():
    """The read caches' counters summed over the blog replicas, from each
    one's admin /metrics (blog_cache_metrics): {hit, miss, requests, reads}."""
    tot = {"hit": 0, "miss": 0, "requests": 0, "reads": 0}
    pat = re.compile(r"^blog_read_cache_(lookups_total\{result=\"(hit|miss)"
                     r"\"\}|version_requests_total|version_reads_total) "
                     r"(\d+)$", re.M)
    for text in replica_metrics("blog"):
        for m in pat.finditer(text):
            k = m.group(2) or {"version_requests_total": "requests",
                               "version_reads_total": "reads"}[m.group(1)]
            tot[k] += int(m.group(3))
    return tot


def cache_share(before, after):
    """Hit share of the read-cache lookups between two counter readings,
    or None when there were none."""
    hit = after["hit"] - before["hit"]
    n = hit + after["miss"] - before["miss"]
    return hit / n if n else None


def paired_rounds(names, scale):
    """Each endpoint's ratio to the ceiling measured right beside it:
    X50_ROUNDS rounds of ceiling, endpoint 1, ceiling, endpoint 2, ...,
    ceiling (X50_SECONDS each), an endpoint's ratio to the mean of the
    ceilings before and after it; the median over the rounds. A drift of
    the machine's speed within a phase (other tenants, CPU steal: the
    ceiling moved 19k -> 27k between the phases of the 12-01 run) then
    moves both sides of a ratio alike. Returns {name: figures}."""
    by_name = {e[0]: e for e in ENDPOINTS}
    ceil_mode = by_name["GET /api/healthz"][1]
    ceil_path = by_name["GET /api/healthz"][2]
    out = {n: {"ratios": [], "rps": [], "p99_ms": [], "errors": 0,
               "hit": []} for n in names}
    for n in names:
        _, mode, path, _, _ = by_name[n]
        wrk(mode, 16, WARMUP, path)
    for rnd in range(1, X50_ROUNDS + 1):
        prev = wrk(ceil_mode, X50_CONNS, X50_SECONDS, ceil_path)
        for n in names:
            _, mode, path, _, _ = by_name[n]
            c0 = blog_cache_counters()
            r = wrk(mode, X50_CONNS, X50_SECONDS, path)
            hit = cache_share(c0, blog_cache_counters())
            nxt = wrk(ceil_mode, X50_CONNS, X50_SECONDS, ceil_path)
            ratio = r["rps"] / ((prev["rps"] + nxt["rps"]) / 2)
            o = out[n]
            o["ratios"].append(ratio)
            o["rps"].append(r["rps"])
            o["p99_ms"].append(r["p99_ms"])
            o["errors"] += (r["non2xx"] + r["socket_errors"] +
                            nxt["non2xx"] + nxt["socket_errors"])
            if hit is not None:
                o["hit"].append(hit)
            log("x%d round %d/%d %-32s %8.0f req/s %.3fx the ceiling "
                "(%.0f / %.0f) cache hits %s" % (
                    scale, rnd, X50_ROUNDS, n, r["rps"], ratio, prev["rps"],
                    nxt["rps"], "-" if hit is None else "%.1f %%" % (
                        100 * hit)))
            prev = nxt
    for o in out.values():
        o["ratio"] = statistics.median(o["ratios"])
        o["median_rps"] = statistics.median(o["rps"])
        o["median_p99_ms"] = statistics.median(o["p99_ms"])
        o["hit_share"] = (statistics.median(o["hit"]) if o["hit"]
                          else None)
    return out


def data_size():
    """Each list, the feed and the article at SCALE and at X50, both as a
    ratio to the ceiling measured beside it (paired_rounds); the data is
    seeded at X50 in between (and left so: the next run seeds back).
    Returns (section, targets, info)."""
    names = X50_LISTS + X50_OTHERS
    log("data size: x%d, %d rounds of %d s points" % (SCALE, X50_ROUNDS,
                                                     X50_SECONDS))
    small = paired_rounds(names, SCALE)
    log("data size: seeding x%d" % X50)
    info, users = seed(X50)
    login_all(users)
    big = paired_rounds(names, X50)
    cells, tg = [], []

    def spread(o):
        return "%.2f–%.2f" % (min(o["ratios"]), max(o["ratios"]))

    def hits(o):
        return "-" if o["hit_share"] is None else "%.0f %%" % (
            100 * o["hit_share"])
    for n in names:
        a, b = small[n], big[n]
        change = b["ratio"] / a["ratio"] - 1
        cells.append([n, "%.0f" % a["median_rps"], "%.2fx" % a["ratio"],
                      spread(a), hits(a), "%.0f" % b["median_rps"],
                      "%.2fx" % b["ratio"], spread(b), hits(b),
                      "%+.0f %%" % (100 * change),
                      "%.2f" % b["median_p99_ms"], a["errors"] + b["errors"]])
        if n in X50_LISTS:
            tg.append({"target": "x%d data: %s within 10 %% of its x%d figure"
                       % (X50, n, SCALE), "met": change >= -0.10,
                       "detail": "%+.0f %% (%.2fx -> %.2fx the ceiling, "
                       "median of %d rounds)" % (100 * change, a["ratio"],
                                                 b["ratio"], X50_ROUNDS)})
    errs = sum(o["errors"] for o in list(small.values()) +
               list(big.values()))
    tg.append({"target": "zero errors at x%d" % X50, "met": errs == 0,
               "detail": "%d" % errs})
    sec = section(
        "x%d data (%d articles) against x%d, %d connections, in the same run"
        % (X50, info["blog"].get("articles", 0), SCALE, X50_CONNS),
        ("endpoint", "x%d req/s" % SCALE, "x%d / ceiling" % SCALE,
         "x%d rounds" % SCALE, "x%d cache hits" % SCALE, "x%d req/s" % X50,
         "x%d / ceiling" % X50, "x%d rounds" % X50, "x%d cache hits" % X50,
         "change", "x%d p99 ms" % X50, "errors"), cells,
        "each ratio is the median over %d rounds of the endpoint's req/s "
        "over the mean of GET /api/healthz measured just before and just "
        "after it (%d s points); \"rounds\" is the range of the %d ratios; "
        "\"cache hits\" the share of the blog replicas' read-cache lookups "
        "that hit (their /metrics); seeding x%d took %.0f s"
        % (X50_ROUNDS, X50_SECONDS, X50_ROUNDS, X50, info["seconds"]))
    return sec, tg, {"seed": info, "x%d" % SCALE: small, "x%d" % X50: big}


# --- PROFILE=1 -------------------------------------------------------------

PROFILE_HZ = 499
# 32 KiB of stack per sample: with perf's default 8 KiB, MariaDB's deeper
# stacks were cut short and a third of its samples lost their callers
# (towers that start mid-stack); 32 KiB reached clone3 in every sample.
PROFILE_CALL_GRAPH = "dwarf,32768"
STACKCOLLAPSE = "/usr/lib/perf-core/scripts/python/stackcollapse.py"


def profiled_pids():
    """{pid: label} of the stack's replicas and databases (ours only: the
    programs of our supervisord and our PostgreSQL's postmaster.pid)."""
    out = {}
    for name, pid in program_pids().items():
        if re.match(r"(blog|pay)-\d+$", name):
            out[pid] = name
        elif name == "mariadb":
            out[pid] = "mariadbd"
    try:
        with open(os.path.join(VAR, "pg", "postmaster.pid")) as fh:
            pm = int(fh.readline())
    except (OSError, ValueError):
        pm = None
    if pm:
        out[pm] = "postgres"
        for d in os.listdir("/proc"):
            if not d.isdigit():
                continue
            try:
                with open("/proc/%s/stat" % d) as fh:
                    ppid = int(fh.read().rsplit(")", 1)[1].split()[1])
            except (OSError, ValueError, IndexError):
                continue
            if ppid == pm:
                out[int(d)] = "postgres"
    return {p: l for p, l in out.items() if os.path.exists("/proc/%d" % p)}


def profile(rows):
    """The profile point once more, under perf record (cpu-clock: a
    software event, so it works in a VM; DWARF call graphs, as our -O2
    binaries and Debian's databases keep no frame pointers) on every
    replica and both databases; stacks folded by linux-perf's
    stackcollapse script; one flame graph per process and one of all."""
    sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
    import flamegraph
    by_name = {e[0]: e for e in ENDPOINTS}
    if PROFILE_ENDPOINT not in by_name or shutil.which("perf") is None:
        raise SystemExit("bench: PROFILE=1 needs perf (linux-perf) and an "
                         "endpoint of ENDPOINTS in BENCH_PROFILE_ENDPOINT")
    _, mode, path, _, _ = by_name[PROFILE_ENDPOINT]
    d = os.path.join(OUT, "profile")
    shutil.rmtree(d, ignore_errors=True)
    os.makedirs(d)
    pids = profiled_pids()
    data = os.path.join(d, "perf.data")
    perf = subprocess.Popen(
        ["perf", "record", "-q", "-e", "cpu-clock", "-F", str(PROFILE_HZ),
         "--call-graph", PROFILE_CALL_GRAPH,
         "-p", ",".join(map(str, sorted(pids))),
         "-o", data, "--", "sleep", str(SECONDS + 1)],
        stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
    time.sleep(0.5)
    r = wrk(mode, PROFILE_CONNS, SECONDS, path)
    _, err = perf.communicate(timeout=120)
    if perf.returncode != 0:
        raise SystemExit("bench: perf record failed: " + err)
    # --no-inline: perf would run addr2line on every frame (minutes).
    p = subprocess.run(["perf", "script", "--no-inline", "-i", data, "-s",
                        STACKCOLLAPSE, "--", "--include-pid"],
                       capture_output=True, text=True)
    if p.returncode != 0:
        raise SystemExit("bench: perf script failed: " + p.stderr)
    per = {}
    for line in p.stdout.splitlines():
        stack, _, count = line.rpartition(" ")
        first, _, rest = stack.partition(";")  # "comm-pid;frame;..."
        comm, _, pid = first.rpartition("-")
        label = pids.get(int(pid)) if pid.isdigit() else None
        label = label or comm or first
        per.setdefault(label, []).append("%s %s" % (rest or "[no stack]",
                                                    count))
    stamp = datetime.datetime.now().strftime("%Y-%m-%d %H:%M")
    what = "%s, %d conns, %s" % (PROFILE_ENDPOINT, PROFILE_CONNS, stamp)
    svgs, samples = {}, {}
    allf = []
    for label in sorted(per):
        lines = per[label]
        allf += [label + ";" + l for l in lines]
        samples[label] = sum(int(l.rpartition(" ")[2]) for l in lines)
        svg = os.path.join(d, "flame-%s.svg" % label)
        with open(svg, "w") as f:
            f.write(flamegraph.render(lines, "%s: %s" % (label, what)))
        svgs[label] = svg
    with open(os.path.join(d, "all.folded"), "w") as f:
        f.write("\n".join(allf) + "\n")
    svg = os.path.join(d, "flame-all.svg")
    with open(svg, "w") as f:
        f.write(flamegraph.render(allf, "replicas and databases: " + what))
    svgs["all"] = svg
    os.unlink(data)
    log("profile: %s c=%d %.0f req/s under perf; samples %s; %s" % (
        PROFILE_ENDPOINT, PROFILE_CONNS, r["rps"], samples, svg))
    return {"endpoint": PROFILE_ENDPOINT, "conns": PROFILE_CONNS,
            "rps_under_perf": r["rps"], "seconds": SECONDS,
            "hz": PROFILE_HZ, "event": "cpu-clock",
            "call_graph": PROFILE_CALL_GRAPH, "samples": samples,
            "processes": sorted(set(pids.values())), "svg": svgs}


def login_rate(names):
    """Logins at 4 connections, sampling the blog replicas' RSS meanwhile:
    each Argon2id hash in flight holds its 64 MiB."""
    import threading
    peak = {}
    stop = threading.Event()

    def sample():
        while not stop.is_set():
            for k, v in rss().items():
                if v and k.startswith("blog"):
                    peak[k] = max(peak.get(k, 0), v["rss_kb"])
            stop.wait(0.05)

    th = threading.Thread(target=sample)
    th.start()
    try:
        r = wrk("login", 4, SECONDS)
    finally:
        stop.set()
        th.join()
    r["rss_peak_kb"] = peak
    r.update(endpoint="POST /api/users/login", conns=4, ref=None,
             kind="login")
    return r


def ratios(rows):
    idx = {(r["endpoint"], r["conns"]): r for r in rows}
    for r in rows:
        r["ratio"] = None
        if r["ref"] and (r["ref"], r["conns"]) in idx:
            r["ratio"] = r["rps"] / idx[(r["ref"], r["conns"])]["rps"]
        if r["kind"] == "slug":
            f = idx.get(("Flask GET /api/articles/:slug", r["conns"]))
            r["ratio_flask"] = r["rps"] / f["rps"] if f else None
    return idx


def targets(rows, idx, rss0, rss1):
    res = []

    def add(what, ok, detail):
        res.append({"target": what, "met": bool(ok), "detail": detail})

    for c in CONNS:
        s = idx.get(("GET /api/articles/:slug (auth)", c))
        if s:
            add("auth GET slug >= 0.5x FastCGI ceiling (c=%d)" % c,
                s["ratio"] >= 0.5, "%.2fx" % s["ratio"])
            if s.get("ratio_flask"):
                add("auth GET slug >= 5x Flask (c=%d)" % c,
                    s["ratio_flask"] >= 5, "%.1fx" % s["ratio_flask"])
        for n in ("GET /api/articles", "GET /api/articles (auth)",
                  "GET /api/articles?tag=", "GET /api/articles/feed"):
            r = idx.get((n, c))
            if r:
                add("%s >= 0.4x FastCGI ceiling (c=%d)" % (n, c),
                    r["ratio"] >= 0.4, "%.2fx" % r["ratio"])
        p = idx.get(("POST /pay/v1/payments", c))
        if p and p["ratio"] is not None:
            add("payments >= 0.8x pgbench tpcb-like TPS (c=%d; aim 1x)" % c,
                p["ratio"] >= 0.8, "%.2fx (%.0f vs %.0f)" % (
                    p["ratio"], p["rps"],
                    idx[("pgbench tpcb-like", c)]["rps"]))
    # Issue 14's ratios to the FastCGI ceiling.
    for n, want in (("GET /api/articles", 0.3),
                    ("GET /api/articles?tag=", 0.3),
                    ("GET /api/articles (auth)", 0.25),
                    ("GET /api/articles?tag= (auth)", 0.25),
                    ("GET /api/articles/:slug (auth)", 0.4)):
        r = idx.get((n, 64))
        if r and r["ratio"] is not None:
            add("%s >= %.2fx FastCGI ceiling (c=64)" % (n, want),
                r["ratio"] >= want, "%.2fx" % r["ratio"])
    p1 = idx.get(("POST /pay/v1/payments", 1))
    if p1:
        add("payments p99 <= %d ms at 1 conn (nothing but the request on "
            "its path)" % PAY_P99_1CONN_MS, p1["p99_ms"] <= PAY_P99_1CONN_MS,
            "%.2f ms (p50 %.2f ms)" % (p1["p99_ms"], p1["p50_ms"]))
    for r in rows:
        if r["conns"] == 64 and r["kind"] in ("list", "slug", "read"):
            add("p99 <= 10 ms at 64 conns: " + r["endpoint"],
                r["p99_ms"] <= 10, "%.2f ms" % r["p99_ms"])
    errs = [(r["endpoint"], r["conns"], r["non2xx"], r["socket_errors"])
            for r in rows if r["non2xx"] or r["socket_errors"]]
    add("zero errors in every run", not errs,
        "none" if not errs else "; ".join("%s c=%d: %d non-2xx, %d socket"
                                          % e for e in errs))
    grow = []
    for k, v in rss0.items():
        w = rss1.get(k)
        if v and w and w["pid"] == v["pid"]:
            grow.append("%s %d->%d KiB" % (k, v["rss_kb"], w["rss_kb"]))
    # A blog replica's read cache fills up to its budget as the points
    # read new keys: bounded memory, not a leak (BLOG_READ_CACHE_MB).
    cache_kb = int(os.environ.get("BLOG_READ_CACHE_MB") or 32) * 1024
    flat = all(rss1.get(k) and v and rss1[k]["rss_kb"] <= v["rss_kb"] * 1.2
               + 2048 + (cache_kb if k.startswith("blog") else 0)
               for k, v in rss0.items())
    add("replica RSS flat over the run (< 20% + 2 MiB growth; blog: plus "
        "its read cache's budget)", flat,
        ", ".join(grow))
    return res


def fmt_table(rows):
    hdr = ("endpoint", "conns", "req/s", "p50 ms", "p99 ms", "errors",
           "ratio to reference")
    lines = []
    for r in rows:
        ratio = ""
        if r["ratio"] is not None:
            ratio = "%.2f× %s" % (r["ratio"], {
                "static return 200": "static",
                "GET /api/healthz": "FastCGI ceiling",
                "pgbench tpcb-like": "pgbench TPS"}.get(r["ref"], r["ref"]))
        if r.get("ratio_flask"):
            ratio += ", %.1f× Flask" % r["ratio_flask"]
        lines.append((r["endpoint"], str(r["conns"]), "%.0f" % r["rps"],
                      "%.2f" % r["p50_ms"], "%.2f" % r["p99_ms"],
                      "%d" % (r["non2xx"] + r["socket_errors"]), ratio))
    w = [max(len(x[i]) for x in lines + [hdr]) for i in range(len(hdr))]
    out = ["| " + " | ".join(h.ljust(w[i]) for i, h in enumerate(hdr)) + " |",
           "|" + "|".join("-" * (x + 2) for x in w) + "|"]
    for x in lines:
        out.append("| " + " | ".join(
            v.rjust(w[i]) if i in (1, 2, 3, 4, 5) else v.ljust(w[i])
            for i, v in enumerate(x)) + " |")
    return "\n".join(out)


def plot(rows):
    if shutil.which("gnuplot") is None:
        log("gnuplot missing: no plot")
        return None
    series = [n for n in ["static return 200", "GET /api/healthz",
                          "GET /api/articles/:slug (auth)",
                          "GET /api/articles",
                          "Flask GET /api/articles/:slug",
                          "POST /pay/v1/payments", "pgbench tpcb-like"]
              if any(r["endpoint"] == n for r in rows)]
    d = os.path.join(OUT, "plot")
    os.makedirs(d, exist_ok=True)
    files = []
    for i, n in enumerate(series):
        pts = sorted((r["conns"], r["rps"], r["p99_ms"]) for r in rows
                     if r["endpoint"] == n)
        f = os.path.join(d, "s%d.dat" % i)
        with open(f, "w") as fh:
            for c, rps, p99 in pts:
                fh.write("%d %.1f %.3f\n" % (c, rps, p99))
        files.append((f, n))
    png = os.path.join(OUT, "bench.png")
    tp = ", ".join("'%s' using 1:2 with linespoints lw 2 title '%s'" % (f, n)
                   for f, n in files)
    lp = ", ".join("'%s' using 1:3 with linespoints lw 2 title '%s'" % (f, n)
                   for f, n in files)
    script = """
set terminal pngcairo size 1400,600 font ',10'
set output '%s'
set multiplot layout 1,2 title 'make bench: %s (2 cores, loopback, wrk on the same machine)'
set logscale x 2
set xlabel 'connections'
set grid
set key top left font ',9'
set ylabel 'requests/s (pgbench: TPS)'
set logscale y 10
plot %s
set ylabel 'p99 latency (ms)'
set key top left
plot %s
unset multiplot
""" % (png, datetime.datetime.now().strftime("%Y-%m-%d %H:%M"), tp, lp)
    p = subprocess.run(["gnuplot"], input=script, text=True,
                       capture_output=True)
    if p.returncode != 0:
        log("gnuplot failed: " + p.stderr)
        return None
    return png


def data_size_only():
    """BENCH_DATA_SIZE_ONLY=1: the data-size comparison alone (to study it
    without the 15 minutes before it); its own JSON, not latest.json."""
    t0 = time.time()
    _, names = seed()
    login_all(names)
    sec, tg, x50 = data_size()
    stamp = datetime.datetime.now().strftime("%Y%m%d-%H%M%S")
    path = os.path.join(OUT, "data-size-%s.json" % stamp)
    with open(path, "w") as f:
        json.dump({"time": stamp, "sections": [sec], "data_size": x50,
                   "targets": tg, "elapsed_s": round(time.time() - t0, 1)},
                  f, indent=1)
    print("\t".join(sec["columns"]))
    for r in sec["rows"]:
        print("\t".join(r))
    for t in tg:
        print("%-4s %s: %s" % ("MET" if t["met"] else "MISS", t["target"],
                               t["detail"]))
    print("results: %s; %.0f s" % (path, time.time() - t0))
    return 0 if all(t["met"] for t in tg) else 1


def main():
    os.makedirs(OUT, exist_ok=True)
    if os.environ.get("BENCH_DATA_SIZE_ONLY") == "1":
        return data_size_only()
    t0 = time.time()
    load0 = os.getloadavg()
    seed_info, names = seed()
    login_all(names)
    pgbench_init()
    seed_info["checkpoint_s"] = pg_checkpoint()
    # Every worker thread allocates its buffers and prepares its statements
    # on its first requests: warm all of them before the "before" RSS.
    for mode in ("slug_auth", "list_auth", "feed", "comment", "pay",
                 "accounts"):
        wrk(mode, 64, WARMUP)
    rss0 = rss()
    points = []
    for name, *_ in ENDPOINTS + [("pgbench tpcb-like",)]:
        cs = sorted(set(CONNS) | (set(SWEEP) if name in SWEPT else set())
                    | {c for n, c in EXTRA_POINTS if n == name})
        # The ceilings always: every ratio is to one of them.
        if ONLY.search(name) or name in CEILINGS:
            points += [(name, c) for c in cs]
    rows = run_points(points)
    rss1 = rss()
    open_rows = run_open_loop(rows)
    prof = profile(rows) if PROFILE else None
    lg = login_rate(names)
    log("login: %.1f req/s at 4 conns, p99 %.0f ms" % (lg["rps"],
                                                      lg["p99_ms"]))
    time.sleep(1)
    rss2 = rss()
    idx = ratios(rows)
    # The table: every endpoint at CONNS, the sweep stays in the JSON/plot.
    table_rows = [r for r in rows if r["conns"] in CONNS or
                  (r["endpoint"], r["conns"]) in EXTRA_POINTS]
    tg = targets(rows, idx, rss0, rss1) + open_targets(open_rows)
    sections, x50 = [], None
    if X50 and X50 != SCALE:
        sec, x50_tg, x50 = data_size()
        sections.append(sec)
        tg += x50_tg
    m = re.search(r"m=(\d+),t=(\d+),p=(\d+)", subprocess.run(
        [sys.executable, os.path.join(os.path.dirname(SEED), "pwhash.py"),
         "x"], text=True, capture_output=True).stdout)
    login = {"rps": lg["rps"], "conns": 4, "p50_ms": lg["p50_ms"],
             "p99_ms": lg["p99_ms"], "errors": lg["non2xx"] +
             lg["socket_errors"], "argon2id_memory_kib": int(m.group(1)),
             "argon2id_passes": int(m.group(2)),
             "argon2id_lanes": int(m.group(3)),
             "blog_rss_peak_kb": lg["rss_peak_kb"],
             "blog_rss_after_kb": {k: (v or {}).get("rss_kb")
                                   for k, v in rss2.items()
                                   if k.startswith("blog")}}
    png = plot(rows)
    stamp = datetime.datetime.now().strftime("%Y%m%d-%H%M%S")
    doc = {"time": stamp, "host_cpus": os.cpu_count(), "seconds": SECONDS,
           "loadavg_start": [round(x, 2) for x in load0],
           "loadavg_end": [round(x, 2) for x in os.getloadavg()],
           "conns": CONNS, "extra_points": sorted(EXTRA_POINTS),
           "warmup": WARMUP, "seed": seed_info, "rows": rows,
           "login": login, "rss_before": rss0, "rss_after": rss1,
           "rss_after_login": rss2,
           "open_loop": open_rows, "open_loop_seconds": OPEN_SECONDS,
           "open_loop_warmup": OPEN_WARMUP,
           "profile": prof, "sections": sections, "data_size": x50,
           "targets": tg, "plot": png,
           "elapsed_s": round(time.time() - t0, 1)}
    path = os.path.join(OUT, "results-%s.json" % stamp)
    with open(path, "w") as f:
        json.dump(doc, f, indent=1)
    shutil.copyfile(path, os.path.join(OUT, "latest.json"))
    print()
    print(fmt_table(table_rows))
    print()
    print("open loop (%d s per point after %d s of warm-up, latency from "
          "each request's intended start):" % (OPEN_SECONDS, OPEN_WARMUP))
    print(fmt_open_table(open_rows))
    print()
    print("login (Argon2id, m=%d MiB, t=%d): %.1f logins/s at 4 conns, "
          "p50 %.0f ms, p99 %.0f ms, errors %d; blog RSS peak during "
          "logins %s KiB, 1 s after %s KiB" % (
              login["argon2id_memory_kib"] // 1024, login["argon2id_passes"],
              login["rps"], login["p50_ms"], login["p99_ms"],
              login["errors"], login["blog_rss_peak_kb"],
              login["blog_rss_after_kb"]))
    print("replica RSS before -> after the wrk points: " + ", ".join(
        "%s %s->%s KiB" % (k, (v or {}).get("rss_kb"),
                           (rss1.get(k) or {}).get("rss_kb"))
        for k, v in rss0.items()))
    print()
    for t in tg:
        print("%-4s %s: %s" % ("MET" if t["met"] else "MISS", t["target"],
                               t["detail"]))
    print()
    if prof:
        print("profile: %s" % ", ".join(prof["svg"].values()))
    print("results: %s (and latest.json); plot: %s; %.0f s" % (
        path, png, time.time() - t0))
    return 0 if all(t["met"] for t in tg if "errors" in t["target"]) else 1


if __name__ == "__main__":
    sys.exit(main())
