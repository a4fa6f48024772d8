"""Bad input, bad tokens and bad configurations: each is a clear 4xx (or a
quick 503 for a missing database), never a 5xx, and moves no money."""

import hashlib
import hmac
import json
import os
import re
import subprocess
import time

import pytest
import requests

from fcgi_support import fcgi, start
from pay_support import (PAY, ROOT, VAR, b64, err, funded_pair, mint,
                         new_user, newkey)


@pytest.fixture(scope="module")
def pair():
    return funded_pair("i")


def balances(a, b):
    return a.account()["balance"], b.account()["balance"]


# pay.md, Requests: beyond 2^53-1 in any notation is parameter_invalid
# naming amount, also where the JSON parser cannot hold the number.
AMOUNTS = ["1.5", "1.0", "1e2", "\"100\"", "true", "null", "[1]", "{}",
           "0", "-1", "-0", "9007199254740992", "18446744073709551616",
           "123456789012345678901234567890", "-9223372036854775808",
           "-18446744073709551616", "1e20", "1e400", "-1e400",
           "9007199254740992.0", "1E+16"]


@pytest.mark.parametrize("amount", AMOUNTS)
def test_bad_amounts(pair, amount):
    a, b = pair
    before = balances(a, b)
    raw = '{"to":"%s","currency":"USD","amount":%s}' % (b.name, amount)
    r = a.post("/payments", raw=raw, key=newkey())
    code = "parameter_missing" if amount == "null" else "parameter_invalid"
    err(r, 400, code, "amount")
    raw = '{"currency":"USD","amount":%s}' % amount
    err(a.post("/deposits", raw=raw, key=newkey()), 400, code, "amount")
    assert balances(a, b) == before


def test_biggest_amount_is_accepted_but_unfunded(pair):
    a, b = pair
    err(a.pay(b, 9007199254740991), 402, "insufficient_funds")


@pytest.mark.parametrize("body,code,param", [
    ({}, "parameter_missing", "to"),
    ({"amount": 5, "currency": "USD"}, "parameter_missing", "to"),
    ({"to": "B", "currency": "USD"}, "parameter_missing", "amount"),
    ({"to": "B", "amount": 5}, "parameter_missing", "currency"),
    ({"to": "", "amount": 5, "currency": "USD"}, "parameter_invalid", "to"),
    ({"to": 7, "amount": 5, "currency": "USD"}, "parameter_invalid", "to"),
    ({"to": "B", "amount": 5, "currency": "usd"}, "parameter_invalid",
     "currency"),
    ({"to": "B", "amount": 5, "currency": "XXX"}, "parameter_invalid",
     "currency"),
    ({"to": "B", "amount": 5, "currency": "USD", "description": "d" * 1001},
     "parameter_invalid", "description"),
    ({"to": "B", "amount": 5, "currency": "USD", "reference": "r" * 256},
     "parameter_invalid", "reference"),
    ({"to": "B", "amount": 5, "currency": "USD", "reference": 5},
     "parameter_invalid", "reference"),
])
def test_bad_payment_fields(pair, body, code, param):
    a, b = pair
    before = balances(a, b)
    body = {k: (b.name if v == "B" else v) for k, v in body.items()}
    err(a.post("/payments", body, key=newkey()), 400, code, param)
    assert balances(a, b) == before


def test_longest_texts_are_fine(pair):
    a, b = pair
    # Limits count characters, not bytes.
    r = a.pay(b, 1, description="\u00e9" * 1000, reference="\u4e2d" * 255)
    assert r.status_code == 201, r.text
    assert r.json()["description"] == "\u00e9" * 1000


@pytest.mark.parametrize("raw", [
    b'{"to":"x","amount":5,"currency":"USD"',
    b'{"to":"\xff\xfe","amount":5,"currency":"USD"}',
    b'{"to":"a\\u0000b","amount":5,"currency":"USD"}',
    b'not json', b'[1,2]', b'"str"'])
