"""Unicode slugs and usernames through nginx (issue 17, parts 1 and 2).

Slugs keep the title's words in any script and are found both from the raw
UTF-8 path and from its percent-encoded form; usernames in any script work
for profiles, follows, the feed, list filters and payments, and names that
differ only by width, case or composition are one name (409), so is a
look-alike of a taken name (409), while look-alike script mixes and
invisible characters are refused (422).

requests percent-encodes every non-ASCII URL, so the raw form is sent with a
plain socket (raw_request).
"""

import json
import re
import secrets
import socket
import time
import unicodedata
import urllib.parse
import uuid

import pytest
import requests

from blog_support import ScratchDb, errors

SUFFIX = re.compile(r"-[0-9a-f]{8}$")


def uniq():
    """Digits that make a name unique (digits are of no script)."""
    return "%d%03d" % (time.time_ns() // 1000 % 10 ** 10,
                       secrets.randbelow(1000))


def fullwidth(s):
    """ASCII letters and digits as their full-width forms."""
    return "".join(chr(ord(c) + 0xFEE0) if c.isascii() and c.isalnum()
                   else c for c in s)


def register(api, username, status=201):
    mail = "u%s@test.com" % uuid.uuid4().hex[:12]
    r = api.post("/users", json={"user": {
        "username": username, "email": mail, "password": "password123"}})
    assert r.status_code == status, (username, r.status_code, r.text[:300])
    return r


def raw_request(base_url, method, path, token=None, body=None):
    """Send path's UTF-8 bytes unencoded; return (status, parsed JSON)."""
    u = urllib.parse.urlsplit(base_url)
    head = "%s %s HTTP/1.1\r\nHost: %s\r\nConnection: close\r\n" % (
        method, "\0", u.netloc)
    head = head.encode().replace(b"\0", path.encode("utf-8"))
    data = b""
    if token is not None:
        head += b"Authorization: Token " + token.encode() + b"\r\n"
    if body is not None:
        data = body.encode("utf-8")
        head += b"Content-Type: application/json\r\n"
    head += b"Content-Length: %d\r\n\r\n" % len(data)
    with socket.create_connection((u.hostname, u.port), timeout=15) as s:
        s.sendall(head + data)
        resp = b""
        while True:
            chunk = s.recv(65536)
            if not chunk:
                break
            resp += chunk
    top, _, payload = resp.partition(b"\r\n\r\n")
    lines = top.decode("latin-1").split("\r\n")
    status = int(lines[0].split()[1])
    headers = {k.lower(): v.strip() for k, _, v in
               (ln.partition(":") for ln in lines[1:])}
    if headers.get("transfer-encoding") == "chunked":
        out = b""
        while payload:
            size, _, rest = payload.partition(b"\r\n")
            n = int(size, 16)
            if n == 0:
                break
            out += rest[:n]
            payload = rest[n + 2:]
        payload = out
    return status, (json.loads(payload) if payload else None)


# ------------------------------------------------------------------ slugs

@pytest.mark.parametrize("title,base", [
    ("高可用性和低延迟的Web应用程序", "高可用性和低延迟的web应用程序"),
    ("Ünïcödé Straße", "ünïcödé-straße"),
    ("Привет мир", "привет-мир"),
    ("東京の夜", "東京の夜"),
    ("مرحبا بالعالم", "مرحبا-بالعالم"),
    ("ＦＵＬＬ　ｗｉｄｔｈ ①", "full-width-1"),
    ("zero\u200bwidth \u202eevil", "zerowidth-evil"),
    ("😀🎉", "article"),
    # ASCII titles give what they always gave.
    ("How to train your dragon", "how-to-train-your-dragon"),
    ("C++ & C# -- 2024", "c-c-2024"),
])
def test_slug_scripts(api, title, base):
    u = api.register("us")
    a = api.article(u["token"], title=title)
    assert SUFFIX.search(a["slug"]), a["slug"]
    assert a["slug"][:-9] == base
    assert a["title"] == title
    r = api.get("/articles/" + urllib.parse.quote(a["slug"]))
    assert r.status_code == 200 and r.json()["article"]["slug"] == a["slug"]


