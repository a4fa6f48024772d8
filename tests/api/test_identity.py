"""Identity is the blog's (issue 10 parts 1-2, issue 19 part 3).

Payees are resolved only through what the blog told pay over its signed
identity channel, never from token claims; a username, password or "log out
everywhere" change revokes every earlier token on both services; the
platform's names are nobody's username and nobody's payee.
"""

import requests

from pay_support import BASE, PAY, User, err, newkey

TIMEOUT = 15


def _register(name, password="pw-identity-1"):
    return requests.post(BASE + "/api/users", timeout=TIMEOUT, json={
        "user": {"username": name, "email": name + "@example.com",
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
