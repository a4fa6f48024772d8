"""The replicas' read cache (blog-fcgi/blog_cache.c) is never stale.

Each replica keeps answers to reads and serves them while the data version
(migration 010) is unchanged. Here every kind of write goes through one
replica, over FastCGI straight to its socket, and the very next read goes
to the other replica, which held the old answer a moment before (checked:
the read just before the write was a hit). Without the version check these
reads would return the kept, stale answers.
"""

import os

import pytest

from blog_support import BLOG_BIN, app_db_url, name
from fcgi_support import fcgi, start

VAR = os.environ.get("STACK_VAR") or os.path.join(
    os.path.dirname(os.path.dirname(os.path.dirname(
        os.path.abspath(__file__)))), "var")


def _listen(n):
    path = os.path.join(VAR, "run", "blog-%d.listen" % n)
    assert os.path.exists(path), "no blog replica %d (make up)" % n
    with open(path) as f:
        return f.read().strip()


class Replica:
    """One blog replica, spoken to over FastCGI with cgi-fcgi."""

    def __init__(self, n=None, addr=None):
        self.addr = addr or _listen(n)

    def call(self, method, path, token=None, body=None):
        h = {} if token is None else {"Authorization": "Token " + token}
        return fcgi(self.addr, method, path, body, h, timeout=20)

    def get(self, path, token=None):
        status, headers, body = self.call("GET", path, token)
        assert status == 200, (path, status, body)
        return body

    def warm(self, path, token=None):
        """Read path twice; the second answer comes from the cache."""
        self.call("GET", path, token)
        status, headers, body = self.call("GET", path, token)
        assert headers.get("x-blog-cache") == "hit", (path, headers)
        return status, body


@pytest.fixture(scope="module")
def replicas():
    return Replica(1), Replica(2)


def _register(r, prefix):
    u = name(prefix)
    status, _, body = r.call("POST", "/api/users", body={"user": {
        "username": u, "email": u + "@example.com",
        "password": "password123"}})
    assert status == 201, body
    return u, body["user"]["token"]


def test_kept_answers_are_served_and_tagged(replicas):
    """The cache is on: a repeated read is a hit (so the tests below,
    which read a kept answer just before each write, test something)."""
    r1, _ = replicas
    path = "/api/articles?limit=3&offset=%d" % (os.getpid() % 1000)
    status, headers, first = r1.call("GET", path)
    assert status == 200 and headers.get("x-blog-cache") in ("hit", "miss")
    _, second = r1.warm(path)
    assert second == first


def test_tag_list_is_kept_once_for_every_reader(replicas):
    """The tag list has no per-reader flags: an anonymous read keeps it for
    everyone, so a signed-in reader's first read is already a hit."""
    r1, _ = replicas
    _, tok = _register(r1, "rtl")
    _, anon = r1.warm("/api/tags")
    status, headers, body = r1.call("GET", "/api/tags", tok)
    assert status == 200 and headers.get("x-blog-cache") == "hit", headers
    assert body == anon


