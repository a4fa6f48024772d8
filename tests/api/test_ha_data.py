"""High availability of the data tier (STACK_DB=ha, tests/ha/hadb.sh).

Run only against the HA topology: `make test` starts it after the main API
suite and runs this file with test_ha_failures.py (`make test-ha` does just
that). Under a mixed load (readers of both APIs, payers retrying with their
Idempotency-Keys, blog writers posting articles and comments), each drill
breaks the databases the way production loses them. The numbers are the
issue's drills:

  1. SIGKILL the PostgreSQL leader (Patroni and postgres: the member dies);
  2. SIGKILL the Galera node HAProxy sends writes to;
  3. freeze the PostgreSQL leader (SIGSTOP) past its lease, let a new one be
     elected, thaw it: it must come back as a replica and never acknowledge
     a write after the election;
  5. lose a replica of either database: the synchronous standby, a Galera
     node that holds no client session;
  -  stop both PostgreSQL standbys: a payment cannot be acknowledged until
     one of them has it (strict synchronous mode);
  4. planned: `patronictl switchover` and a Galera rolling restart, last
     (afterwards the blog's connections may sit on two Galera nodes until
     they reconnect, see README).

Every PostgreSQL drill starts from a whole cluster (a leader streaming to
two members, one of them synchronous) and waits for it again at the end.
After each drill: every payment acknowledged with 201 exists exactly once,
the ledger invariants hold and balances are what the clients were told
(RPO 0); every blog write acknowledged is still there. The figures go to
var/log/ha-report.json, under "ha" (test_ha_failures.write_report).
"""

import collections
import datetime
import os
import random
import signal
import subprocess
import threading
import time
import uuid

import pytest
import requests

from pay_support import check_invariants_sql
import test_ha_failures
from test_ha_failures import PAYERS, Load, pay_headers, write_report

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(
    os.path.abspath(__file__))))
HADB = os.path.join(ROOT, "tests", "ha", "hadb.sh")
TIMEOUT = 15
DEPOSIT = 10_000_000
# What the issue asks of a failover; the measured figure goes to the report.
FAILOVER_MAX = 10.0
WRITES_RESUME_MAX = 10.0
# A frozen leader is replaced once its lease (ttl) runs out and a standby
# has given up asking it over REST: slower than a dead one, and no bound
# is promised for it; only that it never acknowledges a write afterwards.
FREEZE_FAILOVER_MAX = 30.0
REJOIN_MAX = 60.0
WHOLE_MAX = 90.0


def get_settled(url, **kw):
    """GET for the checks after a drill: a 503 (a worker still in its
    reconnect backoff) is asked again, as a client would, for up to 20 s."""
    kw.setdefault("timeout", TIMEOUT)
    deadline = time.monotonic() + 20
    while True:
        r = requests.get(url, **kw)
        if r.status_code != 503 or time.monotonic() > deadline:
            return r
        time.sleep(0.2)


def balance(base, user):
    return test_ha_failures.balance(base, user, get=get_settled)


def payments_made(base, user):
    return test_ha_failures.payments_made(base, user, get=get_settled)


# --------------------------------------------------------------- the tier

def hadb(stack, *args, check=True):
    env = dict(os.environ, STACK_VAR=stack.var)
    p = subprocess.run([HADB] + list(args), capture_output=True, text=True,
                       timeout=180, env=env)
    if check and p.returncode != 0:
        raise AssertionError("hadb.sh %s: %s %s" % (args, p.stdout,
                                                    p.stderr))
    return p.stdout.strip()


def sup_pid(stack, prog):
    pid = hadb(stack, "ctl", "pid", prog)
    assert pid.isdigit() and int(pid) > 0, (prog, pid)
    return int(pid)


def offset():
    return int(os.environ.get("STACK_PORT_OFFSET") or 0)


def patroni(n, path):
    try:
        return requests.get("http://127.0.0.1:%d%s" % (9420 + offset() + n,
                                                        path), timeout=1)
    except requests.RequestException:
        return None


