"""The blog API (RealWorld "Conduit" v2, shared/api/blog.md) through nginx.

Every endpoint, its success shape and the error cases the spec lists, with
exact statuses and bodies.
"""

import time

import pytest

from blog_support import ISO_MS, auth, errors, name


def check_user(u, username, email):
    assert set(u) == {"email", "token", "username", "bio", "image"}
    assert u["username"] == username
    assert u["email"] == email
    assert isinstance(u["token"], str) and u["token"]


def check_profile(p, username, following):
    assert set(p) == {"username", "bio", "image", "following"}
    assert p["username"] == username
    assert p["following"] is following


def check_article(a, with_body=True):
    keys = {"slug", "title", "description", "tagList", "createdAt",
            "updatedAt", "favorited", "favoritesCount", "author"}
    if with_body:
        keys.add("body")
    assert set(a) == keys, a
    assert ISO_MS.match(a["createdAt"]), a["createdAt"]
    assert ISO_MS.match(a["updatedAt"]), a["updatedAt"]
    assert isinstance(a["favoritesCount"], int)
    assert isinstance(a["favorited"], bool)
    assert a["tagList"] == sorted(a["tagList"])


# ---------------------------------------------------------------- health

def test_health(api):
    r = api.get("/healthz")
    assert r.status_code == 200
    assert r.json()["status"] == "ok" and r.json()["service"] == "blog"
    assert "pid" not in r.json()
    assert r.headers.get("X-Request-ID")
    # Readiness (a database round trip) is on the admin port only.
    assert api.get("/readyz").status_code == 404


def test_unknown_route_and_method(api):
    errors(api.get("/nope"), 404, "route")
    r = api.req("PATCH", "/user")
    assert r.status_code == 405
    assert "GET" in r.headers["Allow"] and "PUT" in r.headers["Allow"]


# ---------------------------------------------------------------- users

def test_register_login_current(api):
    n = name("reg")
    email = n + "@test.com"
    r = api.post("/users", json={"user": {"username": n, "email": email,
                                          "password": "secret123"}})
    assert r.status_code == 201
    assert r.headers["Content-Type"] == "application/json; charset=utf-8"
    u = r.json()["user"]
    check_user(u, n, email)
    assert u["bio"] is None and u["image"] is None

    r = api.post("/users/login", json={"user": {"email": email,
                                                "password": "secret123"}})
    assert r.status_code == 200
    check_user(r.json()["user"], n, email)

    for tok in (u["token"], r.json()["user"]["token"]):
        r = api.get("/user", tok)
        assert r.status_code == 200
        check_user(r.json()["user"], n, email)
        r = api.get("/user", headers={"Authorization": "Bearer " + tok})
        assert r.status_code == 200


@pytest.mark.parametrize("field", ["username", "email", "password"])
@pytest.mark.parametrize("value", ["", None, "   ", "missing"])
def test_register_blank(api, field, value):
    n = name("blank")
    u = {"username": n, "email": n + "@test.com", "password": "secret123"}
    if value == "missing":
        del u[field]
    else:
        u[field] = value
    errors(api.post("/users", json={"user": u}), 422, field,
           "can't be blank")
    # Nothing was stored: the same username registers fine afterwards.
    if field != "username":
        u = {"username": n, "email": n + "@test.com", "password": "x"}
        assert api.post("/users", json={"user": u}).status_code == 201


def test_register_duplicates(api):
    u = api.register("dup")
    n = name("dup")
    r = api.post("/users", json={"user": {"username": u["username"],
                                          "email": n + "@test.com",
                                          "password": "secret123"}})
    errors(r, 409, "username", "has already been taken")
    r = api.post("/users", json={"user": {"username": n,
                                          "email": u["email"],
                                          "password": "secret123"}})
    errors(r, 409, "email", "has already been taken")
    # Emails are one mailbox whatever their case.
    r = api.post("/users", json={"user": {"username": n,
                                          "email": u["email"].upper(),
                                          "password": "secret123"}})
    errors(r, 409, "email", "has already been taken")