def test_every_write_on_one_replica_is_seen_on_the_other(replicas):
    r1, r2 = replicas
    author, atok = _register(r1, "rca")
    reader, rtok = _register(r1, "rcr")
    tag = name("rct")
    status, _, body = r1.call("POST", "/api/articles", atok, {"article": {
        "title": "Cached " + author, "description": "d", "body": "b",
        "tagList": [tag]}})
    assert status == 201, body
    slug = body["article"]["slug"]
    art = "/api/articles/" + slug
    by_author = "/api/articles?author=" + author
    by_tag = "/api/articles?tag=" + tag
    profile = "/api/profiles/" + author
    comments = art + "/comments"

    # Favourite (a viewer-specific field and a shared count).
    for path in (art, by_author):
        r2.warm(path, rtok)
    status, _, _ = r1.call("POST", art + "/favorite", rtok)
    assert status == 200
    a = r2.get(art, rtok)["article"]
    assert a["favorited"] is True and a["favoritesCount"] == 1, a
    a = r2.get(by_author, rtok)["articles"][0]
    assert a["favorited"] is True and a["favoritesCount"] == 1, a
    # Unfavourite.
    r2.warm(art, rtok)
    assert r1.call("DELETE", art + "/favorite", rtok)[0] == 200
    a = r2.get(art, rtok)["article"]
    assert a["favorited"] is False and a["favoritesCount"] == 0, a

    # Follow: "following" in the article's author and the profile.
    for path in (art, profile, by_tag):
        r2.warm(path, rtok)
    assert r1.call("POST", profile + "/follow", rtok)[0] == 200
    assert r2.get(art, rtok)["article"]["author"]["following"] is True
    assert r2.get(profile, rtok)["profile"]["following"] is True
    assert r2.get(by_tag, rtok)["articles"][0]["author"]["following"]
    # ... and the feed.
    r2.warm("/api/articles/feed", rtok)
    assert r1.call("DELETE", profile + "/follow", rtok)[0] == 200
    assert r2.get(art, rtok)["article"]["author"]["following"] is False
    assert r2.get("/api/articles/feed", rtok)["articlesCount"] == 0

    # A profile change shows in every article of the author.
    for path in (art, by_tag, profile):
        r2.warm(path)
    status, _, body = r1.call("PUT", "/api/user", atok,
                              {"user": {"bio": "new bio " + author}})
    assert status == 200, body
    assert r2.get(art)["article"]["author"]["bio"] == "new bio " + author
    assert r2.get(by_tag)["articles"][0]["author"]["bio"] == \
        "new bio " + author
    assert r2.get(profile)["profile"]["bio"] == "new bio " + author

    # Comments.
    r2.warm(comments)
    status, _, body = r1.call("POST", comments, rtok,
                              {"comment": {"body": "first"}})
    assert status == 201, body
    assert [c["body"] for c in r2.get(comments)["comments"]] == ["first"]

    # An update (title, tags) shows in the lists and the tag cloud.
    tag2 = name("rcu")
    for path in (art, by_author, "/api/tags"):
        r2.warm(path)
    status, _, body = r1.call("PUT", art, atok, {"article": {
        "description": "changed", "tagList": [tag2]}})
    assert status == 200, body
    assert r2.get(art)["article"]["description"] == "changed"
    assert r2.get(by_author)["articles"][0]["tagList"] == [tag2]
    assert tag2 in r2.get("/api/tags")["tags"]

    # Delete: gone everywhere at once.
    for path in (art, by_author):
        r2.warm(path)
    assert r1.call("DELETE", art, atok)[0] == 204
    assert r2.call("GET", art)[0] == 404
    assert r2.get(by_author) == {"articles": [], "articlesCount": 0}


def test_new_articles_and_users_are_seen_on_the_other(replicas):
    r1, r2 = replicas
    ghost = name("rcg")
    r2.call("GET", "/api/profiles/" + ghost)
    status, _, _ = r2.call("GET", "/api/profiles/" + ghost)
    assert status == 404
    status, _, _ = r1.call("POST", "/api/users", body={"user": {
        "username": ghost, "email": ghost + "@example.com",
        "password": "password123"}})
    assert status == 201
    assert r2.call("GET", "/api/profiles/" + ghost)[0] == 200
    home = "/api/articles?limit=1"
    r2.warm(home)
    _, tok = _register(r1, "rcn")
    status, _, body = r1.call("POST", "/api/articles", tok, {"article": {
        "title": "Newest", "description": "d", "body": "b"}})
    assert status == 201, body
    assert r2.get(home)["articles"][0]["slug"] == body["article"]["slug"]


def test_revocation_on_one_replica_is_seen_on_the_other(replicas):
    """The identity check is cached too, under the same version."""
    r1, r2 = replicas
    _, tok = _register(r1, "rcl")
    r2.warm("/api/articles/feed", tok)
    status, _, _ = r1.call("POST", "/api/user/logout-all", tok)
    assert status in (200, 204)
    status, _, body = r2.call("GET", "/api/articles/feed", tok)
    assert status == 401, body


