-- 003_grants.sql: what the service role may do (invariant 6).
--
-- pay_app appends to the ledger and updates only the derived columns:
-- accounts.balance, payments.amount_refunded and payments.status. It may
-- not UPDATE or DELETE entries, deposits or refunds, nor DELETE payments;
-- the triggers of 001 refuse the same to everyone else. Besides, it keeps
-- users' current names and deletes expired idempotency keys. When the role
-- does not exist (a bare database for development), the grants are skipped
-- with a warning.
DO $$
BEGIN
	IF NOT EXISTS (SELECT 1 FROM pg_roles WHERE rolname = 'pay_app') THEN
		RAISE WARNING 'role pay_app does not exist: grants skipped';
		RETURN;
	END IF;
	REVOKE ALL ON users, currencies, accounts, deposits, payments, refunds,
	    entries, idempotency_keys FROM pay_app;
	GRANT USAGE ON SCHEMA public TO pay_app;
	GRANT SELECT ON currencies TO pay_app;
	GRANT SELECT, INSERT ON accounts, deposits, payments, refunds, entries,
	    idempotency_keys TO pay_app;
	GRANT SELECT, INSERT, UPDATE (username, seen_at) ON users TO pay_app;
	GRANT UPDATE (balance) ON accounts TO pay_app;
	GRANT UPDATE (amount_refunded, status) ON payments TO pay_app;
	GRANT DELETE ON idempotency_keys TO pay_app;
	GRANT EXECUTE ON ALL FUNCTIONS IN SCHEMA public TO pay_app;
END $$;
