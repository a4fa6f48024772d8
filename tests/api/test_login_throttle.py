"""Password guessing is limited per account, and per real client address
behind trusted proxies only (issue 10, part 4).

- Failed logins are counted per email in the database (migration 008), so
  the limit holds across replicas and whatever addresses the guesses come
  from: the 5th failure locks the email (429 with Retry-After, in the
  RealWorld format), the right password does not get through a lock, a
  success forgets the failures, and a lock never lasts more than 300 s.
- EDGE_TRUSTED_PROXIES: only their X-Forwarded-For names the client (the
  rate-limit key and the logged address); from anyone else it changes
  nothing.
"""

import os
import random
import subprocess
import uuid

import pytest
import requests

MAX_LOCK = 300
JSON_CT = "application/json; charset=utf-8"


def _login(base_url, email, password, headers=None):
    h = {"Connection": "close"}
    h.update(headers or {})
    return requests.post(base_url + "/api/users/login", headers=h,
                         json={"user": {"email": email,
                                        "password": password}}, timeout=30)


def _register(base_url):
    name = "thr" + uuid.uuid4().hex[:10]
    pw = "pw_" + uuid.uuid4().hex[:12]
    r = requests.post(base_url + "/api/users", timeout=30, json={"user": {
        "username": name, "email": name + "@test.com", "password": pw}})
    assert r.status_code == 201, r.text
    return name + "@test.com", pw


def _sql(var_dir, statement):
    """Run one statement as the blog's owner on the stack's MariaDB."""
    with open(os.path.join(var_dir, "secrets", "blog_owner.password")) as f:
        pw = f.read().strip()
    out = subprocess.run(
        ["mariadb", "--socket=" + os.path.join(var_dir, "run",
                                               "mysqld.sock"),
         "-u", "blog_owner", "-p" + pw, "-N", "-B", "blog", "-e", statement],
        capture_output=True, text=True, timeout=30)
    assert out.returncode == 0, out.stderr
    return out.stdout


def _assert_locked(r):
    assert r.status_code == 429, (r.status_code, r.text)
    assert r.headers["Content-Type"] == JSON_CT
    body = r.json()
    assert list(body) == ["errors"] and "credentials" in body["errors"], body
    secs = int(r.headers["Retry-After"])
    assert 1 <= secs <= MAX_LOCK, secs
    return secs


def test_fifth_failure_locks_the_email(base_url):
    email, pw = _register(base_url)
    for _ in range(5):
        r = _login(base_url, email, "wrong-" + pw)
        assert r.status_code == 401, r.text
    secs = _assert_locked(_login(base_url, email, "wrong-" + pw))
    assert secs <= 15, secs
    # The right password does not get through a lock either.
    _assert_locked(_login(base_url, email, pw))
    # Another account is not affected.
    other, opw = _register(base_url)
    assert _login(base_url, other, opw).status_code == 200


def test_unknown_emails_are_throttled_alike(base_url):
    """No enumeration: an email nobody has is locked the same way."""
    email = "ghost" + uuid.uuid4().hex[:10] + "@test.com"
    for _ in range(5):
        assert _login(base_url, email, "x").status_code == 401
    _assert_locked(_login(base_url, email, "x"))


def test_success_forgets_the_failures(base_url):
    email, pw = _register(base_url)
    for _ in range(3):
        assert _login(base_url, email, "bad").status_code == 401
    assert _login(base_url, email, pw).status_code == 200
    # Counted from zero again: four more failures still lock nothing.
    for _ in range(4):
        r = _login(base_url, email, "bad")
        assert r.status_code == 401, r.text
    assert _login(base_url, email, pw).status_code == 200


