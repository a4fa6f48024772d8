"""A warm session plans nothing but the call (issue 14).

PostgreSQL plans a statement again on every call when its plan cache keeps
preferring a custom plan (a CASE over a parameter with a subquery in each
branch did: 0.7 ms per payment), and parses and plans the body of a SQL
function again in every query that calls it unless it is inlined (one with a
subquery, one that writes, one called in a FROM clause). Both cost CPU on
every request without changing any answer, so only this test sees them:
debug_print_plan (a user setting) reports every plan made in the session,
and after the plan cache's first five custom plans a payment, an accounts
list and an account must each plan exactly one statement, the psql call
itself.
No timing is measured.
"""

import re
import subprocess

from pay_support import db_url, funded_pair, newkey, psql

WARM = 8  # past the plan cache's 5 custom plans
COUNTED = 4


def plans_per_call(calls):
    """Runs the SQL statements in calls in one session, WARM + COUNTED
    times each in turn, and returns, for the last COUNTED rounds, how many
    plans each statement's execution made."""
    lines = ["SET client_min_messages = log;", "SET debug_print_plan = on;"]
    for i in range(WARM + COUNTED):
        for j, sql in enumerate(calls):
            # A marker on the same channel as the plans; RAISE with no
            # argument plans nothing.
            lines.append("DO $$BEGIN RAISE LOG 'call %d %d'; END$$;" % (i, j))
            lines.append(sql(i) + ";")
    p = subprocess.run(["psql", db_url("owner"), "-X", "-q", "-A", "-t",
                        "-v", "ON_ERROR_STOP=1"], input="\n".join(lines),
                       capture_output=True, text=True, timeout=120)
    assert p.returncode == 0, p.stderr
    counts, cur = {}, None
    for line in p.stderr.splitlines():
        m = re.search(r"LOG:  call (\d+) (\d+)$", line)
        if m:
            cur = (int(m.group(1)), int(m.group(2)))
            counts[cur] = 0
        elif "LOG:  plan:" in line and cur is not None:
            counts[cur] += 1
    assert len(counts) == (WARM + COUNTED) * len(calls), p.stderr[-2000:]
    return [[counts[(i, j)] for i in range(WARM, WARM + COUNTED)]
            for j in range(len(calls))]


def test_payment_accounts_list_and_account_plan_only_the_call():
    a, b = funded_pair("pl")
    r = a.pay(b, 1)
    assert r.status_code == 201, r.text
    acc = a.account()["id"]
    uid = int(psql("SELECT owner_id FROM accounts WHERE id = '%s'"
                   % acc)[0][0])
    keys = [newkey() for _ in range(WARM + COUNTED)]

    def payment(i):
        return ("SELECT r_status FROM pay_payment(%d, '%s', '%s', 'fp', "
                "'%s', 'USD', 1, NULL, NULL)" % (uid, a.name, keys[i],
                                                 b.name))

    def accounts(i):
        return "SELECT r_status FROM pay_accounts_list(%d, '%s', NULL, 10)" \
            % (uid, a.name)

    def account(i):
        return "SELECT r_status FROM pay_account_get(%d, '%s')" % (uid, acc)

    pay_plans, list_plans, get_plans = plans_per_call(
        [payment, accounts, account])
    assert pay_plans == [1] * COUNTED, pay_plans
    assert list_plans == [1] * COUNTED, list_plans
    assert get_plans == [1] * COUNTED, get_plans
    # The calls really paid: the payer's balance says so.
    bal = a.account()["balance"]
    assert bal == 100000 - 1 - (WARM + COUNTED), bal
