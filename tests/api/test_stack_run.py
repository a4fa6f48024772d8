"""`make run` in the foreground, its output piped (`make run 2>&1 | tee
run.log`), stopped with Ctrl-C: everything it started must stop, although
the same Ctrl-C ends tee first and every later write of the script meets a
closed pipe. Before the fix the script died on its first write and left the
databases, four replicas and nginx running. supervisord runs in the
foreground of `run` and gets the same Ctrl-C: it, and every program it ran,
must be gone.

The stack under test is a second one: its own STACK_VAR (var/t-run) and its
ports moved by 600 from the suite's, so the suite's stack is not touched.
"""

import os
import shutil
import signal
import subprocess
import time

import requests

from conftest import PORT_OFFSET, ROOT, pid_alive, program_pids

OFFSET = PORT_OFFSET + 600
VAR = os.path.join(ROOT, "var", "t-run")


def _pids(var):
    """supervisord and every program it runs, by name."""
    with open(os.path.join(var, "run", "supervisord.pid")) as f:
        out = {"supervisord": int(f.read())}
    out.update(program_pids(var))
    return out


def test_ctrl_c_of_a_piped_run_stops_everything():
    shutil.rmtree(VAR, ignore_errors=True)
    env = dict(os.environ, STACK_VAR=VAR, STACK_PORT_OFFSET=str(OFFSET),
               REPLICAS="2")
    log = os.path.join(ROOT, "var", "t-run.out")
    # A terminal's foreground job: its own process group, SIGINT default.
    p = subprocess.Popen(
        ["bash", "-c", "tests/stack.sh run 2>&1 | tee '%s' >/dev/null"
         % log], cwd=ROOT, env=env, start_new_session=True,
        preexec_fn=lambda: signal.signal(signal.SIGINT, signal.SIG_DFL))
    edge = "http://127.0.0.1:%d/healthz" % (8080 + OFFSET)
    try:
        deadline = time.monotonic() + 180
        while True:
            try:
                if requests.get(edge, timeout=2).status_code == 200:
                    break
            except requests.RequestException:
                pass
            assert p.poll() is None, open(log).read()[-2000:]
            assert time.monotonic() < deadline, "the stack did not come up"
            time.sleep(0.5)
        started = _pids(VAR)
        for name in ("blog:blog-1", "blog:blog-2", "pay:pay-1", "pay:pay-2",
                     "nginx", "mariadb", "postgresql"):
            assert name in started, started
        os.killpg(p.pid, signal.SIGINT)
        p.wait(90)
        deadline = time.monotonic() + 30
        while any(pid_alive(pid) for pid in started.values()) and \
                time.monotonic() < deadline:
            time.sleep(0.2)
        left = {n: pid for n, pid in started.items() if pid_alive(pid)}
        assert not left, left
        try:
            requests.get(edge, timeout=2)
            raise AssertionError("the edge still answers after Ctrl-C")
        except requests.ConnectionError:
            pass
    finally:
        if p.poll() is None:
            os.killpg(p.pid, signal.SIGKILL)
        subprocess.run([os.path.join(ROOT, "tests", "stack.sh"), "down"],
                       env=env, capture_output=True, timeout=120)
