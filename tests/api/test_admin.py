"""The per-replica admin port: liveness, readiness and Prometheus metrics.

Each replica of the local stack serves them on its own address (written by
tests/stack.sh to var/run/<svc>-<n>.admin), as a pod does on port 9090.
"""

import glob
import os
import re
import time

import pytest
import requests


def _admins(stack, svc):
    paths = sorted(glob.glob(os.path.join(stack.run_dir, svc + "-*.admin")))
    assert paths, "no admin address for %s under %s" % (svc, stack.run_dir)
    out = []
    for p in paths:
        with open(p) as f:
            out.append("http://" + f.read().strip())
    return out


def _metric(text, name, **labels):
    """Sum of the samples of name whose labels include the given ones."""
    total = 0.0
    for line in text.splitlines():
        if not line.startswith(name + "{"):
            continue
        lab, value = line[len(name) + 1:].rsplit("} ", 1)
        have = dict(re.findall(r'(\w+)="([^"]*)"', lab))
        if all(have.get(k) == v for k, v in labels.items()):
            total += float(value)
    return total


@pytest.mark.parametrize("svc", ["blog", "pay"])
def test_probes(stack, svc):
    for url in _admins(stack, svc):
        r = requests.get(url + "/healthz", timeout=5)
        assert r.status_code == 200, r.text
        body = r.json()
        assert body["status"] == "ok" and isinstance(body["pid"], int), body
        # The process the stack started (the edge's answers carry no pid).
        assert body["pid"] in stack.replica_pids(svc).values(), body
        r = requests.get(url + "/readyz", timeout=5)
        assert r.status_code == 200, r.text
        assert r.json()["status"] == "ready"
        r = requests.get(url + "/nope", timeout=5)
        assert r.status_code == 404
        r = requests.post(url + "/healthz", timeout=5)
        assert r.status_code == 405
        assert r.json() == {"error": "method not allowed"}
        assert r.headers["Allow"] == "GET, HEAD"


def test_metrics_count_requests_by_route_and_status(stack, base_url):
    before = {}
    for url in _admins(stack, "blog"):
        before[url] = requests.get(url + "/metrics", timeout=5).text
    for _ in range(10):
        assert requests.get(base_url + "/api/tags", timeout=5).status_code \
            == 200
        assert requests.get(base_url + "/api/articles/no-such-slug-xyz",
                            timeout=5).status_code == 404
    grew_ok = grew_404 = 0.0
    for url in _admins(stack, "blog"):
        text = requests.get(url + "/metrics", timeout=5).text
        assert "# TYPE cm_requests_total counter" in text
        assert "# TYPE cm_request_duration_seconds histogram" in text
        for name in ("cm_db_errors_total", "cm_db_reconnects_total",
                     "cm_workers", "cm_workers_busy",
                     "cm_worker_busy_seconds_total"):
            assert re.search(r"^%s\{service=\"blog\"\} " % name, text,
                             re.M), name
        grew_ok += _metric(text, "cm_requests_total", route="/api/tags",
                           status="200") - \
            _metric(before[url], "cm_requests_total", route="/api/tags",
                    status="200")
        grew_404 += _metric(text, "cm_requests_total",
                            route="/api/articles/:slug", status="404") - \
            _metric(before[url], "cm_requests_total",
                    route="/api/articles/:slug", status="404")
        # The histogram's +Inf bucket equals its count.
        assert _metric(text, "cm_request_duration_seconds_bucket",
                       route="/api/tags", le="+Inf") == \
            _metric(text, "cm_request_duration_seconds_count",
                    route="/api/tags")
    # Other tests may run requests too, never fewer than ours.
    assert grew_ok >= 10
    assert grew_404 >= 10


def _plain(text, name):
    """The value of an unlabelled sample."""
    m = re.search(r"^%s (\S+)$" % re.escape(name), text, re.M)
    assert m, name
    return float(m.group(1))


def _cache(text):
    return {"hit": _metric(text, "blog_read_cache_lookups_total",
                           result="hit"),
            "miss": _metric(text, "blog_read_cache_lookups_total",
                            result="miss"),
            "requests": _plain(text,
                               "blog_read_cache_version_requests_total"),
            "reads": _plain(text, "blog_read_cache_version_reads_total"),
            "entries": _plain(text, "blog_read_cache_entries"),
            "bytes": _plain(text, "blog_read_cache_bytes")}


