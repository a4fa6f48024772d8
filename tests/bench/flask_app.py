"""flask_app.py: the reference the seed's own stack would be, for the bench.

What a user would pick instead of a C FastCGI service: Flask under gunicorn
(sync workers) with PyMySQL, answering GET /api/articles/<slug> from the same
MariaDB tables with the same JSON as blog-fcgi's anonymous answer (author
profile, tagList sorted, favorited false, favoritesCount, ISO 8601 UTC times
with milliseconds). One connection per worker process, opened lazily and
reused, like blog-fcgi's one connection per thread; the query is one
parameterised SELECT, like blog-fcgi's prepared one.

Settings (environment): BENCH_DB_SOCKET, BENCH_DB_USER,
BENCH_DB_PASSWORD_FILE, BENCH_DB_NAME.
"""
import json
import os

import pymysql
from flask import Flask, Response

app = Flask(__name__)
_conn = None

QUERY = (
    "SELECT a.slug, a.title, a.description, a.body, a.tag_list,"
    " a.created_at, a.updated_at, a.favorites_count,"
    " u.username, u.bio, u.image"
    " FROM articles a JOIN users u ON u.id = a.author_id WHERE a.slug = %s")


def conn():
    global _conn
    if _conn is None:
        with open(os.environ["BENCH_DB_PASSWORD_FILE"]) as f:
            pw = f.read().strip()
        _conn = pymysql.connect(
            unix_socket=os.environ["BENCH_DB_SOCKET"],
            user=os.environ.get("BENCH_DB_USER", "blog_app"), password=pw,
            database=os.environ.get("BENCH_DB_NAME", "blog"),
            charset="utf8mb4", autocommit=True)
    return _conn


def iso(t):
    return t.strftime("%Y-%m-%dT%H:%M:%S.") + "%03dZ" % (t.microsecond // 1000)


def err(status, key, msg):
    return Response(json.dumps({"errors": {key: [msg]}}), status=status,
                    content_type="application/json; charset=utf-8")


@app.route("/api/articles/<slug>")
def article(slug):
    global _conn
    try:
        with conn().cursor() as c:
            c.execute(QUERY, (slug,))
            r = c.fetchone()
    except pymysql.MySQLError:
        _conn = None
        return err(503, "server", "is unavailable")
    if r is None:
        return err(404, "article", "not found")
    (slug, title, desc, body, tag_list, created, updated, favs,
     username, bio, image) = r
    tags = sorted(t for t in tag_list.split("\x1f") if t) if tag_list else []
    doc = {"article": {
        "slug": slug, "title": title, "description": desc, "body": body,
        "tagList": tags, "createdAt": iso(created), "updatedAt": iso(updated),
        "favorited": False, "favoritesCount": favs,
        "author": {"username": username, "bio": bio, "image": image,
                   "following": False}}}
    return Response(json.dumps(doc, ensure_ascii=False,
                               separators=(",", ":")),
                    content_type="application/json; charset=utf-8")