def test_malformed_bodies(pair, raw):
    a, _ = pair
    r = a.post("/payments", raw=raw, key=newkey())
    assert r.status_code == 400, r.text
    assert r.json()["error"]["code"] in ("invalid_json", "parameter_invalid")


def test_body_too_large(pair):
    a, b = pair
    raw = json.dumps({"to": b.name, "amount": 5, "currency": "USD",
                      "description": "x" * (1100 * 1024)})
    r = a.post("/payments", raw=raw, key=newkey())
    assert r.status_code == 413
    assert r.json()["error"]["code"] == "body_too_large"


@pytest.mark.parametrize("key,code", [
    ("", "idempotency_key_missing"),
    ("k" * 256, "idempotency_key_invalid"),
    ("caf\u00e9", None),
    ("tab\tkey", None)])
def test_bad_keys(pair, key, code):
    a, b = pair
    before = balances(a, b)
    h = a.headers()
    h["Idempotency-Key"] = key.encode("utf-8")
    r = requests.post(PAY + "/payments", headers=h, timeout=10, json={
        "to": b.name, "amount": 5, "currency": "USD"})
    assert r.status_code == 400, r.text
    if code is not None:
        err(r, 400, code)
    assert balances(a, b) == before


def test_longest_key_is_fine(pair):
    a, b = pair
    key = "K" * 255
    assert a.pay(b, 1, key=key).status_code == 201
    r = a.pay(b, 1, key=key)
    assert r.headers.get("Idempotent-Replayed") == "true"


def _forge_hs256(claims, secret):
    head = b64({"alg": "HS256", "typ": "JWT"})
    body = b64(claims)
    sig = hmac.new(secret, (head + "." + body).encode(),
                   hashlib.sha256).digest()
    return head + "." + body + "." + b64(sig)


def _claims(name):
    now = int(time.time())
    return {"sub": "999999999", "username": name, "iat": now,
            "exp": now + 600, "iss": "conduit", "aud": "conduit"}


def test_tokens():
    from cryptography.hazmat.primitives import serialization
    from cryptography.hazmat.primitives.asymmetric import ec
    name = "tok" + newkey()[2:10]
    other = ec.generate_private_key(ec.SECP256R1()).private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
        serialization.NoEncryption()).decode()
    pub = open(os.path.join(VAR, "keys", "jwt-public.pem"), "rb").read()
    good = mint(10 ** 13, name)
    cases = {
        "expired": (mint(10 ** 13, name, exp=int(time.time()) - 120),
                    "token_expired"),
        "forged": (mint(10 ** 13, name, _key=other), "token_invalid"),
        "none": (b64({"alg": "none", "typ": "JWT"}) + "." +
                 b64(_claims(name)) + ".", "token_invalid"),
        "hs256_pubkey": (_forge_hs256(_claims(name), pub), "token_invalid"),
        "wrong_aud": (mint(10 ** 13, name, aud="other"), "token_invalid"),
        "wrong_iss": (mint(10 ** 13, name, iss="other"), "token_invalid"),
        "no_exp": (mint(10 ** 13, name, exp=None), "token_invalid"),
        "future_nbf": (mint(10 ** 13, name, nbf=int(time.time()) + 3600),
                       "token_invalid"),
        "tampered": (good[:-4] + ("AAAA" if not good.endswith("AAAA")
                                  else "BBBB"), "token_invalid"),
        "garbage": ("abc.def.ghi", "token_invalid"),
    }
    for what, (tok, code) in cases.items():
        for path in ("/accounts", "/payments"):
            r = requests.get(PAY + path, timeout=10,
                             headers={"Authorization": "Bearer " + tok})
            e = err(r, 401, code)
            assert e["type"] == "authentication_error", what
        r = requests.post(PAY + "/deposits", timeout=10, headers={
            "Authorization": "Bearer " + tok, "Idempotency-Key": newkey()},
            json={"currency": "USD", "amount": 5})
        err(r, 401, code)
    err(requests.get(PAY + "/accounts", timeout=10), 401, "token_invalid")
    err(requests.get(PAY + "/accounts", timeout=10,
                     headers={"Authorization": "Basic Zm9vOmJhcg=="}),
        401, "token_invalid")
    # Both schemes work.
    for scheme in ("Bearer ", "Token "):
        r = requests.get(PAY + "/accounts", timeout=10,
                         headers={"Authorization": scheme + good})
        assert r.status_code == 200, r.text


