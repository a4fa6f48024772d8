-- Failed logins per email, so that guessing one account's password is slow
-- however many addresses the guesses come from, and on every replica alike
-- (the row is shared through the database; see blog_users.c).
--
-- The first 4 failures are free; the 5th and each later one lock the email
-- for 15 s x 2^(failures - 5), at most 300 s. A locked email is answered
-- 429 without looking at the password, and those answers do not count, so
-- an attacker can add at most one failure per lock: a victim is never
-- locked out for more than 300 s after the attacker's last try, and the
-- attacker gets at most about 12 guesses an hour. A success deletes the
-- row; so does a day without failures (the next failure starts at 1).
-- Keyed on the email as sent (same collation as users.email), so unknown
-- emails are throttled too and a 429 tells nothing about who exists.

CREATE TABLE login_throttle (
	email		VARCHAR(254) CHARACTER SET utf8mb4 COLLATE utf8mb4_general_nopad_ci NOT NULL,
	failures	INT NOT NULL,
	locked_until	DATETIME(3) NULL,
	last_failure	DATETIME(3) NOT NULL,
	PRIMARY KEY (email)
) ENGINE=InnoDB;
