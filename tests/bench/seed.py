#!/usr/bin/env python3
"""seed.py: the bench data set, written with bulk SQL, never through the API.

    seed.py blog-sql SCALE HASH [force]
                                  print the MariaDB script (stdin of mariadb);
                                  force: write everything again
    seed.py pay-sql               print the PostgreSQL script; reads
                                  "id<TAB>username" lines of the bench users

Everything the bench owns is marked: users are bench_NNNN, seeded articles
are bench-seed-N, comments written by wrk start with "wrk ". A reseed at the
same scale only removes what the previous run wrote (articles and comments
from wrk) and recomputes the derived columns; a different scale drops the
bench users (the foreign keys cascade to their articles, tags links,
comments, favorites and follows) and writes everything again.

Numbers are deterministic (CRC32 of the row number), so two machines get the
same data set. The derived columns are computed from the rows, in SQL:
articles.tag_list from article_tags (sorted, joined with U+001F),
articles.favorites_count from favorites, and the article counters (the
sharded total, per tag and per author, migrations 002 and 009) from
COUNT(*).
"""
import os
import sys

# Migration 009 counts the articles per tag and per author; a migration never
# changes, so its statements are the one definition the seed runs too.
MIGRATION_009 = os.path.join(os.path.dirname(os.path.abspath(__file__)),
                             "..", "..", "blog-fcgi", "migrations",
                             "009_list_counts.sql")
RECOUNT_FIRST = "START TRANSACTION;\nSELECT COUNT(*) INTO @article_count_n"
RECOUNT_LAST = "SET @article_count_n = NULL;\n"

USERS = 2000
ARTICLES = 20000
TAGS = 200
COMMENTS = 50000
FAVORITES = 100000
FOLLOWS = 10000


def recount_sql():
    """Migration 009's recount of the per-tag and per-author counters."""
    with open(MIGRATION_009) as f:
        text = f.read()
    start = text.find(RECOUNT_FIRST)
    end = text.find(RECOUNT_LAST, start)
    if start < 0 or end < 0:
        sys.exit("seed.py: no recount in %s" % MIGRATION_009)
    return text[start:end + len(RECOUNT_LAST)]


