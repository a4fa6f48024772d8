"""The payments API endpoint by endpoint (pay.md): success shapes, errors,
authorization, pagination and Idempotency-Key semantics."""

import re
import subprocess
import threading
import time

import pytest

from pay_support import (PAY, User, db_url, err, new_user, newkey,
                              psql, check_account_api, rename)

TS = re.compile(r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z$")


def idok(s, prefix):
    return isinstance(s, str) and re.fullmatch(prefix + "[0-9a-f]{32}", s)


@pytest.fixture
def alice():
    return new_user("pa")


@pytest.fixture
def bob():
    return new_user("pb")


@pytest.fixture
def funded(alice, bob):
    """alice has 10000 USD, bob an empty USD account."""
    alice.deposit(10000)
    bob.open()
    return alice, bob


def test_health():
    import requests
    r = requests.get(PAY + "/healthz", timeout=5)
    assert r.status_code == 200
    assert r.json()["status"] == "ok" and r.json()["service"] == "pay"
    assert r.headers.get("X-Request-ID")
    assert "pid" not in r.json()
    # Readiness (a database round trip) is on the admin port only.
    assert requests.get(PAY + "/readyz", timeout=5).status_code == 404


def test_accounts_open_list_get(alice, bob):
    r = alice.get("/accounts")
    assert r.status_code == 200
    assert r.json() == {"data": [], "has_more": False}
    r = alice.post("/accounts", {"currency": "EUR"})
    assert r.status_code == 201, r.text
    acc = r.json()
    assert set(acc) == {"id", "owner", "currency", "balance", "created_at"}
    assert idok(acc["id"], "acc_")
    assert acc["owner"] == alice.name and acc["currency"] == "EUR"
    assert acc["balance"] == 0 and TS.match(acc["created_at"])
    r = alice.post("/accounts", {"currency": "EUR"})
    e = err(r, 409, "account_exists")
    assert acc["id"] in r.text
    alice.post("/accounts", {"currency": "JPY"})
    data = alice.get("/accounts").json()["data"]
    assert [a["currency"] for a in data] == ["EUR", "JPY"]
    r = alice.get("/accounts/" + acc["id"])
    assert r.status_code == 200 and r.json() == acc
    # Another user's account, an unknown one: 404 alike.
    err(bob.get("/accounts/" + acc["id"]), 404, "no_such_account")
    err(bob.get("/accounts/acc_" + "0" * 32), 404, "no_such_account")
    err(bob.get("/accounts/" + acc["id"] + "/entries"), 404,
        "no_such_account")
    assert e["type"] == "invalid_request_error"


@pytest.mark.parametrize("body,code", [
    ({}, "parameter_missing"), ({"currency": "usd"}, "parameter_invalid"),
    ({"currency": "XYZ"}, "parameter_invalid"),
    ({"currency": 840}, "parameter_invalid"),
    ({"currency": "EURO"}, "parameter_invalid")])
def test_accounts_open_bad(alice, body, code):
    err(alice.post("/accounts", body), 400, code, "currency")


def test_deposit(alice):
    r = alice.post("/deposits", {"currency": "USD", "amount": 1500},
                   key=newkey())
    assert r.status_code == 201, r.text
    d = r.json()
    assert idok(d["id"], "dep_") and d["amount"] == 1500
    assert d["currency"] == "USD" and TS.match(d["created_at"])
    assert d["account"]["balance"] == 1500
    assert d["account"]["owner"] == alice.name
    alice.deposit(500)
    acc = alice.account()
    assert acc["balance"] == 2000 and acc["id"] == d["account"]["id"]
    ents = alice.get("/accounts/%s/entries" % acc["id"]).json()["data"]
    assert [e["amount"] for e in ents] == [500, 1500]
    assert [e["balance_after"] for e in ents] == [2000, 1500]
    assert all(e["kind"] == "deposit" and "payment_id" not in e
               for e in ents)
    assert all(idok(e["id"], "ent_") and TS.match(e["created_at"])
               for e in ents)
    # JPY has no minor unit; a three-decimal currency works the same.
    r = alice.post("/deposits", {"currency": "KWD", "amount": 1001},
                   key=newkey())
    assert r.status_code == 201 and r.json()["account"]["currency"] == "KWD"


def test_deposit_limit_and_bad(alice):
    err(alice.post("/deposits", {"currency": "USD", "amount": 100000001},
                   key=newkey()), 400, "parameter_invalid", "amount")
    err(alice.post("/deposits", {"currency": "USD"}, key=newkey()), 400,
        "parameter_missing", "amount")
    err(alice.post("/deposits", {"currency": "QQQ", "amount": 5},
                   key=newkey()), 400, "parameter_invalid", "currency")
    err(alice.post("/deposits", {"currency": "USD", "amount": 5}), 400,
        "idempotency_key_missing")
    assert alice.get("/accounts").json()["data"] == []


def test_payment_and_reads(funded):
    alice, bob = funded
    r = alice.pay(bob, 2500, description="lunch", reference="article:x")
    assert r.status_code == 201, r.text
    p = r.json()
    assert set(p) == {"id", "from", "to", "amount", "currency",
                      "amount_refunded", "status", "description",
                      "reference", "created_at"}
    assert idok(p["id"], "pay_") and p["from"] == alice.name
    assert p["to"] == bob.name and p["amount"] == 2500
    assert p["amount_refunded"] == 0 and p["status"] == "succeeded"
    assert p["description"] == "lunch" and p["reference"] == "article:x"
    assert alice.account()["balance"] == 7500
    assert bob.account()["balance"] == 2500
    # Both parties read it; a stranger gets 404.
    assert alice.get("/payments/" + p["id"]).json() == p
    assert bob.get("/payments/" + p["id"]).json() == p
    carol = new_user("pc")
    err(carol.get("/payments/" + p["id"]), 404, "no_such_payment")
    err(carol.get("/payments/" + p["id"] + "/refunds"), 404,
        "no_such_payment")
    err(carol.get("/payments/nope"), 404, "no_such_payment")
    # Statements show the payment with its counterparty.
    be = bob.get("/accounts/%s/entries" % bob.account()["id"]).json()
    assert be["data"][0]["kind"] == "payment"
    assert be["data"][0]["payment_id"] == p["id"]
    assert be["data"][0]["amount"] == 2500
    assert be["data"][0]["counterparty"] == alice.name
    ae = alice.get("/accounts/%s/entries" % alice.account()["id"]).json()
    assert ae["data"][0]["amount"] == -2500
    assert ae["data"][0]["balance_after"] == 7500
    assert ae["data"][0]["counterparty"] == bob.name
    # Lists by direction.
    sent = alice.get("/payments", params={"direction": "sent"}).json()
    assert [x["id"] for x in sent["data"]] == [p["id"]]
    assert alice.get("/payments", params={"direction": "received"}).json(
    ) == {"data": [], "has_more": False}
    assert bob.get("/payments").json()["data"][0]["id"] == p["id"]
    err(bob.get("/payments", params={"direction": "up"}), 400,
        "parameter_invalid", "direction")
    check_account_api(alice)
    check_account_api(bob)


def test_payment_refusals(funded):
    alice, bob = funded
    err(alice.pay(bob, 10001), 402, "insufficient_funds")
    err(alice.pay(alice, 1), 400, "parameter_invalid", "to")
    # pay.md, Requests: a payee who does not exist is named so, distinct
    # from a payee who exists but has no account in the currency.
    e = err(alice.pay("nobody-" + newkey(), 1), 404, "no_such_user", "to")
    assert "account" not in e["message"], e
    e = err(alice.pay(bob, 1, currency="EUR"), 404,
            "no_such_payee_account", "to")
    assert "account" in e["message"], e
    bob.open("EUR")
    err(alice.pay(bob, 1, currency="EUR"), 404, "no_such_account")
    err(alice.pay(bob, 1, currency="ABC"), 400, "parameter_invalid",
        "currency")
    assert alice.account()["balance"] == 10000
    assert bob.account()["balance"] == 0


def test_refunds(funded):
    alice, bob = funded
    p = alice.pay(bob, 1000).json()
    # Only the payee refunds; the payer is told so, a stranger sees 404.
    err(alice.post("/payments/%s/refunds" % p["id"], {"amount": 1},
                   key=newkey()), 403, "not_payee")
    err(new_user().post("/payments/%s/refunds" % p["id"], {"amount": 1},
                        key=newkey()), 404, "no_such_payment")
    err(bob.post("/payments/%s/refunds" % p["id"], {"amount": 1}), 400,
        "idempotency_key_missing")
    r = bob.post("/payments/%s/refunds" % p["id"], {"amount": 300},
                 key=newkey())
    assert r.status_code == 201, r.text
    rf = r.json()
    assert set(rf) == {"id", "payment_id", "amount", "created_at"}
    assert idok(rf["id"], "ref_") and rf["payment_id"] == p["id"]
    assert rf["amount"] == 300
    got = alice.get("/payments/" + p["id"]).json()
    assert got["amount_refunded"] == 300
    assert got["status"] == "partially_refunded"
    err(bob.post("/payments/%s/refunds" % p["id"], {"amount": 701},
                 key=newkey()), 402, "refund_exceeds_remaining", "amount")
    err(bob.post("/payments/%s/refunds" % p["id"], {"amount": 0},
                 key=newkey()), 400, "parameter_invalid", "amount")
    # No amount: what remains.
    r = bob.post("/payments/%s/refunds" % p["id"], key=newkey())
    assert r.status_code == 201 and r.json()["amount"] == 700
    got = bob.get("/payments/" + p["id"]).json()
    assert got["amount_refunded"] == 1000 and got["status"] == "refunded"
    err(bob.post("/payments/%s/refunds" % p["id"], {}, key=newkey()), 402,
        "already_refunded")
    lst = alice.get("/payments/%s/refunds" % p["id"]).json()
    assert [x["amount"] for x in lst["data"]] == [700, 300]
    assert lst["has_more"] is False
    assert alice.account()["balance"] == 10000
    assert bob.account()["balance"] == 0
    ents = bob.get("/accounts/%s/entries" % bob.account()["id"]).json()
    assert [e["kind"] for e in ents["data"]] == ["refund", "refund",
                                                 "payment"]
    check_account_api(alice)
    check_account_api(bob)


def test_refund_needs_payee_funds(funded):
    alice, bob = funded
    carol = new_user("pc")
    carol.open()
    p = alice.pay(bob, 1000).json()
    assert bob.pay(carol, 600).status_code == 201
    err(bob.post("/payments/%s/refunds" % p["id"], key=newkey()), 402,
        "insufficient_funds")
    r = bob.post("/payments/%s/refunds" % p["id"], {"amount": 400},
                 key=newkey())
    assert r.status_code == 201


def test_pagination(funded):
    alice, bob = funded
    ids = [alice.pay(bob, i + 1).json()["id"] for i in range(7)]
    ids.reverse()
    page = alice.get("/payments", params={"limit": 3}).json()
    assert [p["id"] for p in page["data"]] == ids[:3] and page["has_more"]
    page = alice.get("/payments", params={
        "limit": 3, "starting_after": ids[2]}).json()
    assert [p["id"] for p in page["data"]] == ids[3:6] and page["has_more"]
    # A new payment does not shift the next page (cursor, not offset).
    alice.pay(bob, 99)
    page = alice.get("/payments", params={
        "limit": 3, "starting_after": ids[5]}).json()
    assert [p["id"] for p in page["data"]] == ids[6:]
    assert page["has_more"] is False
    assert len(alice.get("/payments").json()["data"]) == 8
    for bad in ("0", "101", "x", "-1"):
        err(alice.get("/payments", params={"limit": bad}), 400,
            "parameter_invalid", "limit")
    err(alice.get("/payments", params={"starting_after": "pay_nope"}), 400,
        "parameter_invalid", "starting_after")
    # Someone else's id is no cursor either.
    err(new_user().get("/payments", params={"starting_after": ids[0]}), 400,
        "parameter_invalid", "starting_after")
    acc = bob.account()["id"]
    ents = bob.get("/accounts/%s/entries" % acc,
                   params={"limit": 2}).json()
    assert len(ents["data"]) == 2 and ents["has_more"]
    more = bob.get("/accounts/%s/entries" % acc, params={
        "limit": 100, "starting_after": ents["data"][-1]["id"]}).json()
    assert len(more["data"]) == 6 and not more["has_more"]
    assert alice.get("/payments", params={"limit": 100}).status_code == 200


def test_idempotent_replay(funded):
    alice, bob = funded
    key = newkey()
    body = {"to": bob.name, "amount": 100, "currency": "USD",
            "description": "once"}
    r1 = alice.post("/payments", body, key=key)
    assert r1.status_code == 201
    assert "Idempotent-Replayed" not in r1.headers
    # Same request, keys in another order and spacing: a replay.
    raw = ('{ "currency":"USD", "description":"once", "amount":100, '
           '"to":"%s" }' % bob.name)
    r2 = alice.post("/payments", key=key, raw=raw)
    assert r2.status_code == 201
    assert r2.headers.get("Idempotent-Replayed") == "true"
    assert r2.content == r1.content
    assert alice.account()["balance"] == 9900
    # Different request, same key.
    body["amount"] = 101
    err(alice.post("/payments", body, key=key), 422,
        "idempotency_key_reused")
    err(alice.post("/deposits", {"currency": "USD", "amount": 100},
                   key=key), 422, "idempotency_key_reused")
    # Keys are scoped to the caller: bob may use the same one.
    r = bob.post("/deposits", {"currency": "USD", "amount": 7}, key=key)
    assert r.status_code == 201 and "Idempotent-Replayed" not in r.headers
    assert alice.account()["balance"] == 9900


def test_business_refusal_is_stored(funded):
    alice, bob = funded
    key = newkey()
    r1 = alice.pay(bob, 20000, key=key)
    err(r1, 402, "insufficient_funds")
    alice.deposit(50000)
    r2 = alice.pay(bob, 20000, key=key)
    assert r2.status_code == 402 and r2.content == r1.content
    assert r2.headers.get("Idempotent-Replayed") == "true"
    assert bob.account()["balance"] == 0


def test_rejections_are_not_stored(funded):
    alice, bob = funded
    key = newkey()
    err(alice.post("/payments", {"to": bob.name, "amount": 1.5,
                                 "currency": "USD"}, key=key), 400,
        "parameter_invalid", "amount")
    r = User(alice.name, "garbage").post(
        "/payments", {"to": bob.name, "amount": 5, "currency": "USD"},
        key=key)
    err(r, 401, "token_invalid")
    r = alice.pay(bob, 5, key=key)
    assert r.status_code == 201 and "Idempotent-Replayed" not in r.headers


def _wait_for(what, fn, secs=10):
    deadline = time.monotonic() + secs
    while not fn():
        assert time.monotonic() < deadline, what
        time.sleep(0.02)


def test_key_in_flight_is_409(funded):
    """While the first request waits on a row lock, a second with the same
    key is 409; afterwards it replays. Each step waits for the database to
    say the previous one happened (the lock held, the first request
    queued behind it), not for a fixed time: under load a fixed sleep let
    the first request finish before the lock was taken."""
    alice, bob = funded
    acc = alice.account()["id"]
    tag = "holder-" + newkey()
    # Hold alice's account row, as a slow movement would, until the first
    # payment waits behind it; then 1.5 s more (pay's lock_timeout is 4 s).
    holder = subprocess.Popen(
        ["psql", db_url("owner"), "-X", "-q", "-v", "ON_ERROR_STOP=1"],
        stdin=subprocess.PIPE, stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL, text=True)
    holder.stdin.write(
        "SET application_name = '%s';\n"
        "BEGIN;\n"
        "SELECT 1 FROM accounts WHERE id = '%s' FOR UPDATE;\n"
        "DO $$ BEGIN FOR i IN 1..1000 LOOP EXIT WHEN EXISTS (SELECT 1 "
        "FROM pg_locks WHERE locktype = 'transactionid' AND NOT granted); "
        "PERFORM pg_sleep(0.01); END LOOP; END $$;\n"
        "SELECT pg_sleep(1.5);\n"
        "COMMIT;\n" % (tag, acc))
    holder.stdin.close()
    try:
        _wait_for("the holder takes the row lock", lambda: psql(
            "SELECT count(*) FROM pg_stat_activity WHERE application_name "
            "= '%s' AND query LIKE 'DO %%'" % tag) == [["1"]])
        key = newkey()
        out = {}
        t = threading.Thread(target=lambda: out.update(
            first=alice.pay(bob, 10, key=key)))
        t.start()
        _wait_for("the first payment waits behind the lock", lambda: psql(
            "SELECT count(*) FROM pg_locks WHERE locktype = "
            "'transactionid' AND NOT granted") != [["0"]])
        err(alice.pay(bob, 10, key=key), 409, "idempotency_key_in_use")
        t.join(10)
    finally:
        holder.wait(20)
    assert out["first"].status_code == 201, out["first"].text
    r = alice.pay(bob, 10, key=key)
    assert r.status_code == 201 and r.content == out["first"].content
    assert bob.account()["balance"] == 10


def test_renamed_user_is_paid_under_the_new_name(funded):
    alice, bob = funded
    bob2 = rename(bob)
    assert bob2.account()["owner"] == bob2.name
    r = alice.pay(bob2, 5)
    assert r.status_code == 201 and r.json()["to"] == bob2.name
    assert bob2.account()["balance"] == 5
    # The old name no longer names anyone.
    err(alice.pay(bob.name, 5), 404, "no_such_user", "to")
    # History keeps the names used at the time.
    acc = bob2.account()["id"]
    ents = bob2.get("/accounts/%s/entries" % acc).json()["data"]
    assert ents[0]["counterparty"] == alice.name


def test_unknown_route_and_method(alice):
    err(alice.get("/nothing"), 404, "not_found")
    r = alice.http.delete(PAY + "/payments", headers=alice.headers())
    err(r, 405, "method_not_allowed")
    assert "GET" in r.headers.get("Allow", "")


def test_sql_shapes():
    # Money columns are bigint; the user balance constraint is in the DB.
    rows = psql("""SELECT table_name, column_name, data_type FROM
        information_schema.columns WHERE column_name IN
        ('amount', 'balance', 'balance_after', 'amount_refunded')
        AND table_schema = 'public'""")
    assert rows and all(r[2] == "bigint" for r in rows), rows
    rows = psql("""SELECT conname FROM pg_constraint
        WHERE conname = 'accounts_balance_nonnegative'""")
    assert rows


def _migrate():
    """pay-fcgi --migrate as the stack runs it (owner's credentials)."""
    import os
    from pay_support import ROOT, VAR
    bin_ = os.environ.get("PAY_TEST_BIN") or os.path.join(
        ROOT, "build", os.environ.get("VARIANT") or "release", "pay-fcgi")
    env = {"PATH": "/usr/bin:/bin", "PAY_DB_URL_FILE":
           "%s/secrets/pay_owner.url" % VAR, "LOG_LEVEL": "info"}
    p = subprocess.run([bin_, "--migrate"], env=env, capture_output=True,
                       text=True, timeout=120)
    assert p.returncode == 0, p.stderr
    return p.stderr


def test_functions_are_one_repeatable_migration():
    """R__functions.sql is applied again exactly when its text changed,
    and replaces the functions rather than adding overloads."""
    sha = psql("SELECT checksum FROM schema_repeatables "
               "WHERE name = 'R__functions.sql'")
    assert len(sha) == 1 and re.fullmatch(r"[0-9a-f]{64}", sha[0][0]), sha
    assert "R__functions.sql" not in _migrate()
    psql("UPDATE schema_repeatables SET checksum = 'stale' "
         "WHERE name = 'R__functions.sql'")
    assert "applied R__functions.sql" in _migrate()
    assert psql("SELECT checksum FROM schema_repeatables "
                "WHERE name = 'R__functions.sql'") == sha
    # One function per name: no old signature left behind as an overload.
    rows = psql("""SELECT proname, count(*) FROM pg_proc
        WHERE pronamespace = 'public'::regnamespace AND proname LIKE 'pay\\_%'
        GROUP BY 1 HAVING count(*) > 1""")
    assert rows == [], rows
    # The service still works with what was just re-applied.
    a = new_user("mg")
    assert a.deposit(5)["account"]["balance"] == 5
