"""The edge as a production front: security headers, CORS, gzip, timeouts
and rate limits, as nginx/nginx.conf.in renders them in the local stack.

The rate-limit test reloads nginx with tight limits (EDGE_RATE_*) and puts
the stack's own settings back afterwards, whatever happens.
"""

import gzip
import json
import uuid

import pytest
import requests

JSON_CT = "application/json; charset=utf-8"
ALLOWED = "http://localhost:3000"
SECURITY = {
    "X-Content-Type-Options": "nosniff",
    "X-Frame-Options": "DENY",
    "Referrer-Policy": "no-referrer",
}
CORS_HEADERS = ("Access-Control-Allow-Origin",
                "Access-Control-Allow-Methods",
                "Access-Control-Allow-Headers",
                "Access-Control-Max-Age",
                "Access-Control-Expose-Headers")


def assert_security_headers(r):
    for k, v in SECURITY.items():
        assert r.headers.get(k) == v, (k, r.headers)
    assert "frame-ancestors 'none'" in r.headers.get(
        "Content-Security-Policy", ""), r.headers
    assert r.headers.get("Server") == "nginx", r.headers  # no version


@pytest.mark.parametrize("path,status", [
    ("/api/tags", 200), ("/pay/v1/healthz", 200), ("/", 200),
    ("/api/no-such", 404), ("/pay/v1/accounts", 401), ("/nope", 404)])
def test_security_headers_everywhere(http, base_url, path, status):
    r = http.get(base_url + path)
    assert r.status_code == status, r.text[:200]
    assert_security_headers(r)


def test_edge_error_has_security_and_cors_headers(http, base_url):
    # A 413 is written by nginx itself, not a service.
    r = http.post(base_url + "/api/users", data=b"{" + b" " * (2 << 20)
                  + b"}", headers={"Content-Type": "application/json",
                                   "Origin": ALLOWED})
    assert r.status_code == 413
    assert_security_headers(r)
    assert r.headers.get("Access-Control-Allow-Origin") == ALLOWED


@pytest.mark.parametrize("path", ["/api/articles", "/pay/v1/payments"])
@pytest.mark.parametrize("origin", ["http://localhost:3000",
                                    "http://127.0.0.1:3000",
                                    "http://localhost:4200",
                                    "http://localhost:5173"])
def test_preflight_answered_at_edge(http, base_url, stack, path, origin):
    marker = "pf" + uuid.uuid4().hex
    r = http.options(base_url + path + "?m=" + marker, headers={
        "Origin": origin,
        "Access-Control-Request-Method": "POST",
        "Access-Control-Request-Headers": "content-type,authorization"})
    assert r.status_code == 204, r.text
    assert r.content == b""
    h = r.headers
    assert h["Access-Control-Allow-Origin"] == origin
    assert "Origin" in h.get("Vary", "")
    methods = {m.strip() for m in h["Access-Control-Allow-Methods"].split(",")}
    assert {"GET", "POST", "PUT", "DELETE"} <= methods
    allowed = {x.strip().lower()
               for x in h["Access-Control-Allow-Headers"].split(",")}
    assert {"content-type", "authorization", "idempotency-key",
            "x-requested-with"} <= allowed
    assert int(h["Access-Control-Max-Age"]) > 0
    # Answered by nginx: no replica saw it.
    entry = stack.access_log_entry(marker)
    assert entry["upstream"] == "", entry


def test_preflight_from_unlisted_origin_gets_no_cors(http, base_url):
    r = http.options(base_url + "/api/articles", headers={
        "Origin": "http://evil.example",
        "Access-Control-Request-Method": "POST"})
    for k in CORS_HEADERS:
        assert k not in r.headers, r.headers


@pytest.mark.parametrize("path,status", [
    ("/api/tags", 200), ("/pay/v1/accounts", 401), ("/api/nope", 404)])
def test_actual_response_cors(http, base_url, path, status):
    r = http.get(base_url + path, headers={"Origin": ALLOWED})
    assert r.status_code == status
    assert r.headers["Access-Control-Allow-Origin"] == ALLOWED
    assert "Origin" in r.headers.get("Vary", "")
    assert "X-Request-ID" in r.headers["Access-Control-Expose-Headers"]
    # Preflight-only headers stay off actual responses.
    assert "Access-Control-Allow-Methods" not in r.headers
    r = http.get(base_url + path, headers={"Origin": "http://evil.example"})
    assert r.status_code == status
    for k in CORS_HEADERS:
        assert k not in r.headers, r.headers
    r = http.get(base_url + path)
    for k in CORS_HEADERS:
        assert k not in r.headers, r.headers


def test_gzip_for_large_json_only(base_url):
    # requests would decode it; ask with urllib-like raw bytes instead.
    r = requests.get(base_url + "/api/articles?limit=50",
                     headers={"Accept-Encoding": "gzip"}, stream=True,
                     timeout=10)
    raw = r.raw.read(decode_content=False)
    assert r.status_code == 200
    if len(gzip.decompress(raw) if r.headers.get("Content-Encoding")
           == "gzip" else raw) >= 1024:
        assert r.headers.get("Content-Encoding") == "gzip", r.headers
        body = json.loads(gzip.decompress(raw))
        assert "articles" in body
        assert "Accept-Encoding" in r.headers.get("Vary", "")
    # A small answer is sent as is.
    r = requests.get(base_url + "/api/healthz",
                     headers={"Accept-Encoding": "gzip"}, timeout=10)
    assert r.headers.get("Content-Encoding") is None
    assert r.headers["Content-Type"] == JSON_CT


