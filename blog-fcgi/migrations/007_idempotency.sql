-- Idempotency-Key for blog writes (our addition to the RealWorld API;
-- blog_idem.c). A row exists only for a request that executed: it is
-- written in the same transaction as the write itself, so a crash leaves
-- neither. Keys are scoped to the user and compared byte for byte;
-- rows older than BLOG_IDEMPOTENCY_TTL_HOURS are pruned in the background.

CREATE TABLE idempotency_keys (
	user_id		BIGINT UNSIGNED NOT NULL,
	idem_key	VARBINARY(255) NOT NULL,
	fingerprint	CHAR(64) CHARACTER SET ascii COLLATE ascii_bin NOT NULL,
	status		SMALLINT UNSIGNED NOT NULL,
	body		MEDIUMTEXT CHARACTER SET utf8mb4 COLLATE utf8mb4_bin NOT NULL,
	created_at	DATETIME(3) NOT NULL,
	PRIMARY KEY (user_id, idem_key),
	KEY idempotency_keys_created (created_at)
) ENGINE=InnoDB;
