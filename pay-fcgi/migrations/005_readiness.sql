-- 005_readiness.sql: readiness checks that the database holds the newest
-- migration the binary embeds (pay_health.c), so the service role reads
-- schema_migrations. Skipped with a warning without the role, as in 003.
DO $$
BEGIN
	IF NOT EXISTS (SELECT 1 FROM pg_roles WHERE rolname = 'pay_app') THEN
		RAISE WARNING 'role pay_app does not exist: grant skipped';
		RETURN;
	END IF;
	GRANT SELECT ON schema_migrations TO pay_app;
END $$;
