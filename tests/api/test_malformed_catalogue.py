"""A client's mistake is never a 5xx (issue 10, part 5).

Every route of both services gets malformed ids, encodings (bytes that are
not UTF-8, overlong forms, surrogates, NUL, huge values) in its path
parameters and query, and malformed bodies; no answer may be a 5xx. Before
this test, /pay/v1/payments/%FF reached PostgreSQL and came back 500 and
its log line lost the message; starting_after accepted 65 characters.
"""

import glob
import json
import os
import re
import socket
import urllib.parse

import pytest
import requests

from blog_support import Api
from conftest import PORT_OFFSET

HOST, PORT = "127.0.0.1", 8080 + PORT_OFFSET

# Path parameters (already percent-encoded as a client would send them).
BAD_IDS = [
    "%FF",                      # not UTF-8 at all
    "%C0%AF",                   # overlong "/"
    "%E0%80%80",                # overlong NUL
    "%ED%A0%80",                # a UTF-16 surrogate
    "%F4%90%80%80",             # past U+10FFFF
    "%00",                      # NUL
    "a%00b",
    "%25FF",                    # a literal "%FF"
    "%E2%80%AE",                # valid, but a bidi override
    "x" * 3000,                 # huge
    "acc_" + "0" * 32,          # well-formed but unknown
    "pay_" + "G" * 32,          # right prefix, not hex
    "-1",
    "99999999999999999999999",
]

# Query values for every parameter any list route reads.
BAD_QUERY_VALUES = ["%FF", "%C0%AF", "%00", "-1", "0", "1e9",
                    "99999999999999999999999", "x" * 65, "x" * 3000, ""]
QUERY_KEYS = ["limit", "offset", "tag", "author", "favorited",
              "starting_after", "direction"]

# Raw bodies: bad JSON, bytes that are not UTF-8, NUL escapes, wrong
# types, huge numbers, deep nesting.
BAD_BODIES = [
    b"",
    b"{",
    b"null",
    b"[]",
    b'"str"',
    b"\xff\xfe",
    b'{"user":{"email":"\xff@x.com","password":"\xc0\xaf"}}',
    b'{"user":{"email":"a\\u0000b@x.com","password":"p\\u0000"}}',
    b'{"user":{"username":"\\ud800","email":"x@y.z","password":"pw"}}',
    b'{"article":{"title":"\\u0000","description":"d","body":"b",'
    b'"tagList":["\\u0000","\xff",1,null]}}',
    b'{"comment":{"body":1e400}}',
    b'{"amount":1e400,"currency":"USD","to":"\\u0000"}',
    b'{"amount":99999999999999999999999999,"currency":"\xff"}',
    b'{"amount":-1,"currency":"US\\u0000"}',
    b'{"currency":"USD","amount":5,"to":"' + b"x" * 5000 + b'"}',
    b"[" * 5000 + b"]" * 5000,
    b'{"a":' * 3000 + b"1" + b"}" * 3000,
]

BLOG_ROUTES = [
    ("GET", "/api/healthz"),
    ("POST", "/api/users/login"),
    ("POST", "/api/users"),
    ("GET", "/api/user"),
    ("POST", "/api/user/logout-all"),
    ("PUT", "/api/user"),
    ("GET", "/api/profiles/{id}"),
    ("POST", "/api/profiles/{id}/follow"),
    ("DELETE", "/api/profiles/{id}/follow"),
    ("GET", "/api/articles"),
    ("POST", "/api/articles"),
    ("GET", "/api/articles/feed"),
    ("GET", "/api/articles/{id}"),
    ("PUT", "/api/articles/{id}"),
    ("DELETE", "/api/articles/{id}"),
    ("POST", "/api/articles/{id}/favorite"),
    ("DELETE", "/api/articles/{id}/favorite"),
    ("GET", "/api/articles/{id}/comments"),
    ("POST", "/api/articles/{id}/comments"),
    ("DELETE", "/api/articles/{id}/comments/{id}"),
    ("GET", "/api/tags"),
]

