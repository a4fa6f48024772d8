"""High availability: a steady mixed load while replicas and databases fail.

Readers GET both APIs (/api/articles, /api/tags, /pay/v1/accounts) without
pause; payers POST /pay/v1/payments with an Idempotency-Key each and, like a
careful client, retry a payment that failed in any way with the same key
until it succeeds. Meanwhile the test:

  1. SIGKILLs one blog and one pay replica, then `tests/stack.sh up` brings
     back just those;
  2. restarts every replica one at a time with SIGTERM
     (`tests/stack.sh restart-rolling`);
  3. stops PostgreSQL for a few seconds and starts it again, then the same
     with MariaDB (`tests/stack.sh db-stop|db-start`).

It then checks: no failed GET during 1 and 2; every payment key has exactly
one effect (the clients' ids, the API's lists and the database agree), the
ledger invariants hold, and the balances are what the clients believe; during
3 the service whose database is down answers only 503 (in its API's error
format, quickly) and the other service is untouched; both recover by
themselves within RECOVERY_MAX seconds. The figures go to stdout and to
var/log/ha-report.json (under "single" or "ha", the data topology), since
make test runs pytest -q.
"""

import collections
import json
import os
import random
import signal
import threading
import time
import uuid

import requests

from pay_support import all_pages, check_invariants_sql, psql

READERS = 2
PAYERS = 4
DEPOSIT = 10_000_000
OUTAGE_SECONDS = 3
RECOVERY_MAX = 10.0
# A request that meets a dead database must still be answered quickly.
OUTAGE_ANSWER_MAX = 5.0
# A payment is retried with its key for at most this long.
PAY_RETRY_SECONDS = 60
TIMEOUT = 15

READ_PATHS = [("blog", "/api/articles?limit=5"), ("blog", "/api/tags"),
              ("pay", "/pay/v1/accounts")]


class Load:
    """The clients, and every answer they got, labelled with the phase in
    which the request was sent."""

    def __init__(self, base_url, reader_token, payers, payees):
        self.base = base_url
        self.reader_token = reader_token
        self.payers = payers
        self.payees = payees
        self.phase = "warmup"
        self.stop = threading.Event()
        self.lock = threading.Lock()
        # (phase, service, kind, status, t_sent, t_answered, body)
        self.records = []
        # key -> (payer name, payee name, amount, payment id)
        self.paid = {}
        self.gave_up = []
        self.threads = []

    def _send(self, session, method, svc, kind, path, **kw):
        phase = self.phase
        t0 = time.monotonic()
        try:
            r = session.request(method, self.base + path, timeout=TIMEOUT,
                                **kw)
            status, body = r.status_code, None
            if status >= 300:
                body = r.text[:300]
        except requests.RequestException as e:
            r, status, body = None, 0, repr(e)[:300]
        t1 = time.monotonic()
        with self.lock:
            self.records.append((phase, svc, kind, status, t0, t1, body))
        return r, status

    def reader(self, seed):
        rnd = random.Random(seed)
        s = requests.Session()
        auth = {"Authorization": "Bearer " + self.reader_token}
        while not self.stop.is_set():
            svc, path = rnd.choice(READ_PATHS)
            self._send(s, "GET", svc, "get", path,
                       headers=auth if svc == "pay" else None)
            time.sleep(0.01)

    def payer(self, i):
        rnd = random.Random(1000 + i)
        me = self.payers[i]
        s = requests.Session()
        while not self.stop.is_set():
            key = "ha-" + uuid.uuid4().hex
            to = rnd.choice(self.payees)
            amount = rnd.randint(1, 500)
            body = {"to": to["username"], "amount": amount,
                    "currency": "USD", "reference": "ha:" + key}
            h = {"Authorization": "Bearer " + me["token"],
                 "Idempotency-Key": key}
            deadline = time.monotonic() + PAY_RETRY_SECONDS
            while True:
                r, status = self._send(s, "POST", "pay", "pay",
                                       "/pay/v1/payments", json=body,
                                       headers=h)
                if status == 201:
                    self.paid[key] = (me["username"], to["username"],
                                      amount, r.json()["id"])
                    break
                if time.monotonic() > deadline:
                    self.gave_up.append((key, status))
                    break
                # A failed payment may or may not have happened: only
                # the same key can tell, so retry with it.
                time.sleep(0.1)
            time.sleep(0.03)

    def start(self):
        for i in range(READERS):
            self.threads.append(threading.Thread(target=self.reader,
                                                 args=(i,), daemon=True))
        for i in range(PAYERS):
            self.threads.append(threading.Thread(target=self.payer,
                                                 args=(i,), daemon=True))
        for t in self.threads:
            t.start()

    def finish(self):
        self.stop.set()
        for t in self.threads:
            t.join(PAY_RETRY_SECONDS + TIMEOUT + 5)
        assert not any(t.is_alive() for t in self.threads)

    def of(self, phase=None, svc=None, kind=None):
        return [r for r in self.records
                if (phase is None or r[0] == phase) and
                (svc is None or r[1] == svc) and
                (kind is None or r[2] == kind)]


