"""Fixtures shared by the API tests (tests/api/test_*.py).

The tests talk HTTP to the local stack through nginx, as a client would:
start it with `make up` (tests/stack.sh up) and run
`/usr/bin/python3 -m pytest tests/api`.

Environment:
  BASE_URL    the edge (default http://127.0.0.1:8080, plus
              STACK_PORT_OFFSET as tests/stack.sh adds it)
  STACK_VAR   the stack's var/ folder (default <repo>/var), for its
              supervisord's socket, keys, secrets and logs
"""

import json
import os
import signal
import subprocess
import time
import uuid
import xmlrpc.client

import pytest
import requests

from blog_support import Api

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(
    os.path.abspath(__file__))))
STACK_SH = os.path.join(ROOT, "tests", "stack.sh")
DEFAULT_TIMEOUT = 10
# tests/stack.sh moves every port by STACK_PORT_OFFSET.
PORT_OFFSET = int(os.environ.get("STACK_PORT_OFFSET") or 0)
DEFAULT_BASE_URL = "http://127.0.0.1:%d" % (8080 + PORT_OFFSET)


class TimeoutSession(requests.Session):
    """A requests.Session whose requests time out unless told otherwise.

    A hung backend then fails one test quickly instead of the whole run.
    """

    def __init__(self, timeout=DEFAULT_TIMEOUT):
        super().__init__()
        self.timeout = timeout

    def request(self, method, url, **kwargs):
        kwargs.setdefault("timeout", self.timeout)
        return super().request(method, url, **kwargs)


def pid_alive(pid):
    """True when pid runs (a zombie, killed but not reaped, does not)."""
    try:
        with open("/proc/%d/stat" % pid) as f:
            stat = f.read()
    except OSError:
        return False
    return stat.rsplit(")", 1)[1].split()[0] != "Z"


def supervisor(var_dir):
    """XML-RPC to the stack's supervisord (what supervisorctl talks to):
    every process of the stack is one of its programs."""
    # Debian's supervisor package, which the stack runs on.
    from supervisor.xmlrpc import SupervisorTransport
    sock = os.path.join(var_dir, "run", "supervisor.sock")
    return xmlrpc.client.ServerProxy(
        "http://127.0.0.1", transport=SupervisorTransport(
            None, None, "unix://" + sock)).supervisor


def program_pids(var_dir):
    """{program name: pid} of every program of the stack that runs
    ("blog:blog-1", "nginx", "mariadb", ...), as `supervisorctl pid` has
    them."""
    out = {}
    for p in supervisor(var_dir).getAllProcessInfo():
        if p["pid"] > 0 and pid_alive(p["pid"]):
            name = p["name"]
            if p["group"] != name:
                name = p["group"] + ":" + name
            out[name] = p["pid"]
    return out


def supervised_replica_pids(var_dir, service):
    """{replica number: pid} of the live replicas of blog or pay."""
    out = {}
    prefix = "%s:%s-" % (service, service)
    for name, pid in program_pids(var_dir).items():
        if name.startswith(prefix) and name[len(prefix):].isdigit():
            out[int(name[len(prefix):])] = pid
    return dict(sorted(out.items()))


def run_threads(threads, timeout):
    """Start threads, wait for each up to timeout seconds, and fail when one
    is still running (a request that hung)."""
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout)
    stuck = [t.name for t in threads if t.is_alive()]
    assert not stuck, "still running after %s s: %s" % (timeout, stuck)


