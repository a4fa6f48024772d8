"""Payments exact to the letter (issue 19, shared/api/pay.md's "Requests",
"Money bounds", "Ordering" and idempotency rules): strict requests, the
new read endpoints, ledger entries that name what made them, and statements
ordered by time. Replays across configuration changes and the balance
bound run against pay replicas restarted with other settings."""

import http.client
import json
import threading
import urllib.parse

import pytest

from conftest import run_threads
from pay_support import (BASE, PAY, check_account_api,
                              check_invariants_sql, entries_of, err,
                              funded_pair,
                              new_user, newkey, psql, restart_pay)

MAX = 2 ** 53 - 1


@pytest.fixture(scope="module")
def pair():
    return funded_pair("x")


def raw_request(user, method, path, body=None, headers=()):
    """One request with exactly the headers given (repeats included),
    which requests cannot send."""
    u = urllib.parse.urlsplit(BASE)
    c = http.client.HTTPConnection(u.hostname, u.port, timeout=15)
    try:
        c.putrequest(method, "/pay/v1" + path)
        c.putheader("Authorization", "Bearer " + user.token)
        data = b""
        if body is not None:
            data = json.dumps(body).encode()
            c.putheader("Content-Type", "application/json")
        c.putheader("Content-Length", str(len(data)))
        for k, v in headers:
            c.putheader(k, v)
        c.endheaders(data)
        r = c.getresponse()
        return r.status, json.loads(r.read())
    finally:
        c.close()


# ---------------------------------------------------------------------
# 5. Strict requests

@pytest.mark.parametrize("path,body,field", [
    ("/payments", {"to": "B", "amount": 5, "currency": "USD",
                   "descripton": "typo"}, "descripton"),
    ("/deposits", {"amount": 5, "currency": "USD", "memo": None}, "memo"),
    ("/accounts", {"currency": "EUR", "owner": "someone"}, "owner"),
    ("/payments/P/refunds", {"amount": 1, "reason": "x"}, "reason"),
])
def test_unknown_fields_are_refused(pair, path, body, field):
    a, b = pair
    r = a.pay(b, 1)
    assert r.status_code == 201, r.text
    # The payee refunds; the others are the payer's requests.
    who = b if path.endswith("/refunds") else a
    path = path.replace("P", r.json()["id"])
    body = {k: (b.name if v == "B" else v) for k, v in body.items()}
    before = (a.account()["balance"], b.account()["balance"])
    e = err(who.post(path, body, key=newkey()), 400, "parameter_unknown",
            field)
    assert field in e["message"]
    assert (a.account()["balance"], b.account()["balance"]) == before
    assert a.account("EUR") is None


def test_an_unknown_field_never_turns_a_retry_into_a_422(pair):
    a, b = pair
    key = newkey()
    body = {"to": b.name, "amount": 3, "currency": "USD"}
    r1 = a.post("/payments", body, key=key)
    assert r1.status_code == 201
    r2 = a.post("/payments", dict(body, descripton="x"), key=key)
    err(r2, 400, "parameter_unknown", "descripton")
    r3 = a.post("/payments", body, key=key)
    assert r3.content == r1.content
    assert r3.headers.get("Idempotent-Replayed") == "true"


@pytest.mark.parametrize("ctype", [
    "text/plain", "application/x-www-form-urlencoded",
    "application/jsonx", "multipart/form-data; boundary=x", None])
def test_bodies_must_be_json(pair, ctype):
    a, b = pair
    before = a.account()["balance"]
    h = {"Content-Type": ctype} if ctype else {}
    raw = json.dumps({"to": b.name, "amount": 5, "currency": "USD"})
    r = a.http.post(PAY + "/payments", data=raw.encode(), timeout=15,
                    headers=a.headers(newkey(), h))
    if ctype is None:
        # requests sends no Content-Type for bytes: still not JSON.
        assert "Content-Type" not in r.request.headers
    err(r, 415, "unsupported_media_type")
    assert a.account()["balance"] == before