PAY_ROUTES = [
    ("GET", "/pay/v1/healthz"),
    ("GET", "/pay/v1/accounts"),
    ("POST", "/pay/v1/accounts"),
    ("GET", "/pay/v1/accounts/{id}"),
    ("GET", "/pay/v1/accounts/{id}/entries"),
    ("POST", "/pay/v1/deposits"),
    ("GET", "/pay/v1/deposits/{id}"),
    ("GET", "/pay/v1/currencies"),
    ("GET", "/pay/v1/payments"),
    ("POST", "/pay/v1/payments"),
    ("GET", "/pay/v1/payments/{id}"),
    ("GET", "/pay/v1/payments/{id}/refunds"),
    ("POST", "/pay/v1/payments/{id}/refunds"),
]

ROUTES = BLOG_ROUTES + PAY_ROUTES
# Routes that end the caller's sessions get a token of their own.
REVOKES = {("POST", "/api/user/logout-all")}
ROOT = os.path.dirname(os.path.dirname(os.path.dirname(
    os.path.abspath(__file__))))


def raw(method, target, token=None, body=None, headers=(), extra=b""):
    """One HTTP/1.1 request with the target sent byte for byte (requests
    would re-encode it); returns (status, headers text, body bytes)."""
    lines = [b"%s %s HTTP/1.1" % (method.encode(), target),
             b"Host: %s:%d" % (HOST.encode(), PORT),
             b"Connection: close"]
    if token:
        lines.append(b"Authorization: Token " + token.encode())
    if body is not None:
        lines.append(b"Content-Type: application/json")
        lines.append(b"Content-Length: %d" % len(body))
    lines.extend(headers)
    data = b"\r\n".join(lines) + b"\r\n\r\n" + (body or b"") + extra
    with socket.create_connection((HOST, PORT), timeout=15) as s:
        s.sendall(data)
        chunks = []
        while True:
            c = s.recv(65536)
            if not c:
                break
            chunks.append(c)
    resp = b"".join(chunks)
    head, _, rest = resp.partition(b"\r\n\r\n")
    status = int(head.split(b" ", 2)[1])
    return status, head.decode("latin-1"), rest


def test_catalogue_covers_every_public_route():
    """Every route in the services' route tables is in this catalogue
    (the internal and bare probe routes never reach the edge)."""
    found = set()
    for src in glob.glob(os.path.join(ROOT, "blog-fcgi", "*.c")) + \
            glob.glob(os.path.join(ROOT, "pay-fcgi", "*.c")):
        with open(src) as f:
            found |= set(re.findall(
                r'\{"(GET|POST|PUT|DELETE|PATCH)", "(/(?:api|pay/v1)/[^"]*)"',
                f.read()))
    assert found, "no route tables found"
    have = {(m, re.sub(r"\{id\}", ":", p)) for m, p in ROUTES}
    missing = {(m, p) for m, p in found
               if (m, re.sub(r":\w+", ":", p)) not in have}
    assert not missing, "routes missing from the catalogue: %s" % sorted(
        missing)


def _fresh_token(base_url):
    with Api(base_url) as api:
        return api.register("cat")["token"]


@pytest.fixture(scope="module")
def token(base_url):
    tok = _fresh_token(base_url)
    # An account and a little money, so that pay's handlers get past
    # "no account" to the checks under test.
    h = {"Authorization": "Bearer " + tok}
    r = requests.post(base_url + "/pay/v1/accounts", json={"currency": "USD"},
                      headers=h, timeout=10)
    assert r.status_code in (200, 201), r.text
    return tok


def _key():
    return b"Idempotency-Key: cat-" + os.urandom(8).hex().encode()


def _check(results):
    bad = [r for r in results if r[0] >= 500]
    assert not bad, "5xx for client mistakes:\n" + "\n".join(
        "%d %s %s body=%r -> %r" % (st, m, t[:120], (b or b"")[:80], rb[:200])
        for st, m, t, b, rb in bad[:20])


def _each_route(routes):
    """Parametrize a test with (method, pattern) of each route."""
    return pytest.mark.parametrize("method,pattern", routes,
                                   ids=["%s %s" % r for r in routes])


def _token_for(method, pattern, token, base_url):
    """The module's token, or a fresh one for a route that revokes it."""
    return _fresh_token(base_url) if (method, pattern) in REVOKES else token


