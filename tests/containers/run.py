"""The container test (`make test-containers`): the images built from this
checkout (`make images`) run the way the rendered dev overlay says, through
kube2podman's translation, on a private podman network, with the edge
published on 127.0.0.1:(8090 + STACK_PORT_OFFSET).

Databases: the dev overlay's MariaDB and PostgreSQL StatefulSets use the
public mariadb/postgres images, which cannot be pulled here, and their
init scripts are written for those images' entrypoints. So the test uses
the local stack's own MariaDB and PostgreSQL (tests/stack.sh up: the same
servers the API suite tests, with the same users and grants), reached from
the network through two small relay containers named `mariadb` and
`postgresql` (the Services' names) that forward TCP 3306/5432 to the
servers' unix sockets, bind-mounted read-only. The pods connect exactly as
the manifests and the dev Secrets say (host=mariadb, postgresql:5432).

Checks, in order (each failure names what broke):
  1. the migration Jobs complete, twice (idempotent);
  2. every Deployment's pods pass their startup and readiness probes
     (run as the kubelet would: HTTP and TCP in the pod's network
     namespace, on the admin port);
  3. the pods run as the manifest says: uid 10001, no capabilities, a
     read-only root, the memory limit, secrets as 0440 files;
  4. the API smoke flow through the edge (register, login, article, pay
     account, deposit);
  5. 64 concurrent logins against the smallest blog pod: no 502/500, each
     answer 200 or 503 with Retry-After, and the pod is not OOM-killed;
  6. a blog pod replaced under load (GETs and POSTs that never retry): the
     new pod gets traffic through the edge, the old one drains on SIGTERM
     (after its preStop) and exits 0, no request fails.
Everything the test started is removed at the end, whatever the outcome.
"""

import base64
import json
import os
import re
import signal
import subprocess
import sys
import threading
import time
import uuid

import requests

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import kube2podman as k2p  # noqa: E402

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(
    os.path.abspath(__file__))))
VAR = os.path.join(ROOT, "var")
OFFSET = int(os.environ.get("STACK_PORT_OFFSET", "0"))
EDGE_PORT = 8090 + OFFSET
MYSQL_PORT = 3307 + OFFSET
PG_PORT = 5433 + OFFSET
NET = f"conduit-test-{OFFSET}"
# A private /24 per offset, so parallel checkouts never share addresses
# (podman 4.3 names the bridge itself, after the ones in use).
SUBNET = f"10.213.{(OFFSET // 100) % 256}.0/24"
PODS = os.path.join(VAR, "containers-test")
BASE = f"http://127.0.0.1:{EDGE_PORT}"
RELAY_IMAGE = "docker.io/library/debian:12-slim"
TIMEOUT = 30

os.environ["CONTAINERS_CONF"] = f"{VAR}/containers/containers.conf"
os.environ["CONTAINERS_STORAGE_CONF"] = f"{VAR}/containers/storage.conf"
os.environ["CONTAINERS_REGISTRIES_CONF"] = \
    f"{VAR}/containers/registries.conf"

RESULTS = []
STARTED = time.monotonic()


def log(msg):
    print(f"containers: [{time.monotonic() - STARTED:6.1f}s] {msg}",
          flush=True)


def check(name, ok, detail=""):
    RESULTS.append((name, bool(ok), detail))
    log(("PASS " if ok else "FAIL ") + name + (f": {detail}" if detail
                                               else ""))
    return ok


def podman(*args, check_rc=True, timeout=300, capture=True):
    # conmon 2.1 writes an "oom" marker into its working directory when
    # a container is OOM-killed: keep that under var/.
    os.makedirs(PODS, exist_ok=True)
    r = subprocess.run(["podman", *args], capture_output=capture,
                       text=True, timeout=timeout, cwd=PODS)
    if check_rc and r.returncode != 0:
        raise RuntimeError(f"podman {' '.join(args[:3])}...: "
                           f"{(r.stderr or '').strip()[-800:]}")
    return r


def inspect(name, fmt):
    return podman("inspect", "--format", fmt, name).stdout.strip()


# ------------------------------------------------------------ set-up

def read(path):
    with open(path) as f:
        return f.read().strip()