def patroni_ok(n, path):
    r = patroni(n, path)
    return r is not None and r.status_code == 200


def pg_leader(exclude=None):
    for n in (1, 2, 3):
        if n != exclude and patroni_ok(n, "/primary"):
            return n
    return None


def pg_state():
    """What each member's Patroni says, for failure messages."""
    out = {}
    for n in (1, 2, 3):
        r = patroni(n, "/patroni")
        if r is None:
            out["pg%d" % n] = "no answer"
            continue
        try:
            d = r.json()
        except ValueError:
            out["pg%d" % n] = "HTTP %d" % r.status_code
            continue
        out["pg%d" % n] = "%s %s tl %s%s" % (
            d.get("role"), d.get("state"), d.get("timeline"),
            "".join(" %s:%s/%s" % (x.get("application_name"),
                                   x.get("state"), x.get("sync_state"))
                    for x in d.get("replication", [])))
    return out


def pg_whole():
    """The leader, once it streams to both other members, one of them
    synchronous (and that one says so too); else None."""
    n = pg_leader()
    if n is None:
        return None
    r = patroni(n, "/patroni")
    if r is None or r.status_code != 200:
        return None
    reps = [x for x in r.json().get("replication", [])
            if x.get("state") == "streaming"]
    sync = [x["application_name"] for x in reps
            if x.get("sync_state") == "sync"]
    if len(reps) != 2 or len(sync) != 1:
        return None
    if not patroni_ok(int(sync[0][2:]), "/sync"):
        return None
    return n


def pg_sync_standby():
    for n in (1, 2, 3):
        if patroni_ok(n, "/sync"):
            return n
    return None


def wait_whole(what):
    """The leader of a whole cluster (pg_whole), waiting for it."""
    n, _ = wait_until("a whole PostgreSQL cluster " + what, WHOLE_MAX,
                      pg_whole, state=pg_state)
    return n


def promoted_at(stack, n, after):
    """Wall-clock time at which pgN's Patroni logged that it promoted
    itself, the first time after `after`; None if it did not. It logs that
    at the end of the cycle that took the lock, and its REST API answers
    slowly when both cores are saturated (polled, it was once 2 s later
    than the log): a failover's time is the first of the two."""
    path = os.path.join(stack.log_dir, "patroni%d.log" % n)
    with open(path, errors="replace") as f:
        for line in f:
            if "promoted self to leader" not in line:
                continue
            try:
                t = datetime.datetime.strptime(
                    line[:23], "%Y-%m-%d %H:%M:%S,%f").timestamp()
            except ValueError:
                continue
            if t >= after:
                return t
    return None


def postmaster_pid(stack, n):
    with open(os.path.join(stack.var, "ha", "pg%d" % n,
                           "postmaster.pid")) as f:
        return int(f.readline())


def children(pid):
    out = subprocess.run(["pgrep", "-P", str(pid)], capture_output=True,
                         text=True).stdout.split()
    return [int(p) for p in out]


def supervisord_pid(stack):
    with open(os.path.join(stack.run_dir, "supervisord.pid")) as f:
        return int(f.read().strip())


def kill_member(stack, n):
    """The member dies as its machine would: Patroni and postgres at once.
    supervisord is paused meanwhile, or it would respawn Patroni at once
    and that Patroni, still holding the leader lease, would simply resume;
    revive() lets it bring the member back, as a rebooted machine would."""
    sup = supervisord_pid(stack)
    os.kill(sup, signal.SIGSTOP)
    ppid = sup_pid_raw(stack, n)
    pm = postmaster_pid(stack, n)
    victims = [ppid, pm] + children(pm)
    for pid in victims:
        try:
            os.kill(pid, signal.SIGKILL)
        except ProcessLookupError:
            pass
    return sup


def revive(sup):
    os.kill(sup, signal.SIGCONT)


