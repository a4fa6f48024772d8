"""Concurrency: uniqueness and counts are the database's job, so racing
clients cannot get two accounts with one name or count a favourite twice.
"""

import threading

import pytest

from blog_support import Api, name
from conftest import run_threads


def race(base_url, n, fn):
    """Run fn(api, i) in n threads released together; return results."""
    barrier = threading.Barrier(n)
    out = [None] * n

    def run(i):
        a = Api(base_url)
        try:
            barrier.wait()
            out[i] = fn(a, i)
        except Exception as e:  # reported by the assertions below
            out[i] = e
        finally:
            a.close()

    run_threads([threading.Thread(target=run, args=(i,)) for i in range(n)],
                60)
    return out


@pytest.mark.parametrize("clash", ["username", "email"])
def test_concurrent_registration(base_url, api, clash):
    for _ in range(3):
        n = name("race")

        def reg(a, i):
            u = {"username": n if clash == "username" else n + "_%d" % i,
                 "email": (n if clash == "email" else n + "_%d" % i) +
                 "@test.com",
                 "password": "secret123"}
            return a.post("/users", json={"user": u})

        rs = race(base_url, 2, reg)
        codes = sorted(r.status_code for r in rs)
        assert codes == [201, 409], [r.text for r in rs]
        loser = [r for r in rs if r.status_code == 409][0]
        assert loser.json() == {"errors": {clash: ["has already been taken"]}}


def test_concurrent_favorites_same_user(base_url, api):
    author = api.register("cfa")
    fan = api.register("cff")
    art = api.article(author["token"])
    path = "/articles/%s/favorite" % art["slug"]
    rs = race(base_url, 4, lambda a, i: a.post(path, fan["token"]))
    assert [r.status_code for r in rs] == [200] * 4
    got = api.get("/articles/" + art["slug"]).json()["article"]
    assert got["favoritesCount"] == 1
    rs = race(base_url, 4, lambda a, i: a.delete(path, fan["token"]))
    assert [r.status_code for r in rs] == [200] * 4
    got = api.get("/articles/" + art["slug"]).json()["article"]
    assert got["favoritesCount"] == 0


def test_twenty_users_favorite_concurrently(base_url, api):
    author = api.register("c20")
    art = api.article(author["token"])
    path = "/articles/%s/favorite" % art["slug"]
    fans = race(base_url, 20, lambda a, i: a.register("c20f"))
    assert all(isinstance(f, dict) for f in fans), fans
    rs = race(base_url, 20, lambda a, i: a.post(path, fans[i]["token"]))
    assert [r.status_code for r in rs] == [200] * 20, \
        [r.text[:100] for r in rs if r.status_code != 200]
    got = api.get("/articles/" + art["slug"]).json()["article"]
    assert got["favoritesCount"] == 20
    r = api.get("/articles", params={"author": author["username"]})
    assert r.json()["articles"][0]["favoritesCount"] == 20
    # Half of them take it back while the other half favourite again.
    rs = race(base_url, 20, lambda a, i: (a.delete if i % 2 else a.post)(
        path, fans[i]["token"]))
    assert [r.status_code for r in rs] == [200] * 20
    got = api.get("/articles/" + art["slug"]).json()["article"]
    assert got["favoritesCount"] == 10


def test_concurrent_same_title_and_tags(base_url, api):
    u = api.register("cst")
    tag = "ct_" + name()

    def create(a, i):
        return a.post("/articles", u["token"], json={"article": {
            "title": "Racing title", "description": "d", "body": "b",
            "tagList": [tag, "shared_" + tag]}})

    rs = race(base_url, 8, create)
    assert [r.status_code for r in rs] == [201] * 8, \
        [r.text[:200] for r in rs]
    slugs = {r.json()["article"]["slug"] for r in rs}
    assert len(slugs) == 8
    r = api.get("/articles", params={"tag": tag, "limit": 100})
    assert r.json()["articlesCount"] == 8
    tags = api.get("/tags").json()["tags"]
    assert tags.count(tag) == 1


def test_concurrent_follow(base_url, api):
    a = api.register("cfo")
    b = api.register("cfo")
    path = "/profiles/%s/follow" % b["username"]
    rs = race(base_url, 4, lambda x, i: x.post(path, a["token"]))
    assert [r.status_code for r in rs] == [200] * 4
    assert all(r.json()["profile"]["following"] is True for r in rs)


def test_total_count_exact_under_concurrency(base_url, api):
    """The unfiltered articlesCount (a counter, not a scan) stays exact."""
    u = api.register("cnt")

    def total():
        r = api.get("/articles", params={"limit": 1})
        assert r.status_code == 200
        return r.json()["articlesCount"]

    before = total()
    rs = race(base_url, 10, lambda a, i: a.post(
        "/articles", u["token"], json={"article": {
            "title": "Count %d" % i, "description": "d", "body": "b"}}))
    assert [r.status_code for r in rs] == [201] * 10
    assert total() == before + 10
    slugs = [r.json()["article"]["slug"] for r in rs]
    # Each slug deleted twice at once: only one delete counts.
    rs = race(base_url, 20, lambda a, i: a.delete(
        "/articles/" + slugs[i // 2], u["token"]))
    assert sorted(r.status_code for r in rs).count(204) >= 10
    assert all(r.status_code in (204, 404) for r in rs)
    assert total() == before