def test_shared_answers_carry_each_viewers_flags(replicas):
    """Lists, articles, profiles and comments are kept once for everyone;
    each viewer still sees their own favorited and following."""
    r1, r2 = replicas
    author, atok = _register(r1, "rsa")
    fan, ftok = _register(r1, "rsf")
    other, otok = _register(r1, "rso")
    tag = name("rst")
    slugs = []
    for i in range(3):
        status, _, body = r1.call("POST", "/api/articles", atok, {
            "article": {"title": "Shared %d \"favorited\":false" % i,
                        "description": '"following":false', "body": "b",
                        "tagList": [tag]}})
        assert status == 201, body
        slugs.append(body["article"]["slug"])
    assert r1.call("POST", "/api/articles/%s/favorite" % slugs[1],
                   ftok)[0] == 200
    assert r1.call("POST", "/api/profiles/%s/follow" % author, ftok)[0] == 200
    status, _, body = r1.call("POST", "/api/articles/%s/comments" % slugs[0],
                              atok, {"comment": {"body": "c"}})
    assert status == 201, body
    lst = "/api/articles?tag=" + tag
    paths = [lst, "/api/articles/" + slugs[1], "/api/profiles/" + author,
             "/api/articles/%s/comments" % slugs[0]]
    # Filled by one viewer, then served to each of the others from it.
    for path in paths:
        r2.warm(path, otok)
    for tok, fav, fol in ((ftok, True, True), (otok, False, False),
                          (None, False, False)):
        _, arts = r2.warm(lst, tok)
        for a in arts["articles"]:
            assert a["favorited"] is (fav and a["slug"] == slugs[1]), a
            assert a["author"]["following"] is fol, a
            assert a["favoritesCount"] == (a["slug"] == slugs[1]), a
        assert '"favorited":false' in arts["articles"][0]["title"]
        assert arts["articles"][0]["description"] == '"following":false'
        _, art = r2.warm(paths[1], tok)
        assert art["article"]["favorited"] is fav
        assert art["article"]["author"]["following"] is fol
        _, prof = r2.warm(paths[2], tok)
        assert prof["profile"]["following"] is fol
        _, com = r2.warm(paths[3], tok)
        assert com["comments"][0]["author"]["following"] is fol


# A window far longer than the stack's (1 ms): any read within it is
# shared for sure, so a write that did not wait it out would be missed.
WINDOW_US = 2000000


@pytest.fixture(scope="module")
def window_replicas(var_dir, tmp_path_factory):
    """Two replicas of our own on the stack's database and keys, sharing
    version reads over WINDOW_US."""
    d = tmp_path_factory.mktemp("window")
    env = {"BLOG_DB_URL": app_db_url(var_dir), "WORKERS": "2",
           "BLOG_READ_VERSION_WINDOW_US": str(WINDOW_US),
           "JWT_PUBLIC_KEY_FILE": os.path.join(var_dir, "keys",
                                               "jwt-public.pem"),
           "JWT_PRIVATE_KEY_FILE": os.path.join(var_dir, "keys",
                                                "jwt-private.pem")}
    procs, reps = [], []
    try:
        for n in (1, 2):
            sock = str(d / ("blog-%d.sock" % n))
            procs.append(start(BLOG_BIN, dict(env, LISTEN=sock), sock,
                               str(d / ("blog-%d.log" % n))))
            reps.append(Replica(addr=sock))
        yield reps
    finally:
        for p in procs:
            p.terminate()
        for p in procs:
            assert p.wait(timeout=30) == 0


def test_window_shared_reads_never_miss_an_acknowledged_write(
        replicas, window_replicas):
    """With a window, a replica answers from a version read that began up
    to the window before the request; a write is answered only the window
    after its commit, so the next request anywhere reads a newer version.
    Without that wait this read comes well within the window of the
    reader's last version read (taken before the write), and is stale."""
    s1, _ = replicas
    w1, w2 = window_replicas
    author, atok = _register(s1, "rcw")
    status, _, body = s1.call("POST", "/api/articles", atok, {"article": {
        "title": "Window " + author, "description": "before", "body": "b"}})
    assert status == 201, body
    art = "/api/articles/" + body["article"]["slug"]
    _, kept = w2.warm(art)
    assert kept["article"]["description"] == "before"
    status, _, body = w1.call("PUT", art, atok, {"article": {
        "description": "after"}})
    assert status == 200, body
    assert w2.get(art)["article"]["description"] == "after"