def test_register_optional_bio_image(api):
    n = name("bio")
    r = api.post("/users", json={"user": {
        "username": n, "email": n + "@test.com", "password": "secret123",
        "bio": "hello", "image": "https://x.test/a.png"}})
    assert r.status_code == 201
    assert r.json()["user"]["bio"] == "hello"
    assert r.json()["user"]["image"] == "https://x.test/a.png"


def test_login_errors(api):
    u = api.register("login")
    r = api.post("/users/login", json={"user": {"email": u["email"],
                                                "password": "wrong-pass"}})
    errors(r, 401, "credentials", "invalid")
    r = api.post("/users/login", json={"user": {
        "email": "nobody_" + name() + "@test.com", "password": "whatever"}})
    errors(r, 401, "credentials", "invalid")
    r = api.post("/users/login", json={"user": {"email": "",
                                                "password": "x"}})
    errors(r, 422, "email", "can't be blank")
    r = api.post("/users/login", json={"user": {"email": u["email"],
                                                "password": ""}})
    errors(r, 422, "password", "can't be blank")


def test_current_user_requires_token(api):
    errors(api.get("/user"), 401, "token", "is missing")
    errors(api.put("/user", json={"user": {"bio": "x"}}), 401, "token",
           "is missing")


def test_update_user_rules(api):
    u = api.register("upd")
    tok = [u["token"]]

    def put(body):
        # A password or username change revokes the token it was made
        # with (test_identity.py); the client goes on with the new one.
        r = api.put("/user", tok[0], json={"user": body})
        if r.status_code == 200:
            tok[0] = r.json()["user"]["token"]
        return r

    r = put({"bio": "I like dragons", "image": "https://i.test/x.jpg"})
    assert r.status_code == 200
    got = r.json()["user"]
    assert got["bio"] == "I like dragons"
    assert got["image"] == "https://i.test/x.jpg"
    check_user(got, u["username"], u["email"])

    # "" and null both become null.
    r = put({"bio": "", "image": None})
    assert r.status_code == 200
    assert r.json()["user"]["bio"] is None
    assert r.json()["user"]["image"] is None
    r = put({"bio": None, "image": ""})
    assert r.status_code == 200 and r.json()["user"]["image"] is None

    for field in ("email", "username", "password"):
        for v in ("", None):
            errors(put({field: v}), 422, field)
    errors(put({"password": "short7c"}), 422, "password",
           "is too short (minimum is 8 characters)")
    errors(put({"email": "not-an-email"}), 422, "email")
    errors(put({"username": "has space"}), 422, "username")

    assert put({"password": "bonjour1"}).status_code == 200
    r = api.post("/users/login", json={"user": {"email": u["email"],
                                                "password": "bonjour1"}})
    assert r.status_code == 200
    long_pw = "p" * 64
    assert put({"password": long_pw}).status_code == 200
    r = api.post("/users/login", json={"user": {"email": u["email"],
                                                "password": long_pw}})
    assert r.status_code == 200

    # Setting your own email or username is not a duplicate.
    r = put({"email": u["email"], "username": u["username"]})
    assert r.status_code == 200

    # Omitted fields stay: bio set, then an update of image only.
    put({"bio": "kept"})
    r = put({"image": "https://i.test/y.jpg"})
    assert r.json()["user"]["bio"] == "kept"

    # Rename: new values back, and the returned token sees them.
    n = name("ren")
    r = put({"username": n, "email": n + "@test.com"})
    assert r.status_code == 200
    check_user(r.json()["user"], n, n + "@test.com")
    t2 = r.json()["user"]["token"]
    r = api.get("/user", t2)
    assert r.json()["user"]["username"] == n
    assert api.get("/profiles/" + n).status_code == 200
    errors(api.get("/profiles/" + u["username"]), 404, "profile")


