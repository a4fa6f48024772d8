"""kube2podman: turn rendered Kubernetes workloads into `podman run` plans.

`podman kube play` (4.3, Debian 12) cannot run our manifests: it panics on
Secret volumes and knows neither StatefulSets nor Jobs. This module
translates the parts of a pod template that the container test relies on,
and refuses what it does not understand, so that a manifest change it cannot
honour fails loudly instead of being silently dropped:

  env (value, configMapKeyRef, secretKeyRef, fieldRef to the namespace or
  the pod name, resourceFieldRef to the container's own requests or
  limits), envFrom configMapRef; command/args; Secret and ConfigMap
  volumes written as files with their mode and the pod's fsGroup as group;
  emptyDir (tmpfs with its sizeLimit when medium is Memory, a fresh
  world-writable folder otherwise); runAsUser/runAsGroup/fsGroup,
  readOnlyRootFilesystem, capabilities, allowPrivilegeEscalation,
  the memory limit (no swap on top), CPU limit; probes and preStop are
  returned for the caller to run (the kubelet's job); headless Services
  become network aliases (NAME, NAME.NS, NAME.NS.svc,
  NAME.NS.svc.cluster.local) of the pods they select.

Pure functions: no podman call and no file written here (tested by
tests/containers/test_kube2podman.py); tests/containers/run.py executes
the plans.
"""

import base64
import json
import re

FIELD_REFS = ("metadata.namespace", "metadata.name")
QUANTITY = re.compile(r"^([0-9]+)(Ki|Mi|Gi|Ti|k|M|G|T)?$")
UNITS = {None: 1, "k": 10**3, "M": 10**6, "G": 10**9, "T": 10**12,
         "Ki": 2**10, "Mi": 2**20, "Gi": 2**30, "Ti": 2**40}


class Unsupported(Exception):
    """A manifest field the translation does not honour."""


def load_all(text):
    import yaml
    return [d for d in yaml.safe_load_all(text) if d]


def quantity_bytes(q):
    m = QUANTITY.match(str(q))
    if not m:
        raise Unsupported(f"memory quantity {q!r}")
    return int(m.group(1)) * UNITS[m.group(2)]


def cpu_cores(q):
    q = str(q)
    if q.endswith("m"):
        return int(q[:-1]) / 1000
    return float(q)


def index(objs):
    """Objects by (kind, name)."""
    return {(o["kind"], o["metadata"]["name"]): o for o in objs}


def selects(selector, labels):
    return bool(selector) and all(labels.get(k) == v
                                  for k, v in selector.items())


def aliases(objs, labels, namespace):
    """DNS names under which the pod is found: every Service selecting it."""
    out = []
    for o in objs:
        if o["kind"] != "Service":
            continue
        if not selects(o["spec"].get("selector"), labels):
            continue
        n = o["metadata"]["name"]
        out += [n, f"{n}.{namespace}", f"{n}.{namespace}.svc",
                f"{n}.{namespace}.svc.cluster.local"]
    return out


def _secret_value(secrets, name, key):
    if name not in secrets or key not in secrets[name]:
        raise KeyError(f"secret {name} has no key {key}")
    v = secrets[name][key]
    return v.decode() if isinstance(v, bytes) else v


def env_of(container, objs_by, secrets, namespace, pod_name):
    """The container's environment, in Kubernetes' order: envFrom first,
    then env (a later entry wins)."""
    env = {}
    for src in container.get("envFrom", []):
        if "configMapRef" not in src or src.get("prefix"):
            raise Unsupported(f"envFrom {src}")
        cm = objs_by[("ConfigMap", src["configMapRef"]["name"])]
        env.update(cm.get("data", {}))
    for e in container.get("env", []):
        if "value" in e:
            env[e["name"]] = str(e["value"])
            continue
        vf = e.get("valueFrom", {})
        if "secretKeyRef" in vf:
            r = vf["secretKeyRef"]
            env[e["name"]] = _secret_value(secrets, r["name"], r["key"])
        elif "configMapKeyRef" in vf:
            r = vf["configMapKeyRef"]
            env[e["name"]] = objs_by[("ConfigMap", r["name"])]["data"][r["key"]]
        elif "resourceFieldRef" in vf:
            env[e["name"]] = resource_value(container, vf["resourceFieldRef"])
        elif "fieldRef" in vf:
            path = vf["fieldRef"]["fieldPath"]
            if path not in FIELD_REFS:
                raise Unsupported(f"fieldRef {path}")
            env[e["name"]] = namespace if path == "metadata.namespace" \
                else pod_name
        else:
            raise Unsupported(f"env {e['name']}: {vf}")
    return env


