-- R__functions.sql: rendering and every operation of the API as one
-- function each, so that a request is one round trip and one transaction.
--
-- A repeatable migration (as Flyway names them): `pay-fcgi --migrate` runs
-- this whole file again, after the numbered migrations and in one
-- transaction, whenever its SHA-256 differs from the one recorded in
-- schema_repeatables. So a function is fixed by editing it here. Everything
-- is CREATE OR REPLACE; a function whose arguments or result change must be
-- dropped by its old signature first (the list just below), or the old one
-- would stay as an overload.
--
-- Every operation returns (r_status, r_body, r_replayed): the HTTP status and
-- the exact JSON text to answer with. The C side validates the request's
-- shape before calling and passes the body through; it never computes money.
--
-- Locking order, the same everywhere so that movements cannot deadlock:
-- the idempotency key (a non-blocking advisory lock), then the payment row
-- (refunds only), then accounts in ascending seq (pay_move).

-- Old signatures, replaced below by functions with other arguments.
DROP FUNCTION IF EXISTS pay_deposit(bigint, text, text, text, text, bigint);
DROP FUNCTION IF EXISTS pay_accounts_list(bigint, text);
DROP FUNCTION IF EXISTS pay_lock_accounts(bigint, bigint);
DROP FUNCTION IF EXISTS pay_move(accounts, accounts, text, text, bigint,
    text, payments, bigint, bigint);
-- Folded into pay_page and pay_caller_in.
DROP FUNCTION IF EXISTS pay_list_json(json[], int);
DROP FUNCTION IF EXISTS pay_cursor_error();
DROP FUNCTION IF EXISTS pay_currency_error();