def test_update_user_duplicate(api):
    a = api.register("ua")
    b = api.register("ub")
    r = api.put("/user", b["token"], json={"user": {"email": a["email"]}})
    errors(r, 409, "email", "has already been taken")
    r = api.put("/user", b["token"],
                json={"user": {"username": a["username"]}})
    errors(r, 409, "username", "has already been taken")
    # Nothing changed.
    assert api.get("/user", b["token"]).json()["user"]["email"] == b["email"]


# ---------------------------------------------------------------- profiles

def test_profiles_follow(api):
    a = api.register("pa")
    b = api.register("pb")
    p = "/profiles/" + b["username"]

    r = api.get(p)
    assert r.status_code == 200
    check_profile(r.json()["profile"], b["username"], False)
    assert r.json()["profile"]["bio"] is None

    errors(api.post(p + "/follow"), 401, "token", "is missing")
    errors(api.delete(p + "/follow"), 401, "token", "is missing")

    for _ in range(2):  # idempotent
        r = api.post(p + "/follow", a["token"])
        assert r.status_code == 200
        check_profile(r.json()["profile"], b["username"], True)
    assert api.get(p, a["token"]).json()["profile"]["following"] is True
    assert api.get(p).json()["profile"]["following"] is False
    assert api.get(p, b["token"]).json()["profile"]["following"] is False

    for _ in range(2):
        r = api.delete(p + "/follow", a["token"])
        assert r.status_code == 200
        check_profile(r.json()["profile"], b["username"], False)
    assert api.get(p, a["token"]).json()["profile"]["following"] is False


def test_profiles_unknown(api):
    a = api.register("pu")
    errors(api.get("/profiles/nobody_" + name()), 404, "profile",
           "not found")
    errors(api.post("/profiles/nobody_%s/follow" % name(), a["token"]),
           404, "profile", "not found")
    errors(api.delete("/profiles/nobody_%s/follow" % name(), a["token"]),
           404, "profile", "not found")
    # Usernames match exactly.
    errors(api.get("/profiles/" + a["username"].upper()), 404, "profile")


# ---------------------------------------------------------------- articles

def test_article_create_get(api):
    u = api.register("ac")
    r = api.post("/articles", u["token"], json={"article": {
        "title": "How to train your dragon", "description": "Ever wonder?",
        "body": "Very carefully.", "tagList": ["training", "dragons",
                                               "dragons"]}})
    assert r.status_code == 201
    a = r.json()["article"]
    check_article(a)
    assert a["title"] == "How to train your dragon"
    assert a["description"] == "Ever wonder?"
    assert a["body"] == "Very carefully."
    assert a["tagList"] == ["dragons", "training"]
    assert a["favorited"] is False and a["favoritesCount"] == 0
    assert a["createdAt"] == a["updatedAt"]
    check_profile(a["author"], u["username"], False)

    r = api.get("/articles/" + a["slug"])
    assert r.status_code == 200
    assert r.json()["article"] == a
    r = api.get("/articles/" + a["slug"], u["token"])
    assert r.json()["article"] == a

    # tagList is optional.
    b = api.article(u["token"])
    assert b["tagList"] == []


def test_article_create_errors(api):
    u = api.register("ae")
    errors(api.post("/articles", json={"article": {"title": "x"}}), 401,
           "token", "is missing")
    full = {"title": "t", "description": "d", "body": "b"}
    for field in ("title", "description", "body"):
        for v in ("", None, "missing", "  "):
            a = dict(full)
            if v == "missing":
                del a[field]
            else:
                a[field] = v
            r = api.post("/articles", u["token"], json={"article": a})
            errors(r, 422, field, "can't be blank")
    r = api.get("/articles", params={"author": u["username"]})
    assert r.json() == {"articles": [], "articlesCount": 0}