def test_metrics_show_the_blog_read_cache(stack, base_url):
    urls = _admins(stack, "blog")
    before = [_cache(requests.get(u + "/metrics", timeout=5).text)
              for u in urls]
    for _ in range(20):
        assert requests.get(base_url + "/api/tags", timeout=5).status_code \
            == 200
    after = [_cache(requests.get(u + "/metrics", timeout=5).text)
             for u in urls]
    grew = {k: sum(a[k] - b[k] for a, b in zip(after, before))
            for k in ("hit", "miss", "requests", "reads")}
    # Every request looked its answer up once and needed the version.
    assert grew["hit"] + grew["miss"] >= 20, grew
    assert grew["requests"] >= 20, grew
    # Reads are shared, never more than the requests that needed one.
    assert all(a["reads"] <= a["requests"] for a in after), after
    # Nothing wrote in between here: once a replica kept the answer, the
    # same request hits (another test's write may cost a miss or two).
    assert grew["hit"] >= 20 - 2 * len(urls) - 4, grew
    assert all(a["entries"] >= 1 and a["bytes"] > 0 for a in after), after


def test_readiness_follows_the_database_liveness_does_not(stack):
    pay = _admins(stack, "pay")
    blog = _admins(stack, "blog")
    stack.sh("db-stop", "pg")
    try:
        for url in pay:
            r = requests.get(url + "/readyz", timeout=10)
            assert r.status_code == 503, r.text
            # Liveness never depends on the database.
            assert requests.get(url + "/healthz", timeout=5).status_code \
                == 200
        for url in blog:
            assert requests.get(url + "/readyz", timeout=10).status_code \
                == 200
    finally:
        stack.sh("db-start", "pg")
    for url in pay:
        ok = False
        for _ in range(50):
            if requests.get(url + "/readyz", timeout=10).status_code == 200:
                ok = True
                break
            time.sleep(0.2)
        assert ok, "pay readiness did not recover"


def test_readiness_needs_the_schema_the_binary_needs(stack):
    """A database without the newest migration the binary embeds (a bare
    `kubectl apply -k` before the migration Job ran) is not ready: the
    pods stay out of the Service. Shown by hiding that migration's record
    for a moment, then putting it back."""
    from blog_support import mysql
    from pay_support import psql

    blog_v = max(int(r[0]) for r in mysql(stack.var,
                 "SELECT version FROM schema_migrations"))
    pay_v = max(int(r[0]) for r in psql("SELECT version FROM"
                                        " schema_migrations"))
    blog_row = mysql(stack.var, "SELECT name, applied_at FROM"
                     " schema_migrations WHERE version = %d" % blog_v)[0]
    pay_row = psql("SELECT name, applied_at FROM schema_migrations WHERE"
                   " version = %d" % pay_v)[0]
    cases = [("blog", blog_v), ("pay", pay_v)]
    for url in _admins(stack, "blog") + _admins(stack, "pay"):
        r = requests.get(url + "/readyz", timeout=10)
        assert r.status_code == 200, r.text
    mysql(stack.var, "DELETE FROM schema_migrations WHERE version = %d"
          % blog_v)
    psql("DELETE FROM schema_migrations WHERE version = %d" % pay_v)
    try:
        for svc, v in cases:
            for url in _admins(stack, svc):
                r = requests.get(url + "/readyz", timeout=10)
                assert r.status_code == 503, r.text
                assert r.json()["database"] == "not migrated", r.text
                assert r.json()["schema"] == v, r.text
                assert requests.get(url + "/healthz", timeout=5) \
                    .status_code == 200
    finally:
        mysql(stack.var, "INSERT INTO schema_migrations (version, name,"
              " applied_at) VALUES (%d, '%s', '%s')"
              % (blog_v, blog_row[0], blog_row[1]))
        psql("INSERT INTO schema_migrations (version, name, applied_at)"
             " VALUES (%d, '%s', '%s')" % (pay_v, pay_row[0], pay_row[1]))
    for url in _admins(stack, "blog") + _admins(stack, "pay"):
        assert requests.get(url + "/readyz", timeout=10).status_code == 200