def stack_secrets():
    """The Secrets a user creates by hand (k8s/README.md, dev secrets),
    filled from the local stack's passwords and key pair."""
    s = os.path.join(VAR, "secrets")
    pw = {u: read(f"{s}/{u}.password")
          for u in ("blog_owner", "blog_app", "pay_owner", "pay_app")}
    keys = os.path.join(VAR, "keys")
    return {
        "conduit-jwt": {
            "jwt-private.pem": read(f"{keys}/jwt-private.pem") + "\n",
            "jwt-public.pem": read(f"{keys}/jwt-public.pem") + "\n"},
        "blog-db": {"host": "mariadb", "app-user": "blog_app",
                    "app-password": pw["blog_app"],
                    "owner-user": "blog_owner",
                    "owner-password": pw["blog_owner"]},
        "pay-db": {
            "app-password": pw["pay_app"], "owner-password": pw["pay_owner"],
            "app-url": "postgresql://pay_app:%s@postgresql:5432/pay"
                       % pw["pay_app"],
            "owner-url": "postgresql://pay_owner:%s@postgresql:5432/pay"
                         % pw["pay_owner"]},
    }


RELAY = r'''
use strict; use IO::Socket::INET; use IO::Socket::UNIX; use IO::Select;
$SIG{CHLD} = "IGNORE";
my ($port, $path) = @ARGV;
my $l = IO::Socket::INET->new(LocalPort => $port, Listen => 128,
    ReuseAddr => 1) or die "listen $port: $!";
while (1) {
    my $c = $l->accept or next;
    if (fork() == 0) {
        my $u = IO::Socket::UNIX->new(Peer => $path) or exit 1;
        my $s = IO::Select->new($c, $u);
        while (1) {
            for my $h ($s->can_read) {
                my $n = sysread($h, my $buf, 65536);
                exit 0 unless $n;
                my $to = $h == $c ? $u : $c;
                for (my $o = 0; $o < $n;) {
                    my $w = syswrite($to, $buf, $n - $o, $o);
                    exit 0 unless $w;
                    $o += $w;
                }
            }
        }
    }
    close $c;
}
'''


def relay_names(name):
    return [name, f"{name}.conduit-dev", f"{name}.conduit-dev.svc",
            f"{name}.conduit-dev.svc.cluster.local"]


def start_relay(name, port, sock):
    """Returns the --add-host options that name the relay in a pod.

    The databases' names go into the pods' /etc/hosts rather than through
    the network's DNS server: aardvark-dns 1.4 leaves AAAA questions for
    its names unanswered, so glibc's getaddrinfo waits 20 s or more per
    lookup (the edge, which asks for A records only, is not affected)."""
    names = relay_names(name)
    podman("run", "-d", f"--name={name}", f"--network={NET}",
           *[f"--network-alias={n}" for n in names], "--pull=never",
           "--read-only", "--cap-drop=ALL", "--user=10001:10001",
           "--security-opt=no-new-privileges", "--memory=64m",
           f"--mount=type=bind,src={sock},dst=/sock/db.sock",
           RELAY_IMAGE, "perl", "-e", RELAY, str(port), "/sock/db.sock")
    ip = pod_ip(name)
    return [f"--add-host={n}:{ip}" for n in names]


def write_files(plan, pod_dir):
    os.makedirs(pod_dir, exist_ok=True)
    for f in plan["files"]:
        p = os.path.join(pod_dir, f["path"])
        os.makedirs(os.path.dirname(p), exist_ok=True)
        with open(p, "wb") as out:
            out.write(base64.b64decode(f["data"]))
        os.chown(p, 0, f["gid"] if f["gid"] is not None else 0)
        os.chmod(p, f["mode"])
    for d in plan["dirs"]:
        p = os.path.join(pod_dir, d)
        os.makedirs(p, exist_ok=True)
        os.chmod(p, 0o1777)