class Stack:
    """What a test may need to know about the local stack."""

    def __init__(self, base_url, var_dir):
        self.root = ROOT
        self.script = STACK_SH
        self.base_url = base_url
        self.var = var_dir
        self.run_dir = os.path.join(var_dir, "run")
        self.log_dir = os.path.join(var_dir, "log")

    def replica_pids(self, service):
        """{replica number: pid} of the live replicas of blog or pay,
        from supervisord (which restarts a replica that dies)."""
        return supervised_replica_pids(self.var, service)

    def admin_urls(self, service):
        """{replica number: http://host:port} of each replica's admin port
        (probes, metrics), as tests/stack.sh wrote them to var/run."""
        out = {}
        prefix = service + "-"
        for name in os.listdir(self.run_dir):
            n = name[len(prefix):-len(".admin")]
            if not (name.startswith(prefix) and name.endswith(".admin")
                    and n.isdigit()):
                continue
            with open(os.path.join(self.run_dir, name)) as f:
                out[int(n)] = "http://" + f.read().strip()
        return dict(sorted(out.items()))

    def wait_dead(self, pid, timeout=10):
        deadline = time.monotonic() + timeout
        while pid_alive(pid):
            if time.monotonic() > deadline:
                raise AssertionError("pid %d still alive after %ss"
                                     % (pid, timeout))
            time.sleep(0.02)

    def kill(self, pid, sig=signal.SIGKILL):
        os.kill(pid, sig)
        self.wait_dead(pid)

    def sh(self, *args, timeout=180, env=None):
        """Run tests/stack.sh with args (e.g. "up"); raise on failure.

        env: variables to set for this run only (e.g. EDGE_RATE_AUTH).
        """
        full = None
        if env:
            full = dict(os.environ)
            full.update(env)
        proc = subprocess.run([self.script, *args], capture_output=True,
                              text=True, timeout=timeout, env=full)
        if proc.returncode != 0:
            raise AssertionError("tests/stack.sh %s failed (%d):\n%s%s" % (
                " ".join(args), proc.returncode, proc.stdout, proc.stderr))
        return proc

    def access_log_lines(self):
        try:
            # nginx's escape=json keeps bytes >= 0x80 as they came, and a
            # client may send any (tests/api/test_malformed_catalogue.py).
            with open(os.path.join(self.log_dir, "nginx-access.log"),
                      errors="backslashreplace") as f:
                return f.readlines()
        except OSError:
            return []

    def access_log_entry(self, marker, timeout=5.0):
        """The last access-log line containing marker, parsed. nginx writes
        it once the response is sent, so a client can read the answer
        before the line is there: wait for it a little."""
        deadline = time.monotonic() + timeout
        while True:
            for line in reversed(self.access_log_lines()):
                if marker in line:
                    return json.loads(line)
            if time.monotonic() > deadline:
                raise AssertionError("no access-log line with %s" % marker)
            time.sleep(0.05)


@pytest.fixture(scope="session")
def base_url():
    return os.environ.get("BASE_URL", DEFAULT_BASE_URL).rstrip("/")


@pytest.fixture(scope="session")
def var_dir():
    return os.path.realpath(os.environ.get("STACK_VAR",
                                           os.path.join(ROOT, "var")))


@pytest.fixture(scope="session")
def stack(base_url, var_dir):
    return Stack(base_url, var_dir)


@pytest.fixture(scope="session")
def replica_pids(stack):
    """replica_pids("blog") -> {replica number: pid} of live replicas."""
    return stack.replica_pids


@pytest.fixture
def http():
    """A requests.Session with a default timeout (10 s)."""
    with TimeoutSession() as s:
        yield s


@pytest.fixture
def api(base_url):
    """A blog_support.Api client for /api, closed after the test."""
    with Api(base_url) as a:
        yield a


def unique_name(prefix="u"):
    """Lower-case letters, digits and underscores, unique per call."""
    return "%s_%d_%s" % (prefix, time.time_ns() // 1000,
                         uuid.uuid4().hex[:8])


@pytest.fixture
def new_user(base_url):
    """Factory: new_user() registers a fresh user via POST /api/users.

    Returns dict(username, email, password, token). Keyword arguments
    override the generated username, email or password.
    """

    session = TimeoutSession()

    def make(prefix="u", **over):
        name = unique_name(prefix)
        user = {"username": name, "email": name + "@test.com",
                "password": "pw_" + uuid.uuid4().hex[:16]}
        user.update(over)
        r = session.post(base_url + "/api/users", json={"user": user})
        assert r.status_code == 201, (
            "register %s: %d %s" % (user["username"], r.status_code,
                                    r.text[:500]))
        body = r.json()["user"]
        assert body["username"] == user["username"]
        user["token"] = body["token"]
        return user

    yield make
    session.close()
