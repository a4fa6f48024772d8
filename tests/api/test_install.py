"""Plain hosts: `make install` (dist/install.sh), the systemd units and the
nginx snippet.

- the units pass `systemd-analyze verify` (and a broken copy does not);
- every unit is sandboxed the same way and takes its secrets as
  credentials;
- a DESTDIR install lays out the tree with the final paths inside the files
  and keeps the administrator's settings on a reinstall;
- an installed tree runs against the local stack's databases the way
  systemd would start it (EnvironmentFile, Environment, LoadCredential,
  RuntimeDirectory), behind an nginx that includes the snippet in a
  minimal server block (`nginx -t`, then real requests);
- SIGTERM stops the installed services cleanly (exit 0).
"""

import os
import re
import shutil
import signal
import subprocess
import time

import pytest
import requests

from blog_support import Api
from conftest import PORT_OFFSET, ROOT

UNITS = ("conduit-blog", "conduit-blog-migrate", "conduit-pay",
         "conduit-pay-migrate")
NGINX_PORT = 8095 + PORT_OFFSET
BLOG_ADMIN = 9290 + PORT_OFFSET
PAY_ADMIN = 9390 + PORT_OFFSET


def install(env_extra, check=True):
    env = {k: v for k, v in os.environ.items()
           if k not in ("DESTDIR", "PREFIX", "SYSCONFDIR", "RUNDIR")}
    env.update(env_extra)
    return subprocess.run([os.path.join(ROOT, "dist/install.sh")], env=env,
                          capture_output=True, text=True, check=check)


@pytest.fixture(scope="module")
def tree(tmp_path_factory):
    """A relocated install (no DESTDIR): every path in the files exists on
    this machine, so the units can be verified and the tree run."""
    p = tmp_path_factory.mktemp("inst")
    install({"PREFIX": f"{p}/usr", "SYSCONFDIR": f"{p}/etc",
             "RUNDIR": f"{p}/run", "NGINX_GROUP": "root"})
    return p


def unit_text(tree, u):
    with open(f"{tree}/usr/lib/systemd/system/{u}.service") as f:
        return f.read()


def verify(unit_dir, *paths):
    env = {**os.environ, "SYSTEMD_UNIT_PATH": f"{unit_dir}:"}
    return subprocess.run(["systemd-analyze", "verify", *paths], env=env,
                          capture_output=True, text=True)


def test_units_pass_systemd_analyze_verify(tree):
    d = f"{tree}/usr/lib/systemd/system"
    r = verify(d, *[f"{d}/{u}.service" for u in UNITS])
    assert r.returncode == 0 and not (r.stdout + r.stderr).strip(), \
        r.stdout + r.stderr


def test_verify_catches_a_broken_unit(tree, tmp_path):
    text = unit_text(tree, "conduit-blog").replace(
        "ProtectSystem=strict", "ProtectSystm=strict")
    (tmp_path / "conduit-blog.service").write_text(text)
    shutil.copy(f"{tree}/usr/lib/systemd/system/conduit-blog-migrate.service",
                tmp_path)
    r = verify(str(tmp_path), str(tmp_path / "conduit-blog.service"))
    assert "ProtectSystm" in r.stdout + r.stderr


@pytest.mark.parametrize("u", UNITS)
def test_units_are_hardened(tree, u):
    t = unit_text(tree, u)
    keys = {}
    for line in t.splitlines():
        if "=" in line and not line.startswith("#"):
            k, v = line.split("=", 1)
            keys.setdefault(k, []).append(v)
    for k, v in {"ProtectSystem": "strict", "NoNewPrivileges": "yes",
                 "DynamicUser": "yes", "PrivateTmp": "yes",
                 "ProtectHome": "yes", "CapabilityBoundingSet": "",
                 "RestrictAddressFamilies": "AF_UNIX AF_INET AF_INET6"
                 }.items():
        assert keys.get(k) == [v], (u, k, keys.get(k))
    assert keys.get("EnvironmentFile"), u
    # Every secret is a credential, never a plain setting.
    creds = {v.split(":", 1)[0] for v in keys["LoadCredential"]}
    files = [v for v in keys["Environment"] if "_FILE=" in v]
    assert files and all(f.split("=", 1)[1].startswith("%d/") and
                         f.split("/", 1)[1] in creds for f in files), files
    assert not any(re.match(r"(BLOG_DB_PASSWORD|PAY_DB_URL)=", v)
                   for v in keys["Environment"])
    if not u.endswith("migrate"):
        listen = [v for v in keys["Environment"] if v.startswith("LISTEN=")]
        assert listen == [f"LISTEN=%t/{u}/{u.split('-')[1]}.sock"]
        assert keys["RuntimeDirectory"] == [u]


