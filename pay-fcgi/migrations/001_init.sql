-- 001_init.sql: the payments schema.
--
-- Money is bigint minor units everywhere. Every table has an internal
-- identity key (seq, used for ordering and cursors) and a public opaque id
-- with a type prefix. Who may change what is enforced here, not in C:
-- pay_app may only append to the ledger and update the derived columns
-- (invariant 6), and triggers check that derived columns agree with the
-- ledger rows that justify them (invariants 3 and 4).

CREATE TABLE currencies (
	code		char(3) PRIMARY KEY CHECK (code ~ '^[A-Z]{3}$'),
	minor_units	smallint NOT NULL CHECK (minor_units BETWEEN 0 AND 4)
);

INSERT INTO currencies (code, minor_units) VALUES
	('AED', 2), ('ARS', 2), ('AUD', 2), ('BGN', 2), ('BHD', 3),
	('BRL', 2), ('CAD', 2), ('CHF', 2), ('CLP', 0), ('CNY', 2),
	('COP', 2), ('CZK', 2), ('DKK', 2), ('EGP', 2), ('EUR', 2),
	('GBP', 2), ('HKD', 2), ('HUF', 2), ('IDR', 2), ('ILS', 2),
	('INR', 2), ('IQD', 3), ('ISK', 0), ('JOD', 3), ('JPY', 0),
	('KES', 2), ('KRW', 0), ('KWD', 3), ('LYD', 3), ('MAD', 2),
	('MXN', 2), ('MYR', 2), ('NGN', 2), ('NOK', 2), ('NZD', 2),
	('OMR', 3), ('PEN', 2), ('PHP', 2), ('PKR', 2), ('PLN', 2),
	('QAR', 2), ('RON', 2), ('RSD', 2), ('SAR', 2), ('SEK', 2),
	('SGD', 2), ('THB', 2), ('TND', 3), ('TRY', 2), ('TWD', 2),
	('UAH', 2), ('UGX', 0), ('USD', 2), ('UYU', 2), ('VND', 0),
	('XAF', 0), ('XOF', 0), ('ZAR', 2);

-- The users pay has seen, by the blog's stable id (the token's sub). The
-- blog lets a user change their username; the newest claim to a name wins
-- when someone pays that name. user_id 0 is the system.
CREATE TABLE users (
	user_id		bigint PRIMARY KEY CHECK (user_id >= 0),
	username	text NOT NULL,
	seen_at		timestamptz NOT NULL DEFAULT clock_timestamp()
);
CREATE INDEX users_username ON users (username, seen_at DESC);
INSERT INTO users (user_id, username) VALUES (0, 'system');

-- One account per (owner, currency). Owner 0, the system, has one funding
-- account per currency: the only accounts allowed below zero.
CREATE TABLE accounts (
	seq		bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
	id		text NOT NULL UNIQUE
	    DEFAULT 'acc_' || replace(gen_random_uuid()::text, '-', ''),
	owner_id	bigint NOT NULL REFERENCES users (user_id),
	currency	char(3) NOT NULL REFERENCES currencies (code),
	is_system	boolean NOT NULL DEFAULT false,
	balance		bigint NOT NULL DEFAULT 0,
	created_at	timestamptz NOT NULL DEFAULT now(),
	UNIQUE (owner_id, currency),
	CHECK (is_system = (owner_id = 0)),
	CONSTRAINT accounts_balance_nonnegative
	    CHECK (is_system OR balance >= 0)
);

INSERT INTO accounts (owner_id, currency, is_system)
	SELECT 0, code, true FROM currencies;

CREATE TABLE deposits (
	seq		bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
	id		text NOT NULL UNIQUE
	    DEFAULT 'dep_' || replace(gen_random_uuid()::text, '-', ''),
	account_seq	bigint NOT NULL REFERENCES accounts (seq),
	amount		bigint NOT NULL CHECK (amount > 0),
	currency	char(3) NOT NULL REFERENCES currencies (code),
	created_at	timestamptz NOT NULL DEFAULT now()
);