def test_gzip_large_pay_list(base_url, new_user):
    # Enough payments in a list to pass gzip_min_length (1 KiB).
    a, b = new_user("gz"), new_user("gz")
    pay = base_url + "/pay/v1"

    def h(u, key=False):
        x = {"Authorization": "Bearer " + u["token"]}
        if key:
            x["Idempotency-Key"] = uuid.uuid4().hex
        return x

    assert requests.post(pay + "/accounts", json={"currency": "USD"},
                         headers=h(b), timeout=10).status_code == 201
    assert requests.post(pay + "/deposits", json={"currency": "USD",
                         "amount": 1000}, headers=h(a, True),
                         timeout=10).status_code == 201
    for _ in range(6):
        r = requests.post(pay + "/payments", json={
            "to": b["username"], "amount": 1, "currency": "USD"},
            headers=h(a, True), timeout=10)
        assert r.status_code == 201, r.text
    r = requests.get(pay + "/payments", headers=dict(
        h(a), **{"Accept-Encoding": "gzip"}), stream=True, timeout=10)
    raw = r.raw.read(decode_content=False)
    assert r.status_code == 200
    assert r.headers.get("Content-Encoding") == "gzip", r.headers
    assert len(json.loads(gzip.decompress(raw))["data"]) == 6


def _post_fresh(url, **kw):
    """One request on a new connection (not a kept-alive one that an old
    nginx worker may still hold after a reload)."""
    kw.setdefault("timeout", 10)
    h = kw.setdefault("headers", {})
    h["Connection"] = "close"
    return requests.post(url, **kw)


def test_rate_limits_answer_429_in_each_format(base_url, stack):
    tight = {"EDGE_RATE_AUTH": "1r/m", "EDGE_BURST_AUTH": "1",
             "EDGE_RATE_MONEY": "1r/m", "EDGE_BURST_MONEY": "1"}
    stack.sh("restart", "nginx", env=tight, timeout=60)
    try:
        login = base_url + "/api/users/login"
        body = {"user": {"email": "nobody@example.com", "password": "x"}}
        statuses = [_post_fresh(login, json=body).status_code
                    for _ in range(4)]
        assert 429 in statuses, statuses
        r = _post_fresh(login, json=body)
        assert r.status_code == 429
        assert r.headers["Content-Type"] == JSON_CT
        assert r.json() == {"errors": {"request": ["is rate limited"]}}
        assert r.headers.get("Retry-After") == "1"
        assert len(r.raw.headers.getlist("X-Request-ID")) == 1
        # Register shares the login budget; reads are never limited.
        r = _post_fresh(base_url + "/api/users", json={"user": {}})
        assert r.status_code == 429
        for _ in range(5):
            r = requests.get(base_url + "/api/tags", timeout=10,
                             headers={"Connection": "close"})
            assert r.status_code == 200

        for path in ("/pay/v1/payments", "/pay/v1/deposits",
                     "/pay/v1/payments/pay_x/refunds"):
            statuses = []
            for _ in range(3):
                r = _post_fresh(base_url + path, json={}, headers={
                    "Idempotency-Key": uuid.uuid4().hex})
                statuses.append(r.status_code)
            assert statuses[-1] == 429, (path, statuses)
            e = r.json()["error"]
            assert e["type"] == "rate_limit_error", e
            assert e["code"] == "rate_limited", e
            assert isinstance(e["message"], str) and e["message"]
        r = requests.get(base_url + "/pay/v1/healthz", timeout=10,
                         headers={"Connection": "close"})
        assert r.status_code == 200
    finally:
        stack.sh("restart", "nginx", timeout=60)
    # The stack's own (generous) limits are back. A fresh email each
    # time: one email is locked by the blog after 5 failures (its own 429).
    for _ in range(10):
        r = _post_fresh(base_url + "/api/users/login", json={
            "user": {"email": "nobody-%s@example.com" % uuid.uuid4().hex,
                     "password": "x"}})
        assert r.status_code != 429


def test_rate_settings_are_checked(stack):
    with pytest.raises(AssertionError) as e:
        stack.sh("restart", "nginx", env={"EDGE_RATE_AUTH": "fast"},
                 timeout=30)
    assert "EDGE_RATE_AUTH" in str(e.value)


def test_rendered_config_bounds_every_phase(stack):
    import os
    with open(os.path.join(stack.var, "nginx", "nginx.conf")) as f:
        conf = f.read()
    for d in ("client_header_timeout", "client_body_timeout",
              "send_timeout", "fastcgi_connect_timeout",
              "fastcgi_send_timeout", "fastcgi_read_timeout",
              "client_max_body_size", "fastcgi_next_upstream_tries",
              "server_tokens off"):
        assert d in conf, d
    # A POST that reached a replica is never passed on to another.
    assert "non_idempotent" not in conf