def test_destdir_install(tmp_path):
    d = tmp_path / "dest"
    install({"DESTDIR": str(d), "PREFIX": "/usr"})
    for f in ("usr/bin/blog-fcgi", "usr/bin/pay-fcgi",
              "usr/share/conduit/nginx/conduit.conf",
              "usr/share/conduit/nginx/fastcgi_params",
              "etc/conduit/blog.env", "etc/conduit/pay.env",
              "etc/conduit/blog-migrate.env"):
        assert (d / f).is_file(), f
    for u in UNITS:
        t = (d / f"usr/lib/systemd/system/{u}.service").read_text()
        assert str(d) not in t and not re.search(r"@[A-Z_]+@", t)
        assert "ExecStart=/usr/bin/" in t
    assert oct((d / "etc/conduit/credentials").stat().st_mode)[-3:] == "700"
    snippet = (d / "usr/share/conduit/nginx/conduit.conf").read_text()
    assert "unix:/run/conduit-blog/blog.sock" in snippet
    assert "include /usr/share/conduit/nginx/fastcgi_params;" in snippet
    # The administrator's settings survive a reinstall.
    (d / "etc/conduit/blog.env").write_text("WORKERS=3\n")
    install({"DESTDIR": str(d), "PREFIX": "/usr"})
    assert (d / "etc/conduit/blog.env").read_text() == "WORKERS=3\n"
    r = install({"DESTDIR": str(d), "PREFIX": "usr"}, check=False)
    assert r.returncode != 0 and "absolute" in r.stderr


# ------------------------------------------------------------ running it

def read_env_file(path, env):
    with open(path) as f:
        for line in f:
            line = line.strip()
            if line and not line.startswith("#"):
                k, v = line.split("=", 1)
                env[k] = v


def systemd_like(tree, u, creds_src):
    """The environment and command systemd would give unit u: env files in
    order, then Environment=, with %d the unit's credentials directory
    (filled from LoadCredential=) and %t the runtime directory."""
    t = unit_text(tree, u)
    creds = tree / "creds" / u
    creds.mkdir(parents=True, exist_ok=True)
    rt = f"{tree}/run"
    env = {"PATH": "/usr/bin:/bin"}
    cmd = None
    for line in t.splitlines():
        if line.startswith("EnvironmentFile="):
            read_env_file(line.split("=", 1)[1], env)
        elif line.startswith("Environment="):
            k, v = line.split("=", 2)[1:]
            env[k] = v.replace("%d", str(creds)).replace("%t", rt)
        elif line.startswith("LoadCredential="):
            name, src = line.split("=", 1)[1].split(":", 1)
            assert src.startswith(f"{tree}/etc/conduit/credentials/")
            shutil.copy(creds_src[name], creds / name)
            os.chmod(creds / name, 0o400)
        elif line.startswith("ExecStart="):
            cmd = line.split("=", 1)[1].split()
        elif line.startswith("RuntimeDirectory="):
            os.makedirs(f"{rt}/{line.split('=', 1)[1]}", exist_ok=True)
    return env, cmd