class Cluster:
    def __init__(self, db_hosts):
        self.db_hosts = db_hosts
        out = subprocess.run(
            ["kubectl", "kustomize", os.path.join(ROOT, "k8s/overlays/dev")],
            check=True, capture_output=True, text=True).stdout
        self.objs = k2p.load_all(out)
        self.secrets = stack_secrets()
        self.serial = 0

    def owner(self, kind, name):
        return k2p.index(self.objs)[(kind, name)]

    def plan(self, kind, name, extra=()):
        self.serial += 1
        pod = f"{name}-{self.serial}"
        o = self.owner(kind, name)
        image = o["spec"]["template"]["spec"]["containers"][0]["image"]
        p = k2p.pod_plan(o, self.objs, self.secrets, images={image: image},
                         network=NET, host_dir=os.path.join(PODS, pod),
                         pod_name=pod)
        p["run_args"] += self.db_hosts + list(extra)
        write_files(p, os.path.join(PODS, pod))
        return p

    def run_job(self, name):
        """A Job: run to completion, retried on failure up to its
        backoffLimit (restartPolicy OnFailure), within its deadline."""
        p = self.plan("Job", name)
        deadline = time.monotonic() + (p["activeDeadline"] or 600)
        for attempt in range(p["backoffLimit"] + 1):
            podman("rm", "-f", p["name"], check_rc=False)
            left = max(1, int(deadline - time.monotonic()))
            r = podman("run", *p["run_args"], p["image"], *p["cmd_args"],
                       check_rc=False, timeout=left)
            if r.returncode == 0:
                return True, attempt, p["name"]
            log(f"{name} attempt {attempt} exited {r.returncode}: "
                f"{r.stderr.strip()[-300:]}")
            time.sleep(min(2 ** attempt, 10))
        return False, attempt, p["name"]

    def start_pod(self, kind, name, extra=()):
        p = self.plan(kind, name, extra)
        podman("run", "-d", *p["run_args"], p["image"], *p["cmd_args"])
        return p


# ------------------------------------------------------------ probes

def probe_once(p, pr):
    pid = inspect(p["name"], "{{.State.Pid}}")
    if not pid or pid == "0":
        return False
    t = str(pr["timeout"])
    if "http" in pr:
        r = subprocess.run(
            ["nsenter", "-t", pid, "-n", "curl", "-s", "-o", "/dev/null",
             "-w", "%{http_code}", "--max-time", t,
             f"http://127.0.0.1:{pr['http']['port']}{pr['http']['path']}"],
            capture_output=True, text=True)
        return r.stdout.isdigit() and 200 <= int(r.stdout) < 400
    if "tcp" in pr:
        r = subprocess.run(
            ["nsenter", "-t", pid, "-n", "timeout", t, "bash", "-c",
             f"exec 3<>/dev/tcp/127.0.0.1/{pr['tcp']}"],
            capture_output=True)
        return r.returncode == 0
    r = podman("exec", p["name"], *pr["exec"], check_rc=False)
    return r.returncode == 0


def running(name):
    return inspect(name, "{{.State.Running}}") == "true"


def wait_probe(p, kind):
    """The kubelet's loop for one probe: success, or failureThreshold
    failures in a row (startup: the whole window) -> False."""
    pr = p["probes"][kind]
    if pr is None:
        return True
    time.sleep(pr["initialDelay"])
    tries = pr["failureThreshold"] if kind == "startupProbe" else \
        max(pr["failureThreshold"], 12)
    for _ in range(tries):
        if not running(p["name"]):
            return False
        if probe_once(p, pr):
            return True
        time.sleep(min(pr["period"], 2))
    return False


def ready(p):
    return (check(f"{p['name']} startup probe",
                  wait_probe(p, "startupProbe")) and
            check(f"{p['name']} readiness probe",
                  wait_probe(p, "readinessProbe")) and
            check(f"{p['name']} liveness probe",
                  probe_once(p, p["probes"]["livenessProbe"])))


AARDVARK = "/run/containers/networks/aardvark-dns"


def dns_withdraw(name):
    """Take a pod out of its Services' DNS answers, as Kubernetes removes a
    terminating pod from the endpoints before its preStop hook runs.

    podman 4.3 cannot drop a running container's aliases, so the line of
    this container is removed from aardvark-dns's file for the network (one
    line per container: id, addresses, names) and aardvark-dns is told to
    reload (SIGHUP), as netavark itself does when a container stops."""
    cid = inspect(name, "{{.Id}}")
    path = os.path.join(AARDVARK, NET)
    with open(path) as f:
        lines = f.readlines()
    keep = [x for x in lines if not x.startswith(cid + " ")]
    if len(keep) != len(lines) - 1:
        return False
    with open(path + ".tmp", "w") as f:
        f.writelines(keep)
    os.replace(path + ".tmp", path)
    with open(os.path.join(AARDVARK, "aardvark.pid")) as f:
        os.kill(int(f.read().strip()), signal.SIGHUP)
    return True


def stop_pod(p):
    """Pod deletion as the kubelet does it: out of the Services' DNS, then
    preStop, then the image's stop signal, then SIGKILL at the end of the
    grace period. Returns the exit code."""
    t0 = time.monotonic()
    check(f"{p['name']} leaves the Services' DNS answers",
          dns_withdraw(p["name"]))
    if p["preStop"]:
        podman("exec", p["name"], *p["preStop"], check_rc=False,
               timeout=p["grace"])
    left = max(1, int(p["grace"] - (time.monotonic() - t0)))
    podman("stop", "-t", str(left), p["name"], timeout=left + 30)
    return int(inspect(p["name"], "{{.State.ExitCode}}"))


