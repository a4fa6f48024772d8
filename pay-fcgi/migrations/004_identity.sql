-- 004_identity.sql: pay's directory of users comes from the blog only.
--
-- Until now pay learned usernames from token claims and resolved a payee
-- by the most recent claim to a name, so an old token could redirect
-- payments (issue 10). From here on a username is written only by
-- pay_ident_apply, from events the blog signed (pay-fcgi/pay_ident.c):
-- ident_ver is the user's identity version in the blog (0: never told),
-- name_seq the blog's outbox sequence of the event that set username.
-- A username names at most one user; a payee is resolved only by it.

ALTER TABLE users ALTER COLUMN username DROP NOT NULL;
ALTER TABLE users ADD COLUMN ident_ver bigint NOT NULL DEFAULT 0
	CHECK (ident_ver >= 0);
ALTER TABLE users ADD COLUMN name_seq bigint NOT NULL DEFAULT 0;

-- Names learned from tokens are not trusted: forgotten, until the blog's
-- backfill (its migration 004) tells pay who holds which name.
UPDATE users SET username = NULL WHERE user_id <> 0;
DROP INDEX users_username;
CREATE UNIQUE INDEX users_username ON users (username);

-- The caller of an operation needs a row (accounts reference it), but
-- what a token says about names is never stored.
CREATE OR REPLACE FUNCTION pay_user_seen(p_user bigint, p_username text)
RETURNS void
LANGUAGE plpgsql AS $$
BEGIN
	PERFORM 1 FROM users WHERE user_id = p_user;
	IF NOT FOUND THEN
		INSERT INTO users (user_id) VALUES (p_user)
		    ON CONFLICT (user_id) DO NOTHING;
	END IF;
END $$;

/*
 * Apply verified identity events ([{sub, ver, seq, username}], username
 * null for a name pay must not resolve), oldest seq first. An event whose
 * version is not newer than what pay has is stale and changes nothing, so
 * a repeat, a replay or a late duplicate is harmless. A name held by
 * another user through an older event (lower seq) moves to this user: the
 * blog freed it before this event's transaction took it. A name held
 * through a newer event stays there; this user's own later event will
 * name them.
 */
CREATE FUNCTION pay_ident_apply(p_events json,
    OUT r_status int, OUT r_body text, OUT r_replayed boolean)
LANGUAGE plpgsql AS $$
DECLARE
	e record;
	u users;
	h users;
	v_name text;
	applied int := 0;
	stale int := 0;
BEGIN
	r_replayed := false;
	FOR e IN SELECT (x->>'sub')::bigint AS sub, (x->>'ver')::bigint AS ver,
	    (x->>'seq')::bigint AS seq, x->>'username' AS username
	    FROM json_array_elements(p_events) x
	    ORDER BY (x->>'seq')::bigint
	LOOP
		INSERT INTO users (user_id) VALUES (e.sub)
		    ON CONFLICT (user_id) DO NOTHING;
		SELECT * INTO u FROM users WHERE user_id = e.sub FOR UPDATE;
		IF u.ident_ver >= e.ver THEN
			stale := stale + 1;
			CONTINUE;
		END IF;
		v_name := e.username;
		IF v_name IS NOT NULL THEN
			SELECT * INTO h FROM users
			    WHERE username = v_name AND user_id <> e.sub
			    FOR UPDATE;
			IF FOUND AND h.name_seq < e.seq THEN
				UPDATE users SET username = NULL
				    WHERE user_id = h.user_id;
			ELSIF FOUND THEN
				v_name := NULL;
			END IF;
		END IF;
		UPDATE users SET ident_ver = e.ver, username = v_name,
		    name_seq = e.seq, seen_at = clock_timestamp()
		    WHERE user_id = e.sub;
		applied := applied + 1;
	END LOOP;
	r_status := 200;
	r_body := json_build_object('applied', applied, 'stale', stale)::text;
END $$;

DO $$
BEGIN
	IF NOT EXISTS (SELECT 1 FROM pg_roles WHERE rolname = 'pay_app') THEN
		RAISE WARNING 'role pay_app does not exist: grants skipped';
		RETURN;
	END IF;
	GRANT UPDATE (username, seen_at, ident_ver, name_seq) ON users
	    TO pay_app;
	GRANT EXECUTE ON FUNCTION pay_ident_apply(json) TO pay_app;
END $$;
