"""articlesCount from counters (migration 009): the tag list, the author
list and the feed read per-tag and per-author counters that triggers keep
in the writing transaction. They must stay the exact number of matches
through every kind of write, alone and racing, and a counter that drifts
must be seen: every answer here is checked against a COUNT(*) of the rows,
and the last tests compare every counter in the database with its rows.
"""


from blog_support import ScratchDb, mysql, name
from test_blog_concurrency import race


def q(s):
    """A string as an SQL literal (the test's own names: [a-z0-9_])."""
    assert all(c.isalnum() or c == "_" for c in s), s
    return "'%s'" % s


def rows_count(var_dir, sql):
    return int(mysql(var_dir, sql)[0][0])


def listed(api, token=None, path="/articles", **params):
    """articlesCount of a list, after checking it against its items."""
    r = api.get(path, token, params=dict(params, limit=100))
    assert r.status_code == 200, r.text[:300]
    body = r.json()
    if body["articlesCount"] <= 100:
        assert len(body["articles"]) == body["articlesCount"], body
    return body["articlesCount"]


def same_count(n, var_dir, sql):
    """n, after checking it against sql's COUNT(*) of the rows."""
    assert n == rows_count(var_dir, sql), (n, sql)
    return n


def tag_count(api, var_dir, tag):
    return same_count(listed(api, tag=tag), var_dir,
                      "SELECT COUNT(*) FROM article_tags at"
                      " JOIN tags t ON t.id = at.tag_id"
                      " WHERE t.name = " + q(tag))


def author_count(api, var_dir, user):
    return same_count(listed(api, author=user), var_dir,
                      "SELECT COUNT(*) FROM articles a"
                      " JOIN users u ON u.id = a.author_id"
                      " WHERE u.username = " + q(user))


def feed_count(api, var_dir, u):
    return same_count(listed(api, u["token"], "/articles/feed"), var_dir,
                      "SELECT COUNT(*) FROM follows f"
                      " JOIN users u ON u.id = f.follower_id"
                      " JOIN articles a ON a.author_id = f.followee_id"
                      " WHERE u.username = " + q(u["username"]))


def test_counts_follow_every_write(api, var_dir):
    a = api.register("cna")
    b = api.register("cnb")
    v = api.register("cnv")
    t1, t2 = name("cnt1"), name("cnt2")
    x = api.article(a["token"], tags=[t1])
    y = api.article(a["token"], tags=[t1, t2])
    api.article(a["token"])
    z = api.article(b["token"], tags=[t2, t2])
    assert (tag_count(api, var_dir, t1), tag_count(api, var_dir, t2)) == \
        (2, 2)
    assert author_count(api, var_dir, a["username"]) == 3
    assert author_count(api, var_dir, b["username"]) == 1
    assert author_count(api, var_dir, v["username"]) == 0
    assert tag_count(api, var_dir, name("cnnone")) == 0

    # The feed: the sum over the followed authors.
    assert feed_count(api, var_dir, v) == 0
    for who, want in ((a, 3), (b, 4), (a, 4)):
        r = api.post("/profiles/%s/follow" % who["username"], v["token"])
        assert r.status_code == 200
        assert feed_count(api, var_dir, v) == want
    api.article(b["token"], tags=[t1])
    assert feed_count(api, var_dir, v) == 5
    assert tag_count(api, var_dir, t1) == 3
    r = api.delete("/profiles/%s/follow" % a["username"], v["token"])
    assert r.status_code == 200
    assert feed_count(api, var_dir, v) == 2

    # Retagging: a kept tag, a new one, none, and an update without tags.
    r = api.put("/articles/" + y["slug"], a["token"],
                json={"article": {"tagList": [t2]}})
    assert r.status_code == 200
    assert (tag_count(api, var_dir, t1), tag_count(api, var_dir, t2)) == \
        (2, 2)
    r = api.put("/articles/" + y["slug"], a["token"],
                json={"article": {"body": "new body"}})
    assert r.status_code == 200
    assert tag_count(api, var_dir, t2) == 2
    r = api.put("/articles/" + z["slug"], b["token"],
                json={"article": {"tagList": []}})
    assert r.status_code == 200
    assert tag_count(api, var_dir, t2) == 1

    # Deleting takes the article out of its tags', author's and feed's
    # counts (its tag links go by a cascade, which fires no trigger).
    assert api.delete("/articles/" + x["slug"], a["token"]).status_code \
        == 204
    assert tag_count(api, var_dir, t1) == 1
    assert author_count(api, var_dir, a["username"]) == 2
    r = api.post("/profiles/%s/follow" % a["username"], v["token"])
    assert feed_count(api, var_dir, v) == 4

    # A user's favourites: counted rows; they go with a deleted article.
    for art in (y, z):
        r = api.post("/articles/%s/favorite" % art["slug"], v["token"])
        assert r.status_code == 200
    r = api.post("/articles/%s/favorite" % y["slug"], v["token"])
    assert listed(api, favorited=v["username"]) == 2
    assert api.delete("/articles/" + y["slug"], a["token"]).status_code \
        == 204
    assert listed(api, favorited=v["username"]) == 1
    assert author_count(api, var_dir, a["username"]) == 1
    assert tag_count(api, var_dir, t2) == 0
    assert feed_count(api, var_dir, v) == 3

    # Two filters count their matches.
    assert listed(api, tag=t1, author=b["username"]) == 1
    assert listed(api, favorited=v["username"], author=b["username"]) == 1
    assert listed(api, tag=t1, author=a["username"]) == 0