# ------------------------------------------------------------ checks

def check_pod_settings(p):
    name = p["name"]
    pid = inspect(name, "{{.State.Pid}}")
    with open(f"/proc/{pid}/status") as f:
        st = dict(line.rstrip("\n").split(":\t", 1) for line in f
                  if ":\t" in line)
    check(f"{name} runs as uid 10001",
          st["Uid"].split()[0] == "10001" and st["Gid"].split()[0] == "10001",
          st["Uid"])
    check(f"{name} has no capabilities",
          int(st["CapEff"], 16) == 0 and int(st["CapBnd"], 16) == 0,
          st["CapEff"])
    check(f"{name} cannot gain privileges", st.get("NoNewPrivs") == "1")
    check(f"{name} root file system is read-only",
          inspect(name, "{{.HostConfig.ReadonlyRootfs}}") == "true" and
          podman("exec", name, "/bin/sh", "-c", "echo x >/probe",
                 check_rc=False).returncode != 0)
    lim = next(int(a.split("=", 1)[1]) for a in p["run_args"]
               if a.startswith("--memory="))
    check(f"{name} memory limit {lim >> 20} MiB",
          int(inspect(name, "{{.HostConfig.Memory}}")) == lim)
    r = podman("exec", name, "stat", "-c", "%a %G", "/etc/conduit/db",
               "/etc/conduit/db/" + os.path.basename(
                   [f["path"] for f in p["files"]
                    if f["path"].startswith("db/")][0]), check_rc=False)
    check(f"{name} reads its secret from a 0440 file",
          r.returncode == 0 and r.stdout.split("\n")[1].startswith("440 "),
          r.stdout.strip().replace("\n", " | "))


def smoke():
    s = requests.Session()
    name = "ct" + uuid.uuid4().hex[:10]
    pw = "pw-" + uuid.uuid4().hex
    r = s.post(BASE + "/api/users", json={"user": {
        "username": name, "email": name + "@example.com", "password": pw}},
        timeout=TIMEOUT)
    if not check("register through the edge", r.status_code == 201,
                 f"{r.status_code} {r.text[:200]}"):
        return None
    r = s.post(BASE + "/api/users/login", json={"user": {
        "email": name + "@example.com", "password": pw}}, timeout=TIMEOUT)
    check("login through the edge", r.status_code == 200,
          f"{r.status_code} {r.text[:200]}")
    tok = r.json()["user"]["token"] if r.status_code == 200 else None
    h = {"Authorization": "Token " + (tok or "")}
    r = s.post(BASE + "/api/articles", headers=h, json={"article": {
        "title": "Containers " + name, "description": "d", "body": "b",
        "tagList": ["containers"]}}, timeout=TIMEOUT)
    check("create an article", r.status_code == 201,
          f"{r.status_code} {r.text[:200]}")
    if r.status_code == 201:
        slug = r.json()["article"]["slug"]
        r = s.get(BASE + "/api/articles/" + slug, timeout=TIMEOUT)
        check("read the article back", r.status_code == 200 and
              r.json()["article"]["title"] == "Containers " + name)
    r = s.post(BASE + "/pay/v1/accounts", headers=h,
               json={"currency": "USD"}, timeout=TIMEOUT)
    check("open a pay account", r.status_code in (200, 201),
          f"{r.status_code} {r.text[:200]}")
    r = s.post(BASE + "/pay/v1/deposits", headers={
        **h, "Idempotency-Key": uuid.uuid4().hex},
        json={"currency": "USD", "amount": 1234}, timeout=TIMEOUT)
    check("sandbox deposit", r.status_code == 201,
          f"{r.status_code} {r.text[:200]}")
    r = s.get(BASE + "/pay/v1/accounts", headers=h, timeout=TIMEOUT)
    bal = [a for a in r.json().get("data", []) if a["currency"] == "USD"] \
        if r.status_code == 200 else []
    check("balance shows the deposit",
          bal and bal[0].get("balance") == 1234, r.text[:200])
    return {"email": name + "@example.com", "password": pw, "token": tok}


