"""Shared helpers of the payments API tests (no tests in here).

Everything goes through nginx at BASE_URL. Users come from the blog
(POST /api/users) when it answers; otherwise tokens are minted with the
stack's private key, exactly as the blog would issue them (ES256, sub,
username, iss, aud, exp, jti). SQL checks connect as pay_owner with the
stack's connection string; the privilege checks as pay_app.

Overrides (environment), for running against another stack:
  PAY_TEST_BASE_URL (else BASE_URL, as conftest.py), PAY_TEST_VAR (else
  STACK_VAR: the stack's var/ folder),
  PAY_TEST_RESTART (the command that restarts the pay replicas).
"""

import base64
import json
import os
import secrets
import subprocess
import threading
import time

import requests

PORT_OFFSET = int(os.environ.get("STACK_PORT_OFFSET") or 0)
DEFAULT_BASE_URL = "http://127.0.0.1:%d" % (8080 + PORT_OFFSET)
ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(
    __file__))))
VAR = os.environ.get("PAY_TEST_VAR") or os.environ.get("STACK_VAR") or \
    os.path.join(ROOT, "var")
BASE = (os.environ.get("PAY_TEST_BASE_URL") or
        os.environ.get("BASE_URL") or DEFAULT_BASE_URL).rstrip("/")
PAY = BASE + "/pay/v1"
RESTART = os.environ.get("PAY_TEST_RESTART",
                         os.path.join(ROOT, "tests", "stack.sh") +
                         " restart pay")
TIMEOUT = 15


def _read(path):
    with open(path) as f:
        return f.read().strip()


def private_key():
    return _read(os.path.join(VAR, "keys", "jwt-private.pem"))


def db_url(role="owner"):
    return _read(os.path.join(VAR, "secrets", "pay_%s.url" % role))


def b64(data):
    if isinstance(data, (dict, list)):
        data = json.dumps(data, separators=(",", ":")).encode()
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def mint(sub, username, **over):
    """A token as the blog issues it; over changes or drops (None) claims."""
    import jwt  # python3-jwt, only needed when the blog is not used
    now = int(time.time())
    claims = {"sub": str(sub), "username": username, "iat": now,
              "exp": now + 3600, "iss": "conduit", "aud": "conduit",
              "jti": secrets.token_hex(8)}
    key = over.pop("_key", None) or private_key()
    alg = over.pop("_alg", "ES256")
    for k, v in over.items():
        if v is None:
            claims.pop(k, None)
        else:
            claims[k] = v
    return jwt.encode(claims, key, algorithm=alg)


class User:
    """A caller: name, token, and helpers that send its requests."""

    def __init__(self, name, token, sub=None):
        self.name = name
        self.token = token
        self.sub = sub
        self.http = requests.Session()

    def headers(self, key=None, extra=None):
        h = {"Authorization": "Bearer " + self.token}
        if key is not None:
            h["Idempotency-Key"] = key
        if extra:
            h.update(extra)
        return h

    def get(self, path, **kw):
        return self.http.get(PAY + path, headers=self.headers(),
                             timeout=kw.pop("timeout", TIMEOUT), **kw)

    def post(self, path, body=None, key=None, raw=None, timeout=TIMEOUT,
             headers=None):
        h = self.headers(key, headers)
        if raw is not None:
            h.setdefault("Content-Type", "application/json")
            return self.http.post(PAY + path, data=raw, headers=h,
                                  timeout=timeout)
        if body is None:
            return self.http.post(PAY + path, headers=h, timeout=timeout)
        return self.http.post(PAY + path, json=body, headers=h,
                              timeout=timeout)

    def deposit(self, amount, currency="USD"):
        r = self.post("/deposits", {"currency": currency, "amount": amount},
                      key=newkey())
        assert r.status_code == 201, r.text
        return r.json()

    def open(self, currency="USD"):
        r = self.post("/accounts", {"currency": currency})
        assert r.status_code in (201, 409), r.text
        return r.json()

    def pay(self, to, amount, currency="USD", key=None, **extra):
        body = {"to": to.name if isinstance(to, User) else to,
                "amount": amount, "currency": currency}
        body.update(extra)
        return self.post("/payments", body, key=key or newkey())

    def account(self, currency="USD"):
        for a in self.get("/accounts").json()["data"]:
            if a["currency"] == currency:
                return a
        return None