def test_self_payment_and_no_account(pair):
    a, b = pair
    err(a.pay(a, 5), 400, "parameter_invalid", "to")
    c = new_user("ic")
    # Known to pay (its first call), but without an account yet.
    assert c.get("/accounts").json()["data"] == []
    err(a.pay(c, 5), 404, "no_such_payee_account", "to")
    err(c.pay(a, 5), 404, "no_such_account", "currency")


def test_bad_ids_and_queries(pair):
    a, _ = pair
    err(a.get("/payments/" + "x" * 300), 404, "no_such_payment")
    err(a.get("/accounts/%27%20OR%201=1--"), 404, "no_such_account")
    err(a.get("/payments", params={"starting_after": "' OR 1=1 --"}), 400,
        "parameter_invalid", "starting_after")
    r = a.post("/payments/%s/refunds" % ("p" * 100), {"amount": 1},
               key=newkey())
    err(r, 404, "no_such_payment")


# ---------------------------------------------------------------------
# A replica started by the test itself, for configurations the stack does
# not run: sandbox off, database unreachable.

BIN = os.environ.get("PAY_TEST_BIN") or os.path.join(
    ROOT, "build", os.environ.get("VARIANT") or "release", "pay-fcgi")


def _replica(tmp_path, **env):
    sock = str(tmp_path / "pay.sock")
    e = {"LISTEN": sock, "WORKERS": "2",
         "JWT_PUBLIC_KEY_FILE": os.path.join(VAR, "keys", "jwt-public.pem"),
         "PAY_DB_URL_FILE": os.path.join(VAR, "secrets", "pay_app.url"),
         "SHUTDOWN_GRACE_SECONDS": "1"}
    e.update(env)
    if "PAY_DB_URL" in env:
        del e["PAY_DB_URL_FILE"]
    return start(BIN, e, sock, str(tmp_path / "pay.log")), sock


def _fcgi(sock, method, path, token=None, body=None, key=None):
    """(status, JSON body, seconds it took)."""
    h = {}
    if token:
        h["Authorization"] = "Bearer " + token
    if key:
        h["Idempotency-Key"] = key
    t0 = time.monotonic()
    status, _, answer = fcgi(sock, method, path, body, h, timeout=20)
    return status, answer, time.monotonic() - t0


def test_sandbox_off(tmp_path):
    p, sock = _replica(tmp_path, PAY_SANDBOX="0")
    try:
        tok = mint(10 ** 13 + 5, "sandboxoff")
        st, body, _ = _fcgi(sock, "POST", "/pay/v1/deposits", tok,
                            {"currency": "USD", "amount": 5}, newkey())
        assert st == 403 and body["error"]["code"] == "deposits_disabled"
        assert body["error"]["type"] == "permission_error"
        # Still a 400 first without a key.
        st, body, _ = _fcgi(sock, "POST", "/pay/v1/deposits", tok,
                            {"currency": "USD", "amount": 5})
        assert st == 400
    finally:
        p.terminate()
        p.wait(10)


def test_database_down_is_a_quick_503(tmp_path):
    p, sock = _replica(tmp_path, PAY_SANDBOX="1",
                       PAY_DB_URL="host=127.0.0.1 port=1 dbname=pay "
                       "user=pay_app connect_timeout=2")
    try:
        tok = mint(10 ** 13 + 6, "dbdown")
        st, body, _ = _fcgi(sock, "GET", "/pay/v1/healthz")
        assert st == 200
        st, body, _ = _fcgi(sock, "GET", "/readyz")
        assert st == 503
        for _ in range(3):
            st, body, took = _fcgi(sock, "POST", "/pay/v1/deposits", tok,
                                   {"currency": "USD", "amount": 5},
                                   newkey())
            assert st == 503, body
            assert body["error"]["code"] == "unavailable"
            assert body["error"]["type"] == "api_error"
            assert took < 3
    finally:
        p.terminate()
        assert p.wait(10) == 0


