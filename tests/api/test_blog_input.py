"""Bad input and bad tokens against the blog API: each is a 4xx in the
RealWorld error format, and nothing is stored half-way.

Forged tokens need the stack's keys: the signing key for the "expired"
case, from $BLOG_TEST_JWT_PRIVATE_KEY or <STACK_VAR>/keys/jwt-private.pem
(skipped when unreadable), and the public key for the HS256 confusion case,
from $BLOG_TEST_JWT_PUBLIC_KEY or <STACK_VAR>/keys/jwt-public.pem.
"""

import base64
import json
import os
import time
import uuid

import pytest

from blog_support import Api, errors, four_xx, name

# python3-jwt and python3-cryptography (Debian; make deps installs them).
import jwt as pyjwt
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec


@pytest.fixture
def user(api):
    return api.register("in")


def raw_post(api, path, data, token=None, ctype="application/json"):
    return api.post(path, token, data=data,
                    headers={"Content-Type": ctype})


def articles_of(api, username):
    r = api.get("/articles", params={"author": username})
    assert r.status_code == 200
    return r.json()["articlesCount"]


# ---------------------------------------------------------------- bodies

@pytest.mark.parametrize("data", [
    b"{", b'{"user": {"username": "x",}}', b"not json", b"[1, 2",
    b'{"user": {"email": "a@b.c" "password": "x"}}',
])
def test_malformed_json(api, data):
    n = name("mal")
    body = data.replace(b'"x"', ('"%s"' % n).encode())
    four_xx(raw_post(api, "/users", body))
    four_xx(raw_post(api, "/users/login", data))
    errors(api.get("/profiles/" + n), 404, "profile")


def test_missing_root_and_empty_body(api, user):
    t = user["token"]
    errors(api.post("/users", json={"username": "x"}), 422, "user",
           "is missing")
    errors(raw_post(api, "/users", b""), 422, "user", "is missing")
    errors(api.post("/users/login", json={}), 422, "user", "is missing")
    errors(api.put("/user", t, json={"article": {}}), 422, "user",
           "is missing")
    errors(api.post("/articles", t, json={"title": "x"}), 422, "article",
           "is missing")
    errors(raw_post(api, "/articles", b"", t), 422, "article",
           "is missing")
    a = api.article(t)
    errors(api.put("/articles/" + a["slug"], t, json={}), 422, "article")
    errors(api.post("/articles/%s/comments" % a["slug"], t,
                    json={"body": "x"}), 422, "comment", "is missing")
    # The root must be an object; so must the body.
    errors(api.post("/users", json={"user": "x"}), 422, "user")
    errors(api.post("/users", json={"user": None}), 422, "user")
    errors(api.post("/users", json=[{"user": {}}]), 422, "body")
    four_xx(api.post("/users", json="user"))
    assert articles_of(api, user["username"]) == 1


def test_wrong_types(api, user):
    t = user["token"]
    n = name("wt")
    for field, val in (("username", 5), ("email", ["a@b.c"]),
                       ("password", {"x": 1}), ("bio", True)):
        u = {"username": n, "email": n + "@test.com", "password": "secret12"}
        u[field] = val
        errors(api.post("/users", json={"user": u}), 422, field)
    errors(api.get("/profiles/" + n), 404, "profile")

    good = {"title": "t", "description": "d", "body": "b"}
    cases = [("title", 5), ("description", 1.5), ("body", False),
             ("tagList", "x"), ("tagList", [1, 2]), ("tagList", {"a": 1}),
             ("tagList", [["a"]]), ("tagList", ["ok", None])]
    for field, val in cases:
        a = dict(good)
        a[field] = val
        errors(api.post("/articles", t, json={"article": a}), 422, field)
    assert articles_of(api, user["username"]) == 0

    errors(api.put("/user", t, json={"user": {"image": 12}}), 422, "image")
    a = api.article(t)
    errors(api.put("/articles/" + a["slug"], t,
                   json={"article": {"title": 5}}), 422, "title")
    errors(api.put("/articles/" + a["slug"], t,
                   json={"article": {"tagList": "x"}}), 422, "tagList")
    errors(api.post("/articles/%s/comments" % a["slug"], t,
                    json={"comment": {"body": 42}}), 422, "body")
    got = api.get("/articles/" + a["slug"]).json()["article"]
    assert got["title"] == a["title"] and got["tagList"] == []