def test_json_content_type_variants_are_fine(pair):
    a, b = pair
    for ctype in ("application/json; charset=utf-8", "Application/JSON"):
        raw = json.dumps({"to": b.name, "amount": 1, "currency": "USD"})
        r = a.http.post(PAY + "/payments", data=raw.encode(), timeout=15,
                        headers=a.headers(newkey(),
                                          {"Content-Type": ctype}))
        assert r.status_code == 201, r.text
    # No body at all is {} (a refund of what remains), any type.
    p = a.pay(b, 2).json()
    r = b.http.post(PAY + "/payments/%s/refunds" % p["id"], timeout=15,
                    headers=b.headers(newkey(), {"Content-Type":
                                                 "text/plain"}))
    assert r.status_code == 201 and r.json()["amount"] == 2, r.text


def test_repeated_idempotency_key_is_refused(pair):
    a, b = pair
    before = (a.account()["balance"], b.account()["balance"])
    body = {"to": b.name, "amount": 7, "currency": "USD"}
    k1, k2 = newkey(), newkey()
    st, out = raw_request(a, "POST", "/payments", body,
                          [("Idempotency-Key", k1),
                           ("Idempotency-Key", k2)])
    assert st == 400, out
    assert out["error"]["param"] == "Idempotency-Key", out
    # What a newer proxy makes of two headers: one joined with ", ".
    st, out = raw_request(a, "POST", "/payments", body,
                          [("Idempotency-Key", k1 + ", " + k2)])
    assert st == 400, out
    assert out["error"]["param"] == "Idempotency-Key", out
    assert (a.account()["balance"], b.account()["balance"]) == before
    # Neither key was used: each still executes once.
    for k in (k1, k2):
        assert a.post("/payments", body, key=k).status_code == 201


@pytest.mark.parametrize("raw,code,param", [
    ('{"currency":"USD","amount":18446744073709551616}',
     "parameter_invalid", "amount"),
    ('{"currency":"USD", "amount" : 1e400 }', "parameter_invalid",
     "amount"),
    ('{"currency":"USD","amount":1,"extra":99999999999999999999999}',
     "parameter_unknown", "extra"),
])
def test_numbers_beyond_the_parser_name_their_field(pair, raw, code, param):
    a, _ = pair
    e = err(a.post("/deposits", raw=raw, key=newkey()), 400, code, param)
    assert param in e["message"]


def test_accounts_list_honours_limit(pair):
    a, _ = pair
    a.open("EUR")
    a.open("JPY")
    everything = a.get("/accounts").json()
    assert len(everything["data"]) == 3 and not everything["has_more"]
    seen, after = [], None
    while True:
        q = {"limit": 1}
        if after:
            q["starting_after"] = after
        page = a.get("/accounts", params=q).json()
        assert len(page["data"]) == 1
        seen.append(page["data"][0])
        if not page["has_more"]:
            break
        after = page["data"][0]["id"]
    assert seen == everything["data"]
    err(a.get("/accounts", params={"limit": 0}), 400, "parameter_invalid",
        "limit")
    err(a.get("/accounts", params={"starting_after": "acc_nope"}), 400,
        "parameter_invalid", "starting_after")


# ---------------------------------------------------------------------
# 6. What the API tells

def test_currencies(pair):
    a, _ = pair
    page = a.get("/currencies").json()
    assert len(page["data"]) == 20 and page["has_more"]
    rows = a.get("/currencies", params={"limit": 100}).json()["data"]
    by = {c["code"]: c for c in rows}
    assert by["USD"]["exponent"] == 2 and by["JPY"]["exponent"] == 0
    assert by["KWD"]["exponent"] == 3
    assert [c["code"] for c in rows] == sorted(by)
    assert set(by) == {r[0] for r in psql("SELECT code FROM currencies")}
    # The deposit limit the service enforces, per currency.
    limit = by["USD"]["max_deposit"]
    assert isinstance(limit, int) and 1 <= limit <= MAX
    err(a.post("/deposits", {"currency": "KWD", "amount": limit + 1},
               key=newkey()), 400, "parameter_invalid", "amount")
    nxt = a.get("/currencies", params={"limit": 2,
                                       "starting_after": "USD"}).json()
    assert [c["code"] for c in nxt["data"]] == \
        [c for c in sorted(by) if c > "USD"][:2]