def test_unicode_slug_raw_and_encoded(api, base_url):
    """Create, get, favorite, comment and delete by a Chinese slug."""
    u = api.register("us")
    v = api.register("us")
    a = api.article(u["token"], title="高可用性和低延迟的Web应用程序",
                    tags=["云计算"])
    slug = a["slug"]
    enc = urllib.parse.quote(slug)
    assert enc != slug and "%E9%AB%98" in enc
    # The raw UTF-8 path, upper- and lower-case percent-encoding.
    st, body = raw_request(base_url, "GET", "/api/articles/" + slug)
    assert st == 200 and body["article"]["slug"] == slug
    for path in (enc, enc.lower()):
        st, body = raw_request(base_url, "GET", "/api/articles/" + path)
        assert st == 200 and body["article"]["slug"] == slug
    # Favourite by the encoded form, unfavourite by the raw one.
    r = api.post("/articles/%s/favorite" % enc, v["token"])
    assert r.status_code == 200, r.text
    assert r.json()["article"]["favorited"] is True
    assert r.json()["article"]["favoritesCount"] == 1
    lst = api.get("/articles", params={"favorited": v["username"]}).json()
    assert [x["slug"] for x in lst["articles"]] == [slug]
    st, body = raw_request(base_url, "DELETE",
                           "/api/articles/%s/favorite" % slug, v["token"])
    assert st == 200 and body["article"]["favoritesCount"] == 0
    # Comments: create raw, list encoded, delete raw.
    st, body = raw_request(base_url, "POST",
                           "/api/articles/%s/comments" % slug, v["token"],
                           '{"comment":{"body":"很好的文章"}}')
    assert st == 201, body
    cid = body["comment"]["id"]
    assert body["comment"]["body"] == "很好的文章"
    r = api.get("/articles/%s/comments" % enc)
    assert [c["id"] for c in r.json()["comments"]] == [cid]
    st, _ = raw_request(base_url, "DELETE",
                        "/api/articles/%s/comments/%d" % (slug, cid),
                        v["token"])
    assert st == 204
    # The Chinese tag still lists and filters.
    lst = api.get("/articles", params={"tag": "云计算"}).json()
    assert slug in [x["slug"] for x in lst["articles"]]
    # Updating the body keeps the slug; a new title makes a new one.
    r = api.put("/articles/" + enc, u["token"],
                json={"article": {"body": "新的正文"}})
    assert r.status_code == 200 and r.json()["article"]["slug"] == slug
    r = api.put("/articles/" + enc, u["token"],
                json={"article": {"title": "Новый заголовок"}})
    assert r.status_code == 200
    new = r.json()["article"]["slug"]
    assert new.startswith("новый-заголовок-")
    errors(api.get("/articles/" + enc), 404, "article")
    # Delete by the raw new slug.
    st, _ = raw_request(base_url, "DELETE", "/api/articles/" + new,
                        u["token"])
    assert st == 204
    errors(api.get("/articles/" + urllib.parse.quote(new)), 404, "article")


def test_slug_lookups_that_cannot_match(api, base_url):
    u = api.register("us")
    a = api.article(u["token"], title="東京の夜")
    # Upper-case ASCII, a bad byte, a decomposed copy: none is a slug.
    errors(api.get("/articles/" + a["slug"].upper()), 404, "article")
    errors(api.get("/articles/%E6%9D%B1%FF"), 404, "article")
    errors(api.get("/articles/" + urllib.parse.quote(
        unicodedata.normalize("NFD", "é-" + a["slug"]))), 404, "article")
    # Duplicate titles still get different slugs.
    b = api.article(u["token"], title="東京の夜")
    assert a["slug"] != b["slug"] and a["slug"][:-9] == b["slug"][:-9]


# -------------------------------------------------------------- usernames

