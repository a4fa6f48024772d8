"""Identity is the blog's (issue 10 parts 1-2, issue 19 part 3).

Payees are resolved only through what the blog told pay over its signed
identity channel, never from token claims; a username, password or "log out
everywhere" change revokes every earlier token on both services; the
platform's names are nobody's username and nobody's payee.
"""

import json
import os
import subprocess
import time

import requests

from fcgi_support import fcgi
from pay_support import (BASE, PAY, PORT_OFFSET, VAR, User, err, newkey,
                         private_key, psql)

TIMEOUT = 15


def _register(name, password="pw-identity-1", email=None):
    return requests.post(BASE + "/api/users", timeout=TIMEOUT, json={
        "user": {"username": name, "email": email or name + "@example.com",
                 "password": password}})


def _uniq(prefix):
    return "%s%s" % (prefix, newkey()[2:12])


# ---------------------------------------------------------------------
# Reserved names (pay.md "Reserved names", blog.md "Our additions")

def test_blog_refuses_reserved_names_on_register():
    for name in ("system", "System", "SYSTEM", "admin", "root"):
        r = _register(name)
        assert r.status_code == 422, (name, r.status_code, r.text)
        assert r.json() == {"errors": {"username": ["is reserved"]}}, r.text


def test_blog_refuses_reserved_names_on_rename():
    name = _uniq("rs")
    r = _register(name)
    assert r.status_code == 201, r.text
    tok = r.json()["user"]["token"]
    for bad in ("system", "sYsTeM", "platform"):
        r = requests.put(BASE + "/api/user", timeout=TIMEOUT,
                         headers={"Authorization": "Token " + tok},
                         json={"user": {"username": bad}})
        assert r.status_code == 422, (bad, r.status_code, r.text)
        assert r.json() == {"errors": {"username": ["is reserved"]}}
    # A name that merely contains a reserved one is a user's.
    r = requests.put(BASE + "/api/user", timeout=TIMEOUT,
                     headers={"Authorization": "Token " + tok},
                     json={"user": {"username": name + "system"}})
    assert r.status_code == 200, r.text


def test_pay_never_pays_a_platform_name():
    name = _uniq("rp")
    r = _register(name)
    assert r.status_code == 201, r.text
    u = User(name, r.json()["user"]["token"])
    u.deposit(1000)
    for to in ("system", "System", "admin"):
        r = u.pay(to, 10)
        err(r, 400, "parameter_invalid", "to")
    assert u.account()["balance"] == 1000


# ---------------------------------------------------------------------
# Helpers for the identity channel

ADMIN_PAY = ["http://127.0.0.1:%d/internal/identity" % (9300 + PORT_OFFSET + n)
             for n in (1, 2)]
TYP = "conduit-identity+jwt"


def _blog(method, path, token=None, **kw):
    h = {"Authorization": "Token " + token} if token else {}
    return requests.request(method, BASE + "/api" + path, headers=h,
                            timeout=TIMEOUT, **kw)


def _pay_get(token, path="/accounts"):
    return requests.get(PAY + path, timeout=TIMEOUT,
                        headers={"Authorization": "Bearer " + token})


def _user_id(token):
    import jwt
    return int(jwt.decode(token, options={"verify_signature": False})["sub"])


def _event(sub, ver, seq, username, key=None, typ=TYP, aud="conduit:identity",
           alg="ES256"):
    import jwt
    claims = {"iss": "conduit", "aud": aud, "sub": str(sub), "ver": ver,
              "seq": seq, "username": username, "iat": int(time.time())}
    return jwt.encode(claims, key or private_key(), algorithm=alg,
                      headers={"typ": typ})


def _b64(obj):
    import base64
    raw = obj if isinstance(obj, bytes) else json.dumps(obj).encode()
    return base64.urlsafe_b64encode(raw).rstrip(b"=").decode()


def _hs256_event(claims):
    """The classic confusion: HMAC keyed with the public key's PEM."""
    import hashlib
    import hmac
    pub = open(os.path.join(VAR, "keys", "jwt-public.pem"), "rb").read()
    head = _b64({"alg": "HS256", "typ": TYP}) + "." + _b64(claims)
    return head + "." + _b64(hmac.new(pub, head.encode(),
                                      hashlib.sha256).digest())