def test_deposit_by_id(pair):
    a, b = pair
    d = a.deposit(1234, "EUR")
    r = a.get("/deposits/" + d["id"])
    assert r.status_code == 200, r.text
    got = r.json()
    assert set(got) == {"id", "account", "amount", "currency", "created_at"}
    assert (got["id"], got["amount"], got["currency"], got["created_at"]) \
        == (d["id"], 1234, "EUR", d["created_at"])
    assert got["account"]["id"] == d["account"]["id"]
    err(b.get("/deposits/" + d["id"]), 404, "no_such_deposit")
    err(a.get("/deposits/dep_0123"), 404, "no_such_deposit")


def test_entries_name_their_refund_and_deposit(pair):
    a, b = pair
    d = a.deposit(50)
    p = a.pay(b, 10).json()
    r1 = b.post("/payments/%s/refunds" % p["id"], {"amount": 3},
                key=newkey()).json()
    r2 = b.post("/payments/%s/refunds" % p["id"], {"amount": 3},
                key=newkey()).json()
    assert r1["id"] != r2["id"]
    ents = entries_of(a, a.account()["id"])
    refunds = [e for e in ents if e["kind"] == "refund"
               and e["payment_id"] == p["id"]]
    # Two equal partial refunds, told apart by their entries.
    assert sorted(e["refund_id"] for e in refunds) == \
        sorted([r1["id"], r2["id"]])
    assert [e for e in ents if e.get("deposit_id") == d["id"]][0][
        "amount"] == 50
    for e in ents:
        assert ("deposit_id" in e) == (e["kind"] == "deposit"), e
        assert ("refund_id" in e) == (e["kind"] == "refund"), e
    mine = [e for e in entries_of(b, b.account()["id"])
            if e["kind"] == "refund" and e["payment_id"] == p["id"]]
    assert sorted(e["refund_id"] for e in mine) == \
        sorted([r1["id"], r2["id"]])


# ---------------------------------------------------------------------
# 4. Statements ordered by time

def test_statement_time_never_runs_backwards():
    payee = new_user("xo")
    payee.open()
    payers = [new_user("xp") for _ in range(6)]
    for p in payers:
        p.deposit(1000)
    failures = []

    def run(p):
        for _ in range(5):
            r = p.pay(payee, 1)
            if r.status_code != 201:
                failures.append(r.text)

    run_threads([threading.Thread(target=run, args=(p,)) for p in payers
                 for _ in range(2)], 120)
    assert not failures, failures[:3]
    ents = entries_of(payee, payee.account()["id"])
    assert len(ents) == 60
    times = [e["created_at"] for e in ents]  # newest first
    backwards = sum(1 for x, y in zip(times, times[1:]) if x < y)
    assert backwards == 0, times
    # The same in SQL, at full precision, for every account touched.
    names = ",".join("'%s'" % u.name for u in payers + [payee])
    rows = psql("""SELECT count(*) FROM (SELECT created_at, lag(created_at)
        OVER (PARTITION BY account_seq ORDER BY seq) AS prev FROM entries
        WHERE account_seq IN (SELECT a.seq FROM accounts a JOIN users u
        ON u.user_id = a.owner_id WHERE u.username IN (%s))) x
        WHERE created_at < prev""" % names)
    assert rows == [["0"]]
    check_account_api(payee)


# ---------------------------------------------------------------------
# 1. Replays survive configuration changes; 2. bounded balances.
# These restart the stack's pay replicas with other settings, and put the
# stack's own settings back whatever happens.

@pytest.fixture
def settings():
    yield restart_pay
    restart_pay()


