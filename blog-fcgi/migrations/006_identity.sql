-- Identity versions and the outbox that carries identity changes to pay.
--
-- users.ident_ver goes up by one on every change that must revoke the
-- user's tokens (username, password, "log out everywhere"); tokens carry
-- the version they were issued at (claim ver) and both services refuse
-- older ones. Every such change, and every new user, also writes a row
-- here in the same transaction: the blog's relay (blog_ident.c) signs it
-- and delivers it to pay until pay acknowledges, so pay's directory can
-- never miss a change the blog committed, nor learn one it did not.
-- seq orders name changes across users: a name freed by a rename is taken
-- by a later transaction, whose row has a higher seq.

ALTER TABLE users ADD COLUMN ident_ver BIGINT UNSIGNED NOT NULL DEFAULT 1;

CREATE TABLE ident_outbox (
	seq		BIGINT UNSIGNED NOT NULL AUTO_INCREMENT,
	user_id		BIGINT UNSIGNED NOT NULL,
	ver		BIGINT UNSIGNED NOT NULL,
	username	VARCHAR(64) CHARACTER SET utf8mb4 COLLATE utf8mb4_nopad_bin NOT NULL,
	created_at	DATETIME(3) NOT NULL,
	delivered_at	DATETIME(3) NULL,
	PRIMARY KEY (seq),
	KEY k_ident_outbox_pending (delivered_at, seq)
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_unicode_ci;

-- Backfill: every existing user's identity, so that pay knows them all.
INSERT INTO ident_outbox (user_id, ver, username, created_at)
	SELECT id, ident_ver, username, UTC_TIMESTAMP(3) FROM users ORDER BY id;