def test_installed_tree_runs_behind_the_snippet(tree, stack):
    var = stack.var
    sec, keys = f"{var}/secrets", f"{var}/keys"
    creds_src = {
        "jwt-private.pem": f"{keys}/jwt-private.pem",
        "jwt-public.pem": f"{keys}/jwt-public.pem",
        "blog-db-app.password": f"{sec}/blog_app.password",
        "blog-db-owner.password": f"{sec}/blog_owner.password",
        "pay-db-app.url": f"{sec}/pay_app.url",
        "pay-db-owner.url": f"{sec}/pay_owner.url",
    }
    # The administrator's part: settings for this host's databases.
    etc = tree / "etc/conduit"
    with open(etc / "blog.env", "a") as f:
        f.write(f"BLOG_DB_PORT={3307 + PORT_OFFSET}\n"
                f"ADMIN_LISTEN=127.0.0.1:{BLOG_ADMIN}\nWORKERS=2\n"
                "BLOG_IDENTITY_URLS=http://127.0.0.1:"
                f"{PAY_ADMIN}/internal/identity\n")
    with open(etc / "pay.env", "a") as f:
        f.write(f"PAY_SANDBOX=1\nADMIN_LISTEN=127.0.0.1:{PAY_ADMIN}\n"
                "WORKERS=2\n")
    for u in ("conduit-blog-migrate", "conduit-pay-migrate"):
        env, cmd = systemd_like(tree, u, creds_src)
        r = subprocess.run(cmd, env=env, capture_output=True, text=True,
                           timeout=120)
        assert r.returncode == 0, (u, r.stderr[-500:])
    procs = []
    ngx_dir = tree / "nginx"
    ngx_dir.mkdir()
    try:
        for u in ("conduit-blog", "conduit-pay"):
            env, cmd = systemd_like(tree, u, creds_src)
            procs.append(subprocess.Popen(
                cmd, env=env, stdout=subprocess.DEVNULL,
                stderr=open(tree / f"{u}.log", "w")))
        conf = ngx_dir / "nginx.conf"
        conf.write_text(f"""
user root;
pid {ngx_dir}/nginx.pid;
error_log {ngx_dir}/error.log;
events {{}}
http {{
	access_log off;
	client_body_temp_path {ngx_dir}/tmp;
	fastcgi_temp_path {ngx_dir}/tmp;
	server {{
		listen 127.0.0.1:{NGINX_PORT};
		include {tree}/usr/share/conduit/nginx/conduit.conf;
	}}
}}
""")
        r = subprocess.run(["nginx", "-t", "-q", "-p", f"{ngx_dir}/", "-e",
                            f"{ngx_dir}/error.log", "-c", str(conf)],
                           capture_output=True, text=True)
        assert r.returncode == 0, r.stderr
        subprocess.run(["nginx", "-p", f"{ngx_dir}/", "-e",
                        f"{ngx_dir}/error.log", "-c", str(conf)], check=True)
        base = f"http://127.0.0.1:{NGINX_PORT}"
        deadline = time.monotonic() + 30
        while True:
            try:
                # Readiness is on each service's admin port; the public
                # health routes go through the snippet.
                ok = [requests.get(u, timeout=5).status_code for u in (
                    f"http://127.0.0.1:{BLOG_ADMIN}/readyz",
                    f"http://127.0.0.1:{PAY_ADMIN}/readyz",
                    base + "/api/healthz", base + "/pay/v1/healthz")]
                if ok == [200] * 4:
                    break
            except requests.RequestException:
                pass
            assert time.monotonic() < deadline, "installed services not ready"
            assert all(x.poll() is None for x in procs), \
                (tree / "conduit-blog.log").read_text()[-500:]
            time.sleep(0.2)
        with Api(base, timeout=30) as api:
            tok = api.register("inst")["token"]
        r = requests.get(base + "/pay/v1/accounts", timeout=10,
                         headers={"Authorization": "Token " + tok})
        assert r.status_code == 200, r.text
        assert requests.get(base + "/api", timeout=5).status_code == 404
        # The socket is the service's, mode 0660 (the unit's group may
        # connect, nobody else).
        st = os.stat(f"{tree}/run/conduit-blog/blog.sock")
        assert oct(st.st_mode)[-3:] == "660"
    finally:
        pid_file = ngx_dir / "nginx.pid"
        if pid_file.exists():
            pid = int(pid_file.read_text())
            os.kill(pid, signal.SIGQUIT)
            for _ in range(100):
                if not os.path.exists(f"/proc/{pid}"):
                    break
                time.sleep(0.1)
        for x in procs:
            x.send_signal(signal.SIGTERM)
    for x in procs:
        assert x.wait(timeout=40) == 0


def test_make_deb():
    r = subprocess.run([os.path.join(ROOT, "dist/deb.sh")],
                       capture_output=True, text=True, check=True)
    deb = r.stdout.strip().splitlines()[-1]
    info = subprocess.run(["dpkg-deb", "-f", deb, "Depends", "Package"],
                          capture_output=True, text=True, check=True).stdout
    for pkg in ("libpq5", "libmariadb3", "libsodium23", "systemd"):
        assert pkg in info, info
    files = subprocess.run(["dpkg-deb", "-c", deb], capture_output=True,
                           text=True, check=True).stdout
    for f in ("./usr/bin/blog-fcgi", "./usr/bin/pay-fcgi",
              "./usr/lib/systemd/system/conduit-blog.service",
              "./usr/share/conduit/nginx/conduit.conf",
              "./etc/conduit/blog.env"):
        assert f in files, f
    conff = subprocess.run(["dpkg-deb", "-I", deb, "conffiles"],
                           capture_output=True, text=True,
                           check=True).stdout.split()
    assert "/etc/conduit/blog.env" in conff
    # Stripped: no debug sections.
    tmp = subprocess.run(["mktemp", "-d"], capture_output=True, text=True,
                         check=True).stdout.strip()
    try:
        subprocess.run(["dpkg-deb", "-x", deb, tmp], check=True)
        sec = subprocess.run(["objdump", "-h", f"{tmp}/usr/bin/blog-fcgi"],
                             capture_output=True, text=True,
                             check=True).stdout
        assert ".debug_info" not in sec
    finally:
        shutil.rmtree(tmp)
