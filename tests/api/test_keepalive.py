"""Upstream keepalive cannot stall the services (issue: keepalive-safe loop).

libfcgi alone pins a worker thread to every kept-alive connection, so a
replica with 8 workers behind nginx's keepalive stalls once nginx holds more
connections than that. Here a private nginx with TWO keepalive upstream blocks
over the same blog replicas (so nginx's per-block "keepalive" cap cannot save
us) is driven with 256 client connections per block for a few seconds; every
request must answer 200 and none may time out.
"""

import glob
import os
import re
import shutil
import subprocess
import tempfile
import time

import pytest
import requests

from conftest import PORT_OFFSET

PORT = 8095 + PORT_OFFSET
WRK_SECONDS = 4
CONNECTIONS = 256


def _upstreams(var_dir):
    socks = sorted(glob.glob(os.path.join(var_dir, "run", "blog-*.sock")))
    if socks:
        return ["unix:" + s for s in socks]
    # STACK_TRANSPORT=tcp: replicas on 9001, 9002, ...
    admins = sorted(glob.glob(os.path.join(var_dir, "run", "blog-*.admin")))
    return ["127.0.0.1:%d" % (9000 + PORT_OFFSET + i + 1)
            for i in range(len(admins))]


def _config(tmp, var_dir, params):
    ups = _upstreams(var_dir)
    assert ups, "no blog replica found under %s/run: is the stack up?" % var_dir
    servers = "".join("server %s;" % u for u in ups)
    user = "user root;" if os.geteuid() == 0 else ""
    loc = """
        location /{name}/ {{
            rewrite ^/{name}/(.*)$ /api/$1 break;
            include {params};
            fastcgi_pass {name};
            fastcgi_keep_conn on;
            fastcgi_read_timeout 5s;
        }}"""
    return """{user}
worker_processes 2;
pid {tmp}/nginx.pid;
error_log {tmp}/error.log warn;
events {{ worker_connections 4096; }}
http {{
    access_log off;
    client_body_temp_path {tmp}/cb; fastcgi_temp_path {tmp}/f;
    proxy_temp_path {tmp}/p; uwsgi_temp_path {tmp}/u; scgi_temp_path {tmp}/s;
    upstream one {{ {servers} keepalive 128; }}
    upstream two {{ {servers} keepalive 128; }}
    server {{
        listen 127.0.0.1:{port};
        {loc_one}
        {loc_two}
    }}
}}
""".format(user=user, tmp=tmp, servers=servers, port=PORT,
           loc_one=loc.format(name="one", params=params),
           loc_two=loc.format(name="two", params=params))


def _wrk(url):
    return subprocess.Popen(
        ["wrk", "-t1", "-c%d" % CONNECTIONS, "-d%ds" % WRK_SECONDS,
         "--timeout", "2s", url],
        stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)


def _parse(out):
    total = int(re.search(r"(\d+) requests in", out).group(1))
    non2xx = re.search(r"Non-2xx or 3xx responses: (\d+)", out)
    errors = re.search(r"Socket errors: connect (\d+), read (\d+), "
                       r"write (\d+), timeout (\d+)", out)
    return {
        "requests": total,
        "non2xx": int(non2xx.group(1)) if non2xx else 0,
        "timeouts": int(errors.group(4)) if errors else 0,
        "connect_errors": int(errors.group(1)) if errors else 0,
    }


@pytest.fixture
def keepalive_edge(stack):
    if shutil.which("wrk") is None:
        pytest.fail("wrk is not installed (make deps installs it)")
    tmp = tempfile.mkdtemp(prefix="ka-nginx-")
    conf = os.path.join(tmp, "nginx.conf")
    with open(conf, "w") as f:
        f.write(_config(tmp, stack.var,
                        os.path.join(stack.root, "nginx", "fastcgi_params")))
    subprocess.run(["nginx", "-t", "-q", "-c", conf, "-p", tmp], check=True)
    subprocess.run(["nginx", "-c", conf, "-p", tmp], check=True)
    try:
        deadline = time.time() + 5
        while True:
            try:
                r = requests.get("http://127.0.0.1:%d/one/tags" % PORT,
                                 timeout=2)
                if r.status_code == 200:
                    break
            except requests.RequestException:
                pass
            assert time.time() < deadline, "private nginx did not come up"
            time.sleep(0.1)
        yield "http://127.0.0.1:%d" % PORT
    finally:
        subprocess.run(["nginx", "-c", conf, "-p", tmp, "-s", "stop"])
        time.sleep(0.3)
        shutil.rmtree(tmp, ignore_errors=True)


def test_two_keepalive_blocks_with_256_connections_each(keepalive_edge):
    procs = [_wrk(keepalive_edge + "/one/tags"),
             _wrk(keepalive_edge + "/two/tags")]
    results = []
    for p in procs:
        out, _ = p.communicate(timeout=WRK_SECONDS + 30)
        assert p.returncode == 0, out
        results.append(_parse(out))
    print("keepalive load:", results)
    for r in results:
        assert r["timeouts"] == 0, results
        assert r["connect_errors"] == 0, results
        assert r["non2xx"] == 0, results
        # A pool stalled behind kept-alive connections answers about as
        # many requests as it has workers, then only timeouts; a live one
        # answers every connection many times over. A count, not a rate:
        # a busy machine slows a live pool but never below this.
        assert r["requests"] >= CONNECTIONS, results