def test_article_unknown(api):
    u = api.register("au")
    errors(api.get("/articles/no-such-slug-1"), 404, "article", "not found")
    # 401 comes before the lookup.
    errors(api.put("/articles/no-such-slug-1",
                   json={"article": {"body": "x"}}), 401, "token",
           "is missing")
    errors(api.delete("/articles/no-such-slug-1"), 401, "token",
           "is missing")
    errors(api.put("/articles/no-such-slug-1", u["token"],
                   json={"article": {"body": "x"}}), 404, "article",
           "not found")
    errors(api.delete("/articles/no-such-slug-1", u["token"]), 404,
           "article", "not found")


def test_duplicate_titles_distinct_slugs(api):
    u = api.register("dt")
    a = api.article(u["token"], title="Same title")
    b = api.article(u["token"], title="Same title")
    assert a["slug"] != b["slug"]
    assert api.get("/articles/" + a["slug"]).json()["article"]["slug"] == \
        a["slug"]
    assert api.get("/articles/" + b["slug"]).json()["article"]["slug"] == \
        b["slug"]


def test_article_update(api):
    u = api.register("up")
    other = api.register("up2")
    a = api.article(u["token"], tags=["b_tag", "a_tag"])
    slug = a["slug"]
    time.sleep(0.01)

    errors(api.put("/articles/" + slug, other["token"],
                   json={"article": {"body": "x"}}), 403, "article",
           "forbidden")
    errors(api.delete("/articles/" + slug, other["token"]), 403, "article",
           "forbidden")

    r = api.put("/articles/" + slug, u["token"],
                json={"article": {"body": "new body"}})
    assert r.status_code == 200
    b = r.json()["article"]
    check_article(b)
    assert b["slug"] == slug
    assert b["body"] == "new body"
    assert b["title"] == a["title"]
    assert b["description"] == a["description"]
    assert b["tagList"] == ["a_tag", "b_tag"]       # omitted: kept
    assert b["createdAt"] == a["createdAt"]         # byte-identical
    assert b["updatedAt"] != a["updatedAt"]
    assert b["updatedAt"] > a["updatedAt"]

    # An update right after another still moves updatedAt.
    r = api.put("/articles/" + slug, u["token"],
                json={"article": {"description": "d2"}})
    c = r.json()["article"]
    assert c["updatedAt"] != b["updatedAt"]
    assert c["createdAt"] == a["createdAt"]

    # tagList: null is 422, [] clears, an array replaces.
    r = api.put("/articles/" + slug, u["token"],
                json={"article": {"tagList": None}})
    errors(r, 422, "tagList")
    r = api.put("/articles/" + slug, u["token"],
                json={"article": {"tagList": ["z", "y", "y"]}})
    assert r.json()["article"]["tagList"] == ["y", "z"]
    r = api.put("/articles/" + slug, u["token"],
                json={"article": {"tagList": []}})
    assert r.json()["article"]["tagList"] == []
    assert api.get("/articles/" + slug).json()["article"]["tagList"] == []

    # Blank values are refused; nothing changes.
    for field in ("title", "description", "body"):
        errors(api.put("/articles/" + slug, u["token"],
                       json={"article": {field: ""}}), 422, field)
    assert api.get("/articles/" + slug).json()["article"]["body"] == \
        "new body"

    # A new title regenerates the slug.
    r = api.put("/articles/" + slug, u["token"],
                json={"article": {"title": "A brand new title"}})
    d = r.json()["article"]
    assert d["title"] == "A brand new title"
    assert d["slug"] != slug and d["slug"].startswith("a-brand-new-title")
    errors(api.get("/articles/" + slug), 404, "article")
    assert api.get("/articles/" + d["slug"]).status_code == 200