def sup_pid_raw(stack, n):
    """Patroni's pid without asking supervisord (which may be paused)."""
    out = subprocess.run(["pgrep", "-f", "patroni %s/ha/pg%d.yml"
                          % (stack.var, n)], capture_output=True,
                         text=True).stdout.split()
    assert out, "no Patroni for pg%d" % n
    return int(out[0])


def galera_writer(stack):
    w = hadb(stack, "galera-writer")
    assert w.startswith("galera"), w
    return int(w[len("galera"):])


def galera_synced(stack, n):
    p = subprocess.run(
        ["mariadb", "--defaults-file=%s/ha/galera%d.cnf" % (stack.var, n),
         "-u", "root", "-N", "-B", "--connect-timeout=1", "-e",
         "SHOW STATUS LIKE 'wsrep_local_state'"],
        capture_output=True, text=True)
    return p.returncode == 0 and p.stdout.split()[-1:] == ["4"]


def wait_until(what, secs, fn, state=None):
    """fn's first true value and the seconds it took; past secs, fails
    saying what did not happen and, if given, state() at that moment."""
    t0 = time.monotonic()
    while time.monotonic() - t0 < secs:
        v = fn()
        if v:
            return v, time.monotonic() - t0
        time.sleep(0.1)
    raise AssertionError("%s not within %.0f s%s" % (
        what, secs, "; state: %s" % (state(),) if state else ""))


@pytest.fixture(scope="module")
def ha(stack):
    with open(os.path.join(stack.run_dir, "stack-db")) as f:
        topo = f.read().strip()
    assert topo == "ha", ("these drills need the HA data tier: "
                          "STACK_DB=ha tests/stack.sh up (found %s)" % topo)
    yield stack
    # Leave the tier whole: every member running, whatever a drill did.
    hadb(stack, "up")


# --------------------------------------------------------------- the load

class Writers:
    """Blog writers: articles and comments on them, through the edge.
    Records every answer like Load does (phase "write", service "blog",
    kind "article" or "comment") and every acknowledged write."""

    def __init__(self, base, users, n=2):
        self.base = base
        self.users = users
        self.n = n
        self.stop = threading.Event()
        self.lock = threading.Lock()
        self.records = []   # as Load.records
        self.comments = []  # (slug, comment id)
        self.articles = []  # slug
        self.threads = []

    def _send(self, s, kind, path, **kw):
        t0 = time.monotonic()
        try:
            r = s.request("POST", self.base + path, timeout=TIMEOUT, **kw)
            status, body = r.status_code, None
            if status >= 300:
                body = r.text[:300]
        except requests.RequestException as e:
            r, status, body = None, 0, repr(e)[:300]
        with self.lock:
            self.records.append(("write", "blog", kind, status, t0,
                                 time.monotonic(), body))
        return r, status

    def writer(self, i):
        u = self.users[i]
        h = {"Authorization": "Token " + u["token"]}
        s = requests.Session()
        rnd = random.Random(i)
        slug = None
        while not self.stop.is_set():
            if slug is None or rnd.random() < 0.2:
                r, st = self._send(s, "article", "/api/articles", headers=h,
                                   json={"article": {
                                       "title": "ha %s" % uuid.uuid4().hex,
                                       "description": "d", "body": "b",
                                       "tagList": ["ha"]}})
                if st == 201:
                    slug = r.json()["article"]["slug"]
                    with self.lock:
                        self.articles.append(slug)
            else:
                r, st = self._send(s, "comment", "/api/articles/%s/comments"
                                   % slug, headers=h,
                                   json={"comment": {"body": "c"}})
                if st == 200 or st == 201:
                    with self.lock:
                        self.comments.append(
                            (slug, r.json()["comment"]["id"]))
            time.sleep(0.02)

    def start(self):
        for i in range(self.n):
            t = threading.Thread(target=self.writer, args=(i,), daemon=True)
            t.start()
            self.threads.append(t)

    def finish(self):
        self.stop.set()
        for t in self.threads:
            t.join(TIMEOUT + 5)

    def longest_gap(self, t_from):
        """Seconds during which no blog write got through, from t_from on:
        the longest wait between two acknowledged writes (t_from counts as
        one), and, if any write failed, until the first write sent after
        the last failure was acknowledged, whichever is longer. A stall
        without failures (writes held, then answered) counts too."""
        recs = sorted((r for r in self.records if r[5] >= t_from),
                      key=lambda r: r[4])
        acks = [t_from] + sorted(r[5] for r in recs if 200 <= r[3] < 300)
        assert len(acks) > 1, "no blog write acknowledged after t_from"
        gap = max(b - a for a, b in zip(acks, acks[1:]))
        bad = [r for r in recs if r[4] >= t_from and not 200 <= r[3] < 300]
        if bad:
            last_bad = max(r[5] for r in bad)
            ok_after = [r for r in recs
                        if 200 <= r[3] < 300 and r[4] >= last_bad]
            assert ok_after, "no blog write succeeded after the last failure"
            gap = max(gap, ok_after[0][5] - t_from)
        return gap


