-- The tag counters of migration 009 move the slot of the writer's
-- connection (as read_version, migration 010) instead of a random slot per
-- link, and article_count_tag loses its foreign key. Eight racing retags
-- to one tag deadlocked past their retries (500s in
-- tests/api/test_blog_counts.py): each took random slots of the tag's
-- counter, one per link it removed or added, in no common order, while
-- holding the tag's row (the tag upsert locks it), and every new counter
-- row share-locked that row again for its foreign key. Now a transaction
-- touches one slot per tag, and two transactions meet on a counter row
-- only when their connections share a slot. Tags are never deleted, and an
-- orphan counter would never be read (the count joins tags by name), so
-- the foreign key guarded nothing.
--
-- CREATE OR REPLACE swaps each trigger under the table's metadata lock:
-- no write goes uncounted while this runs.

ALTER TABLE article_count_tag DROP FOREIGN KEY fk_article_count_tag;

CREATE OR REPLACE TRIGGER article_tags_count_add AFTER INSERT ON article_tags
	FOR EACH ROW INSERT INTO article_count_tag (tag_id, slot, n)
	    SELECT NEW.tag_id, CONNECTION_ID() % 16, 1 FROM DUAL
	    WHERE @article_count_quiet IS NULL
	    ON DUPLICATE KEY UPDATE n = n + 1;

CREATE OR REPLACE TRIGGER article_tags_count_sub AFTER DELETE ON article_tags
	FOR EACH ROW INSERT INTO article_count_tag (tag_id, slot, n)
	    SELECT OLD.tag_id, CONNECTION_ID() % 16, -1 FROM DUAL
	    WHERE @article_count_quiet IS NULL
	    ON DUPLICATE KEY UPDATE n = n - 1;

CREATE OR REPLACE TRIGGER articles_count_tags_sub BEFORE DELETE ON articles
	FOR EACH ROW INSERT INTO article_count_tag (tag_id, slot, n)
	    SELECT at.tag_id, CONNECTION_ID() % 16, -1 FROM article_tags at
	    WHERE at.article_id = OLD.id AND @article_count_quiet IS NULL
	    ON DUPLICATE KEY UPDATE n = n - 1;