def test_unicode_username_profile_follow_feed(api, base_url):
    n = uniq()
    name = "用户" + n
    r = register(api, name)
    author = r.json()["user"]
    assert author["username"] == name
    reader = api.register("ur")
    # The profile by raw and encoded name.
    st, body = raw_request(base_url, "GET", "/api/profiles/" + name)
    assert st == 200 and body["profile"]["username"] == name
    r = api.get("/profiles/" + urllib.parse.quote(name))
    assert r.status_code == 200 and r.json()["profile"]["username"] == name
    # Follow, feed, unfollow.
    a = api.article(author["token"], title="关注我的文章")
    r = api.post("/profiles/%s/follow" % urllib.parse.quote(name),
                 reader["token"])
    assert r.status_code == 200 and r.json()["profile"]["following"] is True
    feed = api.get("/articles/feed", reader["token"]).json()
    assert [x["slug"] for x in feed["articles"]] == [a["slug"]]
    assert feed["articles"][0]["author"]["username"] == name
    assert feed["articles"][0]["author"]["following"] is True
    # ?author= with the name.
    lst = api.get("/articles", params={"author": name}).json()
    assert lst["articlesCount"] == 1
    st, body = raw_request(base_url, "DELETE",
                           "/api/profiles/%s/follow" % name, reader["token"])
    assert st == 200 and body["profile"]["following"] is False
    assert api.get("/articles/feed", reader["token"]).json() == {
        "articles": [], "articlesCount": 0}
    # The token carries the name; GET /user answers it.
    r = api.get("/user", author["token"])
    assert r.json()["user"]["username"] == name


@pytest.mark.parametrize("make", [
    lambda n: "用户" + n,
    lambda n: "Пётр_" + n,
    lambda n: "مستخدم" + n,
    lambda n: "ユーザー" + n,
    lambda n: "नमस्ते" + n,
    lambda n: "José." + n,
])
def test_scripts_register_and_look_up(api, make):
    name = make(uniq())
    r = register(api, name)
    assert r.json()["user"]["username"] == name
    r = api.get("/profiles/" + urllib.parse.quote(name))
    assert r.status_code == 200 and r.json()["profile"]["username"] == name


def test_same_name_by_width_case_composition(api):
    n = uniq()
    register(api, "bob_" + n)
    for other in (fullwidth("bob_") + fullwidth(n), "BOB_" + n,
                  "Bob_" + fullwidth(n)):
        errors(register(api, other, 409), 409, "username",
               "has already been taken")
    register(api, "José_" + n)
    errors(register(api, unicodedata.normalize("NFD", "JOSÉ_" + n), 409),
           409, "username", "has already been taken")
    register(api, "Straße_" + n)
    errors(register(api, "STRASSE_" + n, 409), 409, "username",
           "has already been taken")
    # Not the same name: accents differ, and so do scripts.
    register(api, "Jose_" + n)
    register(api, "Боб_" + n)


def test_conflict_names_the_field_whatever_the_name(api):
    """The 409 names the index that refused, not a word in the value."""
    name = "uk_users_email_" + uniq()
    register(api, name)
    errors(register(api, name.upper(), 409), 409, "username",
           "has already been taken")


def test_lookalikes_of_a_taken_name(api):
    """Single-script look-alikes share a confusable skeleton: 409."""
    n = uniq()
    for taken, other in (
            ("scope_" + n, "\u0455\u0441\u043e\u0440\u0435_" + n),  # Cyrillic
            ("admin_" + n, "adrnin_" + n),
            ("用户1_" + n, "用户l_" + n),                     # digit 1, letter l
            ("カメラ" + n, "力メラ" + n)):        # katakana ka / Han power
        register(api, taken)
        errors(register(api, other, 409), 409, "username",
               "looks like a name already taken")
    # A rename to a look-alike of someone else's name is refused too.
    a = api.register("ul")
    r = api.put("/user", a["token"], json={"user": {"username": "adrnin_" + n}})
    errors(r, 409, "username", "looks like a name already taken")


@pytest.mark.parametrize("name", [
    "ｓｙｓｔｅｍ",                      # full width: the key is "system"
    "\u0405\u0423\u0405\u0422\u0415\u041c",  # Cyrillic "ЅУЅТЕМ"
    "adrnin",                            # "rn" for "m"
    "ROOT",
])
def test_reserved_names_by_key_and_lookalike(api, name):
    errors(register(api, name, 422), 422, "username", "is reserved")