CREATE OR REPLACE FUNCTION pay_ts(t timestamptz) RETURNS text
LANGUAGE sql STABLE AS $$
	SELECT to_char(t AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.MS"Z"')
$$;

CREATE OR REPLACE FUNCTION pay_error_json(p_type text, p_code text, p_message text,
    p_param text) RETURNS text
LANGUAGE sql IMMUTABLE AS $$
	SELECT json_build_object('error', json_strip_nulls(json_build_object(
	    'type', p_type, 'code', p_code, 'message', p_message,
	    'param', p_param)))::text
$$;

/*
 * The renderers with a subquery are PL/pgSQL: PostgreSQL inlines a SQL
 * function only when its body has none, and otherwise parses and plans the
 * body again in every query that calls it (0.17 ms per GET
 * /pay/v1/accounts, measured with pg_stat_statements), where PL/pgSQL
 * plans it once per session. The others are inlined where they are used.
 */
CREATE OR REPLACE FUNCTION pay_account_json(a accounts) RETURNS json
LANGUAGE plpgsql STABLE AS $$
BEGIN
	RETURN json_build_object('id', a.id, 'owner',
	    (SELECT username FROM users WHERE user_id = a.owner_id),
	    'currency', a.currency, 'balance', a.balance,
	    'created_at', pay_ts(a.created_at));
END $$;

CREATE OR REPLACE FUNCTION pay_payment_json(p payments) RETURNS json
LANGUAGE sql STABLE AS $$
	SELECT json_build_object('id', p.id, 'from', p.payer, 'to', p.payee,
	    'amount', p.amount, 'currency', p.currency,
	    'amount_refunded', p.amount_refunded, 'status', p.status,
	    'description', p.description, 'reference', p.reference,
	    'created_at', pay_ts(p.created_at))
$$;

CREATE OR REPLACE FUNCTION pay_refund_json(r refunds, p_payment_id text) RETURNS json
LANGUAGE sql STABLE AS $$
	SELECT json_build_object('id', r.id, 'payment_id', p_payment_id,
	    'amount', r.amount, 'created_at', pay_ts(r.created_at))
$$;

CREATE OR REPLACE FUNCTION pay_entry_json(e entries) RETURNS json
LANGUAGE plpgsql STABLE AS $$
BEGIN
	RETURN json_strip_nulls(json_build_object('id', e.id, 'kind', e.kind,
	    'payment_id', e.payment_id,
	    'refund_id', (SELECT id FROM refunds WHERE seq = e.refund_seq),
	    'deposit_id', (SELECT id FROM deposits WHERE seq = e.deposit_seq),
	    'amount', e.amount,
	    'balance_after', e.balance_after, 'counterparty', e.counterparty,
	    'created_at', pay_ts(e.created_at)));
END $$;

/*
 * The answer of every list: p_items holds up to p_limit + 1 objects (the
 * one more tells has_more). p_cursor is where the page starts, NULL when
 * the client's starting_after names nothing in this list: a 400.
 * PL/pgSQL: called in a FROM clause, a SQL function is planned again on
 * every call.
 */
CREATE OR REPLACE FUNCTION pay_page(p_cursor anyelement, p_items json[],
    p_limit int, OUT r_status int, OUT r_body text, OUT r_replayed boolean)
LANGUAGE plpgsql IMMUTABLE AS $$
BEGIN
	r_replayed := false;
	IF p_cursor IS NULL THEN
		r_status := 400;
		r_body := pay_error_json('invalid_request_error',
		    'parameter_invalid', 'starting_after must be the id of an '
		    'object of this list.', 'starting_after');
		RETURN;
	END IF;
	r_status := 200;
	r_body := json_build_object('data',
	    coalesce(array_to_json(p_items[1:p_limit]), '[]'::json),
	    'has_more', coalesce(array_length(p_items, 1), 0) > p_limit)::text;
END $$;

/*
 * The idempotency gate of every movement. A transaction-scoped advisory lock
 * on (user, key) tells "still executing" (409) from "done" without ever
 * waiting; since the key row is committed in the same transaction as the
 * movement, a crash rolls both back and frees the key. r_status NULL means:
 * go ahead and execute.
 */
CREATE OR REPLACE FUNCTION pay_idem_claim(p_user bigint, p_key text, p_fp text,
    OUT r_status int, OUT r_body text, OUT r_replayed boolean)
LANGUAGE plpgsql AS $$
DECLARE
	k idempotency_keys;
BEGIN
	r_replayed := false;
	IF NOT pg_try_advisory_xact_lock(
	    hashtextextended(p_user::text || ':' || p_key, 7411)) THEN
		r_status := 409;
		r_body := pay_error_json('idempotency_error',
		    'idempotency_key_in_use', 'A request with this '
		    'Idempotency-Key is still being processed; retry later.',
		    NULL);
		RETURN;
	END IF;
	SELECT * INTO k FROM idempotency_keys
	    WHERE user_id = p_user AND key = p_key;
	IF FOUND THEN
		IF k.fingerprint <> p_fp THEN
			r_status := 422;
			r_body := pay_error_json('idempotency_error',
			    'idempotency_key_reused', 'This Idempotency-Key '
			    'was used with a different request.', NULL);
		ELSE
			r_status := k.status;
			r_body := k.body;
			r_replayed := true;
		END IF;
	END IF;
END $$;

/*
 * PL/pgSQL, not SQL: a SQL function that cannot be inlined (an INSERT) is
 * parsed and planned again in every transaction that calls it, while
 * PL/pgSQL keeps its plan for the session.
 */
CREATE OR REPLACE FUNCTION pay_idem_store(p_user bigint, p_key text, p_fp text,
    p_status int, p_body text) RETURNS void
LANGUAGE plpgsql AS $$
BEGIN
	INSERT INTO idempotency_keys (user_id, key, fingerprint, status, body)
	    VALUES (p_user, p_key, p_fp, p_status, p_body);
END $$;

/*
 * 404 for an object the caller may not see or that does not exist, which
 * are the same to the caller (pay_error_not_found on the C side).
 */
CREATE OR REPLACE FUNCTION pay_not_found(p_noun text) RETURNS text
LANGUAGE sql IMMUTABLE AS $$
	SELECT pay_error_json('not_found_error', 'no_such_' || p_noun,
	    'No such ' || p_noun || '.', NULL)
$$;

/*
 * The caller of an operation needs a row (accounts reference it), but what
 * a token says about names is never stored: usernames come only from the
 * blog's signed identity events (pay_ident_apply, migration 004).
 */
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
 * The start of every operation in a currency: the 400 body when p_currency
 * is not supported (and nothing recorded), else NULL once the caller has
 * its row (pay_user_seen).
 */
CREATE OR REPLACE FUNCTION pay_caller_in(p_user bigint, p_username text,
    p_currency text) RETURNS text
LANGUAGE plpgsql AS $$
BEGIN
	PERFORM 1 FROM currencies WHERE code = p_currency;
	IF NOT FOUND THEN
		RETURN pay_currency_unsupported();
	END IF;
	PERFORM pay_user_seen(p_user, p_username);
	RETURN NULL;
END $$;

/* The 400 of a currency that is not in the currencies table. */
CREATE OR REPLACE FUNCTION pay_currency_unsupported() RETURNS text
LANGUAGE sql IMMUTABLE AS $$
	SELECT pay_error_json('invalid_request_error', 'parameter_invalid',
	    'currency must be a supported ISO 4217 code in upper case.',
	    'currency')
$$;

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
CREATE OR REPLACE FUNCTION pay_ident_apply(p_events json,
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

CREATE OR REPLACE FUNCTION pay_deposit_json(d deposits) RETURNS json
LANGUAGE plpgsql STABLE AS $$
BEGIN
	RETURN json_build_object('id', d.id, 'account',
	    (SELECT pay_account_json(a) FROM accounts a
	    WHERE a.seq = d.account_seq),
	    'amount', d.amount, 'currency', d.currency,
	    'created_at', pay_ts(d.created_at));
END $$;

/*
 * The one way money moves: p_amount from account p_src to account p_dst,
 * with the row that justifies it (a deposit, a payment or a refund of
 * p_pay). It locks both accounts in ascending seq (the global order), checks
 * the bounds against the locked balances, then takes the time: after the
 * locks, so that along an account's ledger created_at never decreases
 * (pay.md, "Ordering"). It writes the movement's row, both entries and both
 * balances, and answers r_seq, the new row's seq.
 *
 * Refused, it changes nothing and answers r_error: insufficient_funds (a
 * user's account would go below zero) or balance_limit_exceeded (a balance
 * would leave +-(2^53-1), the system funding accounts included).
 *
 * For a payment, p_pay carries payer_id, payee_id, description and
 * reference; for a refund, it is the payment, already locked by the caller.
 */
CREATE OR REPLACE FUNCTION pay_move(p_kind text, p_src bigint, p_dst bigint,
    p_amount bigint, p_src_name text, p_dst_name text, p_pay payments,
    OUT r_error text, OUT r_seq bigint)
LANGUAGE plpgsql AS $$
DECLARE
	bound constant bigint := 9007199254740991;
	lo accounts;
	hi accounts;
	src accounts;
	dst accounts;
	at timestamptz;
	pay_seq bigint;
	pay_id text;
	ref_seq bigint;
	dep_seq bigint;
BEGIN
	/*
	 * A row locked FOR NO KEY UPDATE is read as the lock leaves it (the
	 * newest version, after any wait), so locking reads it too.
	 */
	SELECT * INTO lo FROM accounts WHERE seq = least(p_src, p_dst)
	    FOR NO KEY UPDATE;
	SELECT * INTO hi FROM accounts WHERE seq = greatest(p_src, p_dst)
	    FOR NO KEY UPDATE;
	IF lo.seq = p_src THEN
		src := lo;
		dst := hi;
	ELSE
		src := hi;
		dst := lo;
	END IF;
	IF src.is_system AND src.balance - p_amount < -bound THEN
		r_error := 'balance_limit_exceeded';
		RETURN;
	END IF;
	IF NOT src.is_system AND src.balance < p_amount THEN
		r_error := 'insufficient_funds';
		RETURN;
	END IF;
	IF dst.balance + p_amount > bound THEN
		r_error := 'balance_limit_exceeded';
		RETURN;
	END IF;
	at := clock_timestamp();

	CASE p_kind
	WHEN 'deposit' THEN
		INSERT INTO deposits (account_seq, amount, currency, created_at)
		    VALUES (dst.seq, p_amount, dst.currency, at)
		    RETURNING seq INTO dep_seq;
		r_seq := dep_seq;
	WHEN 'payment' THEN
		INSERT INTO payments (payer_id, payer, payer_account, payee_id,
		    payee, payee_account, amount, currency, description,
		    reference, created_at)
		VALUES (p_pay.payer_id, p_src_name, src.seq, p_pay.payee_id,
		    p_dst_name, dst.seq, p_amount, src.currency,
		    p_pay.description, p_pay.reference, at)
		RETURNING seq, id INTO pay_seq, pay_id;
		r_seq := pay_seq;
	WHEN 'refund' THEN
		INSERT INTO refunds (payment_seq, amount, created_at)
		    VALUES (p_pay.seq, p_amount, at) RETURNING seq INTO ref_seq;
		UPDATE payments SET amount_refunded = amount_refunded + p_amount,
		    status = CASE WHEN amount_refunded + p_amount = amount
		    THEN 'refunded' ELSE 'partially_refunded' END
		    WHERE seq = p_pay.seq;
		pay_seq := p_pay.seq;
		pay_id := p_pay.id;
		r_seq := ref_seq;
	END CASE;

	INSERT INTO entries (account_seq, currency, kind, amount,
	    balance_after, counterparty, payment_seq, payment_id, refund_seq,
	    deposit_seq, created_at)
	VALUES (src.seq, src.currency, p_kind, -p_amount,
	    src.balance - p_amount, p_dst_name, pay_seq, pay_id, ref_seq,
	    dep_seq, at),
	    (dst.seq, dst.currency, p_kind, p_amount,
	    dst.balance + p_amount, p_src_name, pay_seq, pay_id, ref_seq,
	    dep_seq, at);
	UPDATE accounts SET balance = balance - p_amount WHERE seq = src.seq;
	UPDATE accounts SET balance = balance + p_amount WHERE seq = dst.seq;
END $$;

/* The 402 of a refused pay_move, in the words of the movement. */
CREATE OR REPLACE FUNCTION pay_move_error(p_error text, p_what text)
RETURNS text
LANGUAGE sql IMMUTABLE AS $$
	SELECT CASE p_error WHEN 'insufficient_funds' THEN
	    pay_error_json('payment_error', 'insufficient_funds',
	    format('Your balance is too low for this %s.', p_what), 'amount')
	ELSE pay_error_json('payment_error', 'balance_limit_exceeded',
	    format('This %s would take a balance beyond '
	    '9007199254740991 minor units, the most an account may hold.',
	    p_what), 'amount') END
$$;

/*
 * The end every movement shares once its own checks passed: pay_move, then
 * the answer (201 with the new deposit, payment or refund, or the 402 of a
 * refused move), stored under the idempotency key.
 */
CREATE OR REPLACE FUNCTION pay_move_answer(p_user bigint, p_key text,
    p_fp text, p_kind text, p_src bigint, p_dst bigint, p_amount bigint,
    p_src_name text, p_dst_name text, p_pay payments,
    OUT r_status int, OUT r_body text)
LANGUAGE plpgsql AS $$
DECLARE
	m record;
BEGIN
	SELECT * INTO m FROM pay_move(p_kind, p_src, p_dst, p_amount,
	    p_src_name, p_dst_name, p_pay);
	IF m.r_error IS NOT NULL THEN
		r_status := 402;
		r_body := pay_move_error(m.r_error, p_kind);
	ELSE
		/*
		 * One statement per kind, not one CASE over p_kind: with its
		 * three subqueries such a CASE was planned again on every call
		 * (a plan for the given kind is cheaper than the generic one,
		 * so PostgreSQL's plan cache never settles on the latter).
		 */
		r_status := 201;
		IF p_kind = 'payment' THEN
			r_body := (SELECT pay_payment_json(p) FROM payments p
			    WHERE p.seq = m.r_seq)::text;
		ELSIF p_kind = 'deposit' THEN
			r_body := (SELECT pay_deposit_json(d) FROM deposits d
			    WHERE d.seq = m.r_seq)::text;
		ELSE
			r_body := (SELECT pay_refund_json(r, p_pay.id)
			    FROM refunds r WHERE r.seq = m.r_seq)::text;
		END IF;
	END IF;
	PERFORM pay_idem_store(p_user, p_key, p_fp, r_status, r_body);
END $$;

/*
 * The key is looked up before anything that depends on configuration
 * (p_sandbox, p_max: PAY_SANDBOX and PAY_MAX_DEPOSIT) or on data, so a
 * stored outcome replays even after either changed. deposits_disabled is
 * stored like any refusal of the movement; the limit is a validation error
 * (400) and is not.
 */
CREATE OR REPLACE FUNCTION pay_deposit(p_user bigint, p_username text,
    p_key text, p_fp text, p_currency text, p_amount bigint,
    p_sandbox boolean, p_max bigint,
    OUT r_status int, OUT r_body text, OUT r_replayed boolean)
LANGUAGE plpgsql AS $$
BEGIN
	SELECT * INTO r_status, r_body, r_replayed
	    FROM pay_idem_claim(p_user, p_key, p_fp);
	IF r_status IS NOT NULL THEN
		RETURN;
	END IF;
	IF NOT p_sandbox THEN
		r_status := 403;
		r_body := pay_error_json('permission_error',
		    'deposits_disabled', 'Deposits are only available in '
		    'sandbox mode.', NULL);
		PERFORM pay_idem_store(p_user, p_key, p_fp, r_status, r_body);
		RETURN;
	END IF;
	IF p_amount > p_max THEN
		r_status := 400;
		r_body := pay_error_json('invalid_request_error',
		    'parameter_invalid', format('amount must not exceed %s.',
		    p_max), 'amount');
		RETURN;
	END IF;
	r_body := pay_caller_in(p_user, p_username, p_currency);
	IF r_body IS NOT NULL THEN
		r_status := 400;
		RETURN;
	END IF;
	INSERT INTO accounts (owner_id, currency)
	    VALUES (p_user, p_currency)
	    ON CONFLICT (owner_id, currency) DO NOTHING;
	/* From the currency's system account (owner 0) to the caller's. */
	SELECT * INTO r_status, r_body FROM pay_move_answer(p_user, p_key,
	    p_fp, 'deposit', (SELECT seq FROM accounts WHERE owner_id = 0 AND
	    currency = p_currency), (SELECT seq FROM accounts WHERE
	    owner_id = p_user AND currency = p_currency), p_amount, 'system',
	    p_username, NULL);
END $$;

CREATE OR REPLACE FUNCTION pay_payment(p_user bigint, p_username text,
    p_key text, p_fp text, p_to text, p_currency text, p_amount bigint,
    p_description text, p_reference text,
    OUT r_status int, OUT r_body text, OUT r_replayed boolean)
LANGUAGE plpgsql AS $$
DECLARE
	known boolean;
	payee bigint;
	src bigint;
	dst bigint;
	np payments;
BEGIN
	SELECT * INTO r_status, r_body, r_replayed
	    FROM pay_idem_claim(p_user, p_key, p_fp);
	IF r_status IS NOT NULL THEN
		RETURN;
	END IF;
	/*
	 * Everything the checks below need in one statement: the currency
	 * (pay_caller_in's check), the payee (a name is unique and comes from
	 * the blog's identity events) and both accounts. Unlike the other
	 * operations, a payment records no row for its caller
	 * (pay_user_seen): a payer without one has no account either, and is
	 * answered 404 below.
	 */
	SELECT c.code IS NOT NULL, u.user_id, d.seq, s.seq
	    INTO known, payee, dst, src
	    FROM (SELECT 1) one
	    LEFT JOIN currencies c ON c.code = p_currency
	    LEFT JOIN users u ON u.username = p_to AND u.user_id <> 0
	    LEFT JOIN accounts d ON d.owner_id = u.user_id AND
	        d.currency = p_currency
	    LEFT JOIN accounts s ON s.owner_id = p_user AND
	        s.currency = p_currency;
	IF NOT known THEN
		r_status := 400;
		r_body := pay_currency_unsupported();
		RETURN;
	END IF;
	IF payee = p_user THEN
		/* A validation error: not stored, like the C-side check. */
		r_status := 400;
		r_body := pay_error_json('invalid_request_error',
		    'parameter_invalid', 'You cannot pay yourself.', 'to');
		RETURN;
	END IF;
	r_body := CASE WHEN payee IS NULL THEN pay_error_json(
	    'not_found_error', 'no_such_user', 'No user has this username.',
	    'to')
	    WHEN dst IS NULL THEN pay_error_json('not_found_error',
	    'no_such_payee_account', 'The payee has no account in this '
	    'currency.', 'to')
	    WHEN src IS NULL THEN pay_error_json('not_found_error',
	    'no_such_account', 'You have no account in this currency.',
	    'currency') END;
	IF r_body IS NOT NULL THEN
		r_status := 404;
		PERFORM pay_idem_store(p_user, p_key, p_fp, r_status, r_body);
		RETURN;
	END IF;

	np.payer_id := p_user;
	np.payee_id := payee;
	np.description := p_description;
	np.reference := p_reference;
	SELECT * INTO r_status, r_body FROM pay_move_answer(p_user, p_key,
	    p_fp, 'payment', src, dst, p_amount, p_username, p_to, np);
END $$;

/* p_amount NULL refunds what remains. */
CREATE OR REPLACE FUNCTION pay_refund(p_user bigint, p_key text, p_fp text,
    p_payment text, p_amount bigint,
    OUT r_status int, OUT r_body text, OUT r_replayed boolean)
LANGUAGE plpgsql AS $$
DECLARE
	p payments;
	remaining bigint;
	amt bigint;
BEGIN
	SELECT * INTO r_status, r_body, r_replayed
	    FROM pay_idem_claim(p_user, p_key, p_fp);
	IF r_status IS NOT NULL THEN
		RETURN;
	END IF;
	SELECT * INTO p FROM payments WHERE id = p_payment;
	IF NOT FOUND OR (p.payer_id <> p_user AND p.payee_id <> p_user) THEN
		r_status := 404;
		r_body := pay_not_found('payment');
	ELSIF p.payee_id <> p_user THEN
		r_status := 403;
		r_body := pay_error_json('permission_error', 'not_payee',
		    'Only the payee can refund a payment.', NULL);
	ELSE
		SELECT * INTO p FROM payments WHERE seq = p.seq
		    FOR NO KEY UPDATE;
		remaining := p.amount - p.amount_refunded;
		amt := coalesce(p_amount, remaining);
		IF remaining = 0 THEN
			r_status := 402;
			r_body := pay_error_json('payment_error',
			    'already_refunded', 'This payment is already '
			    'fully refunded.', NULL);
		ELSIF amt > remaining THEN
			r_status := 402;
			r_body := pay_error_json('payment_error',
			    'refund_exceeds_remaining', format('At most %s can '
			    'still be refunded.', remaining), 'amount');
		END IF;
	END IF;
	IF r_status IS NOT NULL THEN
		PERFORM pay_idem_store(p_user, p_key, p_fp, r_status, r_body);
		RETURN;
	END IF;

	SELECT * INTO r_status, r_body FROM pay_move_answer(p_user, p_key,
	    p_fp, 'refund', p.payee_account, p.payer_account,
	    amt, p.payee, p.payer, p);
END $$;

CREATE OR REPLACE FUNCTION pay_account_open(p_user bigint, p_username text,
    p_currency text, OUT r_status int, OUT r_body text,
    OUT r_replayed boolean)
LANGUAGE plpgsql AS $$
DECLARE
	a accounts;
BEGIN
	r_replayed := false;
	r_body := pay_caller_in(p_user, p_username, p_currency);
	IF r_body IS NOT NULL THEN
		r_status := 400;
		RETURN;
	END IF;
	INSERT INTO accounts (owner_id, currency)
	    VALUES (p_user, p_currency)
	    ON CONFLICT (owner_id, currency) DO NOTHING
	    RETURNING * INTO a;
	IF FOUND THEN
		r_status := 201;
		r_body := pay_account_json(a)::text;
		RETURN;
	END IF;
	SELECT * INTO a FROM accounts
	    WHERE owner_id = p_user AND currency = p_currency;
	r_status := 409;
	r_body := json_build_object('error', json_build_object(
	    'type', 'invalid_request_error', 'code', 'account_exists',
	    'message', 'You already have an account in this currency.',
	    'param', 'currency', 'account_id', a.id))::text;
END $$;

/*
 * Oldest first, as accounts are few and stable; paginated like every list.
 * A read only: a caller without a users row has no account to list, and
 * the operations that open one record the row (pay_caller_in).
 */
CREATE OR REPLACE FUNCTION pay_accounts_list(p_user bigint, p_username text,
    p_after text, p_limit int,
    OUT r_status int, OUT r_body text, OUT r_replayed boolean)
LANGUAGE plpgsql AS $$
DECLARE
	cur bigint := 0;
BEGIN
	IF p_after IS NOT NULL THEN
		cur := (SELECT seq FROM accounts
		    WHERE id = p_after AND owner_id = p_user);
	END IF;
	SELECT * INTO r_status, r_body, r_replayed FROM pay_page(cur,
	    ARRAY(SELECT pay_account_json(a) FROM accounts a
	    WHERE a.owner_id = p_user AND a.seq > cur
	    ORDER BY a.seq LIMIT p_limit + 1), p_limit);
END $$;

/*
 * The supported currencies, by code. p_max is PAY_MAX_DEPOSIT, in each
 * currency's minor unit: the same number is worth very different sums
 * (1e8 is JPY 100M but KWD 100k), which is why it is shown per currency.
 */
CREATE OR REPLACE FUNCTION pay_currencies_list(p_after text, p_limit int,
    p_max bigint,
    OUT r_status int, OUT r_body text, OUT r_replayed boolean)
LANGUAGE plpgsql STABLE AS $$
BEGIN
	SELECT * INTO r_status, r_body, r_replayed FROM pay_page(
	    CASE WHEN p_after IS NULL THEN ''
	    ELSE (SELECT code FROM currencies WHERE code = p_after) END,
	    ARRAY(SELECT json_build_object('code', c.code, 'exponent',
	    c.minor_units, 'max_deposit', p_max) FROM currencies c
	    WHERE c.code > coalesce(p_after, '')
	    ORDER BY c.code LIMIT p_limit + 1), p_limit);
END $$;

/*
 * A single object: 200 with it, or the 404 of pay_not_found when the
 * caller may not see it or it does not exist. This and the operations
 * below are PL/pgSQL like pay_page, for the same reason: a SQL function
 * called in a FROM clause is planned again on every call.
 */
CREATE OR REPLACE FUNCTION pay_found(p_noun text, p_object json,
    OUT r_status int, OUT r_body text, OUT r_replayed boolean)
LANGUAGE plpgsql IMMUTABLE AS $$
BEGIN
	r_replayed := false;
	IF p_object IS NULL THEN
		r_status := 404;
		r_body := pay_not_found(p_noun);
	ELSE
		r_status := 200;
		r_body := p_object::text;
	END IF;
END $$;

CREATE OR REPLACE FUNCTION pay_deposit_get(p_user bigint, p_id text,
    OUT r_status int, OUT r_body text, OUT r_replayed boolean)
LANGUAGE plpgsql STABLE AS $$
BEGIN
	SELECT * INTO r_status, r_body, r_replayed FROM pay_found('deposit',
	    (SELECT pay_deposit_json(d) FROM deposits d
	    JOIN accounts a ON a.seq = d.account_seq
	    WHERE d.id = p_id AND a.owner_id = p_user));
END $$;

CREATE OR REPLACE FUNCTION pay_account_get(p_user bigint, p_id text,
    OUT r_status int, OUT r_body text, OUT r_replayed boolean)
LANGUAGE plpgsql STABLE AS $$
BEGIN
	SELECT * INTO r_status, r_body, r_replayed FROM pay_found('account',
	    (SELECT pay_account_json(a) FROM accounts a
	    WHERE a.id = p_id AND a.owner_id = p_user));
END $$;

CREATE OR REPLACE FUNCTION pay_payment_get(p_user bigint, p_id text,
    OUT r_status int, OUT r_body text, OUT r_replayed boolean)
LANGUAGE plpgsql STABLE AS $$
BEGIN
	SELECT * INTO r_status, r_body, r_replayed FROM pay_found('payment',
	    (SELECT pay_payment_json(p) FROM payments p WHERE p.id = p_id AND
	    (p.payer_id = p_user OR p.payee_id = p_user)));
END $$;

/*
 * Lists of an account's or a payment's history: newest first, cursor = the
 * last id of the previous page. The owner is checked first: someone else's
 * account or payment is a 404 whatever the cursor.
 */
CREATE OR REPLACE FUNCTION pay_entries_list(p_user bigint, p_id text, p_after text,
    p_limit int, OUT r_status int, OUT r_body text, OUT r_replayed boolean)
LANGUAGE plpgsql STABLE AS $$
DECLARE
	acc bigint;
	cur bigint := 9223372036854775807;
BEGIN
	SELECT seq INTO acc FROM accounts WHERE id = p_id AND owner_id = p_user;
	IF NOT FOUND THEN
		SELECT * INTO r_status, r_body, r_replayed
		    FROM pay_found('account', NULL);
		RETURN;
	END IF;
	IF p_after IS NOT NULL THEN
		cur := (SELECT seq FROM entries
		    WHERE id = p_after AND account_seq = acc);
	END IF;
	SELECT * INTO r_status, r_body, r_replayed FROM pay_page(cur,
	    ARRAY(SELECT pay_entry_json(e) FROM entries e
	    WHERE e.account_seq = acc AND e.seq < cur
	    ORDER BY e.seq DESC LIMIT p_limit + 1), p_limit);
END $$;

CREATE OR REPLACE FUNCTION pay_payments_list(p_user bigint, p_direction text,
    p_after text, p_limit int,
    OUT r_status int, OUT r_body text, OUT r_replayed boolean)
LANGUAGE plpgsql STABLE AS $$
DECLARE
	cur bigint := 9223372036854775807;
	sent boolean := p_direction IN ('sent', 'all');
	recv boolean := p_direction IN ('received', 'all');
BEGIN
	IF p_after IS NOT NULL THEN
		cur := (SELECT seq FROM payments WHERE id = p_after AND
		    ((sent AND payer_id = p_user) OR
		    (recv AND payee_id = p_user)));
	END IF;
	/* Two index scans merged, rather than one OR that scans both. */
	SELECT * INTO r_status, r_body, r_replayed FROM pay_page(cur,
	    ARRAY(SELECT pay_payment_json(q) FROM (
	    (SELECT * FROM payments WHERE sent AND payer_id = p_user AND
	    seq < cur ORDER BY seq DESC LIMIT p_limit + 1)
	    UNION ALL
	    (SELECT * FROM payments WHERE recv AND payee_id = p_user AND
	    seq < cur ORDER BY seq DESC LIMIT p_limit + 1)) q
	    ORDER BY q.seq DESC LIMIT p_limit + 1), p_limit);
END $$;

CREATE OR REPLACE FUNCTION pay_refunds_list(p_user bigint, p_id text, p_after text,
    p_limit int, OUT r_status int, OUT r_body text, OUT r_replayed boolean)
LANGUAGE plpgsql STABLE AS $$
DECLARE
	p payments;
	cur bigint := 9223372036854775807;
BEGIN
	SELECT * INTO p FROM payments WHERE id = p_id AND
	    (payer_id = p_user OR payee_id = p_user);
	IF NOT FOUND THEN
		SELECT * INTO r_status, r_body, r_replayed
		    FROM pay_found('payment', NULL);
		RETURN;
	END IF;
	IF p_after IS NOT NULL THEN
		cur := (SELECT seq FROM refunds
		    WHERE id = p_after AND payment_seq = p.seq);
	END IF;
	SELECT * INTO r_status, r_body, r_replayed FROM pay_page(cur,
	    ARRAY(SELECT pay_refund_json(r, p.id) FROM refunds r
	    WHERE r.payment_seq = p.seq AND r.seq < cur
	    ORDER BY r.seq DESC LIMIT p_limit + 1), p_limit);
END $$;

/* Keys older than the TTL go, a bounded batch at a time. */
CREATE OR REPLACE FUNCTION pay_idem_prune(p_hours int) RETURNS bigint
LANGUAGE sql AS $$
	WITH gone AS (
		DELETE FROM idempotency_keys WHERE ctid = ANY (ARRAY(
		    SELECT ctid FROM idempotency_keys
		    WHERE created_at < now() - make_interval(hours => p_hours)
		    LIMIT 1000))
		RETURNING 1)
	SELECT count(*) FROM gone
$$;

-- New functions get EXECUTE from PUBLIC by default; say it for pay_app
-- anyway, as 003 does, in case a database revoked the default.
DO $$
BEGIN
	IF EXISTS (SELECT 1 FROM pg_roles WHERE rolname = 'pay_app') THEN
		GRANT EXECUTE ON ALL FUNCTIONS IN SCHEMA public TO pay_app;
	END IF;
END $$;
