"""Every write survives a deploy (issue 16): blog writers through the edge
while `tests/stack.sh restart-rolling` (what `make restart-rolling` runs)
restarts every replica, three times in a row.

Writers post comments and articles, half of them with an Idempotency-Key
and half without, and never retry: every request must be answered 2xx on
its first attempt. One keyed write in ten is sent a second time with its
key, as by a client that lost the answer: it must get the stored answer. Afterwards every acknowledged write must exist exactly
once in the database (and nothing unacknowledged may exist). The figures
go to stdout and var/log/rolling-writes.json.

Bounded: WRITERS threads on loopback for the duration of three rolling
restarts (a few seconds each), each request with a timeout.
"""

import collections
import json
import os
import threading
import time
import uuid

import requests

from blog_support import TIMEOUT, Api, auth, mysql

ROUNDS = 3
# (kind, with key) per thread: comments and articles, with and without keys.
WRITERS = [("comment", False), ("comment", True), ("article", False),
           ("article", True)] * 2
# A safety bound on the writes per thread, whatever the machine's speed.
MAX_PER_WRITER = 5000


class Writer(threading.Thread):
    def __init__(self, base_url, token, slug, kind, keyed, tag, stop):
        super().__init__(daemon=True)
        self.base, self.token, self.slug = base_url, token, slug
        self.kind, self.keyed, self.tag, self.stop = kind, keyed, tag, stop
        self.acked = []  # marker of every write answered 2xx
        self.failures = []  # (marker, status or exception text)
        self.sent = 0
        self.replays = 0

    def run(self):
        s = requests.Session()
        while not self.stop.is_set() and self.sent < MAX_PER_WRITER:
            marker = "%s-%s" % (self.tag, uuid.uuid4().hex)
            h = auth(self.token)
            if self.keyed:
                h["Idempotency-Key"] = uuid.uuid4().hex
            if self.kind == "comment":
                url = "%s/api/articles/%s/comments" % (self.base, self.slug)
                body = {"comment": {"body": marker}}
            else:
                url = self.base + "/api/articles"
                body = {"article": {"title": marker, "description": "d",
                                    "body": "b"}}
            self.sent += 1
            try:
                r = s.post(url, json=body, headers=h, timeout=TIMEOUT)
            except requests.RequestException as e:
                self.failures.append((marker, repr(e)[:200]))
                continue
            if not 200 <= r.status_code < 300:
                self.failures.append((marker, r.status_code, r.text[:200]))
                continue
            self.acked.append(marker)
            # One keyed write in ten is sent again, as a client that lost
            # the answer would: the stored answer, no second effect.
            if self.keyed and self.sent % 10 == 0:
                try:
                    again = s.post(url, json=body, headers=h,
                                   timeout=TIMEOUT)
                except requests.RequestException as e:
                    self.failures.append((marker, "replay", repr(e)[:200]))
                    continue
                self.replays += 1
                if again.status_code != r.status_code or \
                        again.content != r.content or \
                        again.headers.get("Idempotent-Replayed") != "true":
                    self.failures.append((marker, "replay differs",
                                          again.status_code,
                                          again.text[:200]))


def test_blog_writes_survive_rolling_restarts(base_url, stack):
    api = Api(base_url)
    user = api.register("rw")
    r = api.post("/articles", user["token"], json={"article": {
        "title": "rolling target", "description": "d", "body": "b"}})
    assert r.status_code == 201, r.text
    slug = r.json()["article"]["slug"]
    tag = "rw" + uuid.uuid4().hex[:10]

    stop = threading.Event()
    writers = [Writer(base_url, user["token"], slug, kind, keyed,
                      "%s-%d" % (tag, i), stop)
               for i, (kind, keyed) in enumerate(WRITERS)]
    durations = []
    for w in writers:
        w.start()
    try:
        time.sleep(0.5)
        for _ in range(ROUNDS):
            t0 = time.monotonic()
            stack.sh("restart-rolling")
            durations.append(round(time.monotonic() - t0, 2))
        time.sleep(0.5)
    finally:
        stop.set()
        for w in writers:
            w.join(TIMEOUT + 5)
        stack.sh("up")

    # Exactly once: the database holds every acknowledged marker once, and
    # nothing it holds was left unacknowledged.
    comments = collections.Counter(row[0] for row in mysql(stack.var, (
        "SELECT c.body FROM comments c JOIN articles a ON a.id = c.article_id"
        " WHERE a.slug = '%s' AND c.body LIKE '%s-%%'") % (slug, tag)))
    articles = collections.Counter(row[0] for row in mysql(stack.var, (
        "SELECT title FROM articles WHERE title LIKE '%s-%%'") % tag))
    stored = comments + articles
    acked = collections.Counter(m for w in writers for m in w.acked)
    failures = [f for w in writers for f in w.failures]
    sent = sum(w.sent for w in writers)
    report = {
        "rounds": ROUNDS, "restart_seconds": durations, "writers": len(writers),
        "sent": sent, "acknowledged": sum(acked.values()),
        "failures": len(failures),
        "keyed_replays": sum(w.replays for w in writers),
        "by_writer": {"%s%s" % (w.kind, "+key" if w.keyed else ""):
                      0 for w in writers},
        "stored_comments": sum(comments.values()),
        "stored_articles": sum(articles.values()),
    }
    for w in writers:
        report["by_writer"]["%s%s" % (w.kind, "+key" if w.keyed else "")] += \
            len(w.acked)
    print("\nrolling writes:", json.dumps(report))
    with open(os.path.join(stack.log_dir, "rolling-writes.json"), "w") as f:
        json.dump(report, f, indent=1)

    assert not failures, failures[:5]
    # The writers ran through all the restarts, not just around them.
    assert all(w.sent > 20 for w in writers), [w.sent for w in writers]
    assert all(w.replays > 0 for w in writers if w.keyed)
    assert all(n == 1 for n in acked.values())
    dup = {m: n for m, n in stored.items() if n != 1}
    assert not dup, list(dup.items())[:5]
    assert set(stored) == set(acked), (
        "acknowledged but missing: %s; stored but not acknowledged: %s" % (
            list(set(acked) - set(stored))[:5],
            list(set(stored) - set(acked))[:5]))