def test_payee_opening_an_account_does_not_change_a_stored_404(pair):
    a, _ = pair
    c = new_user("xc")
    assert c.get("/accounts").json()["data"] == []
    key = newkey()
    r1 = a.pay(c, 5, key=key)
    err(r1, 404, "no_such_payee_account", "to")
    c.open()
    r2 = a.pay(c, 5, key=key)
    assert r2.status_code == 404 and r2.content == r1.content
    assert r2.headers.get("Idempotent-Replayed") == "true"
    assert c.account()["balance"] == 0
    assert a.pay(c, 5).status_code == 201


def test_replays_survive_configuration_changes(settings):
    alice = new_user("xs")
    body = {"currency": "USD", "amount": 500000000}
    key = newkey()
    settings(PAY_MAX_DEPOSIT=1000000000, PAY_SANDBOX=1)
    first = alice.post("/deposits", body, key=key)
    assert first.status_code == 201, first.text

    # A rolling deploy lowers the limit: the retry replays the deposit.
    settings(PAY_MAX_DEPOSIT=100000000, PAY_SANDBOX=1)
    again = alice.post("/deposits", body, key=key)
    assert again.status_code == 201, again.text
    assert again.content == first.content
    assert again.headers.get("Idempotent-Replayed") == "true"
    err(alice.post("/deposits", body, key=newkey()), 400,
        "parameter_invalid", "amount")

    # Sandbox off: the retry still replays; a new key is refused.
    settings(PAY_SANDBOX=0)
    again = alice.post("/deposits", body, key=key)
    assert again.status_code == 201 and again.content == first.content
    off_key = newkey()
    small = {"currency": "USD", "amount": 5}
    r = alice.post("/deposits", small, key=off_key)
    err(r, 403, "deposits_disabled")
    assert alice.account()["balance"] == 500000000

    # Back on: that refusal was an outcome of its key, and replays too.
    settings(PAY_SANDBOX=1)
    r2 = alice.post("/deposits", small, key=off_key)
    assert r2.status_code == 403 and r2.content == r.content
    assert r2.headers.get("Idempotent-Replayed") == "true"
    assert alice.account()["balance"] == 500000000
    check_invariants_sql()


def test_balances_stay_exact_json_numbers(settings):
    """PAY_MAX_DEPOSIT at 2^53-1: the system funding account reaches
    -(2^53-1) and no further, with a 402, never a 5xx."""
    settings(PAY_MAX_DEPOSIT=MAX, PAY_SANDBOX=1)
    # The currency whose system account has the most room left (each run
    # of this test uses one up).
    cur, bal = psql("""SELECT currency, balance FROM accounts
        WHERE is_system ORDER BY balance DESC, currency LIMIT 1""")[0]
    room = MAX + int(bal)
    assert room > 1000, "every system account is at its bound: " \
        "start a fresh stack"
    rich, other = new_user("xr"), new_user("xq")
    r = rich.post("/deposits", {"currency": cur, "amount": room - 10},
                  key=newkey())
    assert r.status_code == 201, r.text
    assert r.json()["account"]["balance"] == room - 10
    key = newkey()
    e = err(other.post("/deposits", {"currency": cur, "amount": 11},
                       key=key), 402, "balance_limit_exceeded", "amount")
    assert "9007199254740991" in e["message"]
    # Stored like any refusal of the movement.
    again = other.post("/deposits", {"currency": cur, "amount": 11}, key=key)
    assert again.status_code == 402
    assert again.headers.get("Idempotent-Replayed") == "true"
    r = other.post("/deposits", {"currency": cur, "amount": 10},
                   key=newkey())
    assert r.status_code == 201, r.text
    # The system account is now exactly at the bound.
    assert psql("SELECT balance FROM accounts WHERE is_system AND "
                "currency = '%s'" % cur) == [[str(-MAX)]]
    for amount in (1, MAX):
        err(other.post("/deposits", {"currency": cur, "amount": amount},
                       key=newkey()), 402, "balance_limit_exceeded")
    # Money still moves between users.
    other.open(cur)
    r = rich.pay(other, room - 10, currency=cur)
    assert r.status_code == 201, r.text
    assert other.account(cur)["balance"] == room
    assert rich.account(cur)["balance"] == 0
    check_account_api(other, cur)
    check_invariants_sql()
