"""A pay replica is killed (SIGKILL) while payments are in flight. Every
client retries with its Idempotency-Key until it gets a definitive answer;
afterwards each key has exactly one effect and the invariants hold. The
replicas are then restarted with tests/stack.sh restart pay."""

import os
import random
import shlex
import signal
import subprocess
import threading
import time

import pytest
import requests

from pay_support import (RESTART, User, check_account_api,
                              check_invariants_sql, new_user, newkey, psql)

CLIENTS = 16
OPS = 20
RETRY_STATUSES = (409, 502, 503, 504)


def test_sigkill_replica_mid_flight(stack):
    pids = list(stack.replica_pids("pay").values())
    if not pids:
        pytest.fail("no running pay replica (make up)")
    users = [new_user("crash") for _ in range(4)]
    for u in users:
        u.deposit(1000000)
    lock = threading.Lock()
    results = {}            # key -> (status, json)
    failures = []
    stats = {"retries": 0, "lost": 0}
    start = threading.Event()

    def client(seed):
        rnd = random.Random(seed)
        mine = [User(u.name, u.token) for u in users]
        start.wait()
        for _ in range(OPS):
            a, b = rnd.sample(range(len(mine)), 2)
            key = newkey()
            body = {"to": mine[b].name, "amount": rnd.randint(1, 500),
                    "currency": "USD"}
            deadline = time.monotonic() + 90
            while True:
                try:
                    r = mine[a].post("/payments", body, key=key, timeout=10)
                except requests.RequestException:
                    r = None
                    with lock:
                        stats["lost"] += 1
                if r is not None and r.status_code not in RETRY_STATUSES:
                    break
                if time.monotonic() > deadline:
                    with lock:
                        failures.append("no answer for " + key)
                    return
                with lock:
                    stats["retries"] += 1
                time.sleep(rnd.uniform(0.02, 0.2))
            with lock:
                if r.status_code != 201:
                    failures.append(r.text)
                results[key] = (r.status_code, r.json())

    threads = [threading.Thread(target=client, args=(i,))
               for i in range(CLIENTS)]
    for t in threads:
        t.start()
    start.set()
    time.sleep(0.25)
    victim = pids[0]
    os.kill(victim, signal.SIGKILL)
    t_kill = time.monotonic()
    stack.wait_dead(victim)
    # Let the clients run against the survivors (or against nothing,
    # with a single replica) for a moment, then bring the replicas back.
    time.sleep(1.0)
    rs = subprocess.run(shlex.split(RESTART), capture_output=True,
                        text=True, timeout=180)
    assert rs.returncode == 0, rs.stdout + rs.stderr
    for t in threads:
        t.join(120)
    assert not any(t.is_alive() for t in threads)
    print("\nkilled pid %d; %d payments, %d retries, %d lost responses, "
          "restart took %.1f s" % (victim, len(results), stats["retries"],
                                   stats["lost"],
                                   time.monotonic() - t_kill))
    assert not failures, failures[:5]
    assert len(results) == CLIENTS * OPS

    # Exactly one effect per key: the ids the clients were finally given
    # are distinct and are exactly the payments these users made.
    ids = [v[1]["id"] for v in results.values()]
    assert len(set(ids)) == len(ids)
    names = ",".join("'%s'" % u.name for u in users)
    db = {r[0] for r in psql("SELECT id FROM payments WHERE payer IN (%s)"
                             % names)}
    assert db == set(ids)
    # Keys stored for them: one per payment, none left behind.
    rows = psql("""SELECT count(*), count(DISTINCT k.body::json->>'id')
        FROM idempotency_keys k WHERE k.user_id IN
        (SELECT user_id FROM users WHERE username IN (%s)) AND
        k.body::json->>'from' IS NOT NULL""" % names)
    assert rows[0] == [str(len(ids)), str(len(ids))]
    total = sum(check_account_api(u)["balance"] for u in users)
    assert total == 1000000 * len(users)
    check_invariants_sql()
    # Every replica answers again.
    for _ in range(100):
        if len(stack.replica_pids("pay")) >= len(pids):
            break
        time.sleep(0.1)
    assert len(stack.replica_pids("pay")) >= len(pids)
