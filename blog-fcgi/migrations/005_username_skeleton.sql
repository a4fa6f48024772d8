-- Look-alike usernames. username_key makes width, case and composition
-- variants one name; username_skeleton is the key's confusable skeleton
-- (Unicode TS 39, computed by the blog with ICU's spoof checker), equal for
-- names that look alike even when each is in one script: Cyrillic "ѕсоре"
-- and Latin "scope", "rn" and "m", "1" and "l", katakana "エ" and Han "工".
-- Its unique index refuses the look-alike of a name already taken (409).
-- Binary no-pad, for the same reason as the key: equality is ICU's, once.
--
-- Existing rows get their skeleton from `blog-fcgi --migrate` right after
-- this file (SQL cannot compute it); until then, and for an old name that
-- looks like an older one, it stays NULL, which a unique index allows
-- any number of times.
ALTER TABLE users
	ADD COLUMN username_skeleton VARCHAR(510) CHARACTER SET utf8mb4
	    COLLATE utf8mb4_nopad_bin NULL AFTER username_key,
	ADD UNIQUE KEY uk_users_username_skeleton (username_skeleton);