def blog_sql(scale, pwhash, force=False):
    a = ARTICLES * scale
    # A body of about 1 KB, like the row DESIGN.md's measurements used.
    body = ("Lorem ipsum dolor sit amet, consectetur adipiscing elit, sed do "
            "eiusmod tempor incididunt ut labore et dolore magna aliqua. ") * 8
    return f"""
SET SESSION sql_mode = 'STRICT_ALL_TABLES';
-- No per-row bump of the read caches' version (migration 010) for millions
-- of rows: one bump at the end tells every replica the data changed.
SET @read_version_quiet = 1;
-- Nor of the article counters (migration 009): one recount at the end.
SET @article_count_quiet = 1;
SET @want_users = {USERS}, @want_articles = {a};
SELECT COUNT(*) INTO @have_users FROM users WHERE username LIKE 'bench\\_%';
SELECT COUNT(*) INTO @have_articles FROM articles
    WHERE slug LIKE 'bench-seed-%';
SET @fresh = {int(force)} OR
    NOT (@have_users = @want_users AND @have_articles = @want_articles);
SELECT IF(@fresh, 'seeding', 'seed present: cleaning up') AS seed;

-- What earlier bench runs wrote through the API.
DELETE a FROM articles a JOIN users u ON u.id = a.author_id
    WHERE u.username LIKE 'bench\\_%' AND a.slug NOT LIKE 'bench-seed-%';
DELETE c FROM comments c JOIN users u ON u.id = c.author_id
    WHERE u.username LIKE 'bench\\_%' AND c.body LIKE 'wrk %';

-- A different scale (or a half-written seed): start again.
DELETE FROM users WHERE @fresh AND username LIKE 'bench\\_%';

INSERT INTO users (username, username_key, email, password_hash, bio, image,
    created_at, updated_at)
SELECT CONCAT('bench_', LPAD(seq, 4, '0')), CONCAT('bench_', LPAD(seq, 4, '0')),
    CONCAT('bench_', LPAD(seq, 4, '0'), '@bench.invalid'), '{pwhash}',
    CONCAT('Bench user ', seq), NULL,
    '2024-01-01 00:00:00.000', '2024-01-01 00:00:00.000'
FROM seq_1_to_{USERS} WHERE @fresh;

CREATE TEMPORARY TABLE bench_u (n INT PRIMARY KEY, id BIGINT UNSIGNED)
SELECT CAST(SUBSTRING(username, 7) AS UNSIGNED) - 1 AS n, id
FROM users WHERE username LIKE 'bench\\_%';

INSERT IGNORE INTO tags (name)
SELECT CONCAT('bt-', LPAD(seq, 3, '0')) FROM seq_0_to_{TAGS - 1};
CREATE TEMPORARY TABLE bench_t (n INT PRIMARY KEY, id BIGINT UNSIGNED)
SELECT CAST(SUBSTRING(name, 4) AS UNSIGNED) AS n, id
FROM tags WHERE name LIKE 'bt-%';

INSERT INTO articles (slug, author_id, title, description, body, tag_list,
    favorites_count, created_at, updated_at)
SELECT CONCAT('bench-seed-', s.seq), u.id, CONCAT('Bench article ', s.seq),
    CONCAT('Description of bench article ', s.seq),
    CONCAT('Article ', s.seq, '. ', '{body}'), '', 0,
    TIMESTAMPADD(SECOND, s.seq, '2024-01-01 00:00:00.000'),
    TIMESTAMPADD(SECOND, s.seq, '2024-01-01 00:00:00.000')
FROM seq_1_to_{a} s
JOIN bench_u u ON u.n = CRC32(CONCAT('author', s.seq)) % {USERS}
WHERE @fresh;

CREATE TEMPORARY TABLE bench_a (n INT PRIMARY KEY, id BIGINT UNSIGNED)
SELECT CAST(SUBSTRING(slug, 12) AS UNSIGNED) AS n, id
FROM articles WHERE slug LIKE 'bench-seed-%';

-- 1 to 5 tags per article from the 200-tag vocabulary.
INSERT IGNORE INTO article_tags (article_id, tag_id)
SELECT a.id, t.id FROM bench_a a JOIN seq_0_to_4 j
    ON j.seq <= CRC32(CONCAT('ntags', a.n)) % 5
JOIN bench_t t ON t.n = CRC32(CONCAT('tag', a.n, '/', j.seq)) % {TAGS}
WHERE @fresh;

UPDATE articles a JOIN (SELECT at.article_id,
    GROUP_CONCAT(t.name ORDER BY t.name SEPARATOR 0x1f) AS tl
    FROM article_tags at JOIN tags t ON t.id = at.tag_id
    JOIN bench_a b ON b.id = at.article_id GROUP BY at.article_id) x
    ON x.article_id = a.id
SET a.tag_list = x.tl WHERE @fresh;

INSERT INTO comments (article_id, author_id, body, created_at, updated_at)
SELECT a.id, u.id, CONCAT('Bench comment ', s.seq, ': well said.'),
    TIMESTAMPADD(SECOND, s.seq, '2024-06-01 00:00:00.000'),
    TIMESTAMPADD(SECOND, s.seq, '2024-06-01 00:00:00.000')
FROM seq_1_to_{COMMENTS} s
JOIN bench_a a ON a.n = 1 + CRC32(CONCAT('carticle', s.seq)) % {a}
JOIN bench_u u ON u.n = CRC32(CONCAT('cauthor', s.seq)) % {USERS}
WHERE @fresh;

-- {FAVORITES} draws among 40M (user, article) pairs: the few duplicates
-- are dropped, so the count is a little under {FAVORITES}.
INSERT IGNORE INTO favorites (user_id, article_id, created_at)
SELECT u.id, a.id, '2024-06-01 00:00:00.000'
FROM seq_1_to_{FAVORITES + FAVORITES // 55} s
JOIN bench_u u ON u.n = CRC32(CONCAT('fuser', s.seq)) % {USERS}
JOIN bench_a a ON a.n = 1 + CRC32(CONCAT('farticle', s.seq)) % {a}
WHERE @fresh;

UPDATE articles a JOIN bench_a b ON b.id = a.id
LEFT JOIN (SELECT article_id, COUNT(*) AS n FROM favorites
    GROUP BY article_id) f ON f.article_id = a.id
SET a.favorites_count = COALESCE(f.n, 0) WHERE @fresh;

INSERT IGNORE INTO follows (follower_id, followee_id, created_at)
SELECT f.id, e.id, '2024-06-01 00:00:00.000'
FROM seq_1_to_{FOLLOWS + FOLLOWS // 50} s
JOIN bench_u f ON f.n = CRC32(CONCAT('follower', s.seq)) % {USERS}
JOIN bench_u e ON e.n = CRC32(CONCAT('followee', s.seq)) % {USERS}
WHERE @fresh AND f.id <> e.id;

-- The article counters from the rows: per tag and per author with migration
-- 009's own statements, then the sharded total (its sum, held in slot 0).
SET @article_count_quiet = NULL;
{recount_sql()}
UPDATE article_count SET n = IF(slot = 0, (SELECT COUNT(*) FROM articles), 0);
SET @read_version_quiet = NULL;
UPDATE read_version SET v = v + 1 WHERE slot = 0;

SELECT (SELECT COUNT(*) FROM bench_u) AS users,
    (SELECT COUNT(*) FROM bench_a) AS articles,
    (SELECT COUNT(*) FROM article_tags at JOIN bench_a a
        ON a.id = at.article_id) AS article_tags,
    (SELECT COUNT(*) FROM comments c JOIN bench_u u ON u.id = c.author_id)
        AS comments,
    (SELECT COUNT(*) FROM favorites f JOIN bench_u u ON u.id = f.user_id)
        AS favorites,
    (SELECT COUNT(*) FROM follows f JOIN bench_u u ON u.id = f.follower_id)
        AS follows;
"""


