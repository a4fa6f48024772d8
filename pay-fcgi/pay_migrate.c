/*
 * pay_migrate.c: `pay-fcgi --migrate`. Applies the embedded migrations in
 * version order, each in its own transaction together with its row in
 * schema_migrations, then each repeatable one (R__name.sql: the service's
 * functions) whose SHA-256 differs from the one in schema_repeatables, in
 * its own transaction with that row. All under a session advisory lock so
 * that replicas and jobs starting together apply each change exactly once
 * (the loop is cm_migration_run's; this file is the PostgreSQL driver).
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

/* The SHA-256 of the text, computed by the server from what it runs. */
#define PAY_MIGRATE_SUM "encode(sha256(convert_to($2::text, 'UTF8')), 'hex')"

/*
 * A numbered migration is applied when its version is recorded; a
 * repeatable one (version 0) when its name is recorded with this very
 * text's checksum.
 */
static int
pay_migrate_applied(void *db, const struct cm_migration *m, int *yes)
{
	PGconn *conn = db;
	const char *params[2];
	char version[16];
	PGresult *res;
	int rc = 0;

	snprintf(version, sizeof(version), "%d", m->version);
	params[0] = m->version == 0 ? m->name : version;
	params[1] = m->sql;
	if (m->version == 0)
		res = PQexecParams(conn,
		    "SELECT 1 FROM schema_repeatables WHERE name = $1::text"
		    " AND checksum = " PAY_MIGRATE_SUM,
		    2, NULL, params, NULL, NULL, 0);
	else
		res = PQexecParams(conn,
		    "SELECT 1 FROM schema_migrations WHERE version = $1::int",
		    1, NULL, params, NULL, NULL, 0);
	if (PQresultStatus(res) != PGRES_TUPLES_OK) {
		cm_log(CM_LOG_ERROR, NULL, "migrate: read %s: %s", m->name,
		    PQresultErrorMessage(res));
		rc = -1;
	} else
		*yes = PQntuples(res) > 0;
	PQclear(res);
	return rc;
}

/*
 * Run the migration and record it in one transaction: its version, or for
 * a repeatable one its checksum (replacing the previous one).
 */
static int
pay_migrate_apply(void *db, const struct cm_migration *m)
{
	PGconn *conn = db;
	const char *params[2];
	char version[16];
	PGresult *res;

	snprintf(version, sizeof(version), "%d", m->version);
	params[0] = m->version == 0 ? m->name : version;
	params[1] = m->version == 0 ? m->sql : m->name;
	if (pay_migrate_exec(conn, "BEGIN", "begin") != 0)
		return -1;
	/* A migration file is trusted text shipped in the binary. */
	if (pay_migrate_exec(conn, m->sql, m->name) != 0)
		goto fail;
	if (m->version == 0)
		res = PQexecParams(conn,
		    "INSERT INTO schema_repeatables (name, checksum) VALUES"
		    " ($1::text, " PAY_MIGRATE_SUM ") ON CONFLICT (name) DO"
		    " UPDATE SET checksum = EXCLUDED.checksum,"
		    " applied_at = now()",
		    2, NULL, params, NULL, NULL, 0);
	else
		res = PQexecParams(conn,
		    "INSERT INTO schema_migrations (version, name)"
		    " VALUES ($1::int, $2::text)",
		    2, NULL, params, NULL, NULL, 0);
	if (PQresultStatus(res) != PGRES_COMMAND_OK) {
		cm_log(CM_LOG_ERROR, NULL, "migrate: record %s: %s", m->name,
		    PQresultErrorMessage(res));
		PQclear(res);
		goto fail;
	}
	PQclear(res);
	return pay_migrate_exec(conn, "COMMIT", "commit");
fail:
	(void)pay_migrate_exec(conn, "ROLLBACK", "rollback");
	return -1;
}

static int
pay_migrate_lock(void *db)
{
	return pay_migrate_exec(
	    db, "SELECT pg_advisory_lock(" PAY_MIGRATE_LOCK ")", "lock");
}

static int
pay_migrate_prepare(void *db)
{
	if (pay_migrate_exec(db,
	        "CREATE TABLE IF NOT EXISTS schema_migrations (version int"
	        " PRIMARY KEY, name text NOT NULL,"
	        " applied_at timestamptz NOT NULL DEFAULT now())",
	        "create schema_migrations") != 0)
		return -1;
	return pay_migrate_exec(db,
	    "CREATE TABLE IF NOT EXISTS schema_repeatables (name text"
	    " PRIMARY KEY, checksum text NOT NULL,"
	    " applied_at timestamptz NOT NULL DEFAULT now())",
	    "create schema_repeatables");
}

/* The PostgreSQL driver for cm_migration_run; db is the PGconn. */
static const struct cm_migration_driver pay_migrate_driver = {
    .lock = pay_migrate_lock,
    .prepare = pay_migrate_prepare,
    .applied = pay_migrate_applied,
    .apply = pay_migrate_apply,
};

int
pay_migrate_run(const char *db_url)
{
	static const char *const keys[] = {
	    "dbname", "connect_timeout", "application_name", "options", NULL};
	const char *vals[] = {db_url, "10", "pay-fcgi-migrate",
	    "-c client_min_messages=warning", NULL};
	PGconn *conn;
	int rc = -1;

	conn = PQconnectdbParams(keys, vals, 1);
	if (conn == NULL || PQstatus(conn) != CONNECTION_OK) {
		cm_log(CM_LOG_ERROR, NULL, "migrate: connect: %s",
		    conn != NULL ? PQerrorMessage(conn) : "no memory");
		goto out;
	}
	rc = cm_migration_run(
	    &pay_migrate_driver, conn, pay_migrations, pay_migrations_count);
out:
	PQfinish(conn);
	return rc;
}
