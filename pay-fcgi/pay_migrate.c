/*
 * pay_migrate.c: `pay-fcgi --migrate`. Applies the embedded migrations in
 * version order, each in its own transaction together with its row in
 * schema_migrations, then each repeatable one (R__name.sql: the service's
 * functions) whose SHA-256 differs from the one in schema_repeatables, in
 * its own transaction with that row. All under a session advisory lock so
 * that replicas and jobs starting together apply each change exactly once.
 * Running it again is a no-op.
 */
#include <stdio.h>

#include <libpq-fe.h>

#include "cm_log.h"
#include "cm_migration.h"
#include "pay_migrate.h"

/* Any constant will do, as long as only this code uses it. */
#define PAY_MIGRATE_LOCK "7410"

/* Run one command; -1 (logged) unless it returned the expected status. */
static int
pay_migrate_exec(PGconn *conn, const char *sql, const char *what)
{
	PGresult *res = PQexec(conn, sql);
	ExecStatusType st = PQresultStatus(res);
	int rc = 0;

	if (st != PGRES_COMMAND_OK && st != PGRES_TUPLES_OK) {
		cm_log(CM_LOG_ERROR, NULL, "migrate: %s: %s", what,
		    PQresultErrorMessage(res));
		rc = -1;
	}
	PQclear(res);
	return rc;
}

static int
pay_migrate_applied(PGconn *conn, const struct cm_migration *m, int *applied)
{
	const char *params[1];
	char version[16];
	PGresult *res;
	int rc = 0;

	snprintf(version, sizeof(version), "%d", m->version);
	params[0] = version;
	res = PQexecParams(conn,
	    "SELECT 1 FROM schema_migrations "
	    "WHERE version = $1::int",
	    1, NULL, params, NULL, NULL, 0);
	if (PQresultStatus(res) != PGRES_TUPLES_OK) {
		cm_log(CM_LOG_ERROR, NULL,
		    "migrate: read schema_migrations: %s",
		    PQresultErrorMessage(res));
		rc = -1;
	} else
		*applied = PQntuples(res) > 0;
	PQclear(res);
	return rc;
}

static int
pay_migrate_one(PGconn *conn, const struct cm_migration *m)
{
	const char *params[2];
	char version[16];
	PGresult *res;

	snprintf(version, sizeof(version), "%d", m->version);
	params[0] = version;
	params[1] = m->name;
	if (pay_migrate_exec(conn, "BEGIN", "begin") != 0)
		return -1;
	/* A migration file is trusted text shipped in the binary. */
	if (pay_migrate_exec(conn, m->sql, m->name) != 0)
		goto fail;
	res = PQexecParams(conn,
	    "INSERT INTO schema_migrations "
	    "(version, name) VALUES ($1::int, $2::text)",
	    2, NULL, params, NULL, NULL, 0);
	if (PQresultStatus(res) != PGRES_COMMAND_OK) {
		cm_log(CM_LOG_ERROR, NULL, "migrate: record %s: %s", m->name,
		    PQresultErrorMessage(res));
		PQclear(res);
		goto fail;
	}
	PQclear(res);
	if (pay_migrate_exec(conn, "COMMIT", "commit") != 0)
		return -1;
	cm_log(CM_LOG_INFO, NULL, "migrate: applied %s", m->name);
	return 0;
fail:
	(void)pay_migrate_exec(conn, "ROLLBACK", "rollback");
	return -1;
}

/*
 * A repeatable migration runs again when its text changed since it was last
 * applied. The hash is computed by the server from the very text that is
 * run, and compared and recorded in the same transaction.
 */