def _deliver(events, url=None):
    return requests.post(url or ADMIN_PAY[0], json={"events": events},
                         timeout=TIMEOUT)


def _mysql(sql):
    with open(os.path.join(VAR, "secrets", "blog_owner.password")) as f:
        pw = f.read().strip()
    p = subprocess.run(
        ["mysql", "--socket=" + os.path.join(VAR, "run", "mysqld.sock"),
         "-u", "blog_owner", "-p" + pw, "-N", "-B", "blog", "-e", sql],
        capture_output=True, text=True, timeout=60)
    assert p.returncode == 0, p.stderr
    return [line.split("\t") for line in p.stdout.splitlines()]


def _new(prefix):
    name = _uniq(prefix)
    r = _register(name)
    assert r.status_code == 201, r.text
    return name, r.json()["user"]["token"]


def _payer(prefix, amount):
    """A fresh blog user with amount (minor units) in a USD account."""
    payer = User(*_new(prefix))
    payer.deposit(amount)
    return payer


# ---------------------------------------------------------------------
# Issue 10 part 1: the rename-replay attack, through the edge

def test_rename_replay_never_pays_the_old_holder():
    x1 = _uniq("x")
    # 1. Eve registers x1, opens a USD account, renames herself to a1 and
    #    uses the new token on pay once.
    r = _register(x1)
    assert r.status_code == 201, r.text
    eve_old = r.json()["user"]["token"]
    eve = User(x1, eve_old)
    eve.open()
    a1 = _uniq("a")
    r = _blog("PUT", "/user", eve_old, json={"user": {"username": a1}})
    assert r.status_code == 200, r.text
    eve_new = User(a1, r.json()["user"]["token"])
    assert _pay_get(eve_new.token).status_code == 200
    # 2. Victor registers the freed name x1 and opens a USD account.
    r = _register(x1, password="pw-victor-123",
                  email="victor-" + x1 + "@example.com")
    assert r.status_code == 201, r.text
    victor = User(x1, r.json()["user"]["token"])
    victor.open()
    # 3. Eve calls pay with her OLD token (claim username x1): refused.
    err(_pay_get(eve_old), 401, "token_revoked")
    # 4. A payer pays x1: it reaches Victor, or fails with a 4xx, never Eve.
    payer = _payer("py", 1000)
    r = payer.pay(x1, 500)
    assert r.status_code == 201 or 400 <= r.status_code < 500, r.text
    assert eve_new.account()["balance"] == 0
    if r.status_code == 201:
        assert r.json()["to"] == x1
        assert victor.account()["balance"] == 500
    # Eve's new name reaches Eve; her statement names her new self.
    r = payer.pay(a1, 7)
    assert r.status_code == 201, r.text
    assert eve_new.account()["balance"] == 7
    assert eve_new.account()["owner"] == a1


def test_old_name_stops_receiving_at_once():
    old, tok = _new("on")
    u = User(old, tok)
    u.open()
    payer = _payer("op", 100)
    new = _uniq("nn")
    r = _blog("PUT", "/user", tok, json={"user": {"username": new}})
    assert r.status_code == 200, r.text
    # The answer to the rename comes after pay applied it: no window.
    r = payer.pay(old, 5)
    assert 400 <= r.status_code < 500, r.text
    assert payer.account()["balance"] == 100


# ---------------------------------------------------------------------
# Issue 10 part 2: revocation on both services

def _warm(token):
    """Use a token on every worker of both services (fills their caches of
    verified tokens, which must not outlive a revocation)."""
    for _ in range(24):
        assert _blog("GET", "/user", token).status_code == 200
        assert _pay_get(token).status_code == 200


def _revoked_everywhere(token):
    for _ in range(24):
        r = _blog("GET", "/user", token)
        assert r.status_code == 401, r.text
        assert r.json() == {"errors": {"token": ["has been revoked"]}}
        err(_pay_get(token), 401, "token_revoked")


