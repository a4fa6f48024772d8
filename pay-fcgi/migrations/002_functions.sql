-- 002_functions.sql: rendering and every operation of the API as one
-- function each, so that a request is one round trip and one transaction.
--
-- Every operation returns (r_status, r_body, r_replayed): the HTTP status and
-- the exact JSON text to answer with. The C side validates the request's
-- shape before calling and passes the body through; it never computes money.
--
-- Locking order, the same everywhere so that movements cannot deadlock:
-- the idempotency key (a non-blocking advisory lock), then the payment row
-- (refunds only), then accounts in ascending seq.

CREATE FUNCTION pay_ts(t timestamptz) RETURNS text
LANGUAGE sql STABLE AS $$
	SELECT to_char(t AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.MS"Z"')
$$;

CREATE FUNCTION pay_error_json(p_type text, p_code text, p_message text,
    p_param text) RETURNS text
LANGUAGE sql IMMUTABLE AS $$
	SELECT json_build_object('error', json_strip_nulls(json_build_object(
	    'type', p_type, 'code', p_code, 'message', p_message,
	    'param', p_param)))::text
$$;

CREATE FUNCTION pay_account_json(a accounts) RETURNS json
LANGUAGE sql STABLE AS $$
	SELECT json_build_object('id', a.id, 'owner',
	    (SELECT username FROM users WHERE user_id = a.owner_id),
	    'currency', a.currency, 'balance', a.balance,
	    'created_at', pay_ts(a.created_at))
$$;

CREATE FUNCTION pay_payment_json(p payments) RETURNS json
LANGUAGE sql STABLE AS $$
	SELECT json_build_object('id', p.id, 'from', p.payer, 'to', p.payee,
	    'amount', p.amount, 'currency', p.currency,
	    'amount_refunded', p.amount_refunded, 'status', p.status,
	    'description', p.description, 'reference', p.reference,
	    'created_at', pay_ts(p.created_at))
$$;

CREATE FUNCTION pay_refund_json(r refunds, p_payment_id text) RETURNS json
LANGUAGE sql STABLE AS $$
	SELECT json_build_object('id', r.id, 'payment_id', p_payment_id,
	    'amount', r.amount, 'created_at', pay_ts(r.created_at))
$$;

CREATE FUNCTION pay_entry_json(e entries) RETURNS json
LANGUAGE sql STABLE AS $$
	SELECT json_strip_nulls(json_build_object('id', e.id, 'kind', e.kind,
	    'payment_id', e.payment_id, 'amount', e.amount,
	    'balance_after', e.balance_after, 'counterparty', e.counterparty,
	    'created_at', pay_ts(e.created_at)))
$$;

CREATE FUNCTION pay_list_json(p_items json[], p_limit int) RETURNS text
LANGUAGE sql IMMUTABLE AS $$
	SELECT json_build_object(
	    'data', coalesce(array_to_json(p_items[1:p_limit]), '[]'::json),
	    'has_more', coalesce(array_length(p_items, 1), 0) > p_limit)::text
$$;

/*
 * The idempotency gate of every movement. A transaction-scoped advisory lock
 * on (user, key) tells "still executing" (409) from "done" without ever
 * waiting; since the key row is committed in the same transaction as the
 * movement, a crash rolls both back and frees the key. r_status NULL means:
 * go ahead and execute.
 */
CREATE FUNCTION pay_idem_claim(p_user bigint, p_key text, p_fp text,
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

CREATE FUNCTION pay_idem_store(p_user bigint, p_key text, p_fp text,
    p_status int, p_body text) RETURNS void
LANGUAGE sql AS $$
	INSERT INTO idempotency_keys (user_id, key, fingerprint, status, body)
	    VALUES (p_user, p_key, p_fp, p_status, p_body)
$$;

CREATE FUNCTION pay_currency_error() RETURNS text
LANGUAGE sql IMMUTABLE AS $$
	SELECT pay_error_json('invalid_request_error', 'parameter_invalid',
	    'currency must be a supported ISO 4217 code in upper case.',
	    'currency')
$$;

/*
 * Remember the caller's current username (from the token). Written only
 * when it changed, so the usual call is one index lookup and no lock.
 */
CREATE FUNCTION pay_user_seen(p_user bigint, p_username text) RETURNS void
LANGUAGE plpgsql AS $$
BEGIN
	PERFORM 1 FROM users WHERE user_id = p_user AND username = p_username;
	IF NOT FOUND THEN
		INSERT INTO users (user_id, username)
		    VALUES (p_user, p_username)
		    ON CONFLICT (user_id) DO UPDATE
		    SET username = EXCLUDED.username, seen_at = clock_timestamp();
	END IF;
END $$;

/* Lock two accounts in ascending seq, the global order. */
CREATE FUNCTION pay_lock_accounts(a bigint, b bigint) RETURNS void
LANGUAGE plpgsql AS $$
BEGIN
	PERFORM 1 FROM accounts WHERE seq = least(a, b) FOR NO KEY UPDATE;
	PERFORM 1 FROM accounts WHERE seq = greatest(a, b) FOR NO KEY UPDATE;
END $$;

/*
 * Write both entries of a movement and move the balances. The caller holds
 * both account locks, and has checked that src may go down by amount.
 */
CREATE FUNCTION pay_move(p_src accounts, p_dst accounts, p_src_name text,
    p_dst_name text, p_amount bigint, p_kind text, p_payment payments,
    p_refund_seq bigint, p_deposit_seq bigint) RETURNS void
LANGUAGE plpgsql AS $$
BEGIN
	INSERT INTO entries (account_seq, currency, kind, amount,
	    balance_after, counterparty, payment_seq, payment_id, refund_seq,
	    deposit_seq)
	VALUES (p_src.seq, p_src.currency, p_kind, -p_amount,
	    p_src.balance - p_amount, p_dst_name, p_payment.seq, p_payment.id,
	    p_refund_seq, p_deposit_seq),
	    (p_dst.seq, p_dst.currency, p_kind, p_amount,
	    p_dst.balance + p_amount, p_src_name, p_payment.seq, p_payment.id,
	    p_refund_seq, p_deposit_seq);
	UPDATE accounts SET balance = balance - p_amount WHERE seq = p_src.seq;
	UPDATE accounts SET balance = balance + p_amount WHERE seq = p_dst.seq;
END $$;

CREATE FUNCTION pay_deposit(p_user bigint, p_username text, p_key text,
    p_fp text, p_currency text, p_amount bigint,
    OUT r_status int, OUT r_body text, OUT r_replayed boolean)
LANGUAGE plpgsql AS $$
DECLARE
	u accounts;
	s accounts;
	d deposits;
BEGIN
	SELECT * INTO r_status, r_body, r_replayed
	    FROM pay_idem_claim(p_user, p_key, p_fp);
	IF r_status IS NOT NULL THEN
		RETURN;
	END IF;
	PERFORM 1 FROM currencies WHERE code = p_currency;
	IF NOT FOUND THEN
		r_status := 400;
		r_body := pay_currency_error();
		RETURN;
	END IF;
	PERFORM pay_user_seen(p_user, p_username);
	INSERT INTO accounts (owner_id, currency)
	    VALUES (p_user, p_currency)
	    ON CONFLICT (owner_id, currency) DO NOTHING;
	SELECT * INTO u FROM accounts
	    WHERE owner_id = p_user AND currency = p_currency;
	SELECT * INTO s FROM accounts
	    WHERE owner_id = 0 AND currency = p_currency;
	PERFORM pay_lock_accounts(u.seq, s.seq);
	SELECT * INTO u FROM accounts WHERE seq = u.seq;
	SELECT * INTO s FROM accounts WHERE seq = s.seq;

	INSERT INTO deposits (account_seq, amount, currency)
	    VALUES (u.seq, p_amount, p_currency) RETURNING * INTO d;
	PERFORM pay_move(s, u, 'system', p_username, p_amount, 'deposit', NULL,
	    NULL, d.seq);
	SELECT * INTO u FROM accounts WHERE seq = u.seq;

	r_status := 201;
	r_body := json_build_object('id', d.id, 'account', pay_account_json(u),
	    'amount', d.amount, 'currency', d.currency,
	    'created_at', pay_ts(d.created_at))::text;
	PERFORM pay_idem_store(p_user, p_key, p_fp, r_status, r_body);
END $$;

CREATE FUNCTION pay_payment(p_user bigint, p_username text, p_key text,
    p_fp text, p_to text, p_currency text, p_amount bigint,
    p_description text, p_reference text,
    OUT r_status int, OUT r_body text, OUT r_replayed boolean)
LANGUAGE plpgsql AS $$
DECLARE
	src accounts;
	dst accounts;
	p payments;
BEGIN
	SELECT * INTO r_status, r_body, r_replayed
	    FROM pay_idem_claim(p_user, p_key, p_fp);
	IF r_status IS NOT NULL THEN
		RETURN;
	END IF;
	PERFORM 1 FROM currencies WHERE code = p_currency;
	IF NOT FOUND THEN
		r_status := 400;
		r_body := pay_currency_error();
		RETURN;
	END IF;
	PERFORM pay_user_seen(p_user, p_username);
	/* The newest claim to a username is the person it names now. */
	SELECT a.* INTO dst FROM accounts a WHERE a.currency = p_currency AND
	    a.owner_id = (SELECT user_id FROM users WHERE username = p_to AND
	    user_id <> 0 ORDER BY seen_at DESC LIMIT 1);
	IF NOT FOUND THEN
		r_status := 404;
		r_body := pay_error_json('not_found_error',
		    'no_such_payee_account', 'The payee has no account in '
		    'this currency.', 'to');
	ELSIF dst.owner_id = p_user THEN
		/* A validation error: not stored, like the C-side check. */
		r_status := 400;
		r_body := pay_error_json('invalid_request_error',
		    'parameter_invalid', 'You cannot pay yourself.', 'to');
		RETURN;
	ELSE
		SELECT * INTO src FROM accounts
		    WHERE owner_id = p_user AND currency = p_currency;
		IF NOT FOUND THEN
			r_status := 404;
			r_body := pay_error_json('not_found_error',
			    'no_such_account', 'You have no account in this '
			    'currency.', 'currency');
		END IF;
	END IF;
	IF r_status IS NOT NULL THEN
		PERFORM pay_idem_store(p_user, p_key, p_fp, r_status, r_body);
		RETURN;
	END IF;

	PERFORM pay_lock_accounts(src.seq, dst.seq);
	SELECT * INTO src FROM accounts WHERE seq = src.seq;
	SELECT * INTO dst FROM accounts WHERE seq = dst.seq;
	IF src.balance < p_amount THEN
		r_status := 402;
		r_body := pay_error_json('payment_error', 'insufficient_funds',
		    'Your balance is too low for this payment.', 'amount');
		PERFORM pay_idem_store(p_user, p_key, p_fp, r_status, r_body);
		RETURN;
	END IF;

	INSERT INTO payments (payer_id, payer, payer_account, payee_id, payee,
	    payee_account, amount, currency, description, reference)
	VALUES (p_user, p_username, src.seq, dst.owner_id, p_to, dst.seq,
	    p_amount, p_currency, p_description, p_reference)
	RETURNING * INTO p;
	PERFORM pay_move(src, dst, p_username, p_to, p_amount, 'payment', p,
	    NULL, NULL);

	r_status := 201;
	r_body := pay_payment_json(p)::text;
	PERFORM pay_idem_store(p_user, p_key, p_fp, r_status, r_body);
END $$;

/* p_amount NULL refunds what remains. */
CREATE FUNCTION pay_refund(p_user bigint, p_key text, p_fp text,
    p_payment text, p_amount bigint,
    OUT r_status int, OUT r_body text, OUT r_replayed boolean)
LANGUAGE plpgsql AS $$
DECLARE
	p payments;
	src accounts;
	dst accounts;
	r refunds;
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
		r_body := pay_error_json('not_found_error', 'no_such_payment',
		    'No such payment.', NULL);
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

	PERFORM pay_lock_accounts(p.payee_account, p.payer_account);
	SELECT * INTO src FROM accounts WHERE seq = p.payee_account;
	SELECT * INTO dst FROM accounts WHERE seq = p.payer_account;
	IF src.balance < amt THEN
		r_status := 402;
		r_body := pay_error_json('payment_error', 'insufficient_funds',
		    'Your balance is too low for this refund.', 'amount');
		PERFORM pay_idem_store(p_user, p_key, p_fp, r_status, r_body);
		RETURN;
	END IF;

	INSERT INTO refunds (payment_seq, amount) VALUES (p.seq, amt)
	    RETURNING * INTO r;
	PERFORM pay_move(src, dst, p.payee, p.payer, amt, 'refund', p, r.seq,
	    NULL);
	UPDATE payments SET amount_refunded = amount_refunded + amt,
	    status = CASE WHEN amount_refunded + amt = amount THEN 'refunded'
	    ELSE 'partially_refunded' END
	    WHERE seq = p.seq;

	r_status := 201;
	r_body := pay_refund_json(r, p.id)::text;
	PERFORM pay_idem_store(p_user, p_key, p_fp, r_status, r_body);
END $$;

CREATE FUNCTION pay_account_open(p_user bigint, p_username text,
    p_currency text, OUT r_status int, OUT r_body text,
    OUT r_replayed boolean)
LANGUAGE plpgsql AS $$
DECLARE
	a accounts;
BEGIN
	r_replayed := false;
	PERFORM 1 FROM currencies WHERE code = p_currency;
	IF NOT FOUND THEN
		r_status := 400;
		r_body := pay_currency_error();
		RETURN;
	END IF;
	PERFORM pay_user_seen(p_user, p_username);
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

/* The usual first call of a session: it records a new username too. */
CREATE FUNCTION pay_accounts_list(p_user bigint, p_username text,
    OUT r_status int, OUT r_body text, OUT r_replayed boolean)
LANGUAGE plpgsql AS $$
BEGIN
	PERFORM pay_user_seen(p_user, p_username);
	r_status := 200;
	r_replayed := false;
	r_body := pay_list_json(ARRAY(SELECT pay_account_json(a)
	    FROM accounts a WHERE a.owner_id = p_user ORDER BY a.seq),
	    1000000);
END $$;

CREATE FUNCTION pay_account_get(p_user bigint, p_id text,
    OUT r_status int, OUT r_body text, OUT r_replayed boolean)
LANGUAGE plpgsql STABLE AS $$
BEGIN
	r_replayed := false;
	SELECT 200, pay_account_json(a)::text INTO r_status, r_body
	    FROM accounts a WHERE a.id = p_id AND a.owner_id = p_user;
	IF NOT FOUND THEN
		r_status := 404;
		r_body := pay_error_json('not_found_error', 'no_such_account',
		    'No such account.', NULL);
	END IF;
END $$;

CREATE FUNCTION pay_cursor_error() RETURNS text
LANGUAGE sql IMMUTABLE AS $$
	SELECT pay_error_json('invalid_request_error', 'parameter_invalid',
	    'starting_after must be the id of an object of this list.',
	    'starting_after')
$$;

/* Lists: newest first, cursor = the last id of the previous page. */
CREATE FUNCTION pay_entries_list(p_user bigint, p_id text, p_after text,
    p_limit int, OUT r_status int, OUT r_body text, OUT r_replayed boolean)
LANGUAGE plpgsql STABLE AS $$
DECLARE
	acc bigint;
	cur bigint := 9223372036854775807;
BEGIN
	r_replayed := false;
	SELECT seq INTO acc FROM accounts WHERE id = p_id AND owner_id = p_user;
	IF NOT FOUND THEN
		r_status := 404;
		r_body := pay_error_json('not_found_error', 'no_such_account',
		    'No such account.', NULL);
		RETURN;
	END IF;
	IF p_after IS NOT NULL THEN
		SELECT seq INTO cur FROM entries
		    WHERE id = p_after AND account_seq = acc;
		IF NOT FOUND THEN
			r_status := 400;
			r_body := pay_cursor_error();
			RETURN;
		END IF;
	END IF;
	r_status := 200;
	r_body := pay_list_json(ARRAY(SELECT pay_entry_json(e) FROM entries e
	    WHERE e.account_seq = acc AND e.seq < cur
	    ORDER BY e.seq DESC LIMIT p_limit + 1), p_limit);
END $$;

CREATE FUNCTION pay_payments_list(p_user bigint, p_direction text,
    p_after text, p_limit int,
    OUT r_status int, OUT r_body text, OUT r_replayed boolean)
LANGUAGE plpgsql STABLE AS $$
DECLARE
	cur bigint := 9223372036854775807;
	sent boolean := p_direction IN ('sent', 'all');
	recv boolean := p_direction IN ('received', 'all');
BEGIN
	r_replayed := false;
	IF p_after IS NOT NULL THEN
		SELECT seq INTO cur FROM payments WHERE id = p_after AND
		    ((sent AND payer_id = p_user) OR
		    (recv AND payee_id = p_user));
		IF NOT FOUND THEN
			r_status := 400;
			r_body := pay_cursor_error();
			RETURN;
		END IF;
	END IF;
	r_status := 200;
	/* Two index scans merged, rather than one OR that scans both. */
	r_body := pay_list_json(ARRAY(SELECT pay_payment_json(q) FROM (
	    (SELECT * FROM payments WHERE sent AND payer_id = p_user AND
	    seq < cur ORDER BY seq DESC LIMIT p_limit + 1)
	    UNION ALL
	    (SELECT * FROM payments WHERE recv AND payee_id = p_user AND
	    seq < cur ORDER BY seq DESC LIMIT p_limit + 1)) q
	    ORDER BY q.seq DESC LIMIT p_limit + 1), p_limit);
END $$;

CREATE FUNCTION pay_payment_get(p_user bigint, p_id text,
    OUT r_status int, OUT r_body text, OUT r_replayed boolean)
LANGUAGE plpgsql STABLE AS $$
BEGIN
	r_replayed := false;
	SELECT 200, pay_payment_json(p)::text INTO r_status, r_body
	    FROM payments p WHERE p.id = p_id AND
	    (p.payer_id = p_user OR p.payee_id = p_user);
	IF NOT FOUND THEN
		r_status := 404;
		r_body := pay_error_json('not_found_error', 'no_such_payment',
		    'No such payment.', NULL);
	END IF;
END $$;

CREATE FUNCTION pay_refunds_list(p_user bigint, p_id text, p_after text,
    p_limit int, OUT r_status int, OUT r_body text, OUT r_replayed boolean)
LANGUAGE plpgsql STABLE AS $$
DECLARE
	p payments;
	cur bigint := 9223372036854775807;
BEGIN
	r_replayed := false;
	SELECT * INTO p FROM payments WHERE id = p_id AND
	    (payer_id = p_user OR payee_id = p_user);
	IF NOT FOUND THEN
		r_status := 404;
		r_body := pay_error_json('not_found_error', 'no_such_payment',
		    'No such payment.', NULL);
		RETURN;
	END IF;
	IF p_after IS NOT NULL THEN
		SELECT seq INTO cur FROM refunds
		    WHERE id = p_after AND payment_seq = p.seq;
		IF NOT FOUND THEN
			r_status := 400;
			r_body := pay_cursor_error();
			RETURN;
		END IF;
	END IF;
	r_status := 200;
	r_body := pay_list_json(ARRAY(SELECT pay_refund_json(r, p.id)
	    FROM refunds r WHERE r.payment_seq = p.seq AND r.seq < cur
	    ORDER BY r.seq DESC LIMIT p_limit + 1), p_limit);
END $$;

/* Keys older than the TTL go, a bounded batch at a time. */
CREATE FUNCTION pay_idem_prune(p_hours int) RETURNS bigint
LANGUAGE sql AS $$
	WITH gone AS (
		DELETE FROM idempotency_keys WHERE ctid = ANY (ARRAY(
		    SELECT ctid FROM idempotency_keys
		    WHERE created_at < now() - make_interval(hours => p_hours)
		    LIMIT 1000))
		RETURNING 1)
	SELECT count(*) FROM gone
$$;