_blog_ok = None
_blog_lock = threading.Lock()


def _register(name):
    """A real blog user, or None when the blog does not answer (yet)."""
    global _blog_ok
    if _blog_ok is False:
        return None
    try:
        r = requests.post(BASE + "/api/users", timeout=TIMEOUT, json={
            "user": {"username": name, "email": name + "@example.com",
                     "password": "pw-" + secrets.token_hex(8)}})
    except requests.RequestException:
        r = None
    with _blog_lock:
        if r is None or r.status_code != 201:
            if _blog_ok is None:
                _blog_ok = False
            return None
        _blog_ok = True
    return r.json()["user"]["token"]


def new_user(prefix="pt"):
    name = "%s%s" % (prefix, secrets.token_hex(6))
    token = _register(name)
    if token is not None:
        return User(name, token)
    # Minted ids stay far above the blog's auto-increment ids.
    sub = 10 ** 12 + secrets.randbelow(10 ** 12)
    return User(name, mint(sub, name), sub)


def funded_pair(prefix):
    """Two fresh users: a payer with 1,000.00 USD and a payee with an
    empty USD account (names start with prefix + "a" / "b")."""
    a, b = new_user(prefix + "a"), new_user(prefix + "b")
    a.deposit(100000)
    b.open()
    return a, b


def rename(user, prefix="rn"):
    """The same person under a new username, as the blog allows."""
    name = "%s%s" % (prefix, secrets.token_hex(6))
    if user.sub is None:
        r = requests.put(BASE + "/api/user", timeout=TIMEOUT,
                         headers={"Authorization": "Token " + user.token},
                         json={"user": {"username": name}})
        assert r.status_code == 200, r.text
        return User(name, r.json()["user"]["token"])
    return User(name, mint(user.sub, name), user.sub)


def restart_pay(**env):
    """Restart the stack's pay replicas with settings changed (PAY_SANDBOX,
    PAY_MAX_DEPOSIT, ...: values, or None to drop one); restart_pay() puts
    back the settings of this process's environment, as the stack has."""
    import shlex
    e = dict(os.environ)
    for k, v in env.items():
        if v is None:
            e.pop(k, None)
        else:
            e[k] = str(v)
    r = subprocess.run(shlex.split(RESTART), env=e, capture_output=True,
                       text=True, timeout=180)
    assert r.returncode == 0, r.stdout + r.stderr


def newkey():
    return "k-" + secrets.token_hex(16)


def err(r, status, code, param=None):
    """Assert an error response of pay.md's shape."""
    assert r.status_code == status, (r.status_code, r.text)
    assert r.headers["Content-Type"].startswith("application/json")
    e = r.json()["error"]
    assert e["code"] == code, r.text
    assert isinstance(e["message"], str) and e["message"]
    assert e["type"] in ("invalid_request_error", "authentication_error",
                         "permission_error", "not_found_error",
                         "idempotency_error", "payment_error",
                         "rate_limit_error", "api_error"), r.text
    if param is not None:
        assert e.get("param") == param, r.text
    return e


def psql(sql, role="owner", check=True):
    """Run SQL with psql; returns rows as lists of strings."""
    p = subprocess.run(["psql", db_url(role), "-X", "-q", "-A", "-t",
                        "-F", "\t", "-v", "ON_ERROR_STOP=1", "-c", sql],
                       capture_output=True, text=True, timeout=60)
    if check and p.returncode != 0:
        raise AssertionError("psql failed: " + p.stderr)
    if not check:
        return p
    return [line.split("\t") for line in p.stdout.splitlines() if line]