def test_lock_is_bounded_and_expires(base_url, var_dir):
    email, pw = _register(base_url)
    assert _login(base_url, email, "bad").status_code == 401
    # As if the attacker had failed 60 times already: the next failure
    # still locks for at most MAX_LOCK seconds.
    _sql(var_dir, "UPDATE login_throttle SET failures = 60, "
         "locked_until = NULL WHERE email = '%s'" % email)
    assert _login(base_url, email, "bad").status_code == 401
    # The cap, less the moments since the failure (Retry-After rounds up).
    assert _assert_locked(_login(base_url, email, pw)) > MAX_LOCK - 30
    # Once the lock is over, the owner's password works and resets it.
    _sql(var_dir, "UPDATE login_throttle SET locked_until = "
         "UTC_TIMESTAMP(3) - INTERVAL 1 SECOND WHERE email = '%s'" % email)
    assert _login(base_url, email, pw).status_code == 200
    assert _sql(var_dir, "SELECT COUNT(*) FROM login_throttle WHERE "
                "email = '%s'" % email).strip() == "0"


# ---------------------------------------------------------------- real IP

TIGHT = {"EDGE_RATE_AUTH": "1r/m", "EDGE_BURST_AUTH": "1"}


def _access_entry(stack, r):
    rid = r.headers.get("X-Request-ID")
    assert rid, r.headers
    return stack.access_log_entry(rid)


def _edge_limited(r):
    return (r.status_code == 429 and
            r.json() == {"errors": {"request": ["is rate limited"]}})


def test_spoofed_forwarded_for_changes_nothing(base_url, stack):
    """No trusted proxies (the default): X-Forwarded-For is ignored, so
    a client cannot spread its guesses over invented addresses."""
    stack.sh("restart", "nginx", env=dict(TIGHT, EDGE_TRUSTED_PROXIES=""),
             timeout=60)
    try:
        email = "xff" + uuid.uuid4().hex[:10] + "@test.com"
        rs = [_login(base_url, email, "x",
                     {"X-Forwarded-For": "198.51.100.%d" % i})
              for i in range(1, 4)]
        assert _edge_limited(rs[-1]), [(r.status_code, r.text) for r in rs]
        for r in rs:
            assert _access_entry(stack, r)["remote_addr"] == "127.0.0.1"
    finally:
        stack.sh("restart", "nginx", timeout=60)


def test_trusted_proxy_names_the_client(base_url, stack):
    """EDGE_TRUSTED_PROXIES=127.0.0.1/32: the last untrusted
    X-Forwarded-For entry is the client, for the limit and the log;
    entries a client prepends do not matter."""
    stack.sh("restart", "nginx",
             env=dict(TIGHT, EDGE_TRUSTED_PROXIES="127.0.0.1/32"),
             timeout=60)
    try:
        email = "xff" + uuid.uuid4().hex[:10] + "@test.com"
        # Addresses no earlier run used: the limit's state outlives a
        # reload, and 1r/m forgets slowly.
        net = "198.18.%d." % random.randrange(256)
        first = random.randrange(1, 250)
        clients = [net + str(first + i) for i in range(3)]
        # Three clients behind the proxy: three keys, none limited.
        rs = [_login(base_url, email, "x", {"X-Forwarded-For": c})
              for c in clients]
        assert not any(_edge_limited(r) for r in rs), \
            [(r.status_code, r.text) for r in rs]
        assert [_access_entry(stack, r)["remote_addr"] for r in rs] == \
            clients
        # One client that prepends invented entries is still one client.
        one = "198.19.%d.%d" % (random.randrange(256),
                                random.randrange(1, 255))
        rs = [_login(base_url, email, "x", {
            "X-Forwarded-For": "203.0.113.%d, %s" % (i, one)})
            for i in range(1, 4)]
        assert _access_entry(stack, rs[0])["remote_addr"] == one
        assert _edge_limited(rs[-1]), [(r.status_code, r.text) for r in rs]
    finally:
        stack.sh("restart", "nginx", timeout=60)


def test_bad_trusted_proxy_setting_is_refused(stack):
    with pytest.raises(AssertionError) as e:
        stack.sh("restart", "nginx",
                 env={"EDGE_TRUSTED_PROXIES": "10.0.0.0/8 example.com"},
                 timeout=60)
    assert "EDGE_TRUSTED_PROXIES" in str(e.value)