def test_article_delete(api):
    u = api.register("del")
    other = api.register("del2")
    a = api.article(u["token"], tags=["deltag_" + name()])
    api.post("/articles/%s/comments" % a["slug"], other["token"],
             json={"comment": {"body": "hi"}})
    api.post("/articles/%s/favorite" % a["slug"], other["token"])
    r = api.delete("/articles/" + a["slug"], u["token"])
    assert r.status_code == 204
    assert r.content == b""
    errors(api.get("/articles/" + a["slug"]), 404, "article", "not found")
    errors(api.get("/articles/%s/comments" % a["slug"]), 404, "article")
    errors(api.delete("/articles/" + a["slug"], u["token"]), 404, "article")
    r = api.get("/articles", params={"favorited": other["username"]})
    assert r.json()["articlesCount"] == 0


# ---------------------------------------------------------------- lists

def test_list_pagination_and_filters(api):
    u = api.register("li")
    tag = "tag_" + name()
    first = api.article(u["token"], tags=[tag, "common"])
    second = api.article(u["token"], tags=[tag])

    r = api.get("/articles", params={"author": u["username"]})
    assert r.status_code == 200
    body = r.json()
    assert body["articlesCount"] == 2
    assert [a["slug"] for a in body["articles"]] == [second["slug"],
                                                    first["slug"]]
    for a in body["articles"]:
        check_article(a, with_body=False)
        assert "body" not in a

    r = api.get("/articles", params={"author": u["username"], "limit": 1})
    body = r.json()
    assert body["articlesCount"] == 2
    assert [a["slug"] for a in body["articles"]] == [second["slug"]]
    r = api.get("/articles", params={"author": u["username"], "limit": 1,
                                     "offset": 1})
    body = r.json()
    assert body["articlesCount"] == 2
    assert [a["slug"] for a in body["articles"]] == [first["slug"]]
    r = api.get("/articles", params={"author": u["username"], "offset": 5})
    assert r.json() == {"articles": [], "articlesCount": 2}

    r = api.get("/articles", params={"tag": tag})
    assert [a["slug"] for a in r.json()["articles"]] == [second["slug"],
                                                        first["slug"]]
    r = api.get("/articles", params={"tag": tag, "author": u["username"],
                                     "limit": 1, "offset": 1})
    assert r.json()["articlesCount"] == 2
    assert r.json()["articles"][0]["slug"] == first["slug"]

    for params in ({"tag": "no_such_tag_" + name()},
                   {"author": "nobody_" + name()},
                   {"favorited": "nobody_" + name()},
                   {"tag": tag, "author": "nobody_" + name()}):
        r = api.get("/articles", params=params)
        assert r.status_code == 200
        assert r.json() == {"articles": [], "articlesCount": 0}

    # Default page: 20 at most; the cap: 100 at most.
    r = api.get("/articles")
    assert r.status_code == 200 and len(r.json()["articles"]) <= 20
    r = api.get("/articles", params={"limit": 1000})
    assert r.status_code == 200 and len(r.json()["articles"]) <= 100


def test_list_favorited_and_following(api):
    a = api.register("fa")
    b = api.register("fb")
    art = api.article(a["token"])
    api.post("/profiles/%s/follow" % a["username"], b["token"])
    r = api.post("/articles/%s/favorite" % art["slug"], b["token"])
    assert r.status_code == 200

    r = api.get("/articles", params={"favorited": b["username"]})
    items = r.json()["articles"]
    assert [x["slug"] for x in items] == [art["slug"]]
    assert items[0]["favorited"] is False            # anonymous
    assert items[0]["author"]["following"] is False
    assert items[0]["favoritesCount"] == 1

    r = api.get("/articles", b["token"],
                params={"favorited": b["username"]})
    items = r.json()["articles"]
    assert items[0]["favorited"] is True
    assert items[0]["author"]["following"] is True
    r = api.get("/articles", a["token"], params={"author": a["username"]})
    items = r.json()["articles"]
    assert items[0]["favorited"] is False
    assert items[0]["author"]["following"] is False
    assert items[0]["favoritesCount"] == 1

    r = api.get("/articles/" + art["slug"], b["token"])
    assert r.json()["article"]["favorited"] is True
    assert r.json()["article"]["author"]["following"] is True


