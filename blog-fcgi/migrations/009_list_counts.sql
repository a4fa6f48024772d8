-- Article counts per tag and per author, so that a list's articlesCount
-- reads a few counter rows instead of every match. With 1M articles (the
-- bench at x50) a tag's COUNT(*) read its ~15k links on every page view and
-- the feed's read every article of the followed authors: the tag list ran
-- at a third of its speed on 20k articles, the feed at a half. A tag's
-- count is now the sum of at most 16 rows, an author's one row, and the
-- feed's the sum of one row per followed author.
--
-- Triggers keep them, in the writing transaction, so they are exact
-- whoever writes: this binary, a replica still running the previous one
-- during a rolling upgrade (it knows nothing of these tables), or SQL typed
-- by hand. A tag's count is spread over 16 slots, one picked at random per
-- change (as article_count, migration 002), so that writers of a popular
-- tag rarely wait on one row lock, which on Galera is held until the
-- cluster has certified the commit. An author's row is theirs alone.
--
-- InnoDB runs no trigger for the rows a foreign key cascade removes, so
-- the article's own BEFORE DELETE trigger takes its tags' counts down (the
-- cascade then removes the links silently). Deleting a user, which the API
-- never does, cascades to their articles without any trigger: recount as
-- at the end of this file after it. @article_count_quiet, set by
-- tests/bench/seed.py for its millions of rows, skips the triggers; the
-- seed recounts at its end.

CREATE TABLE article_count_tag (
	tag_id	BIGINT UNSIGNED NOT NULL,
	slot	TINYINT UNSIGNED NOT NULL,
	n	BIGINT NOT NULL,
	PRIMARY KEY (tag_id, slot),
	CONSTRAINT fk_article_count_tag FOREIGN KEY (tag_id)
	    REFERENCES tags (id) ON DELETE CASCADE
) ENGINE=InnoDB;

CREATE TABLE article_count_author (
	author_id	BIGINT UNSIGNED NOT NULL,
	n		BIGINT NOT NULL,
	PRIMARY KEY (author_id),
	CONSTRAINT fk_article_count_author FOREIGN KEY (author_id)
	    REFERENCES users (id) ON DELETE CASCADE
) ENGINE=InnoDB;

CREATE TRIGGER article_tags_count_add AFTER INSERT ON article_tags
	FOR EACH ROW INSERT INTO article_count_tag (tag_id, slot, n)
	    SELECT NEW.tag_id, FLOOR(RAND() * 16), 1 FROM DUAL
	    WHERE @article_count_quiet IS NULL
	    ON DUPLICATE KEY UPDATE n = n + 1;

CREATE TRIGGER article_tags_count_sub AFTER DELETE ON article_tags
	FOR EACH ROW INSERT INTO article_count_tag (tag_id, slot, n)
	    SELECT OLD.tag_id, FLOOR(RAND() * 16), -1 FROM DUAL
	    WHERE @article_count_quiet IS NULL
	    ON DUPLICATE KEY UPDATE n = n - 1;

CREATE TRIGGER articles_count_add AFTER INSERT ON articles
	FOR EACH ROW INSERT INTO article_count_author (author_id, n)
	    SELECT NEW.author_id, 1 FROM DUAL
	    WHERE @article_count_quiet IS NULL
	    ON DUPLICATE KEY UPDATE n = n + 1;

-- These two fire only for a row the DELETE really removes: of two deletes
-- of one article, the second finds nothing and counts nothing.
CREATE TRIGGER articles_count_sub BEFORE DELETE ON articles
	FOR EACH ROW INSERT INTO article_count_author (author_id, n)
	    SELECT OLD.author_id, -1 FROM DUAL
	    WHERE @article_count_quiet IS NULL
	    ON DUPLICATE KEY UPDATE n = n - 1;

CREATE TRIGGER articles_count_tags_sub BEFORE DELETE ON articles
	FOR EACH ROW INSERT INTO article_count_tag (tag_id, slot, n)
	    SELECT at.tag_id, FLOOR(RAND() * 16), -1 FROM article_tags at
	    WHERE at.article_id = OLD.id AND @article_count_quiet IS NULL
	    ON DUPLICATE KEY UPDATE n = n - 1;

-- The counts of the rows already there. Exact while the blog writes: the
-- shared locks on every article and link make writers wait until the
-- counts are in, and they are taken in the writers' own order (an
-- article, then its links, then the counters), so no writer deadlocks
-- with it; rows the triggers wrote before the locks are counted again
-- here, so they go. Writes wait meanwhile: 30 s with 1M articles and 3M
-- links on the busy 2-core bench machine.
-- (The single statements, not a procedure, so that the mariadb client
-- can run this file too; tests/bench/seed.py recounts the same way.)
START TRANSACTION;
SELECT COUNT(*) INTO @article_count_n FROM articles LOCK IN SHARE MODE;
SELECT COUNT(*) INTO @article_count_n FROM article_tags LOCK IN SHARE MODE;
DELETE FROM article_count_tag;
INSERT INTO article_count_tag (tag_id, slot, n)
	SELECT tag_id, 0, COUNT(*) FROM article_tags GROUP BY tag_id;
DELETE FROM article_count_author;
INSERT INTO article_count_author (author_id, n)
	SELECT author_id, COUNT(*) FROM articles GROUP BY author_id;
COMMIT;
SET @article_count_n = NULL;