def write_report(stack, name, figures):
    """Put one drill's figures into var/log/ha-report.json under the data
    topology the stack runs (single or ha), keeping the others' (make test
    runs this file on both, and test_ha_data.py on ha)."""
    path = os.path.join(stack.log_dir, "ha-report.json")
    with open(os.path.join(stack.run_dir, "stack-db")) as f:
        topo = f.read().strip()
    try:
        with open(path) as f:
            doc = json.load(f)
    except (OSError, ValueError):
        doc = {}
    if not isinstance(doc.get(topo), dict):
        doc = {k: v for k, v in doc.items() if k in ("single", "ha")}
        doc[topo] = {}
    doc[topo][name] = dict(figures, at=time.strftime("%Y-%m-%dT%H:%M:%SZ",
                                                     time.gmtime()))
    with open(path + ".tmp", "w") as f:
        json.dump(doc, f, indent=1, sort_keys=True)
        f.write("\n")
    os.replace(path + ".tmp", path)
    print("\nHA report, %s %s:\n%s" % (topo, name, json.dumps(
        figures, indent=1, sort_keys=True)))


def pay_headers(user, key=None):
    h = {"Authorization": "Bearer " + user["token"]}
    if key:
        h["Idempotency-Key"] = key
    return h


def balance(base_url, user, get=requests.get):
    r = get(base_url + "/pay/v1/accounts", timeout=TIMEOUT,
            headers=pay_headers(user))
    assert r.status_code == 200, r.text
    usd = [a for a in r.json()["data"] if a["currency"] == "USD"]
    return usd[0]["balance"] if usd else 0


def payments_made(base_url, user, get=requests.get):
    """Every payment the user sent, through the API."""
    return all_pages(lambda q: get(
        base_url + "/pay/v1/payments", timeout=TIMEOUT,
        params=dict(q, direction="sent", limit=100),
        headers=pay_headers(user)))


def wait_ready(urls, probe, t_up, need=12):
    """Seconds from t_up until every replica's admin /readyz (urls) says
    200 and `need` public requests in a row that read the database (probe,
    through the edge, so they reach the workers' own connections) are 200;
    fails past RECOVERY_MAX. Readiness is on the admin ports only: the
    edge does not pass it on."""
    ok, first_ok = 0, None
    s = requests.Session()
    while time.monotonic() - t_up < RECOVERY_MAX + 5:
        try:
            codes = [s.get(probe[0], headers=dict(probe[1],
                                                  Connection="close"),
                           timeout=2).status_code]
        except requests.RequestException:
            codes = [0]
        for url in urls:
            try:
                codes.append(s.get(url + "/readyz", timeout=2,
                                   headers={"Connection": "close"})
                             .status_code)
            except requests.RequestException:
                codes.append(0)
        if codes and all(c == 200 for c in codes):
            ok += 1
            first_ok = first_ok or time.monotonic()
            if ok >= need:
                return first_ok - t_up
        else:
            ok, first_ok = 0, None
        time.sleep(0.05)
    raise AssertionError("%s not ready %.0f s after the database came back"
                         % (urls, RECOVERY_MAX + 5))