CREATE TABLE payments (
	seq		bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
	id		text NOT NULL UNIQUE
	    DEFAULT 'pay_' || replace(gen_random_uuid()::text, '-', ''),
	payer_id	bigint NOT NULL,
	payer		text NOT NULL,
	payer_account	bigint NOT NULL REFERENCES accounts (seq),
	payee_id	bigint NOT NULL,
	payee		text NOT NULL,
	payee_account	bigint NOT NULL REFERENCES accounts (seq),
	amount		bigint NOT NULL
	    CHECK (amount > 0 AND amount <= 9007199254740991),
	currency	char(3) NOT NULL REFERENCES currencies (code),
	amount_refunded	bigint NOT NULL DEFAULT 0,
	status		text NOT NULL DEFAULT 'succeeded',
	description	text CHECK (char_length(description) <= 1000),
	reference	text CHECK (char_length(reference) <= 255),
	created_at	timestamptz NOT NULL DEFAULT now(),
	CHECK (payer_id <> payee_id),
	CONSTRAINT payments_refunds_within_amount
	    CHECK (amount_refunded >= 0 AND amount_refunded <= amount),
	CONSTRAINT payments_status_consistent CHECK (status =
	    CASE WHEN amount_refunded = 0 THEN 'succeeded'
	    WHEN amount_refunded < amount THEN 'partially_refunded'
	    ELSE 'refunded' END)
);
CREATE INDEX payments_payer ON payments (payer_id, seq);
CREATE INDEX payments_payee ON payments (payee_id, seq);

