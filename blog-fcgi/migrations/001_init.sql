-- The blog schema. Every table is InnoDB and utf8mb4. Names that are matched
-- exactly (usernames, tags, slugs) use a binary no-pad collation so that
-- "Bob" and "bob", or "x" and "x ", are different keys; emails compare
-- case-insensitively so one mailbox cannot register twice. Timestamps are
-- UTC with millisecond precision: createdAt must serialise identically on
-- every response, and updatedAt must change on an update a few ms later.

CREATE TABLE users (
	id		BIGINT UNSIGNED NOT NULL AUTO_INCREMENT,
	username	VARCHAR(64) CHARACTER SET utf8mb4 COLLATE utf8mb4_nopad_bin NOT NULL,
	email		VARCHAR(254) CHARACTER SET utf8mb4 COLLATE utf8mb4_general_nopad_ci NOT NULL,
	password_hash	VARCHAR(255) CHARACTER SET ascii COLLATE ascii_bin NOT NULL,
	bio		TEXT NULL,
	image		TEXT NULL,
	created_at	DATETIME(3) NOT NULL,
	updated_at	DATETIME(3) NOT NULL,
	PRIMARY KEY (id),
	UNIQUE KEY uk_users_username (username),
	UNIQUE KEY uk_users_email (email)
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_unicode_ci;

-- follower follows followee. The primary key answers "does U follow A" and
-- drives the feed; the second key serves the foreign key and "who follows A".
CREATE TABLE follows (
	follower_id	BIGINT UNSIGNED NOT NULL,
	followee_id	BIGINT UNSIGNED NOT NULL,
	created_at	DATETIME(3) NOT NULL,
	PRIMARY KEY (follower_id, followee_id),
	KEY k_follows_followee (followee_id),
	CONSTRAINT fk_follows_follower FOREIGN KEY (follower_id)
	    REFERENCES users (id) ON DELETE CASCADE,
	CONSTRAINT fk_follows_followee FOREIGN KEY (followee_id)
	    REFERENCES users (id) ON DELETE CASCADE
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_unicode_ci;

-- tag_list is the article's tags, sorted and joined with U+001F: a list
-- page then needs no query per article (nor one for all their tags);
-- article_tags stays the source for filtering by tag. favorites_count is
-- maintained in the same transaction as favorites, under the article's row
-- lock, so it is exact.
CREATE TABLE articles (
	id		BIGINT UNSIGNED NOT NULL AUTO_INCREMENT,
	slug		VARCHAR(191) CHARACTER SET ascii COLLATE ascii_bin NOT NULL,
	author_id	BIGINT UNSIGNED NOT NULL,
	title		VARCHAR(255) NOT NULL,
	description	TEXT NOT NULL,
	body		MEDIUMTEXT NOT NULL,
	tag_list	TEXT CHARACTER SET utf8mb4 COLLATE utf8mb4_nopad_bin NOT NULL,
	favorites_count	INT UNSIGNED NOT NULL DEFAULT 0,
	created_at	DATETIME(3) NOT NULL,
	updated_at	DATETIME(3) NOT NULL,
	PRIMARY KEY (id),
	UNIQUE KEY uk_articles_slug (slug),
	KEY k_articles_created (created_at, id),
	KEY k_articles_author_created (author_id, created_at, id),
	CONSTRAINT fk_articles_author FOREIGN KEY (author_id)
	    REFERENCES users (id) ON DELETE CASCADE
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_unicode_ci;

CREATE TABLE tags (
	id		BIGINT UNSIGNED NOT NULL AUTO_INCREMENT,
	name		VARCHAR(64) CHARACTER SET utf8mb4 COLLATE utf8mb4_nopad_bin NOT NULL,
	PRIMARY KEY (id),
	UNIQUE KEY uk_tags_name (name)
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_unicode_ci;

CREATE TABLE article_tags (
	article_id	BIGINT UNSIGNED NOT NULL,
	tag_id		BIGINT UNSIGNED NOT NULL,
	PRIMARY KEY (article_id, tag_id),
	KEY k_article_tags_tag (tag_id, article_id),
	CONSTRAINT fk_article_tags_article FOREIGN KEY (article_id)
	    REFERENCES articles (id) ON DELETE CASCADE,
	CONSTRAINT fk_article_tags_tag FOREIGN KEY (tag_id)
	    REFERENCES tags (id) ON DELETE CASCADE
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_unicode_ci;

CREATE TABLE favorites (
	user_id		BIGINT UNSIGNED NOT NULL,
	article_id	BIGINT UNSIGNED NOT NULL,
	created_at	DATETIME(3) NOT NULL,
	PRIMARY KEY (user_id, article_id),
	KEY k_favorites_article (article_id),
	CONSTRAINT fk_favorites_user FOREIGN KEY (user_id)
	    REFERENCES users (id) ON DELETE CASCADE,
	CONSTRAINT fk_favorites_article FOREIGN KEY (article_id)
	    REFERENCES articles (id) ON DELETE CASCADE
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_unicode_ci;

CREATE TABLE comments (
	id		BIGINT UNSIGNED NOT NULL AUTO_INCREMENT,
	article_id	BIGINT UNSIGNED NOT NULL,
	author_id	BIGINT UNSIGNED NOT NULL,
	body		TEXT NOT NULL,
	created_at	DATETIME(3) NOT NULL,
	updated_at	DATETIME(3) NOT NULL,
	PRIMARY KEY (id),
	KEY k_comments_article (article_id, created_at, id),
	KEY k_comments_author (author_id),
	CONSTRAINT fk_comments_article FOREIGN KEY (article_id)
	    REFERENCES articles (id) ON DELETE CASCADE,
	CONSTRAINT fk_comments_author FOREIGN KEY (author_id)
	    REFERENCES users (id) ON DELETE CASCADE
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_unicode_ci;
