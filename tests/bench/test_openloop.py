"""The open-loop generator of make bench (tests/bench/openloop.c) against a
tiny local HTTP server on 127.0.0.1:(8083 + STACK_PORT_OFFSET): it charges
a stall to every request that fell due during it (latency from the intended
start, no coordinated omission), gives every request its own number where
the template says so, reads both Content-Length and chunked answers, and
leaves the warm-up (-w) out of its results.
Run by make test (bench-selftest); no stack needed. Bounded: at most 100
requests in at most 2 s per test (plus the generator's drain, 30 s at
worst). The rates are low so that a busy machine still answers them all;
the only timing checked is a lower bound that the stall guarantees.
"""
import http.server
import json
import os
import socketserver
import subprocess
import threading
import time

import pytest

ROOT = os.path.realpath(os.path.join(os.path.dirname(__file__), "..", ".."))
OPENLOOP = os.environ.get("OPENLOOP") or os.path.join(
    ROOT, "build", "release", "bench", "openloop")
PORT = 8083 + int(os.environ.get("STACK_PORT_OFFSET", "0"))
SEQ = "@@OPENLOOP-SEQ@@"
STALL_S = 0.5
WARM_N = 50


class Handler(http.server.BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"

    def do_GET(self):
        seq = self.headers.get("X-Seq", "")
        self.server.seen.append(seq)
        # One stall, on the 20th request: the ones due behind it wait.
        if self.path == "/stall" and len(self.server.seen) == 20:
            time.sleep(STALL_S)
        body = b'{"ok":true}'
        # /warm: the warm-up's requests (numbers below WARM_N) fail, so
        # that any of them counted in the results shows as an error.
        status = 200
        if self.path == "/warm" and int(seq, 16) < WARM_N:
            status = 503
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        if self.path == "/chunked":
            self.send_header("Transfer-Encoding", "chunked")
            self.end_headers()
            self.wfile.write(b"5\r\n" + body[:5] + b"\r\n" + b"%x\r\n" % (
                len(body) - 5) + body[5:] + b"\r\n0\r\n\r\n")
        else:
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

    def log_message(self, *args):
        pass


class Server(socketserver.ThreadingMixIn, http.server.HTTPServer):
    daemon_threads = True
    allow_reuse_address = True


@pytest.fixture
def server():
    assert os.access(OPENLOOP, os.X_OK), \
        "no %s: make build/release/bench/openloop" % OPENLOOP
    s = Server(("127.0.0.1", PORT), Handler)
    s.seen = []
    t = threading.Thread(target=s.serve_forever, daemon=True)
    t.start()
    yield s
    s.shutdown()
    s.server_close()


def run(tmp_path, path, rate, seconds, conns, extra=()):
    req = tmp_path / "req"
    req.write_bytes(("GET %s HTTP/1.1\r\nHost: x\r\nX-Seq: %s\r\n\r\n"
                     % (path, SEQ)).encode() + b"\0")
    p = subprocess.run([OPENLOOP, "-p", str(PORT), "-r", str(rate), "-d",
                        str(seconds), "-c", str(conns), "-t", "30", "-f",
                        str(req), *extra], capture_output=True, text=True,
                       timeout=60)
    assert p.returncode == 0, p.stderr
    return json.loads(p.stdout)


def test_a_stall_is_charged_to_every_request_due_during_it(server, tmp_path):
    # 50 req/s on one connection: the 500 ms stall holds up the ~25
    # requests due during it, each charged from its intended start (500,
    # 480, 460 ... ms). A closed loop would count one slow request of 100,
    # under p99.
    r = run(tmp_path, "/stall", 50, 2, 1)
    assert r["offered"] == r["answered"] == 100
    assert r["non2xx"] == r["socket_errors"] == r["timeouts"] == 0
    # The 10 most delayed were due in the first 200 ms of the stall.
    assert r["p90_us"] >= 250000, r
    assert r["max_us"] >= STALL_S * 1e6 * 0.9, r
    # Per second of intended start: the stall is in the first one.
    assert len(r["p99_by_second_us"]) == 2, r
    assert r["p99_by_second_us"][0] >= STALL_S * 1e6 * 0.9, r


def test_every_request_gets_its_own_number(server, tmp_path):
    r = run(tmp_path, "/", 100, 1, 4)
    assert r["answered"] == r["offered"] == 100
    assert sorted(server.seen) == ["%016x" % i for i in range(100)]


def test_chunked_answers_are_read_to_their_end(server, tmp_path):
    r = run(tmp_path, "/chunked", 100, 0.5, 2)
    assert r["answered"] == r["offered"] == 50
    assert r["non2xx"] == r["socket_errors"] == r["timeouts"] == 0


def test_the_warm_up_runs_first_and_is_not_counted(server, tmp_path):
    # 100 req/s, 0.5 s of warm-up then 0.5 s measured: the server sees
    # requests 0..99 in one schedule; the 50 of the warm-up (answered 503
    # here) are in warmup_requests and warmup_errors, not in the results.
    tl = tmp_path / "timeline"
    r = run(tmp_path, "/warm", 100, 0.5, 4, ["-w", "0.5", "-T", str(tl)])
    assert sorted(server.seen) == ["%016x" % i for i in range(100)]
    # -T: one line per request, warm-up included: number, send lag and
    # latency in microseconds (-1 for none; every one was answered here).
    lines = [list(map(int, l.split())) for l in tl.read_text().splitlines()]
    assert [l[0] for l in lines] == list(range(100))
    assert all(l[1] >= 0 and l[2] >= 0 for l in lines), lines
    assert r["warmup_requests"] == WARM_N
    assert r["warmup_errors"] == WARM_N
    assert r["offered"] == r["answered"] == 50
    assert r["non2xx"] == r["socket_errors"] == r["timeouts"] == 0
