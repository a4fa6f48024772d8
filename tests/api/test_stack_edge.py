"""The edge: nginx in front of both services, as the local stack runs it.

Routing, the JSON errors nginx writes itself, request ids, load balancing
over every replica, and no failed GET when a replica dies. The last tests
kill replicas and bring them back with `tests/stack.sh up`.
"""

import re
import signal
import time
import uuid

import pytest
import requests

JSON_CT = "application/json; charset=utf-8"
SERVICES = {"blog": "/api", "pay": "/pay/v1"}
REQUEST_ID = re.compile(r"^[0-9a-f]{32}$")


def assert_json(r, status):
    assert r.status_code == status, (r.status_code, r.text[:300])
    assert r.headers.get("Content-Type") == JSON_CT, r.headers
    return r.json()


def assert_blog_error(body, key=None, message=None):
    assert set(body) == {"errors"}, body
    errors = body["errors"]
    assert isinstance(errors, dict) and errors, body
    for k, v in errors.items():
        assert isinstance(v, list) and v, body
        assert all(isinstance(m, str) for m in v), body
    if key is not None:
        assert key in errors, body
        if message is not None:
            assert errors[key] == [message], body


def assert_pay_error(body, type_=None, code=None):
    assert set(body) == {"error"}, body
    err = body["error"]
    assert isinstance(err.get("type"), str), body
    assert isinstance(err.get("code"), str), body
    assert isinstance(err.get("message"), str) and err["message"], body
    if type_ is not None:
        assert err["type"] == type_, body
    if code is not None:
        assert err["code"] == code, body


def request_ids(r):
    """Every X-Request-ID header of the response, as sent (not merged)."""
    return r.raw.headers.getlist("X-Request-ID")


def healthz_count(http, admin_url, service):
    """How many public liveness requests one replica has answered, from
    its admin port's /metrics (the public answer names no replica)."""
    text = http.get(admin_url + "/metrics").text
    total = 0
    for line in text.splitlines():
        if (line.startswith("cm_requests_total{")
                and 'route="%s/healthz"' % SERVICES[service] in line):
            total += int(line.rsplit(" ", 1)[1])
    return total


@pytest.mark.parametrize("service", ["blog", "pay"])
def test_healthz_through_nginx(http, base_url, service):
    r = http.get(base_url + SERVICES[service] + "/healthz")
    body = assert_json(r, 200)
    assert body == {"status": "ok", "service": service}, body


@pytest.mark.parametrize("service", ["blog", "pay"])
def test_public_health_discloses_nothing(http, base_url, service):
    """No pid in public answers; readiness (a database round trip) is
    not public; the edge answers /healthz itself."""
    r = http.get(base_url + SERVICES[service] + "/healthz")
    assert "pid" not in r.text, r.text
    r = http.get(base_url + SERVICES[service] + "/readyz")
    assert r.status_code == 404, (r.status_code, r.text)
    body = assert_json(http.get(base_url + "/healthz"), 200)
    assert body == {"status": "ok"}, body


def test_site_served(http, base_url):
    # The web site's shell: revalidated HTML that loads hashed assets.
    r = http.get(base_url + "/")
    assert r.status_code == 200
    assert r.headers["Content-Type"].startswith("text/html")
    assert r.headers["Cache-Control"] == "no-cache"
    assert '<div id="app">' in r.text
    assets = re.findall(r'(?:src|href)="(/assets/[^"]+)"', r.text)
    assert assets, r.text
    for a in assets:
        ra = http.get(base_url + a)
        assert ra.status_code == 200, a
        assert ra.headers["Cache-Control"] == \
            "public, max-age=31536000, immutable", a
    # A page of the site is the same shell; anything else is a 404.
    assert http.get(base_url + "/article/x").text == r.text
    assert http.get(base_url + "/assets/nope.js").status_code == 404


def test_unknown_path_under_blog_is_json_404(http, base_url):
    r = http.get(base_url + "/api/no-such-route-" + uuid.uuid4().hex)
    assert_blog_error(assert_json(r, 404))


def test_unknown_path_under_pay_is_json_404(http, base_url):
    r = http.get(base_url + "/pay/v1/no-such-route-" + uuid.uuid4().hex)
    assert_pay_error(assert_json(r, 404))


@pytest.mark.parametrize("path", ["/no-such-page", "/no-such-page.html",
                                  "/apix", "/pay/v1x"])
def test_unknown_path_outside_apis_is_json_404(http, base_url, path):
    r = http.get(base_url + path, allow_redirects=False)
    assert_pay_error(assert_json(r, 404), "not_found_error", "not_found")
    assert len(request_ids(r)) == 1


def test_api_roots_are_json_404_not_redirects(http, base_url):
    r = http.get(base_url + "/api", allow_redirects=False)
    assert_blog_error(assert_json(r, 404))
    r = http.get(base_url + "/pay/v1?x=1", allow_redirects=False)
    assert_pay_error(assert_json(r, 404))


def test_internal_error_locations_are_not_reachable(http, base_url):
    r = http.get(base_url + "/_edge/502")
    assert_pay_error(assert_json(r, 404), "not_found_error", "not_found")


TWO_MIB = b"{" + b" " * (2 * 1024 * 1024) + b"}"


def test_body_too_large_blog(http, base_url):
    r = http.post(base_url + "/api/users", data=TWO_MIB,
                  headers={"Content-Type": "application/json"})
    body = assert_json(r, 413)
    assert body == {"errors": {"body": ["is too large"]}}
    assert len(request_ids(r)) == 1


