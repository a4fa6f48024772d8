"""Edge micro-caching of anonymous blog reads (EDGE_MICROCACHE_TTL, off by
default).

With it on, nginx may answer an anonymous GET under /api/ from a cache for up
to one TTL. Nothing personalised or private may ever come from it: requests
with a token always reach a replica, /pay/ is never cached, and only 200s are
stored. A write is visible to its author at once.
"""

import time
import uuid

import pytest
import requests

TTL = 2


@pytest.fixture(scope="module")
def cached_edge(stack):
    stack.sh("restart", "nginx", env={"EDGE_MICROCACHE_TTL": str(TTL)})
    try:
        yield stack.base_url
    finally:
        stack.sh("restart", "nginx", env={"EDGE_MICROCACHE_TTL": "0"})


def _article(base, user, title):
    r = requests.post(base + "/api/articles",
                      headers={"Authorization": "Token " + user["token"]},
                      json={"article": {"title": title, "description": "d",
                                        "body": "b", "tagList": []}},
                      timeout=10)
    assert r.status_code == 201, r.text
    return r.json()["article"]


def test_anonymous_reads_are_cached(cached_edge):
    url = cached_edge + "/api/articles?limit=3&nonce=" + uuid.uuid4().hex
    first = requests.get(url, timeout=10)
    second = requests.get(url, timeout=10)
    assert first.status_code == second.status_code == 200
    assert first.headers["X-Cache"] == "MISS"
    assert second.headers["X-Cache"] == "HIT"
    assert second.content == first.content
    # Each answer still carries its own request id.
    assert first.headers["X-Request-ID"] != second.headers["X-Request-ID"]
    assert second.headers["X-Request-ID"].count(",") == 0


def test_personalised_reads_never_come_from_the_cache(cached_edge, new_user):
    author, reader = new_user("mca"), new_user("mcr")
    art = _article(cached_edge, author, "cache " + uuid.uuid4().hex)
    url = cached_edge + "/api/articles/" + art["slug"]
    auth = {"Authorization": "Token " + reader["token"]}
    # Warm the anonymous copy, then personalise as the reader.
    anon = requests.get(url, timeout=10)
    assert anon.json()["article"]["favorited"] is False
    r = requests.post(url + "/favorite", headers=auth, timeout=10)
    assert r.status_code == 200
    mine = requests.get(url, headers=auth, timeout=10)
    assert mine.headers.get("X-Cache") == "BYPASS"
    assert mine.json()["article"]["favorited"] is True
    # The anonymous copy never says favorited, and the reader's answer was
    # not stored for anyone else.
    for _ in range(3):
        again = requests.get(url, timeout=10)
        assert again.json()["article"]["favorited"] is False
    # The current user's profile is private: never cached, whatever order.
    me = requests.get(cached_edge + "/api/user", headers=auth, timeout=10)
    assert me.headers.get("X-Cache") == "BYPASS"
    assert me.json()["user"]["username"] == reader["username"]
    anon_me = requests.get(cached_edge + "/api/user", timeout=10)
    assert anon_me.status_code == 401


def test_author_sees_a_write_at_once_anonymous_within_a_ttl(cached_edge,
                                                             new_user):
    author = new_user("mcw")
    feed = cached_edge + "/api/articles?author=" + author["username"]
    assert requests.get(feed, timeout=10).json()["articlesCount"] == 0
    art = _article(cached_edge, author, "fresh " + uuid.uuid4().hex)
    auth = {"Authorization": "Token " + author["token"]}
    mine = requests.get(feed, headers=auth, timeout=10).json()
    assert [a["slug"] for a in mine["articles"]] == [art["slug"]]
    deadline = time.time() + TTL + 3
    while True:
        anon = requests.get(feed, timeout=10).json()
        if anon["articlesCount"] == 1:
            break
        assert time.time() < deadline, "anonymous list stale past the TTL"
        time.sleep(0.2)


def test_pay_and_errors_are_never_cached(cached_edge, new_user):
    user = new_user("mcp")
    auth = {"Authorization": "Bearer " + user["token"]}
    r = requests.get(cached_edge + "/pay/v1/accounts", headers=auth,
                     timeout=10)
    assert r.status_code == 200
    assert "X-Cache" not in r.headers
    r = requests.get(cached_edge + "/pay/v1/healthz", timeout=10)
    assert "X-Cache" not in r.headers
    # A 404 is not stored: a user registered later is found at once.
    url = cached_edge + "/api/profiles/" + user["username"] + "-nobody"
    for _ in range(2):
        r = requests.get(url, timeout=10)
        assert r.status_code == 404
        assert r.headers.get("X-Cache") != "HIT"