class Mixed:
    def __init__(self, base_url, new_user):
        self.base = base_url
        self.payers = [new_user("hdp") for _ in range(PAYERS)]
        self.payees = [new_user("hde") for _ in range(2)]
        for p in self.payees:
            r = requests.post(base_url + "/pay/v1/accounts",
                              json={"currency": "USD"},
                              headers=pay_headers(p), timeout=TIMEOUT)
            assert r.status_code == 201, r.text
        for p in self.payers:
            r = requests.post(base_url + "/pay/v1/deposits",
                              json={"currency": "USD", "amount": DEPOSIT},
                              headers=pay_headers(p, uuid.uuid4().hex),
                              timeout=TIMEOUT)
            assert r.status_code == 201, r.text
        self.writers_users = [new_user("hdw") for _ in range(2)]
        self.load = Load(base_url, self.payers[0]["token"], self.payers,
                         self.payees)
        self.writers = Writers(base_url, self.writers_users)
        self.t_end = None

    def __enter__(self):
        self.load.start()
        self.writers.start()
        time.sleep(1.0)
        return self

    def __exit__(self, *exc):
        self.load.finish()
        self.writers.finish()
        self.t_end = time.monotonic()
        return False

    def records(self):
        return self.load.records + self.writers.records

    def failed(self, t_from, svc=None, kind=None):
        """Every request sent from t_from on that did not get a 2xx, blog
        writes included, oldest first."""
        return sorted((r for r in self.records()
                       if r[4] >= t_from and not 200 <= r[3] < 300 and
                       (svc is None or r[1] == svc) and
                       (kind is None or r[2] == kind)), key=lambda r: r[4])

    def payments_stalled(self, t_from):
        """The longest time from t_from on without a payment answered 201:
        what a failover costs the payers."""
        acks = sorted(r[5] for r in self.load.records
                      if r[2] == "pay" and r[3] == 201 and r[5] >= t_from)
        edges = [t_from] + acks + [self.t_end or time.monotonic()]
        return round(max(b - a for a, b in zip(edges, edges[1:])), 2)

    def check_nothing_lost(self):
        """RPO 0: every acknowledged payment exactly once, balances as the
        clients were told, invariants; every acknowledged blog write."""
        load = self.load
        assert not load.gave_up, (
            "payers gave up on these keys after %d s of retries: %s"
            % (test_ha_failures.PAY_RETRY_SECONDS, load.gave_up[:5]))
        # Both services answer again (a worker may still be in its
        # reconnect backoff for a moment after the failover).
        h = pay_headers(self.payers[0])
        wait_until("pay answering after the drill", 20, lambda: requests.get(
            self.base + "/pay/v1/accounts", headers=h,
            timeout=TIMEOUT).status_code == 200)
        wait_until("blog answering after the drill", 20, lambda: requests.get(
            self.base + "/api/tags", timeout=TIMEOUT).status_code == 200)
        ids = [v[3] for v in load.paid.values()]
        assert ids, "no payment was made during the drill"
        assert len(set(ids)) == len(ids), "two keys were answered with one" \
            " payment: %s" % [i for i, c in collections.Counter(ids).items()
                              if c > 1][:5]
        api_ids = set()
        for p in self.payers:
            api_ids |= {x["id"] for x in payments_made(self.base, p)}
        lost = set(ids) - api_ids
        assert not lost, ("RPO broken: %d payment(s) answered 201 are gone "
                          "after the drill: %s" % (len(lost),
                                                   sorted(lost)[:5]))
        extra = api_ids - set(ids)
        assert not extra, ("%d payment(s) exist that no client was told "
                           "of (a key applied twice?): %s"
                           % (len(extra), sorted(extra)[:5]))
        sent, received = collections.Counter(), collections.Counter()
        for payer, payee, amount, _ in load.paid.values():
            sent[payer] += amount
            received[payee] += amount
        for p in self.payers:
            b = balance(self.base, p)
            assert b == DEPOSIT - sent[p["username"]], (
                "payer %s: balance %d, clients expect %d" % (
                    p["username"], b, DEPOSIT - sent[p["username"]]))
        for p in self.payees:
            b = balance(self.base, p)
            assert b == received[p["username"]], (
                "payee %s: balance %d, clients expect %d" % (
                    p["username"], b, received[p["username"]]))
        check_invariants_sql()
        for slug in self.writers.articles:
            r = get_settled(self.base + "/api/articles/" + slug)
            assert r.status_code == 200, (
                "acknowledged article %s: GET answered %d %s"
                % (slug, r.status_code, r.text[:200]))
        by_slug = collections.defaultdict(set)
        for slug, cid in self.writers.comments:
            by_slug[slug].add(cid)
        for slug, cids in by_slug.items():
            r = get_settled(self.base + "/api/articles/%s/comments" % slug)
            assert r.status_code == 200, r.text
            have = {c["id"] for c in r.json()["comments"]}
            assert cids <= have, ("acknowledged comments of %s are gone: %s"
                                  % (slug, sorted(cids - have)[:5]))
        return {"payments": len(ids),
                "blog_writes_acked": len(self.writers.articles) +
                len(self.writers.comments)}


