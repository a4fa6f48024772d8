/*
 * blog_migrate.c: versioned schema migrations under a database lock.
 *
 * Migration files are trusted text embedded at build time, so they run
 * through the text protocol with CLIENT_MULTI_STATEMENTS (this connection
 * only); everything that carries a value (versions, names) is a prepared
 * statement. MariaDB commits DDL implicitly: a migration that fails half way
 * is reported and not recorded, so it is retried after a fix.
 */
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "blog_db.h"
#include "blog_migrate.h"
#include "cm_log.h"
#include "cm_migration.h"

/*
 * Run a prepared statement with up to two parameters (an integer and a
 * string, either unused when NULL) and fetch one integer result into out
 * (when out is not NULL). Returns 0 or -1 (logged).
 */
static int
blog_migrate_stmt(MYSQL *c, const char *sql, const long long *iv,
    const char *sv, long long *out)
{
	MYSQL_STMT *st;
	MYSQL_BIND p[2], r;
	unsigned long slen = sv != NULL ? strlen(sv) : 0;
	long long ivv = iv != NULL ? *iv : 0, res = 0;
	my_bool isnull = 0;
	int n = 0, rc = -1;

	if ((st = mysql_stmt_init(c)) == NULL)
		return -1;
	if (mysql_stmt_prepare(st, sql, strlen(sql)) != 0)
		goto fail;
	memset(p, 0, sizeof(p));
	if (iv != NULL) {
		p[n].buffer_type = MYSQL_TYPE_LONGLONG;
		p[n].buffer = &ivv;
		n++;
	}
	if (sv != NULL) {
		p[n].buffer_type = MYSQL_TYPE_STRING;
		p[n].buffer = (void *)(uintptr_t)sv;
		p[n].buffer_length = slen;
		p[n].length = &slen;
		n++;
	}
	if (n > 0 && mysql_stmt_bind_param(st, p) != 0)
		goto fail;
	if (mysql_stmt_execute(st) != 0)
		goto fail;
	if (out != NULL) {
		memset(&r, 0, sizeof(r));
		r.buffer_type = MYSQL_TYPE_LONGLONG;
		r.buffer = &res;
		r.is_null = &isnull;
		if (mysql_stmt_bind_result(st, &r) != 0 ||
		    mysql_stmt_fetch(st) != 0)
			goto fail;
		*out = isnull ? 0 : res;
	}
	rc = 0;
	goto out;
fail:
	cm_log(
	    CM_LOG_ERROR, NULL, "migrate: %s: %s", sql, mysql_stmt_error(st));
out:
	mysql_stmt_close(st);
	return rc;
}

/* Run a multi-statement script and drain every result. */
static int
blog_migrate_script(MYSQL *c, const char *name, const char *sql)
{
	MYSQL_RES *res;
	int status;

	if (mysql_real_query(c, sql, strlen(sql)) != 0)
		goto fail;
	do {
		if ((res = mysql_store_result(c)) != NULL)
			mysql_free_result(res);
		else if (mysql_field_count(c) != 0)
			goto fail;
		if ((status = mysql_next_result(c)) > 0)
			goto fail;
	} while (status == 0);
	return 0;
fail:
	cm_log(CM_LOG_ERROR, NULL, "migration %s failed: %s (%u)", name,
	    mysql_error(c), mysql_errno(c));
	return -1;
}

int
blog_migrate_run(const struct blog_app *app, int wait_seconds)
{
	static const char create[] =
	    "CREATE TABLE IF NOT EXISTS schema_migrations ("
	    " version INT NOT NULL PRIMARY KEY,"
	    " name VARCHAR(255) NOT NULL,"
	    " applied_at DATETIME(3) NOT NULL"
	    ") ENGINE=InnoDB DEFAULT CHARSET=utf8mb4";
	struct blog_db *db;
	MYSQL *c;
	long long got = 0, version;
	size_t i;
	int waited, rc = -1, locked = 0, applied = 0;

	if ((db = blog_db_new(app, 5, 120)) == NULL)
		return -1;
	db->client_flags = CLIENT_MULTI_STATEMENTS;
	for (waited = 0; blog_db_ready(db, NULL) != CM_OK; waited++) {
		/* Only a database that is not up yet is worth waiting for. */
		if (db->last_errno < 2000 || db->last_errno >= 3000) {
			cm_log(CM_LOG_ERROR, NULL,
			    "migrate: cannot connect: "
			    "%s",
			    db->last_error);
			goto out;
		}
		if (waited >= wait_seconds) {
			cm_log(CM_LOG_ERROR, NULL,
			    "migrate: database not "
			    "reachable after %d s",
			    wait_seconds);
			goto out;
		}
		sleep(1);
		db->retry_at_ms = 0;
	}
	c = blog_db_conn(db);
	if (blog_migrate_stmt(c, "SELECT GET_LOCK('blog_migrate', 30)", NULL,
	        NULL, &got) != 0)
		goto out;
	if (got != 1) {
		cm_log(CM_LOG_ERROR, NULL,
		    "migrate: lock blog_migrate busy "
		    "for 30 s");
		goto out;
	}
	locked = 1;
	if (blog_migrate_script(c, "schema_migrations", create) != 0)
		goto out;
	for (i = 0; i < blog_migrations_count; i++) {
		const struct cm_migration *m = &blog_migrations[i];

		version = m->version;
		if (blog_migrate_stmt(c,
		        "SELECT COUNT(*) FROM "
		        "schema_migrations WHERE version = ?",
		        &version, NULL, &got) != 0)
			goto out;
		if (got > 0)
			continue;
		cm_log(CM_LOG_INFO, NULL, "applying migration %s", m->name);
		if (blog_migrate_script(c, m->name, m->sql) != 0)
			goto out;
		if (blog_migrate_stmt(c,
		        "INSERT INTO schema_migrations "
		        "(version, name, applied_at) VALUES (?, ?, "
		        "UTC_TIMESTAMP(3))",
		        &version, m->name, NULL) != 0)
			goto out;
		applied++;
	}
	cm_log(CM_LOG_INFO, NULL, "migrations: %d applied, %zu known", applied,
	    blog_migrations_count);
	rc = 0;
out:
	if (locked)
		(void)blog_migrate_stmt(blog_db_conn(db),
		    "SELECT RELEASE_LOCK('blog_migrate')", NULL, NULL, &got);
	blog_db_free(db);
	return rc;
}