def test_counts_exact_under_racing_writes(base_url, api, var_dir):
    """Racing creates in one tag, double deletes and retags: each change
    moves a counter exactly once."""
    u = api.register("cnr")
    tag, other = name("cnrt"), name("cnro")
    rs = race(base_url, 12, lambda a, i: a.post(
        "/articles", u["token"], json={"article": {
            "title": "Race %d" % i, "description": "d", "body": "b",
            "tagList": [tag] if i % 2 else [tag, other]}}))
    assert [r.status_code for r in rs] == [201] * 12, \
        [getattr(r, "text", r) for r in rs]
    slugs = [r.json()["article"]["slug"] for r in rs]
    assert tag_count(api, var_dir, tag) == 12
    assert tag_count(api, var_dir, other) == 6
    assert author_count(api, var_dir, u["username"]) == 12

    # Each of four articles deleted twice at once, four others retagged
    # twice at once (both to the same list).
    def act(a, i):
        if i < 8:
            return a.delete("/articles/" + slugs[i // 2], u["token"])
        return a.put("/articles/" + slugs[4 + (i - 8) // 2], u["token"],
                     json={"article": {"tagList": [other]}})

    rs = race(base_url, 16, act)
    codes = [getattr(r, "status_code", r) for r in rs]
    assert all(c in (204, 404) for c in codes[:8]), codes
    assert all(204 in codes[i:i + 2] for i in range(0, 8, 2)), codes
    assert codes[8:] == [200] * 8, codes
    # Left: 4..11; tagged tag: 8..11; other: 4..7 (retagged), 8 and 10.
    assert tag_count(api, var_dir, tag) == 4
    assert tag_count(api, var_dir, other) == 6
    assert author_count(api, var_dir, u["username"]) == 8


# The whole database: every counter equals its rows, whatever wrote them
# (this file's tests, the rest of the suite, the bench's seed).
TAG_DRIFT = """
SELECT COUNT(*) FROM tags t
LEFT JOIN (SELECT tag_id, SUM(n) AS n FROM article_count_tag
    GROUP BY tag_id) c ON c.tag_id = t.id
LEFT JOIN (SELECT tag_id, COUNT(*) AS n FROM article_tags
    GROUP BY tag_id) r ON r.tag_id = t.id
WHERE COALESCE(c.n, 0) <> COALESCE(r.n, 0)"""
AUTHOR_DRIFT = """
SELECT COUNT(*) FROM users u
LEFT JOIN article_count_author c ON c.author_id = u.id
LEFT JOIN (SELECT author_id, COUNT(*) AS n FROM articles
    GROUP BY author_id) r ON r.author_id = u.id
WHERE COALESCE(c.n, 0) <> COALESCE(r.n, 0)"""
TOTAL_DRIFT = """
SELECT (SELECT COALESCE(SUM(n), 0) FROM article_count)
    - (SELECT COUNT(*) FROM articles)"""


def drift(var_dir):
    return (rows_count(var_dir, TAG_DRIFT),
            rows_count(var_dir, AUTHOR_DRIFT),
            rows_count(var_dir, TOTAL_DRIFT))


def test_every_counter_matches_its_rows(var_dir):
    assert drift(var_dir) == (0, 0, 0)


def test_a_drifted_counter_is_seen(api, var_dir):
    """The check above would catch a drift of each kind of counter: one
    made by hand shows in drift(), and is undone."""
    u = api.register("cnd")
    tag = name("cndt")
    api.article(u["token"], tags=[tag])
    assert tag_count(api, var_dir, tag) == 1
    fix = []
    for table, key, where in (
            ("article_count_tag", "tag_id",
             "SELECT id FROM tags WHERE name = " + q(tag)),
            ("article_count_author", "author_id",
             "SELECT id FROM users WHERE username = " + q(u["username"])),
            ("article_count", "slot", "SELECT 3")):
        mysql(var_dir, "UPDATE %s SET n = n + 5 WHERE %s = (%s) LIMIT 1"
              % (table, key, where))
        fix.append("UPDATE %s SET n = n - 5 WHERE %s = (%s) LIMIT 1"
                   % (table, key, where))
    try:
        assert drift(var_dir) == (1, 1, 5)
    finally:
        for sql in fix:
            mysql(var_dir, sql)
    assert drift(var_dir) == (0, 0, 0)
    assert tag_count(api, var_dir, tag) == 1
    assert author_count(api, var_dir, u["username"]) == 1


def test_migration_fills_the_counters(var_dir):
    """Migration 009 on a database written before it: the counters it
    creates hold the exact counts, and the triggers take over from there.
    Run on a scratch database of the stack's MariaDB with the stack's
    blog binary (as test_blog_unicode's migration test)."""
    with ScratchDb(var_dir, "_list_counts.sql", "counts_mig") as db:
        def sql(text):
            return db.sql(text).stdout.split()

        # Three authors (one without articles), two tags, five articles.
        sql("INSERT INTO users (id, username, username_key, email,"
            " password_hash, created_at, updated_at) VALUES"
            " (1, 'a', 'a', 'a@x', 'h', NOW(3), NOW(3)),"
            " (2, 'b', 'b', 'b@x', 'h', NOW(3), NOW(3)),"
            " (3, 'c', 'c', 'c@x', 'h', NOW(3), NOW(3));"
            "INSERT INTO tags (id, name) VALUES (1, 'x'), (2, 'y');"
            "INSERT INTO articles (id, slug, author_id, title, description,"
            " body, tag_list, created_at, updated_at) SELECT seq,"
            " CONCAT('s', seq), IF(seq < 5, 1, 2), 't', 'd', 'b', '',"
            " NOW(3), NOW(3) FROM seq_1_to_5;"
            "INSERT INTO article_tags (article_id, tag_id) VALUES"
            " (1, 1), (2, 1), (3, 1), (3, 2), (5, 2);")
        db.migrate()

        def counts():
            return sql(
                "SELECT GROUP_CONCAT(tag_id, ':', n ORDER BY tag_id) FROM"
                " (SELECT tag_id, SUM(n) AS n FROM article_count_tag"
                " GROUP BY tag_id) t;"
                "SELECT GROUP_CONCAT(author_id, ':', n ORDER BY author_id)"
                " FROM article_count_author WHERE n <> 0;")

        assert counts() == ["1:3,2:2", "1:4,2:1"]
        # From here on the triggers count: an article with a tag, a
        # retag, and a delete whose links go by the cascade.
        sql("INSERT INTO articles (id, slug, author_id, title, description,"
            " body, tag_list, created_at, updated_at) VALUES (6, 's6', 3,"
            " 't', 'd', 'b', '', NOW(3), NOW(3));"
            "INSERT INTO article_tags (article_id, tag_id) VALUES (6, 2);"
            "DELETE FROM article_tags WHERE article_id = 2;"
            "INSERT INTO article_tags (article_id, tag_id) VALUES (2, 2);"
            "DELETE FROM articles WHERE id = 3;")
        assert counts() == ["1:1,2:3", "1:3,2:1,3:1"]


def test_feed_pages_are_the_merge_of_the_followed(api, base_url):
    """The feed page is read as each followed author's newest limit +
    offset articles since a bound (blog_db_feed_page): every page must
    still be exactly the newest-first merge, with authors whose articles
    interleave and authors with fewer articles than the page, and the
    same when the reader follows more authors than the bounded query
    takes (the plain join)."""
    a, b, c, v = (api.register(p) for p in ("cfa", "cfb", "cfc", "cfv"))
    made = []
    for who in "abacaabcbaab":
        u = {"a": a, "b": b, "c": c}[who]
        made.append(api.article(u["token"])["slug"])
    want = made[::-1]
    for u in (a, b, c):
        r = api.post("/profiles/%s/follow" % u["username"], v["token"])
        assert r.status_code == 200

    def check_pages():
        for limit in (1, 3, 20):
            for offset in range(0, len(want) + 1):
                r = api.get("/articles/feed", v["token"],
                            params={"limit": limit, "offset": offset})
                assert r.status_code == 200, r.text[:300]
                body = r.json()
                got = [x["slug"] for x in body["articles"]]
                assert got == want[offset:offset + limit], (limit, offset)
                assert body["articlesCount"] == len(want)
                assert all(x["author"]["following"] for x in body["articles"])
        r = api.get("/articles/feed", v["token"], params={"limit": 0})
        assert r.json() == {"articles": [], "articlesCount": len(want)}

    check_pages()
    # 22 more followed authors without articles: 25, past the IN list.
    for _ in range(22):
        u = api.register("cfx")
        r = api.post("/profiles/%s/follow" % u["username"], v["token"])
        assert r.status_code == 200
    check_pages()
