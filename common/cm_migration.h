/*
 * cm_migration.h: SQL migrations embedded in a binary at build time.
 *
 * The Makefile turns <binary>/migrations/NNN_name.sql into a generated C
 * file that defines <prefix>_migrations[] and <prefix>_migrations_count in
 * ascending version order (see common/embed/cm_embed.c). Each binary
 * declares its own array beside its migration code, so common names none
 * of its clients, and applies it with cm_migration_run and a driver for its
 * database. A migration of version 0 is repeatable: applied again whenever
 * the driver says its text changed.
 */
#ifndef CM_MIGRATION_H
#define CM_MIGRATION_H

#include <stddef.h>

struct cm_migration {
	int version; /* NNN from the file name */
	const char *name; /* the file name */
	const char *sql; /* the whole file, NUL-terminated */
};

/*
 * What a database must do for the runner. Each returns 0, or -1 after
 * logging why; db is the driver's connection.
 */
struct cm_migration_driver {
	/*
	 * Take a lock held across processes, so that replicas and jobs
	 * starting together apply each migration exactly once. It is the
	 * connection's (a PostgreSQL advisory or MariaDB GET_LOCK session
	 * lock): closing db releases it, after the run or after a crash, so
	 * there is no unlock to forget on an error path.
	 */
	int (*lock)(void *db);
	/* Create the bookkeeping tables when missing. */
	int (*prepare)(void *db);
	/* Whether m is recorded (a repeatable one: with this very text). */
	int (*applied)(void *db, const struct cm_migration *m, int *yes);
	/* Run m and record it (in one transaction where the database can). */
	int (*apply)(void *db, const struct cm_migration *m);
};

/*
 * 0 when the numbered migrations' versions strictly increase (as the
 * Makefile sorts the files), -1 (logged, naming both files) when two share
 * a number or are out of order.
 */
int cm_migration_check(const struct cm_migration *ms, size_t n);

/*
 * The highest numbered version in ms (0 when none): the schema a binary
 * needs, which its readiness checks for.
 */
int cm_migration_newest(const struct cm_migration *ms, size_t n);

/*
 * After cm_migration_check, under the driver's lock: every numbered
 * migration not yet recorded, in order, then every repeatable one whose
 * text changed. Stops at the first failure. Returns 0, or -1 (logged); the
 * lock is held until the caller closes db.
 */
int cm_migration_run(const struct cm_migration_driver *d, void *db,
    const struct cm_migration *ms, size_t n);

#endif
