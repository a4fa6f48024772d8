"""blog-fcgi's database settings: BLOG_DB_URL instead of BLOG_DB_*, and one
clear line (exit 2) for a bad or ambiguous setting."""

import os
import subprocess
import time

from blog_support import BLOG_BIN as BIN, app_db_url


def _env(var_dir, **extra):
    env = {"PATH": os.environ["PATH"],
           "JWT_PUBLIC_KEY_FILE": os.path.join(var_dir, "keys",
                                               "jwt-public.pem"),
           "JWT_PRIVATE_KEY_FILE": os.path.join(var_dir, "keys",
                                                "jwt-private.pem"),
           "WORKERS": "1"}
    env.update(extra)
    return env


def _fcgi_get(listen, path):
    env = {"PATH": os.environ["PATH"], "REQUEST_METHOD": "GET",
           "DOCUMENT_URI": path, "QUERY_STRING": "", "REQUEST_ID": "cfg"}
    return subprocess.run(["cgi-fcgi", "-bind", "-connect", listen],
                          env=env, capture_output=True, text=True,
                          timeout=10).stdout


def test_db_url_serves(var_dir, tmp_path):
    assert os.path.isfile(BIN), "no blog-fcgi at %s (run make)" % BIN
    sock = str(tmp_path / "blog.sock")
    p = subprocess.Popen([BIN], env=_env(var_dir, LISTEN=sock,
                                         BLOG_DB_URL=app_db_url(var_dir)),
                         stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    try:
        for _ in range(50):
            if os.path.exists(sock):
                break
            time.sleep(0.05)
        out = _fcgi_get(sock, "/readyz")
        assert out.startswith("Status: 200"), out
        assert '"database":"ok"' in out
    finally:
        p.terminate()
        assert p.wait(timeout=10) == 0


def test_db_url_errors_name_the_setting(var_dir):
    cases = [
        ({"BLOG_DB_URL": app_db_url(var_dir), "BLOG_DB_USER": "x"},
         "BLOG_DB_URL and BLOG_DB_USER are both set"),
        ({"BLOG_DB_URL": "postgres://u@h/d"}, "BLOG_DB_URL must start"),
        ({"BLOG_DB_URL": "mysql://u@h:99999/d"}, "BLOG_DB_URL: port"),
    ]
    for extra, want in cases:
        p = subprocess.run([BIN], env=_env(var_dir, LISTEN="/nonexistent",
                                           **extra),
                           capture_output=True, text=True, timeout=10)
        assert p.returncode == 2, (extra, p.stderr)
        assert want in p.stderr, (extra, p.stderr)
        assert len(p.stderr.strip().splitlines()) == 1, p.stderr