def _works_everywhere(token):
    for _ in range(8):
        assert _blog("GET", "/user", token).status_code == 200
        assert _pay_get(token).status_code == 200


def test_password_change_revokes_earlier_tokens():
    name, t1 = _new("pw")
    _warm(t1)
    r = _blog("PUT", "/user", t1, json={"user": {"password": "new-pass-123"}})
    assert r.status_code == 200, r.text
    t2 = r.json()["user"]["token"]
    _revoked_everywhere(t1)
    _works_everywhere(t2)
    # Logging in with the new password gives a working token too.
    r = _blog("POST", "/users/login", json={"user": {
        "email": name + "@example.com", "password": "new-pass-123"}})
    assert r.status_code == 200, r.text
    _works_everywhere(r.json()["user"]["token"])


def test_rename_revokes_earlier_tokens():
    _, t1 = _new("rn")
    _warm(t1)
    new = _uniq("rm")
    r = _blog("PUT", "/user", t1, json={"user": {"username": new}})
    assert r.status_code == 200, r.text
    t2 = r.json()["user"]["token"]
    _revoked_everywhere(t1)
    _works_everywhere(t2)
    # Setting the same username again is no change: t2 keeps working.
    r = _blog("PUT", "/user", t2, json={"user": {"username": new,
                                                 "bio": "same name"}})
    assert r.status_code == 200, r.text
    _works_everywhere(t2)


def test_logout_all_revokes_every_token():
    name, t1 = _new("lo")
    r = _blog("POST", "/users/login", json={"user": {
        "email": name + "@example.com", "password": "pw-identity-1"}})
    assert r.status_code == 200, r.text
    t2 = r.json()["user"]["token"]
    _warm(t1)
    _warm(t2)
    r = _blog("POST", "/user/logout-all", t2)
    assert r.status_code == 204, r.text
    assert r.content == b""
    _revoked_everywhere(t1)
    _revoked_everywhere(t2)
    r = _blog("POST", "/user/logout-all", t2)
    assert r.status_code == 401
    r = _blog("POST", "/users/login", json={"user": {
        "email": name + "@example.com", "password": "pw-identity-1"}})
    assert r.status_code == 200, r.text
    _works_everywhere(r.json()["user"]["token"])
    assert _blog("POST", "/user/logout-all").status_code == 401


def test_relay_delivers_a_change_the_push_did_not():
    """A version bump written straight into the outbox (as when pay was
    unreachable at the time of the change) reaches pay through the relay:
    the old token is refused by pay within the relay's period."""
    name, tok = _new("rl")
    uid = _user_id(tok)
    _warm(tok)
    _mysql("START TRANSACTION;"
           "UPDATE users SET ident_ver = ident_ver + 1 WHERE id = %d;"
           "INSERT INTO ident_outbox (user_id, ver, username, created_at)"
           " SELECT id, ident_ver, username, UTC_TIMESTAMP(3) FROM users"
           " WHERE id = %d; COMMIT;" % (uid, uid))
    t0 = time.monotonic()
    # The blog refuses the token at once (its own database).
    assert _blog("GET", "/user", tok).status_code == 401
    deadline = t0 + 30
    while _pay_get(tok).status_code == 200:
        assert time.monotonic() < deadline, "the relay never delivered"
        time.sleep(0.02)
    took = time.monotonic() - t0
    err(_pay_get(tok), 401, "token_revoked")
    rows = _mysql("SELECT COUNT(*) FROM ident_outbox WHERE user_id = %d"
                  " AND delivered_at IS NULL" % uid)
    assert rows == [["0"]]
    print("relay latency %.3f s" % took)


# ---------------------------------------------------------------------
# The identity channel itself: signed, idempotent, ordered, internal