def test_lookup_is_exact_up_to_composition(api):
    n = uniq()
    name = "José_" + n
    register(api, name)
    nfd = unicodedata.normalize("NFD", name)
    assert nfd != name
    r = api.get("/profiles/" + urllib.parse.quote(nfd))
    assert r.status_code == 200 and r.json()["profile"]["username"] == name
    # Case and width are visible: one URL per user, as for ASCII names.
    errors(api.get("/profiles/" + urllib.parse.quote(name.upper())), 404,
           "profile")
    errors(api.get("/profiles/" + urllib.parse.quote(fullwidth(name))), 404,
           "profile")


def test_rename_to_own_variant_and_others(api):
    n = uniq()
    a = register(api, "ann_" + n).json()["user"]
    register(api, "用户" + n)
    # Another user's name in full width is taken.
    r = api.put("/user", a["token"],
                json={"user": {"username": "用户" + fullwidth(n)}})
    errors(r, 409, "username", "has already been taken")
    # Your own name in another case is yours.
    r = api.put("/user", a["token"], json={"user": {"username": "ANN_" + n}})
    assert r.status_code == 200 and r.json()["user"]["username"] == "ANN_" + n
    r = api.put("/user", r.json()["user"]["token"],
                json={"user": {"username": "安" + n}})
    assert r.status_code == 200 and r.json()["user"]["username"] == "安" + n
    assert api.get("/profiles/" + urllib.parse.quote("安" + n)).json()[
        "profile"]["username"] == "安" + n
    errors(api.get("/profiles/ann_" + n), 404, "profile")


@pytest.mark.parametrize("bad,why", [
    ("b\u0430nk_{}", "mixes scripts"),          # Cyrillic а in Latin
    ("p\u0430yp\u0430l{}", "mixes scripts"),
    ("\u03bfops{}", "mixes scripts"),            # Greek omicron
    ("user\u0661\u0662{}", "mixes digits"),      # Arabic-Indic + ASCII
    ("ab\u200b{}", "no invisible"),              # zero-width space
    ("ad\u200dmin{}", "no invisible"),           # zero-width joiner
    ("abc\u202e{}", "no invisible"),             # right-to-left override
    ("\u2067abc{}", "no invisible"),             # right-to-left isolate
    ("\u3164{}", "no invisible"),                # Hangul filler
    ("bob\U0001F600{}", "use letters"),          # emoji
    ("a b{}", "use letters"),
    ("e\u0301\u0301{}", "repeated"),
])
def test_refused_names(api, bad, why):
    name = bad.format(uniq())
    body = errors(register(api, name, 422), 422, "username")
    msg = body["errors"]["username"][0]
    assert why in msg, msg
    errors(api.get("/profiles/" + urllib.parse.quote(name)), 404, "profile")


def test_name_bounds(api):
    n = uniq()
    # 64 characters are fine; 42 Chinese characters (126 bytes) too.
    register(api, ("x" * 64)[:64 - len(n)] + n)
    register(api, "".join(chr(0x4E00 + secrets.randbelow(0x5000))
                          for _ in range(42)))
    # 43 Chinese characters are 129 bytes: too long, though 43 characters.
    body = errors(register(api, "中" * 43, 422), 422, "username")
    assert "too long" in body["errors"]["username"][0]
    body = errors(register(api, "x" * 65, 422), 422, "username")
    assert "too long" in body["errors"]["username"][0]


# --------------------------------------------------------------- payments