def concurrent_logins(user, blog_pod, n=64):
    pid0 = inspect(blog_pod["name"], "{{.State.Pid}}")
    barrier = threading.Barrier(n)
    out = [None] * n

    def one(i):
        barrier.wait()
        try:
            r = requests.post(BASE + "/api/users/login", json={"user": {
                "email": user["email"], "password": user["password"]}},
                timeout=120)
            out[i] = (r.status_code, r.headers.get("Retry-After"))
        except requests.RequestException as e:
            out[i] = ("error", type(e).__name__)

    ts = [threading.Thread(target=one, args=(i,)) for i in range(n)]
    for t in ts:
        t.start()
    for t in ts:
        t.join()
    counts = {}
    for st, _ in out:
        counts[st] = counts.get(st, 0) + 1
    bad = [o for o in out if not (o[0] == 200 or
                                  (o[0] == 503 and o[1] is not None))]
    check(f"{n} concurrent logins: only 200 or 503 with Retry-After",
          not bad, f"statuses {counts}")
    oom = inspect(blog_pod["name"], "{{.State.OOMKilled}}")
    alive = running(blog_pod["name"]) and \
        inspect(blog_pod["name"], "{{.State.Pid}}") == pid0
    check(f"{blog_pod['name']} survives {n} concurrent logins (no OOM kill)",
          alive and oom != "true",
          f"running={alive} OOMKilled={oom} exit="
          f"{inspect(blog_pod['name'], '{{.State.ExitCode}}')}")
    return counts


class Load:
    """Readers and writers through the edge that never retry."""

    def __init__(self, token, readers=4, writers=2):
        self.stop = threading.Event()
        self.lock = threading.Lock()
        self.ok = 0
        self.failed = []
        self.token = token
        self.threads = [threading.Thread(target=self.read)
                        for _ in range(readers)] + \
            [threading.Thread(target=self.write) for _ in range(writers)]

    def record(self, what, r):
        with self.lock:
            if isinstance(r, Exception):
                self.failed.append((what, type(r).__name__))
            elif r.status_code >= 300:
                self.failed.append((what, r.status_code, r.text[:100]))
            else:
                self.ok += 1

    def read(self):
        s = requests.Session()
        while not self.stop.is_set():
            try:
                r = s.get(BASE + "/api/articles?limit=5", timeout=TIMEOUT)
            except requests.RequestException as e:
                r = e
            self.record("GET", r)

    def write(self):
        s = requests.Session()
        h = {"Authorization": "Token " + self.token}
        while not self.stop.is_set():
            try:
                r = s.post(BASE + "/api/articles", headers=h, json={
                    "article": {"title": "load " + uuid.uuid4().hex,
                                "description": "d", "body": "b"}},
                    timeout=TIMEOUT)
            except requests.RequestException as e:
                r = e
            self.record("POST", r)
            time.sleep(0.05)

    def __enter__(self):
        for t in self.threads:
            t.start()
        return self

    def __exit__(self, *exc):
        self.stop.set()
        for t in self.threads:
            t.join()


def pod_ip(name):
    return inspect(name, "{{range .NetworkSettings.Networks}}"
                   "{{.IPAddress}}{{end}}")


def upstreams_since(edge, since):
    """Upstream addresses of /api/ requests in the edge's access log."""
    r = podman("logs", "--since", since, edge["name"], check_rc=False)
    ups = []
    for line in (r.stdout + r.stderr).splitlines():
        try:
            e = json.loads(line)
        except ValueError:
            continue
        if e.get("uri", "").startswith("/api/") and e.get("upstream"):
            ups.append(e["upstream"])
    return ups


def replace_under_load(cl, old, edge, token):
    with Load(token) as load:
        time.sleep(2)
        new = cl.start_pod("Deployment", "blog-fcgi")
        if not ready(new):
            return
        new_ip = pod_ip(new["name"])
        # The edge re-resolves the headless Service every 5 s.
        deadline = time.monotonic() + 20
        seen = False
        while time.monotonic() < deadline and not seen:
            t_from = time.strftime("%Y-%m-%dT%H:%M:%SZ",
                                   time.gmtime(time.time() - 3))
            seen = any(u.startswith(new_ip + ":")
                       for u in upstreams_since(edge, t_from))
            time.sleep(1)
        check("the edge sends requests to the new blog pod", seen, new_ip)
        code = stop_pod(old)
        check(f"{old['name']} drains on SIGTERM and exits 0", code == 0,
              f"exit {code}")
        t_stop = time.time()
        # The pod left DNS before its preStop hook, which outlasts the
        # edge's DNS validity (valid=5s): by SIGTERM the edge no longer
        # sends it anything. Keep the load on a while after it exited.
        time.sleep(9)

    def since(t):
        return upstreams_since(edge, time.strftime("%Y-%m-%dT%H:%M:%SZ",
                                                   time.gmtime(t)))
    after = since(t_stop + 1)
    check("after the old pod stopped, only the new pod was tried",
          after and all(u == f"{new_ip}:9000" for u in after),
          f"{len(after)} requests, upstreams {sorted(set(after))[:4]}")
    check("no request failed during the replacement",
          load.ok > 0 and not load.failed,
          f"{load.ok} ok, failed {load.failed[:5]}")
    return new


