"""Idempotency-Key on blog writes, our addition to the RealWorld API
(README.md, "Idempotent writes"): per user; a repeat gets the stored answer
byte for byte with Idempotent-Replayed: true and no second effect; the same
key with another request is a 422; a repeat while the first still runs is a
409; keys past BLOG_IDEMPOTENCY_TTL_HOURS are pruned off the request path.
Without a key nothing changes.
"""

import base64
import json
import os
import pwd
import select
import subprocess
import uuid

from blog_support import Api, auth, errors, mysql


def user_id(token):
    payload = token.split(".")[1]
    payload += "=" * (-len(payload) % 4)
    return int(json.loads(base64.urlsafe_b64decode(payload))["sub"])


def line_of(proc, timeout=10):
    """The next output line of proc, failing (not hanging) after timeout."""
    ready, _, _ = select.select([proc.stdout], [], [], timeout)
    assert ready, "no answer from the mariadb session in %ss" % timeout
    return proc.stdout.readline().strip()


def article(title):
    return {"article": {"title": title, "description": "d", "body": "b"}}


def count_titles(stack, title):
    return int(mysql(stack.var, "SELECT COUNT(*) FROM articles WHERE title"
                     " = '%s'" % title)[0][0])


def test_without_a_key_nothing_changes(base_url, stack):
    api = Api(base_url)
    u = api.register("ik")
    title = "nokey-" + uuid.uuid4().hex
    for _ in range(2):
        r = api.post("/articles", u["token"], json=article(title))
        assert r.status_code == 201, r.text
        assert "Idempotent-Replayed" not in r.headers
    assert count_titles(stack, title) == 2


def test_replay_returns_the_stored_answer_once(base_url, stack):
    api = Api(base_url)
    u = api.register("ik")
    title = "key-" + uuid.uuid4().hex
    h = {"Idempotency-Key": uuid.uuid4().hex}
    first = api.post("/articles", u["token"], headers=h, json=article(title))
    assert first.status_code == 201, first.text
    assert "Idempotent-Replayed" not in first.headers
    # The same request, formatted differently, is the same request.
    again = api.post("/articles", u["token"], headers=h,
                     data=json.dumps(article(title), indent=2),
                     )
    assert again.status_code == 201, again.text
    assert again.headers.get("Idempotent-Replayed") == "true"
    assert again.content == first.content
    assert count_titles(stack, title) == 1
    slug = first.json()["article"]["slug"]

    # Comments, PUT and DELETE the same way; a repeated DELETE replays the
    # 204 instead of answering 404.
    hc = {"Idempotency-Key": uuid.uuid4().hex}
    body = {"comment": {"body": "once " + title}}
    c1 = api.post("/articles/%s/comments" % slug, u["token"], headers=hc,
                  json=body)
    c2 = api.post("/articles/%s/comments" % slug, u["token"], headers=hc,
                  json=body)
    assert c1.status_code == 201 and c2.status_code == 201, c2.text
    assert c2.content == c1.content
    assert c2.headers.get("Idempotent-Replayed") == "true"
    assert len(api.get("/articles/%s/comments" % slug).json()
               ["comments"]) == 1
    hp = {"Idempotency-Key": uuid.uuid4().hex}
    upd = {"article": {"body": "new body"}}
    p1 = api.put("/articles/" + slug, u["token"], headers=hp, json=upd)
    p2 = api.put("/articles/" + slug, u["token"], headers=hp, json=upd)
    assert p1.status_code == 200 and p2.status_code == 200
    assert p2.content == p1.content
    assert p2.headers.get("Idempotent-Replayed") == "true"
    hd = {"Idempotency-Key": uuid.uuid4().hex}
    d1 = api.delete("/articles/" + slug, u["token"], headers=hd)
    d2 = api.delete("/articles/" + slug, u["token"], headers=hd)
    assert d1.status_code == 204 and d2.status_code == 204, d2.text
    assert d2.headers.get("Idempotent-Replayed") == "true"
    assert "Idempotent-Replayed" not in d1.headers


def test_client_errors_are_stored_too(base_url):
    api = Api(base_url)
    u = api.register("ik")
    h = {"Idempotency-Key": uuid.uuid4().hex}
    r1 = api.post("/articles/no-such-article-%s/comments" % uuid.uuid4().hex,
                  u["token"], headers=h, json={"comment": {"body": "x"}})
    errors(r1, 404, "article")
    r2 = api.post(r1.request.path_url[len("/api"):], u["token"], headers=h,
                  json={"comment": {"body": "x"}})
    assert r2.status_code == 404
    assert r2.headers.get("Idempotent-Replayed") == "true"
    assert r2.content == r1.content