def summary(m, t0):
    """Failed requests since t0 by service, kind and status."""
    return dict(collections.Counter(
        "%s %s %s" % (r[1], r[2], r[3] or "no-answer")
        for r in m.failed(t0)))


def describe(recs, t0, limit=6):
    """Failed requests as lines that say what failed: when (seconds after
    the drill began), which service and kind, the status, how long the
    answer took and the start of its body."""
    lines = ["%d request(s) failed:" % len(recs)]
    for r in recs[:limit]:
        lines.append("  +%.1f s %s %s -> %s after %.1f s: %s" % (
            r[4] - t0, r[1], r[2], r[3] or "no answer", r[5] - r[4],
            (r[6] or "")[:160]))
    if len(recs) > limit:
        lines.append("  ... and %d more" % (len(recs) - limit))
    return "\n".join(lines)


# --------------------------------------------------------------- drills

def test_1_kill_pg_leader(ha, base_url, new_user):
    old = wait_whole("before the kill")
    with Mixed(base_url, new_user) as m:
        sup = kill_member(ha, old)
        t0, t0_wall = time.monotonic(), time.time()
        try:
            new, _ = wait_until("a new PostgreSQL leader", FAILOVER_MAX + 5,
                                lambda: pg_leader(exclude=old),
                                state=pg_state)
            seen = time.monotonic() - t0
            time.sleep(3.0)
        finally:
            # The lost member comes back, as a rebooted machine would.
            revive(sup)
    promoted = promoted_at(ha, new, t0_wall)
    assert promoted, "pg%d leads but its log says no promotion" % new
    took = min(promoted - t0_wall, seen)
    stalled = m.payments_stalled(t0)
    figures = dict(old="pg%d" % old, new="pg%d" % new,
                   failover_seconds=round(took, 2),
                   leader_promoted_by_log_after=round(promoted - t0_wall,
                                                      2),
                   leader_seen_by_poll_after=round(seen, 2),
                   payments_stalled_seconds=stalled, failed=summary(m, t0))
    write_report(ha, "1_kill_pg_leader", figures)
    figures.update(m.check_nothing_lost())
    write_report(ha, "1_kill_pg_leader", figures)
    assert took <= FAILOVER_MAX, (
        "new leader pg%d only %.1f s after the kill" % (new, took))
    bad = m.failed(t0, svc="blog")
    assert not bad, "the blog failed while PostgreSQL failed over: " + \
        describe(bad, t0)
    bad = m.failed(t0, svc="pay")
    assert all(r[3] == 503 for r in bad), \
        "pay answered other than 503 during the failover: " + \
        describe([r for r in bad if r[3] != 503], t0)
    # The killed member is back (supervisor) as a replica.
    wait_whole("with pg%d back" % old)


