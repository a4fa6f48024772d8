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
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <errmsg.h>

#include "blog_db.h"
#include "blog_migrate.h"
#include "blog_unicode.h"
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

/*
 * Fill users.username_skeleton where migration 005 left it NULL: SQL cannot
 * compute a UTS 39 skeleton, so the rows are read in pages of ids and each
 * is updated on its own. A name from before the Unicode rules that looks
 * like an older one (the unique index refuses a second equal skeleton)
 * keeps NULL, and so does one the rules would refuse now; both are
 * counted in the log. Safe to run again: it only touches NULLs, and with
 * nothing left to fill it is one indexed query.
 */
static int
blog_migrate_skeletons(MYSQL *c)
{
	struct blog_unicode_name name;
	unsigned long *len;
	const char *why;
	char sql[200];
	long long last = 0, id, left = 0;
	MYSQL_RES *res;
	MYSQL_ROW row;
	int n;

	do {
		snprintf(sql, sizeof(sql),
		    "SELECT id, username FROM users WHERE username_skeleton"
		    " IS NULL AND id > %lld ORDER BY id LIMIT 500",
		    last);
		if (mysql_real_query(c, sql, strlen(sql)) != 0 ||
		    (res = mysql_store_result(c)) == NULL) {
			cm_log(CM_LOG_ERROR, NULL, "migrate: skeletons: %s",
			    mysql_error(c));
			return -1;
		}
		for (n = 0; (row = mysql_fetch_row(res)) != NULL; n++) {
			len = mysql_fetch_lengths(res);
			id = strtoll(row[0], NULL, 10);
			last = id;
			if (blog_unicode_username(
			        row[1], len[1], &name, &why) != CM_OK ||
			    blog_migrate_stmt(c,
			        "UPDATE IGNORE users u, (SELECT ? AS id) v"
			        " SET u.username_skeleton = ?"
			        " WHERE u.id = v.id",
			        &id, name.skeleton, NULL) != 0)
				left++;
		}
		mysql_free_result(res);
	} while (n == 500);
	if (blog_migrate_stmt(c,
	        "SELECT COUNT(*) FROM users WHERE username_skeleton IS NULL",
	        NULL, NULL, &left) != 0)
		return -1;
	if (left > 0)
		cm_log(CM_LOG_WARN, NULL,
		    "migrate: %lld older usernames have no skeleton (they "
		    "look like an older name, or break today's rules)",
		    left);
	return 0;
}

/*
 * The MariaDB driver for cm_migration_run; db is a struct blog_db. It
 * records versions only: the blog has no repeatable (R__) file, and one
 * added here would run once and never again. Record its checksum first, as
 * pay_migrate.c does.
 */
static int
blog_migrate_lock(void *db)
{
	long long got = 0;

	if (blog_migrate_stmt(blog_db_conn(db),
	        "SELECT GET_LOCK('blog_migrate', 30)", NULL, NULL, &got) != 0)
		return -1;
	if (got != 1) {
		cm_log(CM_LOG_ERROR, NULL,
		    "migrate: lock blog_migrate busy for 30 s");
		return -1;
	}
	return 0;
}

static int
blog_migrate_prepare(void *db)
{
	static const char create[] =
	    "CREATE TABLE IF NOT EXISTS schema_migrations ("
	    " version INT NOT NULL PRIMARY KEY,"
	    " name VARCHAR(255) NOT NULL,"
	    " applied_at DATETIME(3) NOT NULL"
	    ") ENGINE=InnoDB DEFAULT CHARSET=utf8mb4";

	return blog_migrate_script(
	    blog_db_conn(db), "schema_migrations", create);
}

static int
blog_migrate_applied(void *db, const struct cm_migration *m, int *yes)
{
	long long version = m->version, got = 0;

	if (blog_migrate_stmt(blog_db_conn(db),
	        "SELECT COUNT(*) FROM schema_migrations WHERE version = ?",
	        &version, NULL, &got) != 0)
		return -1;
	*yes = got > 0;
	return 0;
}

/* MariaDB commits DDL implicitly: run, then record (see the top). */
static int
blog_migrate_apply(void *db, const struct cm_migration *m)
{
	long long version = m->version;

	if (blog_migrate_script(blog_db_conn(db), m->name, m->sql) != 0)
		return -1;
	return blog_migrate_stmt(blog_db_conn(db),
	    "INSERT INTO schema_migrations (version, name, applied_at) "
	    "VALUES (?, ?, UTC_TIMESTAMP(3))",
	    &version, m->name, NULL);
}

static const struct cm_migration_driver blog_migrate_driver = {
    .lock = blog_migrate_lock,
    .prepare = blog_migrate_prepare,
    .applied = blog_migrate_applied,
    .apply = blog_migrate_apply,
};

int
blog_migrate_run(const struct blog_app *app, int wait_seconds)
{
	struct blog_db *db;
	unsigned int e;
	int waited, rc = -1;

	if ((db = blog_db_new(app, 5, 120)) == NULL)
		return -1;
	blog_db_set_migrating(db);
	for (waited = 0; blog_db_ready(db, NULL) != CM_OK; waited++) {
		/*
		 * Only a database that is not up yet is worth waiting for;
		 * a refused TLS certificate (2026, CR_SSL_CONNECTION_ERROR)
		 * does not fix itself.
		 */
		e = blog_db_last_errno(db);
		if (e < 2000 || e >= 3000 || e == CR_SSL_CONNECTION_ERROR) {
			cm_log(CM_LOG_ERROR, NULL,
			    "migrate: cannot connect: %s",
			    blog_db_last_error(db));
			goto out;
		}
		if (waited >= wait_seconds) {
			cm_log(CM_LOG_ERROR, NULL,
			    "migrate: database not reachable after %d s",
			    wait_seconds);
			goto out;
		}
		sleep(1);
		blog_db_retry_now(db);
	}
	rc = cm_migration_run(
	    &blog_migrate_driver, db, blog_migrations, blog_migrations_count);
	if (rc == 0)
		rc = blog_migrate_skeletons(blog_db_conn(db));
out:
	blog_db_free(db);
	return rc;
}