def test_same_key_other_request_is_422(base_url, stack):
    api = Api(base_url)
    u = api.register("ik")
    h = {"Idempotency-Key": uuid.uuid4().hex}
    t1, t2 = "a-" + uuid.uuid4().hex, "b-" + uuid.uuid4().hex
    assert api.post("/articles", u["token"], headers=h,
                    json=article(t1)).status_code == 201
    r = api.post("/articles", u["token"], headers=h, json=article(t2))
    errors(r, 422, "Idempotency-Key")
    assert count_titles(stack, t2) == 0


def test_keys_are_per_user(base_url, stack):
    api = Api(base_url)
    a, b = api.register("ik"), api.register("ik")
    h = {"Idempotency-Key": "shared-" + uuid.uuid4().hex}
    title = "per-user-" + uuid.uuid4().hex
    ra = api.post("/articles", a["token"], headers=h, json=article(title))
    rb = api.post("/articles", b["token"], headers=h, json=article(title))
    assert ra.status_code == 201 and rb.status_code == 201
    assert "Idempotent-Replayed" not in rb.headers
    assert rb.json()["article"]["author"]["username"] == b["username"]
    assert count_titles(stack, title) == 2


def test_invalid_key_is_400(base_url):
    api = Api(base_url)
    u = api.register("ik")
    for key in ["x" * 256, "caf\u00e9".encode("utf-8")]:
        r = api.post("/articles", u["token"], json=article("bad key"),
                     headers={"Idempotency-Key": key})
        errors(r, 400, "Idempotency-Key")


def test_in_flight_is_409(base_url, stack):
    """While the key's lock is held (here by another database session, as
    a request still executing holds it), a repeat is a 409 and has no
    effect; once it is released the request runs."""
    api = Api(base_url)
    u = api.register("ik")
    key = uuid.uuid4().hex
    title = "inflight-" + uuid.uuid4().hex
    lock = "CONCAT('blog_idem_', SHA1(CONCAT(%d, ':', '%s')))" % (
        user_id(u["token"]), key)
    holder = subprocess.Popen(
        ["mariadb", "--defaults-file=" + os.path.join(stack.var, "my.cnf"),
         "-u", pwd.getpwuid(os.getuid()).pw_name, "-N", "-B", "--unbuffered",
         "blog"],
        stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True)
    try:
        holder.stdin.write("SELECT GET_LOCK(%s, 10);\n" % lock)
        holder.stdin.flush()
        assert line_of(holder) == "1"
        r = api.post("/articles", u["token"], json=article(title),
                     headers={"Idempotency-Key": key})
        errors(r, 409, "Idempotency-Key")
        assert count_titles(stack, title) == 0
        holder.stdin.write("SELECT RELEASE_LOCK(%s);\n" % lock)
        holder.stdin.flush()
        assert line_of(holder) == "1"
    finally:
        holder.stdin.close()
        try:
            holder.wait(10)
        finally:
            if holder.poll() is None:
                holder.kill()
    r = api.post("/articles", u["token"], json=article(title),
                 headers={"Idempotency-Key": key})
    assert r.status_code == 201, r.text
    assert count_titles(stack, title) == 1


def test_anonymous_requests_ignore_the_key(base_url):
    api = Api(base_url)
    h = {"Idempotency-Key": uuid.uuid4().hex}
    n1 = api.register("ik")
    r = api.post("/users/login", headers=h, json={"user": {
        "email": n1["email"], "password": n1["password"]}})
    assert r.status_code == 200
    assert "Idempotent-Replayed" not in r.headers


def test_expired_keys_are_pruned(base_url, stack):
    """A key older than the TTL (24 h) goes at a worker's first request
    after it starts (then once a minute), not on the request itself."""
    api = Api(base_url)
    u = api.register("ik")
    uid = user_id(u["token"])
    old, fresh = "old-" + uuid.uuid4().hex, "fresh-" + uuid.uuid4().hex
    mysql(stack.var, "INSERT INTO idempotency_keys (user_id, idem_key,"
          " fingerprint, status, body, created_at) VALUES"
          " (%d, '%s', REPEAT('0', 64), 201, '{}',"
          " UTC_TIMESTAMP(3) - INTERVAL 25 HOUR),"
          " (%d, '%s', REPEAT('0', 64), 201, '{}', UTC_TIMESTAMP(3))"
          % (uid, old, uid, fresh))
    stack.sh("restart", "blog")
    assert api.get("/tags").status_code == 200
    left = {row[0] for row in mysql(stack.var, "SELECT idem_key FROM"
                                    " idempotency_keys WHERE user_id = %d"
                                    % uid)}
    assert left == {fresh}