def test_feed(api):
    reader = api.register("fr")
    w1 = api.register("fw")
    w2 = api.register("fx")
    errors(api.get("/articles/feed"), 401, "token", "is missing")
    r = api.get("/articles/feed", reader["token"])
    assert r.status_code == 200
    assert r.json() == {"articles": [], "articlesCount": 0}

    a1 = api.article(w1["token"])
    api.article(w2["token"])
    a3 = api.article(w1["token"])
    api.post("/profiles/%s/follow" % w1["username"], reader["token"])
    r = api.get("/articles/feed", reader["token"])
    body = r.json()
    assert body["articlesCount"] == 2
    assert [a["slug"] for a in body["articles"]] == [a3["slug"], a1["slug"]]
    for a in body["articles"]:
        check_article(a, with_body=False)
        assert a["author"]["following"] is True
    r = api.get("/articles/feed", reader["token"],
                params={"limit": 1, "offset": 1})
    assert r.json()["articlesCount"] == 2
    assert [a["slug"] for a in r.json()["articles"]] == [a1["slug"]]
    errors(api.get("/articles/feed", reader["token"],
                   params={"limit": -1}), 422, "limit")


# ---------------------------------------------------------------- favorites

def test_favorite_unfavorite(api):
    a = api.register("fv")
    b = api.register("fw")
    art = api.article(a["token"])
    path = "/articles/%s/favorite" % art["slug"]
    errors(api.post(path), 401, "token", "is missing")
    errors(api.delete(path), 401, "token", "is missing")
    errors(api.post("/articles/no-such-slug-2/favorite", a["token"]), 404,
           "article", "not found")
    errors(api.delete("/articles/no-such-slug-2/favorite", a["token"]),
           404, "article", "not found")

    for _ in range(2):
        r = api.post(path, b["token"])
        assert r.status_code == 200
        x = r.json()["article"]
        check_article(x)
        assert x["favorited"] is True and x["favoritesCount"] == 1
    x = api.post(path, a["token"]).json()["article"]
    assert x["favorited"] is True and x["favoritesCount"] == 2
    x = api.get("/articles/" + art["slug"]).json()["article"]
    assert x["favorited"] is False and x["favoritesCount"] == 2

    for _ in range(2):
        r = api.delete(path, b["token"])
        assert r.status_code == 200
        x = r.json()["article"]
        assert x["favorited"] is False and x["favoritesCount"] == 1
    x = api.get("/articles/" + art["slug"], a["token"]).json()["article"]
    assert x["favorited"] is True and x["favoritesCount"] == 1


# ---------------------------------------------------------------- comments

def test_comments(api):
    a = api.register("ca")
    b = api.register("cb")
    art = api.article(a["token"])
    path = "/articles/%s/comments" % art["slug"]

    errors(api.post(path, json={"comment": {"body": "x"}}), 401, "token",
           "is missing")
    errors(api.post(path, b["token"], json={"comment": {"body": ""}}), 422,
           "body", "can't be blank")
    errors(api.post(path, b["token"], json={"comment": {}}), 422, "body",
           "can't be blank")
    errors(api.post("/articles/no-such-slug-3/comments", b["token"],
                    json={"comment": {"body": "x"}}), 404, "article",
           "not found")
    errors(api.get("/articles/no-such-slug-3/comments"), 404, "article",
           "not found")

    r = api.post(path, b["token"], json={"comment": {"body": "Nice one"}})
    assert r.status_code == 201
    c = r.json()["comment"]
    assert set(c) == {"id", "createdAt", "updatedAt", "body", "author"}
    assert isinstance(c["id"], int)
    assert c["body"] == "Nice one"
    assert ISO_MS.match(c["createdAt"]) and ISO_MS.match(c["updatedAt"])
    check_profile(c["author"], b["username"], False)

    r = api.get(path)
    assert r.status_code == 200
    assert r.json() == {"comments": [c]}
    api.post("/profiles/%s/follow" % b["username"], a["token"])
    r = api.get(path, a["token"])
    assert r.json()["comments"][0]["author"]["following"] is True

    cpath = "%s/%d" % (path, c["id"])
    errors(api.delete(cpath), 401, "token", "is missing")
    errors(api.delete(cpath, a["token"]), 403, "comment", "forbidden")
    errors(api.delete("%s/%d" % (path, c["id"] + 1000000), b["token"]), 404,
           "comment", "not found")
    errors(api.delete(path + "/abc", b["token"]), 404, "comment",
           "not found")
    errors(api.delete("/articles/no-such-slug-3/comments/%d" % c["id"],
                      b["token"]), 404, "article", "not found")
    # A comment id from another article is not found on this one.
    other = api.article(a["token"])
    errors(api.delete("/articles/%s/comments/%d" % (other["slug"], c["id"]),
                      b["token"]), 404, "comment", "not found")

    r = api.delete(cpath, b["token"])
    assert r.status_code == 204 and r.content == b""
    assert api.get(path).json() == {"comments": []}
    errors(api.delete(cpath, b["token"]), 404, "comment", "not found")