def test_invalid_utf8(api, user):
    t = user["token"]
    n = name("u8")
    bad = ('{"user":{"username":"%s","email":"%s@test.com",'
           '"password":"secret12","bio":"\xff\xfe"}}' % (n, n)).encode(
               "latin-1")
    errors(raw_post(api, "/users", bad), 422, "body")
    errors(api.get("/profiles/" + n), 404, "profile")
    bad = b'{"article":{"title":"\xc3\x28","description":"d","body":"b"}}'
    four_xx(raw_post(api, "/articles", bad, t))
    # An overlong encoding of '/' and a lone surrogate (CESU) are invalid.
    bad = b'{"article":{"title":"\xc0\xaf","description":"d","body":"b"}}'
    four_xx(raw_post(api, "/articles", bad, t))
    bad = b'{"article":{"title":"\xed\xa0\x80","description":"d","body":"b"}}'
    four_xx(raw_post(api, "/articles", bad, t))
    assert articles_of(api, user["username"]) == 0


def test_nul_characters(api, user):
    t = user["token"]
    n = name("nul")
    r = api.post("/users", json={"user": {"username": n + "\u0000x",
                                          "email": n + "@test.com",
                                          "password": "secret12"}})
    four_xx(r)
    r = api.post("/articles", t, json={"article": {
        "title": "a\u0000b", "description": "d", "body": "b"}})
    four_xx(r)
    r = api.post("/articles", t, json={"article": {
        "title": "t", "description": "d", "body": "b",
        "tagList": ["x\u0000"]}})
    four_xx(r)
    errors(api.get("/profiles/" + n), 404, "profile")
    assert articles_of(api, user["username"]) == 0


def test_unicode_round_trip(api, user):
    t = user["token"]
    title = "Ünïcödé — 日本語 😀"
    a = api.article(t, title=title, tags=["日本", "émoji😀"],
                    body="𝔘𝔫𝔦𝔠𝔬𝔡𝔢\nline2")
    got = api.get("/articles/" + a["slug"]).json()["article"]
    assert got["title"] == title
    assert got["body"] == "𝔘𝔫𝔦𝔠𝔬𝔡𝔢\nline2"
    assert got["tagList"] == sorted(["日本", "émoji😀"])
    r = api.get("/articles", params={"tag": "日本"})
    assert a["slug"] in [x["slug"] for x in r.json()["articles"]]


@pytest.mark.parametrize("field,limit", [
    ("title", 255), ("description", 1000), ("body", 100000)])
def test_article_field_limits(api, user, field, limit):
    t = user["token"]
    a = {"title": "t", "description": "d", "body": "b"}
    a[field] = "é" * limit            # characters, not bytes
    r = api.post("/articles", t, json={"article": a})
    assert r.status_code == 201, r.text[:200]
    a[field] = "x" * (limit + 1)
    r = api.post("/articles", t, json={"article": a})
    errors(r, 422, field,
           "is too long (maximum is %d characters)" % limit)
    assert articles_of(api, user["username"]) == 1


def test_tag_limits(api, user):
    t = user["token"]
    base = {"title": "t", "description": "d", "body": "b"}
    r = api.post("/articles", t, json={"article": dict(
        base, tagList=["x" * 65])})
    body = errors(r, 422, "tagList")
    assert "64" in body["errors"]["tagList"][0]
    r = api.post("/articles", t, json={"article": dict(
        base, tagList=["t%d" % i for i in range(200)])})
    errors(r, 422, "tagList")
    r = api.post("/articles", t, json={"article": dict(
        base, tagList=["a\nb"])})
    errors(r, 422, "tagList")
    assert articles_of(api, user["username"]) == 0
    # Blank tags are dropped, surrounding spaces trimmed.
    a = api.article(t, tags=[" x1 ", "", "x1", "  "])
    assert a["tagList"] == ["x1"]


def test_user_field_limits(api, user):
    t = user["token"]
    n = name("lim")

    def reg(**over):
        u = {"username": n, "email": n + "@test.com", "password": "secret12"}
        u.update(over)
        return api.post("/users", json={"user": u})

    errors(reg(username="u" * 65), 422, "username",
           "is too long (maximum is 64 characters)")
    errors(reg(email="e" * 250 + "@t.com"), 422, "email",
           "is too long (maximum is 254 characters)")
    errors(reg(email="no-at-sign"), 422, "email")
    errors(reg(password="p" * 257), 422, "password",
           "is too long (maximum is 256 characters)")
    errors(reg(username="bad name"), 422, "username")
    errors(reg(username="x'; DROP TABLE users; --"), 422, "username")
    errors(reg(bio="b" * 2001), 422, "bio",
           "is too long (maximum is 2000 characters)")
    errors(api.put("/user", t, json={"user": {"bio": "b" * 2001}}), 422,
           "bio", "is too long (maximum is 2000 characters)")
    errors(api.put("/user", t, json={"user": {"image": "i" * 2001}}), 422,
           "image", "is too long (maximum is 2000 characters)")
    errors(api.put("/user", t, json={"user": {"password": "p" * 257}}),
           422, "password")
    errors(api.get("/profiles/" + n), 404, "profile")
    assert api.put("/user", t, json={"user": {"bio": "b" * 2000}}) \
        .status_code == 200
    # A 64-character username is fine.
    u64 = (n + "_" + "x" * 64)[:64]
    r = api.post("/users", json={"user": {
        "username": u64, "email": n + "@test.com", "password": "secret12"}})
    assert r.status_code == 201