@_each_route(ROUTES)
def test_malformed_ids_and_queries(token, base_url, method, pattern):
    token = _token_for(method, pattern, token, base_url)
    results = []
    targets = []
    if "{id}" in pattern:
        for bad in BAD_IDS:
            targets.append(pattern.replace("{id}", bad))
        # The raw byte, not percent-encoded: nginx passes it as it is.
        targets.append(pattern.replace("{id}", "\xff"))
    else:
        targets.append(pattern)
    if method == "GET":
        for key in QUERY_KEYS:
            for v in BAD_QUERY_VALUES:
                targets.append(pattern.replace("{id}", "x") +
                               "?%s=%s" % (key, v))
        targets.append(pattern.replace("{id}", "x") + "?%FF=%FF&&=&a")
    body = b"{}" if method in ("POST", "PUT") else None
    for t in targets:
        tb = t.encode("latin-1")
        for tok in (token, None):
            st, _, rb = raw(method, tb, tok, body,
                            (_key(),) if method == "POST" else ())
            results.append((st, method, t, body, rb))
    _check(results)


BODY_ROUTES = [r for r in ROUTES if r[0] in ("POST", "PUT")]


@_each_route(BODY_ROUTES)
def test_malformed_bodies(token, base_url, method, pattern):
    token = _token_for(method, pattern, token, base_url)
    results = []
    target = pattern.replace("{id}", "x").encode()
    for body in BAD_BODIES:
        st, _, rb = raw(method, target, token, body, (_key(),))
        results.append((st, method, pattern, body, rb))
    # A body in a charset we do not speak, and one that is not JSON.
    for ctype in (b"application/json; charset=utf-16", b"text/plain"):
        body = "{}".encode("utf-16") if b"16" in ctype else b"{}"
        st, _, rb = raw(method, target, token, None,
                        (b"Content-Type: " + ctype,
                         b"Content-Length: %d" % len(body), _key()),
                        extra=body)
        results.append((st, method, pattern, body, rb))
    _check(results)


def test_pay_invalid_utf8_id_is_404(token):
    """The reproduction from the issue: an id that is not UTF-8 is an
    unknown id, answered without asking the database."""
    for target in (b"/pay/v1/payments/%FF", b"/pay/v1/accounts/%FF",
                   b"/pay/v1/payments/%FF/refunds"):
        st, _, rb = raw("GET", target, token)
        assert st == 404, (target, st, rb)
        assert json.loads(rb)["error"]["type"] == "not_found_error"


def test_starting_after_limit_is_64(token):
    """65 characters are refused before the database (64 accepted: the
    unit test of pay_check_cursor shows the boundary)."""
    for path in (b"/pay/v1/payments", b"/pay/v1/accounts/acc_" +
                 b"0" * 32 + b"/entries"):
        st, _, rb = raw("GET", path + b"?starting_after=" + b"p" * 65, token)
        assert st == 400, (path, st, rb)
        err = json.loads(rb)["error"]
        assert err["param"] == "starting_after", err


def test_invalid_bytes_are_escaped_in_logs(token, var_dir):
    """The access-log line of a request whose path is not UTF-8 keeps the
    path, with the bad byte written as \\xff, instead of a marker."""
    rid_seen = None
    st, head, _ = raw("GET", b"/pay/v1/payments/pay_%FFzz", token)
    assert st == 404
    for line in head.split("\r\n"):
        if line.lower().startswith("x-request-id:"):
            rid_seen = line.split(":", 1)[1].strip()
    assert rid_seen, head
    found = None
    for path in glob.glob(os.path.join(var_dir, "log", "pay-*.log")):
        with open(path, "rb") as f:
            for line in f:
                if rid_seen.encode() in line and b'"path"' in line:
                    found = json.loads(line)
    assert found is not None, "no access-log line for " + rid_seen
    assert found["path"] == "/pay/v1/payments/pay_\\xffzz", found


def test_blog_sqlstate_22_is_4xx(token, base_url):
    """Bytes the database would refuse as data (class 22 / MariaDB's
    'incorrect string value') are the client's mistake."""
    h = {"Authorization": "Token " + token}
    for q in ("tag", "author", "favorited"):
        r = requests.get(base_url + "/api/articles?%s=%s" % (
            q, urllib.parse.quote(b"\xf0\x28\x8c\x28")), headers=h,
            timeout=10)
        assert r.status_code < 500, (q, r.status_code, r.text)