CREATE TABLE refunds (
	seq		bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
	id		text NOT NULL UNIQUE
	    DEFAULT 'ref_' || replace(gen_random_uuid()::text, '-', ''),
	payment_seq	bigint NOT NULL REFERENCES payments (seq),
	amount		bigint NOT NULL CHECK (amount > 0),
	created_at	timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX refunds_payment ON refunds (payment_seq, seq);

-- The ledger. amount is signed; balance_after is the account's balance
-- once this entry is applied.
CREATE TABLE entries (
	seq		bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
	id		text NOT NULL UNIQUE
	    DEFAULT 'ent_' || replace(gen_random_uuid()::text, '-', ''),
	account_seq	bigint NOT NULL REFERENCES accounts (seq),
	currency	char(3) NOT NULL REFERENCES currencies (code),
	kind		text NOT NULL
	    CHECK (kind IN ('deposit', 'payment', 'refund')),
	amount		bigint NOT NULL CHECK (amount <> 0),
	balance_after	bigint NOT NULL,
	counterparty	text NOT NULL,
	payment_seq	bigint REFERENCES payments (seq),
	payment_id	text,
	refund_seq	bigint REFERENCES refunds (seq),
	deposit_seq	bigint REFERENCES deposits (seq),
	txid		bigint NOT NULL DEFAULT txid_current(),
	created_at	timestamptz NOT NULL DEFAULT now(),
	CHECK ((kind = 'deposit') = (deposit_seq IS NOT NULL)),
	CHECK ((kind = 'refund') = (refund_seq IS NOT NULL)),
	CHECK (kind = 'deposit' OR payment_seq IS NOT NULL)
);
CREATE INDEX entries_account ON entries (account_seq, seq);

-- Idempotency keys, scoped to the caller. A row exists only for a request
-- that executed; it is written in the same transaction as the movement.
CREATE TABLE idempotency_keys (
	user_id		bigint NOT NULL,
	key		text NOT NULL CHECK (key ~ '^[\x20-\x7e]{1,255}$'),
	fingerprint	text NOT NULL,
	status		int NOT NULL,
	body		text NOT NULL,
	created_at	timestamptz NOT NULL DEFAULT now(),
	PRIMARY KEY (user_id, key)
);
CREATE INDEX idempotency_keys_created ON idempotency_keys (created_at);

-- Invariant 3, in the database: an entry continues its account's chain.
-- The account row is locked by the movement, so the previous entry cannot
-- change underneath.
CREATE FUNCTION pay_entries_chain() RETURNS trigger LANGUAGE plpgsql AS $$
DECLARE
	prev bigint;
BEGIN
	SELECT balance_after INTO prev FROM entries
	    WHERE account_seq = NEW.account_seq ORDER BY seq DESC LIMIT 1;
	IF NEW.balance_after <> coalesce(prev, 0) + NEW.amount THEN
		RAISE EXCEPTION 'entry breaks the balance chain of account %',
		    NEW.account_seq USING ERRCODE = 'check_violation';
	END IF;
	RETURN NEW;
END $$;
CREATE TRIGGER entries_chain BEFORE INSERT ON entries
	FOR EACH ROW EXECUTE FUNCTION pay_entries_chain();

-- A balance changes only to what the newest entry, written by the same
-- transaction, says it is.
CREATE FUNCTION pay_accounts_balance() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
	IF NEW.balance IS DISTINCT FROM OLD.balance AND NOT EXISTS (
	    SELECT 1 FROM (SELECT balance_after, txid FROM entries
	    WHERE account_seq = NEW.seq ORDER BY seq DESC LIMIT 1) e
	    WHERE e.balance_after = NEW.balance AND e.txid = txid_current())
	THEN
		RAISE EXCEPTION 'balance of account % does not match its ledger',
		    NEW.seq USING ERRCODE = 'check_violation';
	END IF;
	IF NEW.seq <> OLD.seq OR NEW.id <> OLD.id OR
	    NEW.owner_id <> OLD.owner_id OR NEW.currency <> OLD.currency OR
	    NEW.is_system <> OLD.is_system THEN
		RAISE EXCEPTION 'account identity is immutable'
		    USING ERRCODE = 'insufficient_privilege';
	END IF;
	RETURN NEW;
END $$;
CREATE TRIGGER accounts_balance BEFORE UPDATE ON accounts
	FOR EACH ROW EXECUTE FUNCTION pay_accounts_balance();

-- Invariant 4: amount_refunded is the sum of the payment's refunds.
CREATE FUNCTION pay_payments_refunded() RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN
	IF NEW.amount_refunded IS DISTINCT FROM OLD.amount_refunded AND
	    NEW.amount_refunded <> (SELECT coalesce(sum(amount), 0)
	    FROM refunds WHERE payment_seq = NEW.seq) THEN
		RAISE EXCEPTION 'amount_refunded of payment % does not match its refunds',
		    NEW.seq USING ERRCODE = 'check_violation';
	END IF;
	IF NEW.seq <> OLD.seq OR NEW.id <> OLD.id OR NEW.amount <> OLD.amount
	    OR NEW.payer_account <> OLD.payer_account
	    OR NEW.payee_account <> OLD.payee_account THEN
		RAISE EXCEPTION 'payment identity is immutable'
		    USING ERRCODE = 'insufficient_privilege';
	END IF;
	RETURN NEW;
END $$;
CREATE TRIGGER payments_refunded BEFORE UPDATE ON payments
	FOR EACH ROW EXECUTE FUNCTION pay_payments_refunded();

-- Invariant 6 for everyone, the owner included: the ledger is append-only.
CREATE FUNCTION pay_append_only() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
	RAISE EXCEPTION '% is append-only: % refused', TG_TABLE_NAME, TG_OP
	    USING ERRCODE = 'insufficient_privilege';
END $$;
CREATE TRIGGER entries_append_only BEFORE UPDATE OR DELETE ON entries
	FOR EACH ROW EXECUTE FUNCTION pay_append_only();
CREATE TRIGGER deposits_append_only BEFORE UPDATE OR DELETE ON deposits
	FOR EACH ROW EXECUTE FUNCTION pay_append_only();
CREATE TRIGGER refunds_append_only BEFORE UPDATE OR DELETE ON refunds
	FOR EACH ROW EXECUTE FUNCTION pay_append_only();
CREATE TRIGGER payments_no_delete BEFORE DELETE ON payments
	FOR EACH ROW EXECUTE FUNCTION pay_append_only();
CREATE TRIGGER entries_no_truncate BEFORE TRUNCATE ON entries
	FOR EACH STATEMENT EXECUTE FUNCTION pay_append_only();