static int
pay_migrate_repeatable(PGconn *conn, const struct cm_migration *m)
{
	const char *params[2];
	PGresult *res;
	int same;

	params[0] = m->name;
	params[1] = m->sql;
	if (pay_migrate_exec(conn, "BEGIN", "begin") != 0)
		return -1;
	res = PQexecParams(conn,
	    "SELECT 1 FROM schema_repeatables WHERE name = $1::text AND "
	    "checksum = encode(sha256(convert_to($2::text, 'UTF8')), 'hex')",
	    2, NULL, params, NULL, NULL, 0);
	if (PQresultStatus(res) != PGRES_TUPLES_OK) {
		cm_log(CM_LOG_ERROR, NULL,
		    "migrate: read schema_repeatables: %s",
		    PQresultErrorMessage(res));
		PQclear(res);
		goto fail;
	}
	same = PQntuples(res) > 0;
	PQclear(res);
	if (same)
		return pay_migrate_exec(conn, "COMMIT", "commit");
	/* A migration file is trusted text shipped in the binary. */
	if (pay_migrate_exec(conn, m->sql, m->name) != 0)
		goto fail;
	res = PQexecParams(conn,
	    "INSERT INTO schema_repeatables (name, checksum) VALUES ($1::text, "
	    "encode(sha256(convert_to($2::text, 'UTF8')), 'hex')) "
	    "ON CONFLICT (name) DO UPDATE SET checksum = EXCLUDED.checksum, "
	    "applied_at = now()",
	    2, NULL, params, NULL, NULL, 0);
	if (PQresultStatus(res) != PGRES_COMMAND_OK) {
		cm_log(CM_LOG_ERROR, NULL, "migrate: record %s: %s", m->name,
		    PQresultErrorMessage(res));
		PQclear(res);
		goto fail;
	}
	PQclear(res);
	if (pay_migrate_exec(conn, "COMMIT", "commit") != 0)
		return -1;
	cm_log(CM_LOG_INFO, NULL, "migrate: applied %s (changed)", m->name);
	return 0;
fail:
	(void)pay_migrate_exec(conn, "ROLLBACK", "rollback");
	return -1;
}

int
pay_migrate_run(const char *db_url)
{
	static const char *const keys[] = {
	    "dbname", "connect_timeout", "application_name", "options", NULL};
	const char *vals[] = {db_url, "10", "pay-fcgi-migrate",
	    "-c client_min_messages=warning", NULL};
	PGconn *conn;
	size_t i;
	int applied, version = 0, rc = -1;

	conn = PQconnectdbParams(keys, vals, 1);
	if (conn == NULL || PQstatus(conn) != CONNECTION_OK) {
		cm_log(CM_LOG_ERROR, NULL, "migrate: connect: %s",
		    conn != NULL ? PQerrorMessage(conn) : "no memory");
		goto out;
	}
	if (pay_migrate_exec(conn,
	        "SELECT pg_advisory_lock(" PAY_MIGRATE_LOCK ")", "lock") != 0)
		goto out;
	if (pay_migrate_exec(conn,
	        "CREATE TABLE IF NOT EXISTS "
	        "schema_migrations (version int PRIMARY KEY, name text NOT "
	        "NULL, "
	        "applied_at timestamptz NOT NULL DEFAULT now())",
	        "create schema_migrations") != 0 ||
	    pay_migrate_exec(conn,
	        "CREATE TABLE IF NOT EXISTS schema_repeatables (name text "
	        "PRIMARY KEY, checksum text NOT NULL, applied_at timestamptz "
	        "NOT NULL DEFAULT now())",
	        "create schema_repeatables") != 0)
		goto unlock;
	/* Numbered first: the repeatable functions use their tables. */
	for (i = 0; i < pay_migrations_count; i++) {
		if (pay_migrations[i].version == 0)
			continue;
		if (pay_migrate_applied(conn, &pay_migrations[i], &applied) !=
		    0)
			goto unlock;
		if (!applied && pay_migrate_one(conn, &pay_migrations[i]) != 0)
			goto unlock;
		version = pay_migrations[i].version;
	}
	for (i = 0; i < pay_migrations_count; i++)
		if (pay_migrations[i].version == 0 &&
		    pay_migrate_repeatable(conn, &pay_migrations[i]) != 0)
			goto unlock;
	rc = 0;
	cm_log(CM_LOG_INFO, NULL, "migrate: schema at version %d", version);
unlock:
	(void)pay_migrate_exec(
	    conn, "SELECT pg_advisory_unlock(" PAY_MIGRATE_LOCK ")", "unlock");
out:
	PQfinish(conn);
	return rc;
}