def test_internal_route_refuses_what_the_blog_did_not_sign():
    from cryptography.hazmat.primitives import serialization
    from cryptography.hazmat.primitives.asymmetric import ec
    other = ec.generate_private_key(ec.SECP256R1()).private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
        serialization.NoEncryption()).decode()
    victim, vtok = _new("vf")
    vid = _user_id(vtok)
    unsigned = ".".join(
        _b64(p) for p in ({"alg": "none", "typ": TYP},
                  {"iss": "conduit", "aud": "conduit:identity",
                   "sub": str(vid), "ver": 99, "seq": 10 ** 12,
                   "username": "evil"})) + "."
    forged = {
        "other key": _event(vid, 99, 10 ** 12, "evil", key=other),
        "unsigned": unsigned,
        "a token": vtok,
        "typ JWT": _event(vid, 99, 10 ** 12, "evil", typ="JWT"),
        "token audience": _event(vid, 99, 10 ** 12, "evil", aud="conduit"),
        "HS256 keyed with the public key": _hs256_event(
            {"iss": "conduit", "aud": "conduit:identity", "sub": str(vid),
             "ver": 99, "seq": 10 ** 12, "username": "evil"}),
    }
    for what, ev in forged.items():
        r = _deliver([ev])
        assert r.status_code == 401, (what, r.status_code, r.text)
        assert r.json()["error"]["code"] == "event_invalid", what
        # A good event next to a forged one: nothing of the batch applies.
        r = _deliver([_event(vid, 98, 10 ** 12, "evil2"), ev])
        assert r.status_code == 401, (what, r.text)
    for body in ({}, {"events": []}, {"events": "x"}, {"events": [5]}):
        r = requests.post(ADMIN_PAY[0], json=body, timeout=TIMEOUT)
        assert r.status_code in (400, 401), (body, r.text)
    # The victim still holds the name and the token.
    assert _pay_get(vtok).status_code == 200
    assert User(victim, vtok).open()["owner"] == victim


def test_events_are_idempotent_and_ordered():
    x = _uniq("ix")
    r = _register(x)
    assert r.status_code == 201, r.text
    t1 = r.json()["user"]["token"]
    uid = _user_id(t1)
    y = _uniq("iy")
    r = _blog("PUT", "/user", t1, json={"user": {"username": y}})
    assert r.status_code == 200, r.text
    t2 = r.json()["user"]["token"]
    u = User(y, t2)
    u.open()
    (seq1, ver1), (seq2, ver2) = [
        (int(a), int(b)) for a, b in _mysql(
            "SELECT seq, ver FROM ident_outbox WHERE user_id = %d"
            " ORDER BY seq" % uid)]
    assert ver2 == ver1 + 1 and seq2 > seq1
    old = _event(uid, ver1, seq1, x)
    new = _event(uid, ver2, seq2, y)
    # Replaying the old event, alone, twice, or after the new one in the
    # same batch changes nothing: y still names the user, x nobody.
    for batch in ([old], [old], [new, old], [old, new], [new], [new, new]):
        r = _deliver(batch, url=ADMIN_PAY[1])
        assert r.status_code == 200, r.text
        assert r.json()["applied"] == 0, (batch, r.text)
        assert r.json()["stale"] == len(batch)
    assert u.account()["owner"] == y
    err(_pay_get(t1), 401, "token_revoked")
    assert _pay_get(t2).status_code == 200
    payer = _payer("ip", 10)
    r = payer.pay(x, 1)
    assert 400 <= r.status_code < 500, r.text
    assert payer.pay(y, 1).status_code == 201
    assert u.account()["balance"] == 1