def test_comment_limit(api, user):
    t = user["token"]
    a = api.article(t)
    path = "/articles/%s/comments" % a["slug"]
    errors(api.post(path, t, json={"comment": {"body": "c" * 10001}}), 422,
           "body", "is too long (maximum is 10000 characters)")
    assert api.get(path).json() == {"comments": []}


def test_body_too_large(api, user):
    # Past the edge's 1 MiB: 413 (from nginx or the service).
    big = b'{"article":{"title":"t","description":"d","body":"' + \
        b"x" * (1100 * 1024) + b'"}}'
    r = raw_post(api, "/articles", big, user["token"])
    assert r.status_code == 413
    assert articles_of(api, user["username"]) == 0


def test_sql_metacharacters(api, user):
    t = user["token"]
    nasty = "Robert'); DROP TABLE articles;-- \" \\ % _ `"
    tag = "';--%" + name()
    a = api.article(t, title=nasty, tags=[tag], description=nasty,
                    body=nasty)
    got = api.get("/articles/" + a["slug"]).json()["article"]
    assert got["title"] == nasty and got["body"] == nasty
    assert got["tagList"] == [tag]
    r = api.get("/articles", params={"tag": tag})
    assert [x["slug"] for x in r.json()["articles"]] == [a["slug"]]
    # LIKE wildcards are not wildcards here.
    for q in ({"tag": "%"}, {"tag": "' OR '1'='1"}, {"author": "%"},
              {"favorited": "' OR 1=1 --"}, {"author": "_"}):
        r = api.get("/articles", params=q)
        assert r.status_code == 200
        assert r.json() == {"articles": [], "articlesCount": 0}
    errors(api.get("/profiles/x' OR '1'='1"), 404, "profile")
    errors(api.get("/profiles/%25"), 404, "profile")
    errors(api.get("/articles/x' OR '1'='1"), 404, "article")
    r = api.put("/user", t, json={"user": {"bio": nasty}})
    assert r.json()["user"]["bio"] == nasty


def test_long_path_segments(api, user):
    errors(api.get("/articles/" + "a" * 5000), 404, "article", "not found")
    errors(api.get("/articles/%s/comments" % ("a" * 5000)), 404, "article")
    errors(api.post("/articles/%s/favorite" % ("a" * 5000), user["token"]),
           404, "article")
    errors(api.get("/profiles/" + "u" * 5000), 404, "profile", "not found")
    errors(api.post("/profiles/%s/follow" % ("u" * 5000), user["token"]),
           404, "profile")
    errors(api.get("/articles/" + "%C3%A9t%C3%A9"), 404, "article")


@pytest.mark.parametrize("param", ["limit", "offset"])
@pytest.mark.parametrize("value", ["-1", "abc", "1.5", "1e3", " 1", "0x10",
                                   "99999999999999999999999"])
def test_bad_paging(api, user, param, value):
    if value == "99999999999999999999999":
        # Huge but well-formed: clamped, not an error.
        r = api.get("/articles", params={param: value})
        assert r.status_code == 200
        return
    errors(api.get("/articles", params={param: value}), 422, param)
    errors(api.get("/articles/feed", user["token"], params={param: value}),
           422, param)


# ---------------------------------------------------------------- tokens

def b64(data):
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def forge(header, payload, sig=b"sig"):
    return "%s.%s.%s" % (b64(json.dumps(header).encode()),
                         b64(json.dumps(payload).encode()), b64(sig))


def claims(sub=1, username="x", exp_delta=3600, **over):
    now = int(time.time())
    c = {"sub": str(sub), "username": username, "iat": now,
         "nbf": now, "exp": now + exp_delta, "iss": "conduit",
         "aud": "conduit", "jti": uuid.uuid4().hex}
    c.update(over)
    return c