def test_2_kill_galera_writer(ha, base_url, new_user):
    w = galera_writer(ha)
    with Mixed(base_url, new_user) as m:
        t0 = time.monotonic()
        os.kill(sup_pid(ha, "galera:galera%d" % w), signal.SIGKILL)
        time.sleep(WRITES_RESUME_MAX + 2)
    figures = dict(killed="galera%d" % w, failed=summary(m, t0))
    gap = m.writers.longest_gap(t0)
    figures.update(writes_resumed_after=round(gap, 2),
                   **m.check_nothing_lost())
    write_report(ha, "2_kill_galera_writer", figures)
    bad = m.failed(t0, svc="blog", kind="get")
    assert not bad, describe(bad, t0)
    assert gap <= WRITES_RESUME_MAX, gap
    wait_until("galera%d synced again" % w, REJOIN_MAX,
               lambda: galera_synced(ha, w))


def test_3_freeze_pg_leader(ha, base_url, new_user):
    old = wait_whole("before the freeze")
    ppid = sup_pid(ha, "pg:pg%d" % old)
    pm = postmaster_pid(ha, old)
    with Mixed(base_url, new_user) as m:
        # The postmaster first: it forks no backend after that.
        os.kill(pm, signal.SIGSTOP)
        t0, t0_wall = time.monotonic(), time.time()
        frozen = [pm] + children(pm) + [ppid] + children(ppid)
        for pid in frozen[1:]:
            os.kill(pid, signal.SIGSTOP)
        try:
            new, _ = wait_until("a new leader while pg%d is frozen" % old,
                                FREEZE_FAILOVER_MAX,
                                lambda: pg_leader(exclude=old),
                                state=pg_state)
            seen = time.monotonic() - t0
            time.sleep(2.0)
        finally:
            for pid in frozen:
                try:
                    os.kill(pid, signal.SIGCONT)
                except ProcessLookupError:
                    pass
        _, rejoined = wait_until(
            "the thawed pg%d back as a replica" % old, REJOIN_MAX,
            lambda: patroni_ok(old, "/replica"), state=pg_state)
        time.sleep(1.0)
    # No split brain: one leader at the end, the thawed member a replica
    # of it. That the old leader acknowledged no write after the election
    # is what check_nothing_lost proves: such a write would be gone after
    # its rewind (it happened: see pay_db.c on cancelling a commit).
    leaders = [n for n in (1, 2, 3) if patroni_ok(n, "/primary")]
    assert leaders == [new], ("leaders after the thaw: %s; %s"
                              % (leaders, pg_state()))
    promoted = promoted_at(ha, new, t0_wall)
    assert promoted, "pg%d leads but its log says no promotion" % new
    figures = dict(
        old="pg%d" % old, new="pg%d" % new,
        failover_seconds=round(min(promoted - t0_wall, seen), 2),
        leader_promoted_by_log_after=round(promoted - t0_wall, 2),
        leader_seen_by_poll_after=round(seen, 2),
        rejoined_as_replica_after_thaw=round(rejoined, 2),
        payments_stalled_seconds=m.payments_stalled(t0),
        failed=summary(m, t0))
    write_report(ha, "3_freeze_pg_leader", figures)
    figures.update(m.check_nothing_lost())
    write_report(ha, "3_freeze_pg_leader", figures)
    bad = m.failed(t0, svc="blog")
    assert not bad, "the blog failed while PostgreSQL failed over: " + \
        describe(bad, t0)
    wait_whole("after the thaw")