def pay_sql(rows):
    vals = ",\n".join("(%d, '%s')" % (int(i), n) for i, n in rows
                      if n.startswith("bench_") and n[6:].isdigit())
    # A deposit per account that is missing or running low, through the
    # same function the API uses: the ledger chain, the system funding
    # account and the balance triggers stay consistent by construction.
    return f"""
\\set ON_ERROR_STOP 1
CREATE TEMPORARY TABLE bench_u (user_id bigint PRIMARY KEY, username text);
INSERT INTO bench_u VALUES
{vals};
-- Pay's directory, written directly like the rest of the seed (the blog's
-- rows were too, so no identity event exists for them): version 1 is what
-- the bench's tokens carry. A reseed gives the names new ids.
UPDATE users SET username = NULL
    WHERE username IN (SELECT username FROM bench_u)
    AND user_id NOT IN (SELECT user_id FROM bench_u);
INSERT INTO users (user_id, username, ident_ver)
    SELECT user_id, username, 1 FROM bench_u
    ON CONFLICT (user_id) DO UPDATE SET username = EXCLUDED.username;
SELECT count(*) AS deposits FROM (
    SELECT pay_deposit(b.user_id, b.username,
        'bench-seed-' || b.user_id || '-' || txid_current(), 'bench-seed',
        'USD', 100000000, true, 100000000)
    FROM bench_u b LEFT JOIN accounts a
        ON a.owner_id = b.user_id AND a.currency = 'USD'
    WHERE a.seq IS NULL OR a.balance < 10000000
    ORDER BY b.user_id) d;
SELECT count(*) AS accounts, min(balance) AS min_balance
    FROM accounts a JOIN bench_u b ON b.user_id = a.owner_id
    WHERE a.currency = 'USD';
"""


def main():
    if len(sys.argv) >= 4 and sys.argv[1] == "blog-sql":
        h = sys.argv[3]
        if not h.startswith("$argon2") or "'" in h or "\\" in h:
            sys.exit("seed.py: not an Argon2 hash string: %r" % h)
        sys.stdout.write(blog_sql(int(sys.argv[2]), h,
                                  len(sys.argv) > 4 and sys.argv[4] == "force"))
    elif len(sys.argv) == 2 and sys.argv[1] == "pay-sql":
        rows = [l.rstrip("\n").split("\t") for l in sys.stdin if "\t" in l]
        sys.stdout.write(pay_sql(rows))
    else:
        sys.exit(__doc__)


if __name__ == "__main__":
    main()
