"""Helpers for tests that talk FastCGI to a replica directly, past nginx (no
tests in here): replicas a test starts with settings of its own, and paths
nginx never forwards. Requests go through cgi-fcgi (Debian's libfcgi-bin),
the FastCGI client the stack already installs."""

import json
import os
import subprocess
import time


def fcgi(addr, method, path, body=None, headers=None, timeout=60):
    """One request to the replica listening on addr (a socket path or
    host:port); path may carry a query. body: a dict sent as JSON;
    headers: {"Authorization": ...}, sent as the CGI variables nginx would
    set. Returns (status, headers with lower-case names, JSON body or
    None)."""
    uri, _, query = path.partition("?")
    env = {"PATH": os.environ["PATH"], "REQUEST_METHOD": method,
           "DOCUMENT_URI": uri, "SCRIPT_NAME": uri, "QUERY_STRING": query,
           "REQUEST_ID": "fcgi-%d" % time.monotonic_ns()}
    for k, v in (headers or {}).items():
        env["HTTP_" + k.upper().replace("-", "_")] = v
    data = b""
    if body is not None:
        data = json.dumps(body).encode()
        env["CONTENT_TYPE"] = "application/json"
        env["CONTENT_LENGTH"] = str(len(data))
    out = subprocess.run(["cgi-fcgi", "-bind", "-connect", addr], env=env,
                         input=data, capture_output=True,
                         timeout=timeout).stdout
    head, _, raw = out.partition(b"\r\n\r\n")
    answer = {}
    for line in head.decode("latin-1").split("\r\n"):
        k, _, v = line.partition(":")
        answer[k.strip().lower()] = v.strip()
    assert "status" in answer, "no FastCGI answer from %s: %r" % (
        addr, out[:200])
    return (int(answer["status"].split()[0]), answer,
            json.loads(raw) if raw else None)


def start(binary, env, sock, log_path, wait=10):
    """Start a replica (binary, with env plus PATH) that listens on sock,
    its stderr in log_path; returns the process once sock exists. Fails,
    with the log, when the binary is missing, exits first, or does not
    listen within wait seconds."""
    assert os.path.isfile(binary), "no %s (run make)" % binary
    with open(log_path, "w") as log:
        p = subprocess.Popen([binary], env=dict(env, PATH=os.environ["PATH"]),
                             stdout=subprocess.DEVNULL, stderr=log)
    deadline = time.monotonic() + wait
    while not os.path.exists(sock):
        if p.poll() is not None or time.monotonic() > deadline:
            p.kill()
            p.wait()
            with open(log_path) as f:
                raise AssertionError("%s did not listen on %s:\n%s" % (
                    binary, sock, f.read()[-2000:]))
        time.sleep(0.05)
    return p