def test_backend_body_limit(tmp_path):
    """The backend's own limit (nginx has one too): 413, and the worker
    that said so serves the next request normally."""
    p, sock = _replica(tmp_path, MAX_BODY_BYTES="1024", WORKERS="1")
    try:
        tok = mint(10 ** 13 + 7, "bodylimit")
        st, body, _ = _fcgi(sock, "POST", "/pay/v1/payments", tok,
                            {"to": "x", "amount": 1, "currency": "USD",
                             "description": "d" * 2000}, newkey())
        assert st == 413 and body["error"]["code"] == "body_too_large"
        st, body, _ = _fcgi(sock, "GET", "/pay/v1/healthz")
        assert st == 200, body
    finally:
        p.terminate()
        p.wait(10)


# pay.md, Money bounds: PAY_MAX_DEPOSIT is 1..2^53-1, checked at start.
@pytest.mark.parametrize("value", ["-5", "0", "9007199254740992",
                                   "18446744073709551616", "1e9", "lots"])
def test_bad_configuration_stops_at_start(tmp_path, value):
    if not os.path.isfile(BIN):
        pytest.fail("no pay-fcgi binary at " + BIN + " (run make)")
    env = {"PATH": os.environ["PATH"], "PAY_DB_URL": "x",
           "JWT_PUBLIC_KEY_FILE": os.path.join(VAR, "keys",
                                               "jwt-public.pem"),
           "LISTEN": str(tmp_path / "s.sock"), "PAY_MAX_DEPOSIT": value}
    r = subprocess.run([BIN], env=env, capture_output=True, text=True,
                       timeout=10)
    assert r.returncode != 0
    lines = r.stderr.strip().splitlines()
    assert len(lines) == 1 and "PAY_MAX_DEPOSIT" in lines[0], r.stderr


def test_url_sets_connect_timeout_and_keepalives(tmp_path):
    """PAY_DB_URL may set libpq's connect_timeout and keepalives (the HA
    stack's multi-host URL asks for a 2 s connect timeout per member);
    pay's own values are only defaults. Seen from outside: the kernel's
    keepalive timer of the replica's database connections starts at the
    URL's keepalives_idle (77 s), not pay's 10 s."""
    with open(os.path.join(VAR, "secrets", "pay_app.url")) as f:
        url = f.read().strip()
    # Over TCP (the single stack's URL names the socket's folder).
    url = " ".join("host=127.0.0.1" if w.startswith("host=/") else w
                   for w in url.split())
    p, sock = _replica(tmp_path, PAY_DB_URL=url + " keepalives_idle=77")
    try:
        st, _, _ = _fcgi(sock, "GET", "/readyz")
        assert st == 200
        out = subprocess.run(["ss", "-tnpoH", "state", "established"],
                             capture_output=True, text=True).stdout
        mine = [line for line in out.splitlines()
                if "pid=%d," % p.pid in line]
        assert mine, "no TCP connection of the replica in:\n" + out
        for line in mine:
            # ss writes the time left as e.g. 1min16sec, 9sec or 2.500ms.
            m = re.search(r"timer:\(keepalive,(?:(\d+)min)?"
                          r"(?:([\d.]+)sec)?(?:([\d.]+)ms)?,", line)
            assert m, line
            secs = (int(m.group(1) or 0) * 60 + float(m.group(2) or 0) +
                    float(m.group(3) or 0) / 1000)
            assert 10 < secs <= 77, line
    finally:
        p.terminate()
        p.wait(10)
