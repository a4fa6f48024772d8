"""Many clients moving money among a few hot accounts at once (and
funding them from the system account), with
duplicates, racing duplicates and responses dropped on purpose; then the
six ledger invariants, through the API and in SQL."""

import random
import threading
import time

import pytest
import requests

from conftest import run_threads
from pay_support import (User, check_account_api, check_invariants_sql,
                              new_user, newkey, psql)

CLIENTS = 32
OPS = 25
DEPOSIT = {"USD": 300000, "JPY": 40000}
RETRY_STATUSES = (409, 502, 503, 504)


class Outcome:
    def __init__(self):
        self.lock = threading.Lock()
        self.keys = {}          # key -> (kind, status, content, json)
        self.payments = []      # (id, payer idx, payee idx, amount, cur)
        self.deposited = {}     # currency -> sum of deposits made here
        self.errors = []
        self.requests = 0
        self.retries = 0
        self.statuses = {}

    def count(self, status):
        with self.lock:
            self.requests += 1
            self.statuses[status] = self.statuses.get(status, 0) + 1


def send_until_definitive(out, fn, first=None):
    """Retry one keyed request until it has a definitive answer."""
    r = first
    deadline = time.monotonic() + 60
    while True:
        if r is not None:
            out.count(r.status_code)
            if r.status_code not in RETRY_STATUSES:
                return r
        if time.monotonic() > deadline:
            raise AssertionError("no definitive answer in 60 s")
        if first is not None or r is not None:
            with out.lock:
                out.retries += 1
            time.sleep(random.uniform(0.01, 0.1))
        try:
            r = fn(15)
        except requests.RequestException:
            r = None
        first = True