# ------------------------------------------------------------ main

def show_errors():
    """After a failure: what the pods logged at warn or error, and the
    edge's non-2xx answers, before the containers are removed."""
    names = podman("ps", "-a", "--format", "{{.Names}}",
                   check_rc=False).stdout.split()
    for n in names:
        r = podman("logs", n, check_rc=False)
        lines = [x for x in (r.stdout + r.stderr).splitlines()
                 if '"level":"error"' in x or '"level":"warn"' in x or
                 (re.search(r'"status":5\d\d', x) and "/login" not in x)]
        for x in lines[-12:]:
            log(f"{n}: {x[:400]}")


def cleanup():
    # The storage is private to this checkout (k8s/images/engine.sh):
    # every container in it is this test's.
    podman("rm", "-a", "-f", "-t", "0", check_rc=False)
    podman("network", "rm", "-f", NET, check_rc=False)


def main():
    for tool in ("podman", "kubectl", "nsenter", "curl"):
        if subprocess.run(["sh", "-c", f"command -v {tool}"],
                          capture_output=True).returncode:
            print(f"containers: {tool} is not installed "
                  "(tests/stack.sh deps)", file=sys.stderr)
            return 1
    mysock = os.path.join(VAR, "run", "mysqld.sock")
    pgsock = os.path.join(VAR, "run", f".s.PGSQL.{PG_PORT}")
    for s in (mysock, pgsock):
        if not os.path.exists(s):
            print(f"containers: {s} missing: the local stack must be up "
                  "(tests/stack.sh up)", file=sys.stderr)
            return 1
    cleanup()
    subprocess.run(["rm", "-rf", PODS], check=True)
    os.makedirs(PODS)
    podman("network", "create", f"--subnet={SUBNET}", NET)
    gateway = SUBNET.replace(".0/24", ".1")
    try:
        db_hosts = start_relay("mariadb", 3306, mysock) + \
            start_relay("postgresql", 5432, pgsock)
        cl = Cluster(db_hosts)
        for job in ("blog-migrate", "pay-migrate"):
            for run in (1, 2):
                ok, attempt, pod = cl.run_job(job)
                check(f"Job {job} completes (run {run})", ok and attempt == 0,
                      f"attempts {attempt + 1}")
        pay = cl.start_pod("Deployment", "pay-fcgi")
        blog = cl.start_pod("Deployment", "blog-fcgi")
        # The edge finds kube-dns at the network's DNS server (aardvark).
        edge = cl.start_pod("Deployment", "nginx", extra=(
            f"--add-host=kube-dns.kube-system.svc.cluster.local:{gateway}",
            f"--publish=127.0.0.1:{EDGE_PORT}:8080"))
        if not all(ready(p) for p in (pay, blog, edge)):
            for p in (pay, blog, edge):
                log(f"--- {p['name']} log:\n" + podman(
                    "logs", "--tail", "20", p["name"],
                    check_rc=False).stderr)
            return 1
        for p in (blog, pay):
            check_pod_settings(p)
        user = smoke()
        if user is None:
            return 1
        # The replacement first: it must be checked even when the logins
        # below kill the pod.
        blog = replace_under_load(cl, blog, edge, user["token"]) or blog
        if running(blog["name"]):
            t0 = time.monotonic()
            counts = concurrent_logins(user, blog)
            log(f"64 logins took {time.monotonic() - t0:.1f}s: {counts}")
        else:
            check("a running blog pod for the concurrent logins", False)
    finally:
        if any(not r[1] for r in RESULTS):
            show_errors()
        if os.environ.get("CONTAINERS_KEEP") != "1":
            cleanup()
    failed = [r for r in RESULTS if not r[1]]
    log(f"done in {time.monotonic() - STARTED:.0f}s")
    print(f"containers: {len(RESULTS) - len(failed)} passed, "
          f"{len(failed)} failed")
    for name, _, detail in failed:
        print(f"  FAILED {name}: {detail}")
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