def test_events_out_of_order_settle_on_the_newest():
    """Events for fresh user ids pay has never seen, delivered newest
    first: the older one is stale, and a name taken by a newer event is
    not taken back by an older one."""
    base = 10 ** 13 + int(time.time() * 1000) % 10 ** 9 * 10
    a, b = base + 1, base + 2
    n1, n2 = _uniq("oa"), _uniq("ob")
    # a held n1 (seq s), renamed to n2 (s+2); b took n1 (s+3).
    s = 10 ** 15 + base
    r = _deliver([_event(b, 1, s + 3, n1), _event(a, 2, s + 2, n2)])
    assert r.status_code == 200 and r.json()["applied"] == 2, r.text
    r = _deliver([_event(a, 1, s, n1)])
    assert r.status_code == 200 and r.json()["stale"] == 1, r.text
    rows = psql("SELECT user_id, username, ident_ver FROM users"
                " WHERE user_id IN (%d, %d) ORDER BY user_id" % (a, b))
    assert rows == [[str(a), n2, "2"], [str(b), n1, "1"]], rows
    # The reverse order of the same facts ends the same way.
    c, d = base + 3, base + 4
    m1, m2 = _uniq("oc"), _uniq("od")
    for ev in (_event(c, 1, s + 10, m1), _event(d, 1, s + 13, m1),
               _event(c, 2, s + 12, m2)):
        assert _deliver([ev]).status_code == 200
    rows = psql("SELECT user_id, username FROM users"
                " WHERE user_id IN (%d, %d) ORDER BY user_id" % (c, d))
    assert rows == [[str(c), m2], [str(d), m1]], rows


def test_reserved_name_from_an_event_is_never_resolved():
    sub = 10 ** 13 + 7 + int(time.time()) % 10 ** 6 * 10
    r = _deliver([_event(sub, 1, 10 ** 16 + sub, "System")])
    assert r.status_code == 200, r.text
    assert psql("SELECT username IS NULL FROM users WHERE user_id = %d"
                % sub) == [["t"]]
    assert psql("SELECT user_id FROM users WHERE username = 'system'") == \
        [["0"]]


def test_internal_route_is_not_reachable_through_the_edge():
    ev = [_event(1, 1, 1, "nobody")]
    for path in ("/internal/identity", "/pay/v1/internal/identity",
                 "/pay/v1/../internal/identity", "/api/../internal/identity",
                 "/pay/v1/%2e%2e/internal/identity"):
        r = requests.post(BASE + path, json={"events": ev}, timeout=TIMEOUT)
        assert r.status_code in (400, 404, 405), (path, r.status_code,
                                                  r.text)
        assert "applied" not in r.text
    # Nor over FastCGI, should anything proxy the path to pay.
    sock = open(os.path.join(VAR, "run", "pay-1.listen")).read().strip()
    st, _, body = fcgi(sock, "POST", "/internal/identity", {"events": ev})
    assert st == 404, body


def test_token_claims_never_teach_pay_a_name():
    """A genuine, current token whose username claim names someone else
    (as a blog bug or a key holder could make) changes nothing: pay takes
    names only from the blog's events."""
    from pay_support import mint
    victim, vtok = _new("tv")
    User(victim, vtok).open()
    eve, etok = _new("te")
    eid = _user_id(etok)
    forged = User(victim, mint(eid, victim))
    for path in ("/accounts", "/payments"):
        assert _pay_get(forged.token, path).status_code == 200
    forged.open()
    assert forged.account()["owner"] == eve
    payer = _payer("tp", 100)
    r = payer.pay(victim, 9)
    assert r.status_code == 201, r.text
    assert User(victim, vtok).account()["balance"] == 9
    assert forged.account()["balance"] == 0
    # Paying from the forged token names the payer by the directory too.
    forged.deposit(5)
    r = forged.pay(payer.name, 5)
    assert r.status_code == 201 and r.json()["from"] == eve, r.text


def test_push_survives_a_dead_pay_replica(stack):
    """The change's own delivery tries each address of BLOG_IDENTITY_URLS:
    with the first pay replica killed, the second one applies it before
    the blog answers, so there is still no window."""
    pids = stack.replica_pids("pay")
    assert 1 in pids and len(pids) >= 2, pids
    name, tok = _new("dk")
    u = User(name, tok)
    u.open()
    payer = _payer("dp", 10)
    stack.kill(pids[1])
    try:
        new = _uniq("dn")
        r = _blog("PUT", "/user", tok, json={"user": {"username": new}})
        assert r.status_code == 200, r.text
        err(_pay_get(tok), 401, "token_revoked")
        r = payer.pay(name, 1)
        assert 400 <= r.status_code < 500, r.text
        assert payer.pay(new, 1).status_code == 201
    finally:
        stack.sh("up")