def stack_key(var_dir):
    path = os.environ.get("BLOG_TEST_JWT_PRIVATE_KEY",
                          os.path.join(var_dir, "keys", "jwt-private.pem"))
    try:
        with open(path, "rb") as f:
            return f.read()
    except OSError:
        return None


def assert_rejected(api, token, msg=None):
    for hdr in ("Token ", "Bearer "):
        h = {"Authorization": hdr + token}
        errors(api.get("/user", headers=h), 401, "token", msg)
        # Optional-auth endpoints refuse a bad token too.
        errors(api.get("/articles", headers=h), 401, "token", msg)
        errors(api.get("/profiles/nobody", headers=h), 401, "token", msg)


def test_token_garbage(api, user):
    for tok in ("x", "a.b.c", "....", user["token"] + "x",
                user["token"][:-4], "Token " + user["token"]):
        assert_rejected(api, tok, "is invalid")
    errors(api.get("/user", headers={"Authorization": "Token "}), 401,
           "token")
    errors(api.get("/user", headers={"Authorization": "Basic abc"}), 401,
           "token")


def test_token_tampered(api, user):
    h, p, s = user["token"].split(".")
    payload = json.loads(base64.urlsafe_b64decode(p + "=" * (-len(p) % 4)))
    payload["sub"] = str(int(payload["sub"]) + 1)
    p2 = b64(json.dumps(payload).encode())
    assert_rejected(api, "%s.%s.%s" % (h, p2, s), "is invalid")
    # Flip one signature character.
    s2 = ("A" if s[5] != "A" else "B").join([s[:5], s[6:]])
    assert_rejected(api, "%s.%s.%s" % (h, p, s2), "is invalid")


def test_token_alg_none_and_hs256(api, user, var_dir):
    c = claims(sub=1)
    assert_rejected(api, forge({"alg": "none", "typ": "JWT"}, c, b""),
                    "is invalid")
    assert_rejected(api, forge({"alg": "none"}, c, b"") .rstrip("."),
                    "is invalid")
    assert_rejected(api, forge({"alg": "HS256", "typ": "JWT"}, c),
                    "is invalid")
    # HS256 keyed with the public key's bytes (algorithm confusion).
    pub = os.path.join(var_dir, "keys", "jwt-public.pem")
    pub = os.environ.get("BLOG_TEST_JWT_PUBLIC_KEY", pub)
    assert os.path.exists(pub), "the stack's public key %s is missing" % pub
    with open(pub, "rb") as f:
        secret = f.read()
    import hmac
    import hashlib
    hdr = b64(json.dumps({"alg": "HS256", "typ": "JWT"}).encode())
    pl = b64(json.dumps(c).encode())
    sig = hmac.new(secret, ("%s.%s" % (hdr, pl)).encode(),
                   hashlib.sha256).digest()
    assert_rejected(api, "%s.%s.%s" % (hdr, pl, b64(sig)), "is invalid")


def test_token_other_key(api, user):
    key = ec.generate_private_key(ec.SECP256R1())
    pem = key.private_bytes(serialization.Encoding.PEM,
                            serialization.PrivateFormat.PKCS8,
                            serialization.NoEncryption())
    tok = pyjwt.encode(claims(sub=1, username=user["username"]), pem,
                       algorithm="ES256")
    assert_rejected(api, tok, "is invalid")


def test_token_expired_and_claims(api, base_url, var_dir):
    pem = stack_key(var_dir)
    assert pem is not None, "the stack's JWT private key is not readable"
    u = Api(base_url).register("exp")
    me = api.get("/user", u["token"]).json()["user"]
    sub = json.loads(base64.urlsafe_b64decode(
        u["token"].split(".")[1] + "==="))["sub"]

    def tok(**over):
        over.setdefault("sub", sub)
        return pyjwt.encode(claims(username=me["username"], **over), pem,
                            algorithm="ES256")

    # A token we mint the same way works: the key is the right one.
    assert api.get("/user", tok()).status_code == 200
    assert_rejected(api, tok(exp=int(time.time()) - 3600), "has expired")
    assert_rejected(api, tok(iss="someone-else"), "is invalid")
    assert_rejected(api, tok(aud="other"), "is invalid")
    assert_rejected(api, tok(nbf=int(time.time()) + 3600), "is invalid")
    assert_rejected(api, tok(sub="0"), "is invalid")
    c = claims(sub=sub)
    del c["exp"]
    assert_rejected(api, pyjwt.encode(c, pem, algorithm="ES256"),
                    "is invalid")
