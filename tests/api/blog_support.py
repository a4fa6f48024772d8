"""Helpers shared by the blog API tests (tests/api/test_blog_*.py)."""

import glob
import os
import pwd
import re
import subprocess
import time
import urllib.parse
import uuid

import requests

ISO_MS = re.compile(r"^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}\.\d{3}Z$")
TIMEOUT = 15
ROOT = os.path.dirname(os.path.dirname(os.path.dirname(
    os.path.abspath(__file__))))
# The blog-fcgi that tests start on their own, beside the stack's replicas.
BLOG_BIN = os.path.join(ROOT, "build", os.environ.get("VARIANT") or "release",
                        "blog-fcgi")


def app_db_url(var_dir):
    """BLOG_DB_URL for the stack's MariaDB as the blog's application user,
    through the socket."""
    with open(os.path.join(var_dir, "secrets", "blog_app.password")) as f:
        pw = f.read().strip()
    sock = os.path.join(var_dir, "run", "mysqld.sock")
    return "mysql://blog_app:%s@localhost/blog?socket=%s" % (
        urllib.parse.quote(pw, safe=""), sock)


def mysql(var_dir, sql, timeout=60):
    """Rows (lists of strings) of sql run in the blog database as the
    stack's MariaDB administrator (the OS user, through the socket)."""
    p = subprocess.run(
        ["mariadb", "--defaults-file=" + os.path.join(var_dir, "my.cnf"),
         "-u", pwd.getpwuid(os.getuid()).pw_name, "-N", "-B", "blog",
         "-e", sql],
        capture_output=True, text=True, timeout=timeout, check=True)
    return [line.split("\t") for line in p.stdout.splitlines()]


class ScratchDb:
    """A scratch database on the stack's MariaDB with the blog's schema as
    it was before one migration (the file ending in `before`): every
    earlier migration applied and recorded, so a test can write data of
    that time and run the stack's blog binary's --migrate on it. A context
    manager; the database is dropped on leaving."""

    def __init__(self, var_dir, before, prefix="scratch"):
        self.var = var_dir
        self.sock = os.path.join(var_dir, "run", "mysqld.sock")
        assert os.path.exists(self.sock), \
            "the stack's MariaDB (make up) is needed"
        assert os.access(BLOG_BIN, os.X_OK), BLOG_BIN
        files = sorted(glob.glob(os.path.join(ROOT, "blog-fcgi",
                                              "migrations", "*.sql")))
        mine = [f for f in files if f.endswith(before)]
        assert len(mine) == 1, files
        self.earlier = [f for f in files if f < mine[0]]
        self.db = "%s_%s" % (prefix, uuid.uuid4().hex[:8])
        self.me = pwd.getpwuid(os.getuid()).pw_name

    def sql(self, text, database=None, check=True):
        """Run text in the scratch database (or database) as the stack's
        administrator; the completed mariadb process."""
        r = subprocess.run(
            ["mariadb", "--defaults-file=" + os.path.join(self.var, "my.cnf"),
             "-u", self.me, "-N", "-B", database or self.db], input=text,
            capture_output=True, text=True, timeout=120)
        assert r.returncode == 0 or not check, r.stderr
        return r

    def migrate(self):
        """blog-fcgi --migrate on the scratch database; its log."""
        env = {"PATH": os.environ["PATH"], "BLOG_DB_SOCKET": self.sock,
               "BLOG_DB_NAME": self.db, "BLOG_DB_USER": self.me,
               "JWT_PUBLIC_KEY_FILE": os.path.join(self.var, "keys",
                                                   "jwt-public.pem"),
               "JWT_PRIVATE_KEY_FILE": os.path.join(self.var, "keys",
                                                    "jwt-private.pem")}
        r = subprocess.run([BLOG_BIN, "--migrate"], env=env,
                           capture_output=True, text=True, timeout=120)
        assert r.returncode == 0, r.stdout + r.stderr
        return r.stdout + r.stderr

    def __enter__(self):
        self.sql("CREATE DATABASE %s" % self.db, "mysql")
        try:
            self.sql("CREATE TABLE schema_migrations (version INT NOT NULL"
                     " PRIMARY KEY, name VARCHAR(255) NOT NULL, applied_at"
                     " DATETIME(3) NOT NULL)")
            for f in self.earlier:
                with open(f) as fh:
                    self.sql(fh.read())
                base = os.path.basename(f)
                self.sql("INSERT INTO schema_migrations VALUES (%d, '%s',"
                         " NOW(3))" % (int(base[:3]), base))
        except BaseException:
            self.__exit__()
            raise
        return self

    def __exit__(self, *exc):
        self.sql("DROP DATABASE %s" % self.db, "mysql")


def name(prefix="b"):
    """A fresh username: lower-case letters, digits and underscores."""
    return "%s_%d_%s" % (prefix, time.time_ns() // 1000,
                         uuid.uuid4().hex[:6])


def auth(token):
    return {"Authorization": "Token " + token}


def errors(r, status, key, msg=None):
    """Assert a RealWorld error answer: status, {"errors": {key: [...]}}."""
    assert r.status_code == status, (r.status_code, r.text[:300])
    assert r.headers["Content-Type"].startswith("application/json")
    body = r.json()
    assert set(body) == {"errors"}, body
    assert key in body["errors"], body
    assert isinstance(body["errors"][key], list), body
    assert all(isinstance(m, str) for m in body["errors"][key]), body
    if msg is not None:
        assert body == {"errors": {key: [msg]}}, body
    return body


def four_xx(r):
    """Any 4xx with a RealWorld error body."""
    assert 400 <= r.status_code < 500, (r.status_code, r.text[:300])
    body = r.json()
    assert isinstance(body.get("errors"), dict) and body["errors"], body
    for v in body["errors"].values():
        assert isinstance(v, list) and v and isinstance(v[0], str)
    return body


class Api:
    """A thin client for /api with a default timeout; a context manager
    that closes its session."""

    def __init__(self, base_url, timeout=TIMEOUT):
        self.base = base_url.rstrip("/") + "/api"
        self.timeout = timeout
        self.s = requests.Session()

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()

    def req(self, method, path, token=None, headers=None, **kw):
        h = dict(headers or {})
        if token is not None:
            h["Authorization"] = "Token " + token
        kw.setdefault("timeout", self.timeout)
        return self.s.request(method, self.base + path, headers=h, **kw)

    def get(self, path, token=None, **kw):
        return self.req("GET", path, token, **kw)

    def post(self, path, token=None, **kw):
        return self.req("POST", path, token, **kw)

    def put(self, path, token=None, **kw):
        return self.req("PUT", path, token, **kw)

    def delete(self, path, token=None, **kw):
        return self.req("DELETE", path, token, **kw)

    def register(self, prefix="b", **over):
        n = name(prefix)
        u = {"username": n, "email": n + "@test.com",
             "password": "pw_" + uuid.uuid4().hex[:12]}
        u.update(over)
        r = self.post("/users", json={"user": u})
        assert r.status_code == 201, r.text[:300]
        u["token"] = r.json()["user"]["token"]
        return u

    def article(self, token, title=None, tags=None, **over):
        a = {"title": title or "Title " + uuid.uuid4().hex[:8],
             "description": "desc", "body": "body text"}
        if tags is not None:
            a["tagList"] = tags
        a.update(over)
        r = self.post("/articles", token, json={"article": a})
        assert r.status_code == 201, r.text[:300]
        return r.json()["article"]

    def close(self):
        self.s.close()