def resource_value(container, ref):
    """The downward API's value of a container's request or limit,
    rounded up in units of the divisor (cpu "50m" with divisor 1 is 1)."""
    if ref.get("containerName", container["name"]) != container["name"]:
        raise Unsupported(f"resourceFieldRef to another container: {ref}")
    kind, _, res = ref["resource"].partition(".")
    q = container.get("resources", {}).get(kind, {}).get(res)
    if kind not in ("requests", "limits") or res not in ("cpu", "memory") \
            or q is None:
        # An unset limit is the node's allocatable, which has no meaning
        # for a container here.
        raise Unsupported(f"resourceFieldRef {ref}")
    div = ref.get("divisor", "1")
    if res == "cpu":
        whole = cpu_cores(q) / cpu_cores(div)
    else:
        whole = quantity_bytes(q) / quantity_bytes(div)
    return str(max(1, -int(-whole // 1)))


def _items(data, vol_items):
    if not vol_items:
        return [(k, k) for k in sorted(data)]
    return [(i["key"], i["path"]) for i in vol_items]


def volumes_of(pod, container, objs_by, secrets, host_dir):
    """Files to write on the host and the podman mount options.

    Returns (files, mounts): files are dicts with path (relative to
    host_dir), data (bytes), mode, gid; mounts are podman --mount values."""
    spec = pod["spec"]
    fs_group = spec.get("securityContext", {}).get("fsGroup")
    by_name = {v["name"]: v for v in spec.get("volumes", [])}
    files, mounts, dirs = [], [], []
    for m in container.get("volumeMounts", []):
        if m.get("subPath"):
            raise Unsupported(f"subPath in {m}")
        v = by_name[m["name"]]
        ro = ",ro=true" if m.get("readOnly") else ""
        dst = m["mountPath"]
        if "secret" in v or "configMap" in v:
            if "secret" in v:
                src = v["secret"]
                data = {k: (x.encode() if isinstance(x, str) else x)
                        for k, x in secrets[src["secretName"]].items()}
                mode = src.get("defaultMode", 0o644)
            else:
                src = v["configMap"]
                data = {k: x.encode() for k, x in
                        objs_by[("ConfigMap", src["name"])]["data"].items()}
                mode = src.get("defaultMode", 0o644)
            for key, path in _items(data, src.get("items")):
                files.append({"path": f"{m['name']}/{path}",
                              "data": data[key], "mode": mode,
                              "gid": fs_group})
            mounts.append(f"type=bind,src={host_dir}/{m['name']},"
                          f"dst={dst}{ro}")
        elif "emptyDir" in v:
            ed = v["emptyDir"] or {}
            if ed.get("medium") == "Memory":
                size = quantity_bytes(ed["sizeLimit"]) if "sizeLimit" in ed \
                    else None
                opt = f",tmpfs-size={size}" if size else ""
                mounts.append(f"type=tmpfs,dst={dst},tmpfs-mode=1777{opt}")
            else:
                dirs.append(f"{m['name']}")
                mounts.append(f"type=bind,src={host_dir}/{m['name']},"
                              f"dst={dst}")
        else:
            raise Unsupported(f"volume {v}")
    return files, mounts, dirs


def security_args(pod, container):
    psc = pod["spec"].get("securityContext", {})
    csc = container.get("securityContext", {})
    sc = {**psc, **csc}
    args = []
    uid = sc.get("runAsUser")
    if sc.get("runAsNonRoot") and uid in (None, 0):
        raise Unsupported("runAsNonRoot needs a numeric non-zero runAsUser "
                          "here")
    if uid is not None:
        gid = sc.get("runAsGroup", uid)
        args.append(f"--user={uid}:{gid}")
    if psc.get("fsGroup") is not None:
        args.append(f"--group-add={psc['fsGroup']}")
    if sc.get("readOnlyRootFilesystem"):
        args.append("--read-only")
        # podman otherwise mounts its own writable tmpfs on /tmp, /run and
        # /var/tmp; Kubernetes gives only the declared volumes.
        args.append("--read-only-tmpfs=false")
    caps = sc.get("capabilities", {})
    for c in caps.get("drop", []):
        args.append(f"--cap-drop={c}")
    for c in caps.get("add", []):
        args.append(f"--cap-add={c}")
    if sc.get("allowPrivilegeEscalation") is False:
        args.append("--security-opt=no-new-privileges")
    seccomp = sc.get("seccompProfile", {}).get("type", "RuntimeDefault")
    if seccomp == "Unconfined":
        args.append("--security-opt=seccomp=unconfined")
    elif seccomp != "RuntimeDefault":
        raise Unsupported(f"seccomp {seccomp}")
    return args


def resource_args(container):
    lim = container.get("resources", {}).get("limits", {})
    args = []
    if "memory" in lim:
        b = quantity_bytes(lim["memory"])
        # Kubernetes nodes run without swap: the limit is the whole budget.
        args += [f"--memory={b}", f"--memory-swap={b}"]
    if "cpu" in lim:
        args.append(f"--cpus={cpu_cores(lim['cpu'])}")
    return args


def _port(container, p):
    if isinstance(p, int):
        return p
    for cp in container.get("ports", []):
        if cp.get("name") == p:
            return cp["containerPort"]
    raise Unsupported(f"named port {p} not declared")


def probe_of(container, kind):
    p = container.get(kind)
    if not p:
        return None
    out = {"period": p.get("periodSeconds", 10),
           "timeout": p.get("timeoutSeconds", 1),
           "failureThreshold": p.get("failureThreshold", 3),
           "initialDelay": p.get("initialDelaySeconds", 0)}
    if "httpGet" in p:
        out["http"] = {"path": p["httpGet"].get("path", "/"),
                       "port": _port(container, p["httpGet"]["port"])}
    elif "tcpSocket" in p:
        out["tcp"] = _port(container, p["tcpSocket"]["port"])
    elif "exec" in p:
        out["exec"] = p["exec"]["command"]
    else:
        raise Unsupported(f"{kind} {p}")
    return out


def pod_plan(owner, objs, secrets, *, images, network, host_dir, pod_name):
    """The plan for one pod of a Deployment, StatefulSet or Job."""
    objs_by = index(objs)
    ns = owner["metadata"]["namespace"]
    pod = owner["spec"]["template"]
    spec = pod["spec"]
    if len(spec.get("containers", [])) != 1 or spec.get("initContainers"):
        raise Unsupported(f"{owner['metadata']['name']}: one container only")
    c = spec["containers"][0]
    labels = pod["metadata"].get("labels", {})
    image = images.get(c["image"])
    if image is None:
        raise Unsupported(f"no local image for {c['image']}")
    files, mounts, dirs = volumes_of(pod, c, objs_by, secrets, host_dir)
    env = env_of(c, objs_by, secrets, ns, pod_name)
    args = [f"--name={pod_name}", f"--hostname={pod_name}",
            f"--network={network}", "--pull=never", "--restart=no",
            "--stop-timeout=%d" % spec.get("terminationGracePeriodSeconds",
                                           30)]
    for a in aliases(objs, labels, ns):
        args.append(f"--network-alias={a}")
    for k, v in sorted(labels.items()):
        args.append(f"--label={k}={v}")
    args += security_args(pod, c)
    args += resource_args(c)
    for m in mounts:
        args.append(f"--mount={m}")
    for k in sorted(env):
        args.append(f"--env={k}={env[k]}")
    if c.get("command"):
        args.append("--entrypoint=" + json.dumps(c["command"]))
    pre = c.get("lifecycle", {}).get("preStop", {})
    if pre and "exec" not in pre:
        raise Unsupported(f"preStop {pre}")
    return {
        "name": pod_name,
        "kind": owner["kind"],
        "owner": owner["metadata"]["name"],
        "image": image,
        "run_args": args,
        "cmd_args": [str(a) for a in c.get("args", [])],
        "files": [{**f, "data": base64.b64encode(f["data"]).decode()}
                  for f in files],
        "dirs": dirs,
        "probes": {k: probe_of(c, k) for k in
                   ("startupProbe", "readinessProbe", "livenessProbe")},
        "preStop": pre.get("exec", {}).get("command"),
        "grace": spec.get("terminationGracePeriodSeconds", 30),
        "restartPolicy": spec.get("restartPolicy", "Always"),
        "backoffLimit": owner["spec"].get("backoffLimit", 6)
        if owner["kind"] == "Job" else None,
        "activeDeadline": owner["spec"].get("activeDeadlineSeconds")
        if owner["kind"] == "Job" else None,
        "replicas": owner["spec"].get("replicas", 1)
        if owner["kind"] != "Job" else 1,
    }


def workloads(objs, kinds=("Deployment", "StatefulSet", "Job")):
    return [o for o in objs if o["kind"] in kinds]


def main(argv):
    """kube2podman.py RENDER.yaml SECRETS.json IMAGES.json NETWORK HOSTDIR:
    prints one JSON plan per workload (for looking at a translation)."""
    objs = load_all(open(argv[1]).read())
    secrets = json.load(open(argv[2]))
    images = json.load(open(argv[3]))
    for o in workloads(objs):
        try:
            plan = pod_plan(o, objs, secrets, images=images, network=argv[4],
                            host_dir=f"{argv[5]}/{o['metadata']['name']}",
                            pod_name=o["metadata"]["name"])
        except Unsupported as e:
            print(json.dumps({"owner": o["metadata"]["name"],
                              "unsupported": str(e)}))
            continue
        print(json.dumps(plan))
    return 0


if __name__ == "__main__":
    import sys
    sys.exit(main(sys.argv))
