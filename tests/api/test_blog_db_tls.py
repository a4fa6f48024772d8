"""BLOG_DB_TLS=verify-full against the local MariaDB, whose certificate
(IP 127.0.0.1 only) comes from a private CA that tests/stack.sh makes in
var/tls. The replicas use the unix socket; here `blog-fcgi --migrate`
connects over TCP as a user the server admits only over TLS:
  - verify-full with the stack's CA connects (and so used TLS);
  - TLS off is refused by the server (REQUIRE SSL);
  - verify-full with another CA is refused (chain not trusted);
  - verify-full with the right CA but a host name the certificate does not
    name (localhost) is refused;
  - verify-full without a CA file stops at start with one line naming it.
"""

import os
import subprocess
import uuid

import pytest

from blog_support import mysql
from conftest import PORT_OFFSET, ROOT

PORT = 3307 + PORT_OFFSET
BIN = os.path.join(ROOT, "build", os.environ.get("VARIANT", "release"),
                   "blog-fcgi")


@pytest.fixture
def tls_user(stack):
    tls = os.path.join(stack.var, "tls", "ca.pem")
    assert os.path.exists(tls), "no var/tls/ca.pem: restart the stack"
    have = mysql(stack.var, "SELECT @@have_ssl")[0][0]
    assert have == "YES", "MariaDB has no TLS (%s): restart the stack" % have
    name = "tls_" + uuid.uuid4().hex[:8]
    pw = uuid.uuid4().hex
    mysql(stack.var, "CREATE USER '%s'@'127.0.0.1' IDENTIFIED BY '%s'"
          " REQUIRE SSL; GRANT ALL PRIVILEGES ON blog.* TO '%s'@'127.0.0.1'"
          % (name, pw, name))
    yield name, pw
    mysql(stack.var, "DROP USER '%s'@'127.0.0.1'" % name)


def migrate(user, pw, host="127.0.0.1", **tls):
    env = {"PATH": os.environ.get("PATH", "/usr/bin:/bin"),
           "BLOG_DB_HOST": host, "BLOG_DB_PORT": str(PORT),
           "BLOG_DB_USER": user, "BLOG_DB_PASSWORD": pw,
           "BLOG_DB_NAME": "blog"}
    env.update(tls)
    return subprocess.run([BIN, "--migrate"], env=env, capture_output=True,
                          text=True, timeout=60)


def other_ca(tmp_path):
    key, pem = tmp_path / "other.key", tmp_path / "other.pem"
    subprocess.run(["openssl", "req", "-x509", "-newkey", "ec", "-pkeyopt",
                    "ec_paramgen_curve:P-256", "-nodes", "-days", "1",
                    "-subj", "/CN=someone-else", "-keyout", str(key),
                    "-out", str(pem)], check=True, capture_output=True)
    return str(pem)


def test_blog_db_tls_verify_full(stack, tls_user, tmp_path):
    user, pw = tls_user
    ca = os.path.join(stack.var, "tls", "ca.pem")

    ok = migrate(user, pw, BLOG_DB_TLS="verify-full", BLOG_DB_TLS_CA_FILE=ca)
    assert ok.returncode == 0, ok.stderr

    plain = migrate(user, pw)
    assert plain.returncode != 0
    assert "Access denied" in plain.stderr, plain.stderr

    wrong = migrate(user, pw, BLOG_DB_TLS="verify-full",
                    BLOG_DB_TLS_CA_FILE=other_ca(tmp_path))
    assert wrong.returncode != 0
    assert "Access denied" not in wrong.stderr, wrong.stderr

    name = migrate(user, pw, host="localhost", BLOG_DB_TLS="verify-full",
                   BLOG_DB_TLS_CA_FILE=ca)
    assert name.returncode != 0
    assert "Access denied" not in name.stderr, name.stderr

    bad = migrate(user, pw, BLOG_DB_TLS="verify-full")
    assert bad.returncode != 0
    assert "BLOG_DB_TLS_CA_FILE" in bad.stderr, bad.stderr
    assert len(bad.stderr.strip().splitlines()) == 1, bad.stderr
