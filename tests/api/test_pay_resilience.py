"""The database misbehaves: a lock held too long, connections killed under
the service, expired keys. Clients get a quick 503 they can retry with the
same key, or nothing at all; never a hang, never a 500."""

import os
import subprocess
import threading
import time

import pytest

from conftest import run_threads
from pay_support import (PORT_OFFSET, VAR, check_invariants_sql, db_url, err,
                              new_user, newkey, psql)


def superuser_psql(sql):
    """Run sql as the cluster's superuser (the stack's peer login)."""
    cmd = os.environ.get("PAY_TEST_SUPER_PSQL")
    if cmd:
        argv = cmd.split() + ["-c", sql]
    else:
        argv = ["psql", "-h", os.path.join(VAR, "run"), "-p", str(5433 + PORT_OFFSET),
                "-d", "pay", "-c", sql]
        if os.geteuid() == 0:
            argv = ["runuser", "-u", "postgres", "--"] + argv
    p = subprocess.run(argv + ["-X", "-q", "-A", "-t"], capture_output=True,
                       text=True, timeout=30)
    if p.returncode != 0:
        pytest.fail("no superuser access to PostgreSQL: " + p.stderr)
    return p.stdout


def hold_lock(account_id, seconds):
    """Hold the account's row lock for seconds; returns once it is held
    (a fixed sleep was too short on a loaded machine: the payment then ran
    before the lock was taken)."""
    tag = "holder-" + newkey()
    p = subprocess.Popen(
        ["psql", db_url("owner"), "-X", "-q", "-c",
         "SET application_name = '%s'; BEGIN; SELECT 1 FROM accounts "
         "WHERE id = '%s' FOR UPDATE; SELECT pg_sleep(%s); COMMIT;"
         % (tag, account_id, seconds)],
        stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    deadline = time.monotonic() + 20
    while psql("SELECT count(*) FROM pg_stat_activity WHERE "
               "application_name = '%s' AND query LIKE '%%pg_sleep%%' "
               "AND wait_event = 'PgSleep'" % tag) != [["1"]]:
        assert p.poll() is None and time.monotonic() < deadline, \
            "the lock holder did not take the lock"
        time.sleep(0.05)
    return p


def test_lock_timeout_is_a_quick_retryable_503():
    alice, bob = new_user("ra"), new_user("rb")
    alice.deposit(1000)
    bob.open()
    # Held past pay's lock_timeout (4 s).
    holder = hold_lock(alice.account()["id"], 7)
    try:
        key = newkey()
        t0 = time.monotonic()
        r = alice.pay(bob, 10, key=key)
        took = time.monotonic() - t0
        err(r, 503, "unavailable")
        assert took < 6.5, took
    finally:
        holder.wait(10)
    # Nothing was stored: the same key now executes.
    r = alice.pay(bob, 10, key=key)
    assert r.status_code == 201 and "Idempotent-Replayed" not in r.headers
    assert bob.account()["balance"] == 10


def test_connections_killed_under_the_service():
    """Every worker's connection dies; the next requests reconnect,
    re-prepare and succeed, payments included (their key makes a re-run
    safe)."""
    alice, bob = new_user("rk"), new_user("rl")
    alice.deposit(100000)
    bob.open()
    superuser_psql("SELECT count(pg_terminate_backend(pid)) FROM "
                   "pg_stat_activity WHERE application_name = 'pay-fcgi'")
    time.sleep(0.2)
    statuses = []
    lock = threading.Lock()

    def worker():
        for _ in range(6):
            s = [alice.__class__(alice.name, alice.token).get(
                "/accounts").status_code,
                alice.__class__(alice.name, alice.token).pay(
                    bob, 1).status_code]
            with lock:
                statuses.extend(s)

    run_threads([threading.Thread(target=worker) for _ in range(8)], 60)
    assert statuses and all(s in (200, 201) for s in statuses), statuses
    assert bob.account()["balance"] == statuses.count(201)
    n = superuser_psql("SELECT count(*) FROM pg_stat_activity WHERE "
                       "application_name = 'pay-fcgi'")
    assert int(n.strip()) > 0


def test_expired_keys_are_pruned_by_the_service_role():
    alice = new_user("rp")
    key = newkey()
    alice.deposit(5)
    r = alice.post("/deposits", {"currency": "USD", "amount": 5}, key=key)
    assert r.status_code == 201
    # Age the key past any TTL (the owner may; the service may not).
    psql("UPDATE idempotency_keys SET created_at = now() - interval "
         "'30 days' WHERE key = '%s'" % key)
    p = psql("UPDATE idempotency_keys SET created_at = now()", role="app",
             check=False)
    assert p.returncode != 0 and "permission denied" in p.stderr
    n = psql("SELECT pay_idem_prune(24)", role="app")
    assert int(n[0][0]) >= 1
    assert psql("SELECT 1 FROM idempotency_keys WHERE key = '%s'" % key) \
        == []
    # A key past its TTL is a new key: it executes again.
    r2 = alice.post("/deposits", {"currency": "USD", "amount": 5}, key=key)
    assert r2.status_code == 201 and r2.json()["id"] != r.json()["id"]
    check_invariants_sql()
