-- Unicode slugs and usernames.
--
-- Slugs keep the title's letters in any script, so the column becomes
-- utf8mb4. Its collation stays binary and no-pad: a slug is matched exactly
-- as we wrote it (the slug rules already lower-cased and NFKC-normalised
-- it), and no collation may make two different slugs equal. Existing ASCII
-- slugs are unchanged by the conversion.
ALTER TABLE articles
	MODIFY slug VARCHAR(191) CHARACTER SET utf8mb4
	    COLLATE utf8mb4_nopad_bin NOT NULL;

-- users.username keeps the name as its owner wrote it (NFC) for display and
-- exact lookups; username_key is its NFKC_Casefold form, computed by the
-- blog with ICU, and its unique index is what makes "ｂｏｂ", "BOB" and
-- "bob" (or a composed and a decomposed "é") one name. The key is compared
-- with a binary no-pad collation on purpose: MariaDB's own Unicode
-- collations (utf8mb4_unicode_ci, utf8mb4_uca1400_ai_ci) would add
-- equalities of their own that the normalisation does not make (accents
-- ignored: "José" = "Jose"; their Unicode versions differ from ICU's), and
-- could not express NFKC at all; one definition of "the same name", in the
-- code, and an index that compares bytes.
ALTER TABLE users
	ADD COLUMN username_key VARCHAR(255) CHARACTER SET utf8mb4
	    COLLATE utf8mb4_nopad_bin NULL AFTER username;

-- Every existing name is ASCII letters, digits, '_', '-' and '.' (the only
-- names the blog accepted until now), whose NFKC_Casefold is LOWER(). Names
-- that differ only in case were two users until now: the oldest keeps the
-- key, the others get one with '#' and their id, which no valid name can
-- produce, so they keep their accounts and exact-name URLs and nobody new
-- can take a case variant of them.
UPDATE users u
	JOIN (SELECT LOWER(username) AS k, MIN(id) AS first
	    FROM users GROUP BY LOWER(username)) g
	    ON g.k = LOWER(u.username)
	SET u.username_key =
	    IF(u.id = g.first, g.k, CONCAT(g.k, '#', u.id));

ALTER TABLE users
	MODIFY username_key VARCHAR(255) CHARACTER SET utf8mb4
	    COLLATE utf8mb4_nopad_bin NOT NULL,
	ADD UNIQUE KEY uk_users_username_key (username_key);
