-- The data version behind the replicas' read caches (blog_cache.c).
--
-- Every change to a row that a cached answer can show (articles, their tags,
-- favourites, follows, comments, a user's name, bio, image or identity
-- version) adds one to a slot here, in the same statement and so in the
-- same transaction: SUM(v) goes up with every committed write and only then.
-- A replica reads the sum once per request and serves a kept answer only
-- when it was read at the very same sum, so an answer never predates a
-- write that was acknowledged before the request began, on any replica.
--
-- Triggers, not application code, so that no write path can forget the
-- bump (a new handler, the bench's bulk seed, an operator's UPDATE). Rows
-- removed by ON DELETE CASCADE fire no trigger, but the row whose delete
-- cascades does. A writer bumps the slot of its connection: sixteen slots
-- keep concurrent writers off one row lock.
--
-- The triggers run as their definer (the migration's user, blog_owner in
-- k8s), which needs UPDATE here; with binary logging on, creating them
-- needs log_bin_trust_function_creators (set in tests/ha and k8s).
-- @read_version_quiet, set by tests/bench/seed.py for its millions of rows,
-- skips the per-row bumps; the seed bumps once at its end.

CREATE TABLE read_version (
	slot	TINYINT UNSIGNED NOT NULL,
	v	BIGINT UNSIGNED NOT NULL DEFAULT 0,
	PRIMARY KEY (slot)
) ENGINE=InnoDB;

INSERT INTO read_version (slot, v) VALUES
	(0, 1), (1, 0), (2, 0), (3, 0), (4, 0), (5, 0), (6, 0), (7, 0),
	(8, 0), (9, 0), (10, 0), (11, 0), (12, 0), (13, 0), (14, 0), (15, 0);

CREATE TRIGGER rv_articles_ins AFTER INSERT ON articles FOR EACH ROW
	UPDATE read_version SET v = v + 1
	WHERE slot = CONNECTION_ID() % 16 AND @read_version_quiet IS NULL;
CREATE TRIGGER rv_articles_upd AFTER UPDATE ON articles FOR EACH ROW
	UPDATE read_version SET v = v + 1
	WHERE slot = CONNECTION_ID() % 16 AND @read_version_quiet IS NULL;
CREATE TRIGGER rv_articles_del AFTER DELETE ON articles FOR EACH ROW
	UPDATE read_version SET v = v + 1
	WHERE slot = CONNECTION_ID() % 16 AND @read_version_quiet IS NULL;

CREATE TRIGGER rv_article_tags_ins AFTER INSERT ON article_tags FOR EACH ROW
	UPDATE read_version SET v = v + 1
	WHERE slot = CONNECTION_ID() % 16 AND @read_version_quiet IS NULL;
CREATE TRIGGER rv_article_tags_del AFTER DELETE ON article_tags FOR EACH ROW
	UPDATE read_version SET v = v + 1
	WHERE slot = CONNECTION_ID() % 16 AND @read_version_quiet IS NULL;

CREATE TRIGGER rv_favorites_ins AFTER INSERT ON favorites FOR EACH ROW
	UPDATE read_version SET v = v + 1
	WHERE slot = CONNECTION_ID() % 16 AND @read_version_quiet IS NULL;
CREATE TRIGGER rv_favorites_del AFTER DELETE ON favorites FOR EACH ROW
	UPDATE read_version SET v = v + 1
	WHERE slot = CONNECTION_ID() % 16 AND @read_version_quiet IS NULL;

CREATE TRIGGER rv_follows_ins AFTER INSERT ON follows FOR EACH ROW
	UPDATE read_version SET v = v + 1
	WHERE slot = CONNECTION_ID() % 16 AND @read_version_quiet IS NULL;
CREATE TRIGGER rv_follows_del AFTER DELETE ON follows FOR EACH ROW
	UPDATE read_version SET v = v + 1
	WHERE slot = CONNECTION_ID() % 16 AND @read_version_quiet IS NULL;

CREATE TRIGGER rv_comments_ins AFTER INSERT ON comments FOR EACH ROW
	UPDATE read_version SET v = v + 1
	WHERE slot = CONNECTION_ID() % 16 AND @read_version_quiet IS NULL;
CREATE TRIGGER rv_comments_upd AFTER UPDATE ON comments FOR EACH ROW
	UPDATE read_version SET v = v + 1
	WHERE slot = CONNECTION_ID() % 16 AND @read_version_quiet IS NULL;
CREATE TRIGGER rv_comments_del AFTER DELETE ON comments FOR EACH ROW
	UPDATE read_version SET v = v + 1
	WHERE slot = CONNECTION_ID() % 16 AND @read_version_quiet IS NULL;

CREATE TRIGGER rv_tags_ins AFTER INSERT ON tags FOR EACH ROW
	UPDATE read_version SET v = v + 1
	WHERE slot = CONNECTION_ID() % 16 AND @read_version_quiet IS NULL;
CREATE TRIGGER rv_tags_del AFTER DELETE ON tags FOR EACH ROW
	UPDATE read_version SET v = v + 1
	WHERE slot = CONNECTION_ID() % 16 AND @read_version_quiet IS NULL;

-- Of a user row only what an answer shows, or what decides a token's
-- validity, counts: e-mail, password hash and timestamps are in no kept
-- answer. A new user counts: a kept 404 for a profile must not outlive
-- the register that creates it.
CREATE TRIGGER rv_users_ins AFTER INSERT ON users FOR EACH ROW
	UPDATE read_version SET v = v + 1
	WHERE slot = CONNECTION_ID() % 16 AND @read_version_quiet IS NULL;
CREATE TRIGGER rv_users_upd AFTER UPDATE ON users FOR EACH ROW
	UPDATE read_version SET v = v + 1
	WHERE slot = CONNECTION_ID() % 16 AND @read_version_quiet IS NULL
	AND NOT (NEW.username <=> OLD.username AND NEW.bio <=> OLD.bio
	    AND NEW.image <=> OLD.image AND NEW.ident_ver <=> OLD.ident_ver);
CREATE TRIGGER rv_users_del AFTER DELETE ON users FOR EACH ROW
	UPDATE read_version SET v = v + 1
	WHERE slot = CONNECTION_ID() % 16 AND @read_version_quiet IS NULL;
