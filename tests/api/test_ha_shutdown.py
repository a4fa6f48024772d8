"""Graceful shutdown end to end: SIGTERM to a replica under load loses no
request, not even a POST, and nobody retries here.

At SIGTERM the replica stops listening (new connects fail and nginx passes
those requests, POSTs included, since they never reached a backend, to the
other replica), keeps serving what arrives on the kept-alive connections
nginx still holds until nginx retires them (keepalive_time and
keepalive_timeout in nginx/nginx.conf.in), and exits. It never closes a
connection itself: that raced a POST nginx wrote at the same instant, which
nginx cannot pass on (the 502 that made this test flaky, issue 16). The
clients below do not retry: every request must succeed on its first
attempt.
"""

import collections
import os
import signal
import threading
import time
import uuid

import pytest
import requests

SECONDS_UNDER_LOAD = 4.0
TIMEOUT = 15


def _log_tail(path, start):
    with open(path, "rb") as f:
        f.seek(start)
        return f.read().decode(errors="replace")


@pytest.mark.parametrize("service", ["pay", "blog"])
def test_sigterm_under_load_loses_nothing(base_url, stack, new_user,
                                          service):
    replicas = stack.replica_pids(service)
    if len(replicas) < 2:
        pytest.skip("needs at least 2 %s replicas" % service)
    payer, payee = new_user("gsp"), new_user("gse")
    auth = {"Authorization": "Bearer " + payer["token"]}
    r = requests.post(base_url + "/pay/v1/accounts", json={
        "currency": "USD"}, timeout=TIMEOUT,
        headers={"Authorization": "Bearer " + payee["token"]})
    assert r.status_code == 201, r.text
    r = requests.post(base_url + "/pay/v1/deposits", json={
        "currency": "USD", "amount": 10_000_000}, timeout=TIMEOUT,
        headers=dict(auth, **{"Idempotency-Key": uuid.uuid4().hex}))
    assert r.status_code == 201, r.text
    blog_auth = {"Authorization": "Token " + payer["token"]}
    r = requests.post(base_url + "/api/articles", json={"article": {
        "title": "shutdown", "description": "d", "body": "b"}},
        headers=blog_auth, timeout=TIMEOUT)
    assert r.status_code == 201, r.text
    slug = r.json()["article"]["slug"]

    stop = threading.Event()
    results = collections.Counter()
    failures = []
    lock = threading.Lock()

    def note(what, r):
        with lock:
            results[(what, getattr(r, "status_code", 0))] += 1
            if r is None or isinstance(r, Exception) or r.status_code >= 300:
                failures.append((what, repr(r)[:200] if r is None or
                                 isinstance(r, Exception) else
                                 (r.status_code, r.text[:200])))

    def get_loop(path, headers):
        s = requests.Session()
        while not stop.is_set():
            try:
                r = s.get(base_url + path, headers=headers, timeout=TIMEOUT)
            except requests.RequestException as e:
                r = e
            note("GET " + path, r)

    def post_loop():
        s = requests.Session()
        while not stop.is_set():
            h = dict(auth, **{"Idempotency-Key": uuid.uuid4().hex})
            try:
                r = s.post(base_url + "/pay/v1/payments", headers=h,
                           json={"to": payee["username"], "amount": 1,
                                 "currency": "USD"}, timeout=TIMEOUT)
            except requests.RequestException as e:
                r = e
            note("POST /pay/v1/payments", r)

    def comment_loop():
        s = requests.Session()
        while not stop.is_set():
            try:
                r = s.post(base_url + "/api/articles/%s/comments" % slug,
                           headers=blog_auth, timeout=TIMEOUT,
                           json={"comment": {"body": "c"}})
            except requests.RequestException as e:
                r = e
            note("POST comments", r)

    if service == "pay":
        loops = [(get_loop, ("/pay/v1/accounts", auth))] * 3 + \
            [(post_loop, ())] * 3
    else:
        loops = [(get_loop, ("/api/articles?limit=5", None))] * 2 + \
            [(get_loop, ("/api/tags", None))] * 2 + [(comment_loop, ())] * 3
    threads = [threading.Thread(target=f, args=a, daemon=True)
               for f, a in loops]
    n, victim = sorted(replicas.items())[0]
    logfile = os.path.join(stack.log_dir, "%s-%d.log" % (service, n))
    log_start = os.path.getsize(logfile)
    for t in threads:
        t.start()
    try:
        time.sleep(1.0)
        t0 = time.monotonic()
        os.kill(victim, signal.SIGTERM)
        stack.wait_dead(victim, timeout=15)
        drained = time.monotonic() - t0
        time.sleep(SECONDS_UNDER_LOAD - 1.0)
    finally:
        stop.set()
        for t in threads:
            t.join(TIMEOUT + 5)
        stack.sh("up")
    total = sum(results.values())
    print("\nSIGTERM %s-%d under load: %d requests, exited after %.2f s, "
          "%s" % (service, n, total, drained, dict(results)))
    assert not failures, failures[:5]
    assert total > 50
    # It drained and exited by itself, well within its grace period.
    assert drained < 10
    assert "stopped" in _log_tail(logfile, log_start)
    after = stack.replica_pids(service)
    assert set(after) == set(replicas)
