"""The production database URL form of k8s/README.md, proven against a
PostgreSQL whose certificate comes from a private CA.

Debian 12's libpq (15) has no sslrootcert=system, and the images' user has
no home (/nonexistent), so `sslmode=verify-full` alone fails looking for
/nonexistent/.postgresql/root.crt. The documented fix is a CA file mounted
into the pod and named by sslrootcert=. This test starts a throwaway
PostgreSQL (TLS only, on 127.0.0.1:5440+STACK_PORT_OFFSET) with a server
certificate signed by a CA made here, then runs `pay-fcgi --migrate` the
way the image does (HOME=/nonexistent):
  - verify-full + sslrootcert=<the CA> connects and migrates;
  - verify-full + sslrootcert=<another CA> is refused;
  - verify-full without sslrootcert fails on the missing root.crt;
  - verify-full + sslrootcert=<the CA> but a host name the certificate
    does not name is refused.
"""

import os
import shutil
import subprocess

import pytest

from conftest import PORT_OFFSET, ROOT

PORT = 5440 + PORT_OFFSET


def sh(*cmd, **kw):
    return subprocess.run(cmd, check=True, capture_output=True, text=True,
                          **kw)


def pg_bin():
    for v in ("17", "16", "15"):
        d = f"/usr/lib/postgresql/{v}/bin"
        if os.path.exists(f"{d}/initdb"):
            return d
    pytest.fail("PostgreSQL server programs not found (tests/stack.sh deps)")


def make_ca(d, name):
    sh("openssl", "req", "-x509", "-newkey", "ec", "-pkeyopt",
       "ec_paramgen_curve:P-256", "-nodes", "-days", "2", "-subj",
       f"/CN={name}", "-keyout", f"{d}/{name}.key", "-out", f"{d}/{name}.pem")


@pytest.fixture(scope="module")
def tls_pg(stack):
    d = os.path.join(stack.var, "pgtls")
    shutil.rmtree(d, ignore_errors=True)
    os.makedirs(d)
    os.chmod(d, 0o755)
    sock = f"{d}/sock"
    os.makedirs(sock)
    shutil.chown(sock, "postgres")
    make_ca(d, "conduit-test-ca")
    make_ca(d, "other-ca")
    with open(f"{d}/san.cnf", "w") as f:
        f.write("subjectAltName=DNS:localhost,IP:127.0.0.1\n")
    sh("openssl", "req", "-newkey", "ec", "-pkeyopt",
       "ec_paramgen_curve:P-256", "-nodes", "-subj", "/CN=localhost",
       "-keyout", f"{d}/server.key", "-out", f"{d}/server.csr")
    sh("openssl", "x509", "-req", "-in", f"{d}/server.csr", "-days", "2",
       "-CA", f"{d}/conduit-test-ca.pem", "-CAkey",
       f"{d}/conduit-test-ca.key", "-CAcreateserial", "-extfile",
       f"{d}/san.cnf", "-out", f"{d}/server.pem")
    data = f"{d}/data"
    os.makedirs(data)
    shutil.chown(data, "postgres")
    shutil.chown(f"{d}/server.key", "postgres")
    os.chmod(f"{d}/server.key", 0o600)
    os.chmod(data, 0o700)
    open(f"{d}/pg.log", "w").close()
    shutil.chown(f"{d}/pg.log", "postgres")
    b = pg_bin()
    as_pg = ["runuser", "-u", "postgres", "--"]
    sh(*as_pg, f"{b}/initdb", "-D", data, "-U", "postgres", "-E", "UTF8",
       "--locale=C.UTF-8", "--auth-local=peer",
       "--auth-host=scram-sha-256", "--no-sync", cwd="/")
    with open(f"{data}/postgresql.conf", "a") as f:
        f.write(f"listen_addresses = '127.0.0.1'\nport = {PORT}\n"
                f"unix_socket_directories = '{sock}'\nssl = on\n"
                f"ssl_cert_file = '{d}/server.pem'\n"
                f"ssl_key_file = '{d}/server.key'\n"
                "max_connections = 20\nshared_buffers = 16MB\n")
    with open(f"{data}/pg_hba.conf", "w") as f:
        f.write("local all postgres peer\n"
                "hostssl all all 127.0.0.1/32 scram-sha-256\n")
    try:
        sh(*as_pg, f"{b}/pg_ctl", "-D", data, "-l", f"{d}/pg.log", "-w",
           "start", cwd="/")
        sh(*as_pg, f"{b}/psql", "-X", "-q", "-v", "ON_ERROR_STOP=1", "-h", sock,
           "-p", str(PORT), "-d", "postgres", "-c",
           "CREATE ROLE pay_owner LOGIN PASSWORD 'tls-test-pw'", "-c",
           "CREATE DATABASE pay OWNER pay_owner", cwd="/")
        yield d
    except subprocess.CalledProcessError as e:
        with open(f"{d}/pg.log") as f:
            pytest.fail(f"{e.cmd}: {e.stderr}\n{f.read()[-800:]}")
    finally:
        subprocess.run([*as_pg, f"{b}/pg_ctl", "-D", data, "-m",
                        "immediate", "stop"], cwd="/", capture_output=True)
        shutil.rmtree(d, ignore_errors=True)


def migrate(stack, url):
    env = {"PATH": "/usr/bin:/bin", "HOME": "/nonexistent",
           "PAY_DB_URL": url,
           "JWT_PUBLIC_KEY_FILE": os.path.join(stack.var,
                                               "keys/jwt-public.pem")}
    return subprocess.run([os.path.join(ROOT, "build/release/pay-fcgi"),
                           "--migrate"], env=env, capture_output=True,
                          text=True, timeout=60)


def url(host, extra):
    return (f"postgresql://pay_owner:tls-test-pw@{host}:{PORT}/pay"
            f"?sslmode=verify-full{extra}")


def test_verify_full_with_a_private_ca_file(stack, tls_pg):
    r = migrate(stack, url("localhost",
                           f"&sslrootcert={tls_pg}/conduit-test-ca.pem"))
    assert r.returncode == 0, r.stderr[-800:]


def test_another_ca_is_refused(stack, tls_pg):
    r = migrate(stack, url("localhost", f"&sslrootcert={tls_pg}/other-ca.pem"))
    assert r.returncode != 0
    assert "certificate verify failed" in r.stderr, r.stderr[-800:]


def test_without_sslrootcert_libpq_wants_a_home(stack, tls_pg):
    r = migrate(stack, url("localhost", ""))
    assert r.returncode != 0
    assert "/nonexistent/.postgresql/root.crt" in r.stderr, r.stderr[-800:]


def test_a_name_the_certificate_lacks_is_refused(stack, tls_pg):
    # hostaddr reaches the same server; the name checked is the host's,
    # which the certificate (localhost, 127.0.0.1) does not name.
    r = migrate(stack, url("db.example.com",
                           f"&hostaddr=127.0.0.1"
                           f"&sslrootcert={tls_pg}/conduit-test-ca.pem"))
    assert r.returncode != 0
    assert "does not match" in r.stderr, r.stderr[-800:]
