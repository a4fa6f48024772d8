"""Unit tests of the manifest translation (no podman needed)."""

import base64
import os
import subprocess
import sys

import pytest

sys.path.insert(0, os.path.dirname(__file__))
import kube2podman as k2p  # noqa: E402

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(
    os.path.abspath(__file__))))

SECRETS = {
    "conduit-jwt": {"jwt-private.pem": "PRIV", "jwt-public.pem": "PUB"},
    "blog-db": {"host": "mariadb", "app-user": "blog_app",
                "app-password": "apw", "owner-user": "blog_owner",
                "owner-password": "opw"},
    "pay-db": {"app-url": "postgresql://a", "owner-url": "postgresql://o"},
}


def render_dev():
    out = subprocess.run(["kubectl", "kustomize",
                          os.path.join(ROOT, "k8s/overlays/dev")],
                         check=True, capture_output=True, text=True).stdout
    return k2p.load_all(out)


def by(objs, kind, name):
    return k2p.index(objs)[(kind, name)]


def plan(objs, kind, name, images=None):
    return k2p.pod_plan(by(objs, kind, name), objs, SECRETS,
                        images=images or {
                            "localhost/conduit/blog-fcgi:dev": "B",
                            "localhost/conduit/pay-fcgi:dev": "P",
                            "localhost/conduit/edge:dev": "E"},
                        network="net", host_dir="/h", pod_name="p1")


@pytest.fixture(scope="module")
def dev():
    return render_dev()


def arg(p, prefix):
    return [a for a in p["run_args"] if a.startswith(prefix)]


def test_resource_field_ref():
    c = {"name": "n", "resources": {"requests": {"cpu": "50m",
                                                 "memory": "64Mi"},
                                    "limits": {"cpu": "2500m"}}}
    ref = {"containerName": "n", "resource": "requests.cpu", "divisor": "1"}
    assert k2p.resource_value(c, ref) == "1"
    assert k2p.resource_value(c, {**ref, "resource": "limits.cpu"}) == "3"
    assert k2p.resource_value(c, {"resource": "requests.memory",
                                  "divisor": "1Mi"}) == "64"
    with pytest.raises(k2p.Unsupported):
        k2p.resource_value(c, {"resource": "limits.memory"})
    with pytest.raises(k2p.Unsupported):
        k2p.resource_value(c, {**ref, "containerName": "other"})


def test_quantities():
    assert k2p.quantity_bytes("128Mi") == 128 * 2**20
    assert k2p.quantity_bytes("1G") == 10**9
    assert k2p.quantity_bytes(512) == 512
    with pytest.raises(k2p.Unsupported):
        k2p.quantity_bytes("1.5Gi")
    assert k2p.cpu_cores("250m") == 0.25


def test_blog_deployment(dev):
    p = plan(dev, "Deployment", "blog-fcgi")
    env = dict(a[len("--env="):].split("=", 1) for a in arg(p, "--env="))
    # configMap envFrom, secretKeyRef and plain values all arrive.
    assert env["WORKERS"] == "4" and env["LOG_LEVEL"] == "debug"
    assert env["BLOG_DB_HOST"] == "mariadb"
    assert env["BLOG_DB_USER"] == "blog_app"
    assert env["BLOG_DB_PASSWORD_FILE"] == "/etc/conduit/db/app-password"
    # The secret is a file, with the manifest's mode and the fsGroup.
    f = {x["path"]: x for x in p["files"]}
    assert base64.b64decode(f["db/app-password"]["data"]) == b"apw"
    assert f["db/app-password"]["mode"] == 0o440
    assert f["db/app-password"]["gid"] == 10001
    assert "db/owner-password" not in f   # items: only what is listed
    assert "--mount=type=bind,src=/h/db,dst=/etc/conduit/db,ro=true" \
        in p["run_args"]
    assert "--mount=type=tmpfs,dst=/tmp,tmpfs-mode=1777,tmpfs-size=%d" \
        % (16 * 2**20) in p["run_args"]
    # Security context and limits.
    assert "--user=10001:10001" in p["run_args"]
    assert "--read-only" in p["run_args"]
    assert "--cap-drop=ALL" in p["run_args"]
    assert "--security-opt=no-new-privileges" in p["run_args"]
    assert "--memory=%d" % (128 * 2**20) in p["run_args"]
    assert "--memory-swap=%d" % (128 * 2**20) in p["run_args"]
    # Probes on the named admin port, preStop and grace kept.
    assert p["probes"]["readinessProbe"]["http"] == {"path": "/readyz",
                                                      "port": 9090}
    assert p["probes"]["startupProbe"]["failureThreshold"] == 30
    c = by(dev, "Deployment", "blog-fcgi")["spec"]["template"]["spec"]
    assert p["preStop"] == c["containers"][0]["lifecycle"]["preStop"][
        "exec"]["command"]
    assert p["grace"] == c["terminationGracePeriodSeconds"]
    # The headless Service's names find the pod.
    assert "--network-alias=blog-fcgi.conduit-dev.svc.cluster.local" \
        in p["run_args"]
    assert p["image"] == "B" and p["replicas"] == 1


def test_edge_namespace_from_downward_api(dev):
    p = plan(dev, "Deployment", "nginx")
    assert "--env=POD_NAMESPACE=conduit-dev" in p["run_args"]
    assert "--network-alias=nginx" in p["run_args"]
    # A disk emptyDir is a folder, not memory.
    assert p["dirs"] == ["tmp"]
    assert p["probes"]["livenessProbe"]["tcp"] == 8080


def test_migration_job(dev):
    p = plan(dev, "Job", "blog-migrate")
    assert p["cmd_args"] == ["--migrate"]
    assert p["restartPolicy"] == "OnFailure" and p["backoffLimit"] == 6
    assert "--env=BLOG_DB_USER=blog_owner" in p["run_args"]
    # Jobs are not behind a Service.
    assert not arg(p, "--network-alias")


def test_unknown_things_are_refused(dev):
    d = by(dev, "Deployment", "blog-fcgi")
    c = d["spec"]["template"]["spec"]["containers"][0]
    c["env"].append({"name": "X", "valueFrom": {
        "fieldRef": {"fieldPath": "status.podIP"}}})
    with pytest.raises(k2p.Unsupported):
        k2p.pod_plan(d, dev, SECRETS, images={c["image"]: "B"},
                     network="n", host_dir="/h", pod_name="p")
    c["env"].pop()
    c["volumeMounts"][0]["subPath"] = "x"
    with pytest.raises(k2p.Unsupported):
        k2p.pod_plan(d, dev, SECRETS, images={c["image"]: "B"},
                     network="n", host_dir="/h", pod_name="p")
    c["volumeMounts"][0].pop("subPath")
    with pytest.raises(k2p.Unsupported):
        k2p.pod_plan(d, dev, SECRETS, images={}, network="n",
                     host_dir="/h", pod_name="p")
    sc = c["securityContext"]
    sc["runAsUser"] = 0
    with pytest.raises(k2p.Unsupported):
        k2p.pod_plan(d, dev, SECRETS, images={c["image"]: "B"},
                     network="n", host_dir="/h", pod_name="p")


def test_missing_secret_key_fails(dev):
    d = by(dev, "Deployment", "blog-fcgi")
    with pytest.raises(KeyError):
        k2p.pod_plan(d, dev, {**SECRETS, "blog-db": {"host": "x"}},
                     images={"localhost/conduit/blog-fcgi:dev": "B"}, network="n",
                     host_dir="/h", pod_name="p")
