"""blog-fcgi's database settings: BLOG_DB_URL instead of BLOG_DB_*, and one
clear line (exit 2) for a bad or ambiguous setting."""

import os
import subprocess

from blog_support import BLOG_BIN as BIN, app_db_url
from fcgi_support import fcgi, start


def _env(var_dir, **extra):
    env = {"PATH": os.environ["PATH"],
           "JWT_PUBLIC_KEY_FILE": os.path.join(var_dir, "keys",
                                               "jwt-public.pem"),
           "JWT_PRIVATE_KEY_FILE": os.path.join(var_dir, "keys",
                                                "jwt-private.pem"),
           "WORKERS": "1"}
    env.update(extra)
    return env


def test_db_url_serves(var_dir, tmp_path):
    sock = str(tmp_path / "blog.sock")
    p = start(BIN, _env(var_dir, LISTEN=sock, BLOG_DB_URL=app_db_url(var_dir)),
              sock, str(tmp_path / "blog.log"))
    try:
        st, _, body = fcgi(sock, "GET", "/readyz")
        assert st == 200, body
        assert body["database"] == "ok", body
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