def test_5_lose_pg_standby(ha, base_url, new_user):
    """The synchronous standby dies: the leader names the other standby
    synchronous (commits wait meanwhile, none fails)."""
    wait_whole("before losing a standby")
    standby = pg_sync_standby()
    assert standby, "no synchronous standby: %s" % pg_state()
    leader = pg_leader()
    with Mixed(base_url, new_user) as m:
        sup = kill_member(ha, standby)
        t0 = time.monotonic()
        try:
            time.sleep(5.0)
        finally:
            revive(sup)
        time.sleep(1.0)
    assert pg_leader() == leader, ("the leader moved while a standby was "
                                   "lost: %s" % pg_state())
    figures = dict(killed="pg%d (synchronous standby)" % standby,
                   payments_stalled_seconds=m.payments_stalled(t0),
                   failed=summary(m, t0))
    figures.update(m.check_nothing_lost())
    write_report(ha, "5_lose_pg_standby", figures)
    bad = m.failed(t0)
    assert not bad, "losing the synchronous standby pg%d: " % standby + \
        describe(bad, t0)
    wait_whole("with pg%d back" % standby)


def test_5_lose_galera_backup(ha, base_url, new_user):
    writer = galera_writer(ha)
    backup = [n for n in (1, 2, 3) if n != writer][0]
    with Mixed(base_url, new_user) as m:
        t0 = time.monotonic()
        os.kill(sup_pid(ha, "galera:galera%d" % backup), signal.SIGKILL)
        time.sleep(5.0)
    figures = dict(killed="galera%d" % backup, failed=summary(m, t0),
                   longest_blog_write_gap=round(m.writers.longest_gap(t0),
                                                2))
    figures.update(m.check_nothing_lost())
    write_report(ha, "5_lose_galera_backup", figures)
    bad = m.failed(t0)
    assert not bad, "losing Galera backup %d: " % backup + describe(bad, t0)
    wait_until("galera%d back" % backup, REJOIN_MAX,
               lambda: galera_synced(ha, backup))