def test_body_too_large_pay(http, base_url):
    r = http.post(base_url + "/pay/v1/payments", data=TWO_MIB,
                  headers={"Content-Type": "application/json",
                           "Idempotency-Key": uuid.uuid4().hex})
    body = assert_json(r, 413)
    assert_pay_error(body, "invalid_request_error", "body_too_large")
    assert len(request_ids(r)) == 1


def test_body_too_large_chunked(http, base_url):
    # No Content-Length: nginx finds out while reading the body.
    def chunks():
        for _ in range(32):
            yield b" " * 65536

    r = http.post(base_url + "/api/users", data=chunks(),
                  headers={"Content-Type": "application/json"})
    assert assert_json(r, 413) == {"errors": {"body": ["is too large"]}}


@pytest.mark.parametrize("path", ["/api/healthz", "/pay/v1/healthz",
                                  "/api/no-such-route", "/", "/nope"])
def test_request_id_once_and_from_nginx(http, base_url, stack, path):
    marker = "rid" + uuid.uuid4().hex
    r = http.get(base_url + path + "?probe=" + marker)
    ids = request_ids(r)
    assert len(ids) == 1, "X-Request-ID headers: %r" % ids
    assert REQUEST_ID.match(ids[0]), ids
    entry = stack.access_log_entry(marker)
    assert entry["request_id"] == ids[0], entry
    r2 = http.get(base_url + path)
    assert request_ids(r2) != ids


@pytest.mark.parametrize("service", ["blog", "pay"])
def test_every_replica_receives_traffic(http, base_url, stack, service):
    admins = stack.admin_urls(service)
    assert set(admins) == set(stack.replica_pids(service)) and admins, \
        "no admin port for the live %s replicas in %s" % (service,
                                                        stack.run_dir)
    before = {n: healthz_count(http, u, service) for n, u in admins.items()}
    # 20 requests are plenty for round robin; a replica nginx took out
    # after an earlier test's failure comes back within fail_timeout (5 s).
    deadline = time.monotonic() + 8
    n = 0
    while True:
        assert_json(http.get(base_url + SERVICES[service] + "/healthz"), 200)
        n += 1
        if n < 20:
            continue
        seen = {k for k, u in admins.items()
                if healthz_count(http, u, service) > before[k]}
        if seen == set(admins) or time.monotonic() > deadline:
            break
        time.sleep(0.1)
    assert seen == set(admins), "replicas %s, answered by %s" % (
        sorted(admins), sorted(seen))


@pytest.mark.parametrize("service", ["blog", "pay"])
def test_killed_replica_fails_no_get(http, base_url, stack, service):
    replicas = stack.replica_pids(service)
    if len(replicas) < 2:
        pytest.skip("needs at least 2 %s replicas" % service)
    n, victim = sorted(replicas.items())[0]
    stack.kill(victim, signal.SIGKILL)
    try:
        statuses = []
        for _ in range(50):
            r = http.get(base_url + SERVICES[service] + "/healthz")
            statuses.append(r.status_code)
        assert statuses == [200] * 50, statuses
    finally:
        # Brings back just the dead replica.
        stack.sh("up")
    after = stack.replica_pids(service)
    assert set(after) == set(replicas), after
    assert after[n] != victim
    for other, pid in replicas.items():
        if other != n:
            assert after[other] == pid, "up restarted a live replica"


@pytest.mark.parametrize("service", ["blog", "pay"])
def test_all_replicas_down_is_json_502(http, base_url, stack, service):
    replicas = stack.replica_pids(service)
    # Stopped through supervisord: killed, they would be started again
    # within a second (test_supervisor_restarts_a_killed_replica).
    stack.sh("ctl", "stop", service + ":*")
    for pid in replicas.values():
        stack.wait_dead(pid)
    try:
        r = http.get(base_url + SERVICES[service] + "/healthz")
        body = assert_json(r, 502)
        if service == "blog":
            assert_blog_error(body, "server")
        else:
            assert_pay_error(body, "api_error", "unavailable")
        assert len(request_ids(r)) == 1
        # Not retried, and still a JSON error, for a POST too.
        r = http.post(base_url + SERVICES[service] + "/x", json={},
                      headers={"Idempotency-Key": uuid.uuid4().hex})
        assert r.status_code == 502
        assert r.headers.get("Content-Type") == JSON_CT
    finally:
        stack.sh("up")
    assert len(stack.replica_pids(service)) == len(replicas)


@pytest.mark.parametrize("service", ["blog", "pay"])
def test_supervisor_restarts_a_killed_replica(http, base_url, stack,
                                              service):
    """No `up` needed: supervisord starts a replica that died again, with
    the same settings, and nginx sends it requests."""
    replicas = stack.replica_pids(service)
    n, victim = sorted(replicas.items())[-1]
    stack.kill(victim, signal.SIGKILL)
    deadline = time.monotonic() + 60
    while stack.replica_pids(service).get(n, victim) == victim:
        assert time.monotonic() < deadline, "replica %d not restarted" % n
        time.sleep(0.1)
    admin = stack.admin_urls(service)[n]
    while True:
        try:
            r = requests.get(admin + "/healthz", timeout=2)
            if r.status_code == 200:
                break
        except requests.RequestException:
            pass
        assert time.monotonic() < deadline, "replica %d does not answer" % n
        time.sleep(0.1)
    assert r.json()["pid"] == stack.replica_pids(service)[n], r.text
    after = stack.replica_pids(service)
    assert set(after) == set(replicas), after
    for other, pid in replicas.items():
        if other != n:
            assert after[other] == pid, "a live replica was restarted"