INVARIANT_SQL = {
    # 1. Double entry: two entries of opposite sign per movement, and
    #    the entries of each currency sum to zero.
    "currency_sums": """SELECT currency, sum(amount) FROM entries
        GROUP BY currency HAVING sum(amount) <> 0""",
    "deposit_pairs": """SELECT d.seq FROM deposits d LEFT JOIN entries e
        ON e.deposit_seq = d.seq GROUP BY d.seq
        HAVING count(e.seq) <> 2 OR sum(e.amount) <> 0
        OR min(e.amount) <> -max(e.amount)""",
    "payment_pairs": """SELECT p.seq FROM payments p LEFT JOIN entries e
        ON e.payment_seq = p.seq AND e.kind = 'payment' GROUP BY p.seq
        HAVING count(e.seq) <> 2 OR sum(e.amount) <> 0""",
    "refund_pairs": """SELECT r.seq FROM refunds r LEFT JOIN entries e
        ON e.refund_seq = r.seq GROUP BY r.seq
        HAVING count(e.seq) <> 2 OR sum(e.amount) <> 0""",
    # 2. No user account below zero.
    "negative": """SELECT id FROM accounts
        WHERE NOT is_system AND balance < 0""",
    # 3. Balance = sum of entries; balance_after chains.
    "balance_sum": """SELECT a.id FROM accounts a LEFT JOIN
        (SELECT account_seq, sum(amount) s FROM entries GROUP BY 1) e
        ON e.account_seq = a.seq WHERE a.balance <> coalesce(e.s, 0)""",
    "chain": """SELECT id FROM (SELECT id, amount, balance_after,
        lag(balance_after) OVER (PARTITION BY account_seq ORDER BY seq)
        AS prev FROM entries) x
        WHERE balance_after <> coalesce(prev, 0) + amount""",
    "last_entry": """SELECT a.id FROM accounts a JOIN LATERAL
        (SELECT balance_after FROM entries WHERE account_seq = a.seq
        ORDER BY seq DESC LIMIT 1) l ON true
        WHERE l.balance_after <> a.balance""",
    # 4. Refunds never exceed their payment; derived columns agree.
    "refunds": """SELECT p.id FROM payments p LEFT JOIN
        (SELECT payment_seq, sum(amount) s FROM refunds GROUP BY 1) r
        ON r.payment_seq = p.seq WHERE coalesce(r.s, 0) > p.amount
        OR coalesce(r.s, 0) <> p.amount_refunded""",
    # 5. One effect per key: every stored success names one object, and
    #    no object is named by two keys.
    "key_effects": """SELECT k.key FROM idempotency_keys k
        WHERE k.status = 201 AND (SELECT count(*) FROM (
          SELECT id FROM payments WHERE id = k.body::json->>'id'
          UNION ALL SELECT id FROM refunds WHERE id = k.body::json->>'id'
          UNION ALL SELECT id FROM deposits WHERE id = k.body::json->>'id'
        ) x) <> 1""",
    "key_dupes": """SELECT body::json->>'id' FROM idempotency_keys
        WHERE status = 201 GROUP BY 1 HAVING count(*) > 1""",
}


def check_invariants_sql():
    bad = {}
    for name, sql in INVARIANT_SQL.items():
        rows = psql(sql)
        if rows:
            bad[name] = rows[:5]
    assert not bad, bad


def all_pages(get_page):
    """Every item of a pay list, page after page: get_page(params) sends
    one page's request, with params {} for the first and {"starting_after":
    the last id so far} for the next ones; each page must be a 200."""
    out, q = [], {}
    while True:
        r = get_page(q)
        assert r.status_code == 200, r.text
        page = r.json()
        out += page["data"]
        if not page["has_more"]:
            return out
        q = {"starting_after": page["data"][-1]["id"]}


def entries_of(user, account_id, limit=100):
    """The whole statement through the API, newest first."""
    return all_pages(lambda q: user.get(
        "/accounts/%s/entries" % account_id, params=dict(q, limit=limit)))


def check_account_api(user, currency="USD"):
    """Invariants 2 and 3 through the API for one of the user's accounts."""
    acc = user.account(currency)
    if acc is None:
        return None
    ents = entries_of(user, acc["id"])
    assert acc["balance"] >= 0
    running = 0
    for e in reversed(ents):
        running += e["amount"]
        assert e["balance_after"] == running, e
    assert running == acc["balance"], (running, acc)
    return acc