def test_pg_no_standby_no_acknowledgement(ha, base_url, new_user):
    """With both standbys stopped a payment is never answered 201, not
    even to a retry with its key (pay_db.c drops a commit it gave up
    waiting for instead of cancelling it, which would make it visible on
    the leader alone). Once a standby is back, the retry is answered, and
    the payment exists once."""
    leader = wait_whole("before stopping the standbys")
    standbys = [n for n in (1, 2, 3) if n != leader]
    payer, payee = new_user("hnp"), new_user("hne")
    r = requests.post(base_url + "/pay/v1/accounts", json={"currency": "USD"},
                      headers=pay_headers(payee), timeout=TIMEOUT)
    assert r.status_code == 201, r.text
    r = requests.post(base_url + "/pay/v1/deposits",
                      json={"currency": "USD", "amount": 1000},
                      headers=pay_headers(payer, uuid.uuid4().hex),
                      timeout=TIMEOUT)
    assert r.status_code == 201, r.text
    key = "ha-nostandby-" + uuid.uuid4().hex
    body = {"to": payee["username"], "amount": 7, "currency": "USD",
            "reference": "no standby"}
    h = pay_headers(payer, key)
    answers = []
    try:
        hadb(ha, "ctl", "stop", *["pg:pg%d" % n for n in standbys])
        # Twice: the first waits for a standby until pay gives up on the
        # commit (503); the retry finds the key held by that commit (503
        # after lock_timeout, or 409 key in use).
        for _ in range(2):
            r = requests.post(base_url + "/pay/v1/payments", json=body,
                              headers=h, timeout=60)
            answers.append((r.status_code, r.text[:200]))
        assert answers[0][0] == 503 and answers[1][0] in (409, 503), (
            "a payment no standby has was answered: %s" % answers)
        assert pg_leader() == leader, pg_state()
    finally:
        hadb(ha, "ctl", "start", *["pg:pg%d" % n for n in standbys])
    t0 = time.monotonic()
    while True:
        r = requests.post(base_url + "/pay/v1/payments", json=body,
                          headers=h, timeout=60)
        if r.status_code == 201:
            break
        assert r.status_code in (409, 503), r.text
        assert time.monotonic() - t0 < WHOLE_MAX, (
            "the payment was not answered once the standbys were back: "
            "%s" % pg_state())
        time.sleep(0.5)
    pid = r.json()["id"]
    made = payments_made(base_url, payer)
    assert [x["id"] for x in made] == [pid], made
    assert balance(base_url, payer) == 1000 - 7
    assert balance(base_url, payee) == 7
    write_report(ha, "pg_no_standby", dict(answers_while_alone=[
        st for st, _ in answers], answered_after_standbys_back=round(
            time.monotonic() - t0, 2)))
    wait_whole("with the standbys back")


def test_4_pg_switchover(ha, base_url, new_user):
    old = wait_whole("before the switchover")
    cand = pg_sync_standby()
    assert cand, "no synchronous standby to switch over to: %s" % pg_state()
    with Mixed(base_url, new_user) as m:
        t0, t0_wall = time.monotonic(), time.time()
        out = subprocess.run(
            ["patronictl", "-c", os.path.join(ha.var, "ha", "pg1.yml"),
             "switchover", "--leader", "pg%d" % old, "--candidate",
             "pg%d" % cand, "--force"], capture_output=True, text=True,
            timeout=60)
        assert out.returncode == 0, out.stdout + out.stderr
        wait_until("pg%d leads" % cand, 30, lambda: pg_leader() == cand,
                   state=pg_state)
        took = time.monotonic() - t0
        time.sleep(2.0)
    promoted = promoted_at(ha, cand, t0_wall)
    assert promoted, "pg%d leads but its log says no promotion" % cand
    figures = dict(switchover="pg%d -> pg%d" % (old, cand),
                   promoted_after_patronictl_began=round(promoted - t0_wall,
                                                         2),
                   leader_seen_by_poll_after=round(took, 2),
                   payments_stalled_seconds=m.payments_stalled(t0),
                   failed=summary(m, t0))
    figures.update(m.check_nothing_lost())
    write_report(ha, "4_pg_switchover", figures)
    bad = m.failed(t0)
    assert not bad, "switchover pg%d -> pg%d: " % (old, cand) + \
        describe(bad, t0)
    wait_whole("after the switchover")


def test_4_galera_rolling_restart(ha, base_url, new_user):
    with Mixed(base_url, new_user) as m:
        t0 = time.monotonic()
        hadb(ha, "galera-rolling")
        took = time.monotonic() - t0
        time.sleep(1.0)
    figures = dict(galera_rolling_seconds=round(took, 1),
                   failed=summary(m, t0),
                   longest_blog_write_gap=round(m.writers.longest_gap(t0),
                                                2))
    figures.update(m.check_nothing_lost())
    write_report(ha, "4_galera_rolling_restart", figures)
    bad = m.failed(t0)
    assert not bad, "Galera rolling restart: " + describe(bad, t0)