def check_error_format(svc, body):
    doc = json.loads(body)
    if svc == "blog":
        assert set(doc) == {"errors"}, body
        assert all(isinstance(v, list) and v for v in doc["errors"].values())
    else:
        assert doc["error"]["code"] == "unavailable", body
        assert doc["error"]["type"] == "api_error", body


def test_ha_failures(base_url, stack, new_user):
    t_start = time.monotonic()
    payers = [new_user("hap") for _ in range(PAYERS)]
    payees = [new_user("hae") for _ in range(2)]
    for p in payees:
        r = requests.post(base_url + "/pay/v1/accounts",
                          json={"currency": "USD"}, headers=pay_headers(p),
                          timeout=TIMEOUT)
        assert r.status_code == 201, r.text
    for p in payers:
        r = requests.post(base_url + "/pay/v1/deposits",
                          json={"currency": "USD", "amount": DEPOSIT},
                          headers=pay_headers(p, uuid.uuid4().hex),
                          timeout=TIMEOUT)
        assert r.status_code == 201, r.text

    load = Load(base_url, payers[0]["token"], payers, payees)
    figures = {"phases": {}}
    load.start()
    try:
        time.sleep(1.5)

        # 1. SIGKILL one replica of each service; bring them back.
        load.phase = "kill"
        t0 = time.monotonic()
        victims = {}
        for svc in ("blog", "pay"):
            n, pid = sorted(stack.replica_pids(svc).items())[0]
            victims[svc] = pid
            os.kill(pid, signal.SIGKILL)
        for pid in victims.values():
            stack.wait_dead(pid)
        time.sleep(1.5)
        stack.sh("up")
        time.sleep(1.0)
        figures["phases"]["kill"] = {"seconds": time.monotonic() - t0}

        # 2. Rolling restart: every replica SIGTERMed one at a time.
        load.phase = "rolling"
        t0 = time.monotonic()
        stack.sh("restart-rolling")
        time.sleep(0.5)
        figures["phases"]["rolling"] = {"seconds": time.monotonic() - t0}

        # 3. Each database down for a few seconds, then back.
        for svc, db in (("pay", "pg"), ("blog", "mariadb")):
            ready = list(stack.admin_urls(svc).values())
            assert ready, "no admin ports for %s" % svc
            probe = ((base_url + "/pay/v1/accounts",
                      {"Authorization": "Bearer " + payers[0]["token"]})
                     if svc == "pay" else (base_url + "/api/tags", {}))
            load.phase = "outage-" + db
            t0 = time.monotonic()
            stack.sh("db-stop", db)
            t_down = time.monotonic()
            time.sleep(OUTAGE_SECONDS)
            r = requests.get(ready[0] + "/readyz", timeout=TIMEOUT)
            assert r.status_code == 503, (ready, r.status_code, r.text)
            stack.sh("db-start", db)
            t_up = time.monotonic()
            ready_after = wait_ready(ready, probe, t_up)
            time.sleep(1.0)
            figures["phases"]["outage-" + db] = {
                "service": svc, "down_seconds": t_up - t_down,
                "readyz_recovered_after": ready_after,
                "t_up": t_up, "seconds": time.monotonic() - t0}
        load.phase = "after"
        time.sleep(1.0)
    finally:
        load.finish()
        # Whatever failed, leave the stack whole for the next tests.
        stack.sh("db-start", "pg")
        stack.sh("db-start", "mariadb")
        stack.sh("up")

    # ---- figures
    recs = load.records
    by_phase = collections.OrderedDict()
    for phase, svc, kind, status, *_ in recs:
        d = by_phase.setdefault(phase, {"requests": 0, "non_2xx": {}})
        d["requests"] += 1
        if not 200 <= status < 300:
            k = "%s %s %s" % (svc, kind, status or "no-answer")
            d["non_2xx"][k] = d["non_2xx"].get(k, 0) + 1
    for svc, db in (("pay", "pg"), ("blog", "mariadb")):
        f = figures["phases"]["outage-" + db]
        bad = [r for r in recs if r[1] == svc and
               not 200 <= r[3] < 300 and r[0] == "outage-" + db]
        last_bad = max((r[5] for r in bad), default=f["t_up"])
        f["failed_requests"] = len(bad)
        f["recovered_after"] = max(0.0, last_bad - f["t_up"])
        f["slowest_503"] = max((r[5] - r[4] for r in bad), default=0.0)
        del f["t_up"]
    figures.update({
        "requests": len(recs),
        "gets": len(load.of(kind="get")),
        "payment_attempts": len(load.of(kind="pay")),
        "payments": len(load.paid),
        "by_phase": by_phase,
        "gave_up": load.gave_up[:10],
        "seconds": time.monotonic() - t_start,
    })
    write_report(stack, "6_replicas_and_outages", figures)

    # ---- 1 and 2: no GET failed while replicas died and restarted.
    for phase in ("warmup", "kill", "rolling"):
        bad = [r for r in load.of(phase, kind="get") if r[3] != 200]
        assert not bad, (phase, bad[:5])
        assert load.of(phase, kind="get"), "no reads during " + phase

    # ---- 3: only the affected service failed, only with 503s, quickly.
    for svc, other, db in (("pay", "blog", "pg"), ("blog", "pay", "mariadb")):
        phase = "outage-" + db
        others = [r for r in load.of(phase, svc=other) if r[3] >= 300]
        assert not others, (phase, other, others[:5])
        mine = [r for r in load.of(phase, svc=svc) if r[3] >= 300]
        assert mine, "no request met the %s outage" % db
        not503 = [r for r in mine if r[3] != 503]
        assert not not503, (phase, not503[:5])
        for r in mine:
            check_error_format(svc, r[6])
        f = figures["phases"][phase]
        assert f["slowest_503"] <= OUTAGE_ANSWER_MAX, f
        assert f["recovered_after"] <= RECOVERY_MAX, f
        assert f["readyz_recovered_after"] <= RECOVERY_MAX, f
    after = [r for r in load.of("after") if r[3] >= 300]
    assert not after, after[:5]

    # ---- payments: every key exactly one effect, nothing lost.
    assert not load.gave_up, load.gave_up[:5]
    assert len(load.paid) > 0
    ids = [v[3] for v in load.paid.values()]
    assert len(set(ids)) == len(ids), "two keys gave the same payment"
    api_ids = set()
    for p in payers:
        api_ids |= {x["id"] for x in payments_made(base_url, p)}
    assert api_ids == set(ids), (len(api_ids), len(ids))
    names = ",".join("'%s'" % p["username"] for p in payers)
    db_ids = {r[0] for r in psql(
        "SELECT id FROM payments WHERE payer IN (%s)" % names)}
    assert db_ids == set(ids), (len(db_ids), len(ids))
    rows = psql("""SELECT count(*), count(DISTINCT k.body::json->>'id')
        FROM idempotency_keys k WHERE k.key LIKE 'ha-%%' AND k.user_id IN
        (SELECT user_id FROM users WHERE username IN (%s))""" % names)
    assert rows[0] == [str(len(ids)), str(len(ids))], rows

    # ---- balances are what the clients believe they paid.
    sent = collections.Counter()
    received = collections.Counter()
    for payer, payee, amount, _ in load.paid.values():
        sent[payer] += amount
        received[payee] += amount
    for p in payers:
        assert balance(base_url, p) == DEPOSIT - sent[p["username"]], p
    for p in payees:
        assert balance(base_url, p) == received[p["username"]], p
    check_invariants_sql()