def test_comments_order(api):
    a = api.register("co")
    art = api.article(a["token"])
    path = "/articles/%s/comments" % art["slug"]
    ids = [api.post(path, a["token"],
                    json={"comment": {"body": "c%d" % i}}).json()
           ["comment"]["id"] for i in range(3)]
    assert [c["id"] for c in api.get(path).json()["comments"]] == ids


# ---------------------------------------------------------------- tags

def test_tags(api):
    u = api.register("tg")
    t1, t2 = "d_" + name(), "t_" + name()
    a = api.article(u["token"], tags=[t1, t2])
    assert a["tagList"] == [t1, t2]
    r = api.get("/tags")
    assert r.status_code == 200
    tags = r.json()["tags"]
    assert t1 in tags and t2 in tags
    assert all(isinstance(t, str) for t in tags)
    assert len(tags) == len(set(tags))
    # Optional-auth and no-auth endpoints ignore a missing token.
    assert api.get("/tags", headers=auth(u["token"])).status_code == 200


def test_tag_list_order_paging_and_retag(api):
    """The tag-only list reads its own index (migration 003): same order,
    paging and count as every other list, and it follows tag updates."""
    u = api.register("tg")
    tag = name("tg")
    slugs = [api.article(u["token"], tags=[tag, "other" + tag])["slug"]
             for _ in range(3)]
    r = api.get("/articles?tag=" + tag)
    assert r.status_code == 200
    body = r.json()
    assert body["articlesCount"] == 3
    assert [a["slug"] for a in body["articles"]] == slugs[::-1]
    r = api.get("/articles?tag=%s&limit=1&offset=1" % tag)
    assert [a["slug"] for a in r.json()["articles"]] == [slugs[1]]
    assert r.json()["articlesCount"] == 3
    # Clearing the newest article's tags takes it out of the tag's list.
    r = api.put("/articles/" + slugs[2], u["token"],
                json={"article": {"tagList": []}})
    assert r.status_code == 200
    body = api.get("/articles?tag=" + tag).json()
    assert body["articlesCount"] == 2
    assert [a["slug"] for a in body["articles"]] == [slugs[1], slugs[0]]
    # Re-tagging puts it back in its original place (created_at is kept).
    r = api.put("/articles/" + slugs[2], u["token"],
                json={"article": {"tagList": [tag]}})
    assert r.status_code == 200
    body = api.get("/articles?tag=" + tag).json()
    assert [a["slug"] for a in body["articles"]] == slugs[::-1]
    # Deleting an article removes it from the tag's list and count.
    assert api.delete("/articles/" + slugs[0], u["token"]).status_code == 204
    body = api.get("/articles?tag=" + tag).json()
    assert body["articlesCount"] == 2
    assert [a["slug"] for a in body["articles"]] == [slugs[2], slugs[1]]