def test_pay_a_unicode_username(api, base_url):
    """A Unicode payee is found by the name the payer types."""
    pay = base_url.rstrip("/") + "/pay/v1"
    n = uniq()
    payee_name = "收款人" + n
    payee = register(api, payee_name).json()["user"]
    payer = api.register("up")
    s = requests.Session()

    def call(token, path, body=None):
        h = {"Authorization": "Bearer " + token,
             "Idempotency-Key": "k-" + uuid.uuid4().hex}
        if body is None:
            return s.get(pay + path, headers=h, timeout=15)
        return s.post(pay + path, json=body, headers=h, timeout=15)

    r = call(payee["token"], "/accounts", {"currency": "CNY"})
    assert r.status_code == 201, r.text
    r = call(payer["token"], "/deposits", {"currency": "CNY", "amount": 500})
    assert r.status_code == 201, r.text
    r = call(payer["token"], "/payments",
             {"to": payee_name, "amount": 120, "currency": "CNY"})
    assert r.status_code == 201, r.text
    assert r.json()["to"] == payee_name
    accts = call(payee["token"], "/accounts").json()["data"]
    assert [a["balance"] for a in accts if a["currency"] == "CNY"] == [120]
    ents = call(payee["token"], "/accounts/%s/entries" % accts[0]["id"])
    assert ents.json()["data"][0]["counterparty"] == payer["username"]
    # A rename to another Unicode name reaches pay (the blog's signed
    # identity event): the new name is paid, the old one no longer.
    new_name = "新收款人" + n
    r = api.put("/user", payee["token"],
                json={"user": {"username": new_name}})
    assert r.status_code == 200, r.text
    payee_token = r.json()["user"]["token"]
    r = call(payer["token"], "/payments",
             {"to": new_name, "amount": 30, "currency": "CNY"})
    assert r.status_code == 201 and r.json()["to"] == new_name, r.text
    r = call(payer["token"], "/payments",
             {"to": payee_name, "amount": 1, "currency": "CNY"})
    assert 400 <= r.status_code < 500, r.text
    accts = call(payee_token, "/accounts").json()["data"]
    assert [(a["owner"], a["balance"]) for a in accts
            if a["currency"] == "CNY"] == [(new_name, 150)]
    s.close()


# -------------------------------------------------------------- migration

def test_migration_keeps_legacy_names_and_slugs(var_dir):
    """`blog-fcgi --migrate` on data from before the Unicode migrations:
    ASCII names that differ only in case (two users until now) both keep
    their accounts, the oldest keeps the key and the skeleton; a legacy
    look-alike ("user1", "userl") keeps its account without a skeleton;
    ASCII slugs survive the column's new character set. Run on a scratch
    database of the stack's MariaDB with the stack's blog binary."""
    with ScratchDb(var_dir, "_unicode_names.sql", "unicode_mig") as db:
        sql, migrate = db.sql, db.migrate
        sql("INSERT INTO users (username, email, password_hash, created_at,"
            " updated_at) VALUES"
            " ('Bob', 'b1@x', 'h', NOW(3), NOW(3)),"
            " ('bob', 'b2@x', 'h', NOW(3), NOW(3)),"
            " ('user1', 'u1@x', 'h', NOW(3), NOW(3)),"
            " ('userl', 'ul@x', 'h', NOW(3), NOW(3)),"
            " ('alice', 'a@x', 'h', NOW(3), NOW(3));"
            "INSERT INTO articles (slug, author_id, title, description, body,"
            " tag_list, created_at, updated_at) VALUES ('old-slug-1a2b3c4d',"
            " 1, 't', 'd', 'b', '', NOW(3), NOW(3));")
        log = migrate()
        assert "2 older usernames have no skeleton" in log, log
        rows = sql("SELECT username, username_key,"
                   " IFNULL(username_skeleton, '-') FROM users ORDER BY id"
                   ).stdout.split("\n")[:5]
        assert rows == ["Bob\tbob\tbob", "bob\tbob#2\t-",
                        "user1\tuser1\tuserl", "userl\tuserl\t-",
                        "alice\talice\talice"], rows
        assert sql("SELECT COUNT(*) FROM articles WHERE slug ="
                   " 'old-slug-1a2b3c4d'").stdout.strip() == "1"
        # Again: nothing to apply, the same rows.
        migrate()
        # The key's unique index refuses a third case variant.
        r = sql("INSERT INTO users (username, username_key, email,"
                " password_hash, created_at, updated_at) VALUES ('BOB', 'bob',"
                " 'b3@x', 'h', NOW(3), NOW(3))", check=False)
        assert r.returncode != 0 and "uk_users_username_key" in r.stderr