def client(seed, users, out, barrier):
    rnd = random.Random(seed)
    mine = [User(u.name, u.token) for u in users]
    barrier.wait()
    for _ in range(OPS):
        key = newkey()
        with out.lock:
            pays = list(out.payments)
        dice = rnd.random()
        if dice < 0.08:
            # The system funding account is the hottest row of all.
            a = rnd.randrange(len(mine))
            cur = "USD" if rnd.random() < 0.8 else "JPY"
            amount = rnd.randint(1, 1000)
            body = {"currency": cur, "amount": amount}
            actor, path, kind = mine[a], "/deposits", "deposit"
        elif dice < 0.65 or not pays:
            a, b = rnd.sample(range(len(mine)), 2)
            cur = "USD" if rnd.random() < 0.8 else "JPY"
            amount = rnd.randint(1, 4000)
            body = {"to": mine[b].name, "amount": amount, "currency": cur,
                    "reference": "conc:%d" % seed}
            actor, path, kind = mine[a], "/payments", "payment"
        else:
            pid, _, b, amount, _ = rnd.choice(pays)
            body = {}
            if rnd.random() < 0.6:
                body["amount"] = rnd.randint(1, max(1, amount // 2))
            actor, path, kind = mine[b], "/payments/%s/refunds" % pid, \
                "refund"

        def fn(timeout, actor=actor, path=path, body=body, key=key):
            return actor.post(path, body, key=key, timeout=timeout)

        mode = rnd.random()
        try:
            if mode < 0.12:
                # The response is lost: the client gives up at once and
                # retries with the same key later.
                try:
                    fn((5, 0.001))
                except requests.RequestException:
                    pass
                r = send_until_definitive(out, fn)
            elif mode < 0.24:
                # Two copies at the same time.
                other = {}
                t = threading.Thread(target=lambda: other.update(
                    r=User(actor.name, actor.token).post(
                        path, body, key=key, timeout=15)))
                t.start()
                r1 = fn(15)
                t.join()
                r2 = other["r"]
                for x in (r1, r2):
                    out.count(x.status_code)
                    assert x.status_code < 500 or x.status_code == 503, \
                        x.text
                r = send_until_definitive(out, fn, r1)
                if r2.status_code not in RETRY_STATUSES:
                    assert r2.content == r.content, (r2.text, r.text)
            else:
                r = send_until_definitive(out, fn)
            assert r.status_code < 500, r.text
            if mode >= 0.12 and mode < 0.36:
                # An exact repeat replays byte for byte.
                again = fn(15)
                out.count(again.status_code)
                assert again.status_code == r.status_code, again.text
                assert again.content == r.content
                assert again.headers.get("Idempotent-Replayed") == "true"
        except AssertionError as e:
            with out.lock:
                out.errors.append(repr(e))
            continue
        with out.lock:
            out.keys[key] = (kind, r.status_code, r.content, r.json())
            if kind == "payment" and r.status_code == 201:
                out.payments.append((r.json()["id"], a, b, amount, cur))
            if kind == "deposit" and r.status_code == 201:
                out.deposited[cur] = out.deposited.get(cur, 0) + amount


@pytest.fixture(scope="module")
def hot():
    users = [new_user("hot") for _ in range(4)]
    for u in users:
        for cur, amount in DEPOSIT.items():
            u.deposit(amount, cur)
    return users


def test_concurrent_payments_and_refunds(hot):
    out = Outcome()
    barrier = threading.Barrier(CLIENTS)
    threads = [threading.Thread(target=client, args=(i, hot, out, barrier))
               for i in range(CLIENTS)]
    t0 = time.monotonic()
    run_threads(threads, 120)
    took = time.monotonic() - t0
    assert not out.errors, out.errors[:5]
    moved = sum(1 for k in out.keys.values() if k[1] == 201)
    print("\n%d keyed operations (%d moved money), %d requests, %d retries "
          "in %.2f s: %.0f requests/s, %.0f movements/s; statuses %s" % (
              len(out.keys), moved, out.requests, out.retries, took,
              out.requests / took, moved / took, sorted(
                  out.statuses.items())))
    assert len(out.keys) == CLIENTS * OPS
    assert 500 not in out.statuses

    # One effect per key: every 201 names its own object, and the
    # database holds exactly those objects for these users.
    names = [u.name for u in hot]
    ids = {k: v[3]["id"] for k, v in out.keys.items() if v[1] == 201}
    assert len(set(ids.values())) == len(ids)
    pay_ids = {v[3]["id"] for v in out.keys.values()
               if v[0] == "payment" and v[1] == 201}
    ref_ids = {v[3]["id"] for v in out.keys.values()
               if v[0] == "refund" and v[1] == 201}
    in_list = ",".join("'%s'" % n for n in names)
    db_pays = {r[0] for r in psql(
        "SELECT id FROM payments WHERE payer IN (%s)" % in_list)}
    assert db_pays == pay_ids
    db_refs = {r[0] for r in psql(
        """SELECT r.id FROM refunds r JOIN payments p ON p.seq = r.payment_seq
        WHERE p.payer IN (%s)""" % in_list)}
    assert db_refs == ref_ids

    # Invariants through the API: every statement chains, money is
    # conserved among the hot users, refunds stay within their payment.
    for cur, amount in DEPOSIT.items():
        total = 0
        for u in hot:
            total += check_account_api(u, cur)["balance"]
        assert total == amount * len(hot) + out.deposited.get(cur, 0)
    refunded = {}
    for v in out.keys.values():
        if v[0] == "refund" and v[1] == 201:
            pid = v[3]["payment_id"]
            refunded[pid] = refunded.get(pid, 0) + v[3]["amount"]
    for u in hot:
        after = None
        while True:
            q = {"direction": "sent", "limit": 100}
            if after:
                q["starting_after"] = after
            page = u.get("/payments", params=q).json()
            for p in page["data"]:
                assert 0 <= p["amount_refunded"] <= p["amount"]
                assert p["amount_refunded"] == refunded.get(p["id"], 0)
            if not page["has_more"]:
                break
            after = page["data"][-1]["id"]

    # And in SQL, over the whole database.
    check_invariants_sql()


PRIVILEGED = [
    "UPDATE entries SET amount = amount",
    "DELETE FROM entries",
    "UPDATE deposits SET amount = amount",
    "DELETE FROM deposits",
    "UPDATE refunds SET amount = amount",
    "DELETE FROM refunds",
    "DELETE FROM payments",
    "UPDATE payments SET amount = amount",
    "UPDATE accounts SET owner_id = owner_id",
    "DELETE FROM accounts",
    "TRUNCATE entries",
    "UPDATE accounts SET balance = balance + 1",
]


@pytest.mark.parametrize("sql", PRIVILEGED)
def test_ledger_is_append_only_for_the_service(sql):
    """Invariant 6 and the derived-column rules, enforced by PostgreSQL."""
    p = psql("BEGIN; %s; ROLLBACK;" % sql, role="app", check=False)
    assert p.returncode != 0, sql
    assert ("permission denied" in p.stderr or "violates" in p.stderr or
            "does not match its ledger" in p.stderr), p.stderr


@pytest.mark.parametrize("sql", PRIVILEGED[:3] + PRIVILEGED[5:7])
def test_ledger_is_append_only_for_the_owner_too(sql):
    p = psql("BEGIN; %s; ROLLBACK;" % sql, role="owner", check=False)
    assert p.returncode != 0, sql
