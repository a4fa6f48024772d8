/*
 * Unit tests for cm_migration_run with a fake driver: what runs, in which
 * order, what is skipped, and that a failure stops the run. The lock is the
 * connection's (closing it releases it), so the runner never unlocks.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include "unit.h"

#include "cm_migration.h"

struct fake {
	char log[512];
	int lock_fails;
	int fail_apply; /* version whose apply fails; -1: none */
	int done[8]; /* by index into ms[]: recorded already */
	const struct cm_migration *ms;
};

static void
fake_note(struct fake *f, const char *what, const char *name)
{
	size_t n = strlen(f->log);

	snprintf(f->log + n, sizeof(f->log) - n, "%s%s%s;", what,
	    name != NULL ? " " : "", name != NULL ? name : "");
}

static int
fake_lock(void *db)
{
	struct fake *f = db;

	fake_note(f, "lock", NULL);
	return f->lock_fails ? -1 : 0;
}

static int
fake_prepare(void *db)
{
	fake_note(db, "prepare", NULL);
	return 0;
}

static int
fake_applied(void *db, const struct cm_migration *m, int *yes)
{
	struct fake *f = db;

	*yes = f->done[m - f->ms];
	return 0;
}

static int
fake_apply(void *db, const struct cm_migration *m)
{
	struct fake *f = db;

	fake_note(f, "apply", m->name);
	return m->version == f->fail_apply && m->version != 0 ? -1 : 0;
}

static const struct cm_migration_driver fake_driver = {
    .lock = fake_lock,
    .prepare = fake_prepare,
    .applied = fake_applied,
    .apply = fake_apply,
};

/* As cm_embed lays them out: numbered in order, repeatables last. */
static const struct cm_migration ms[] = {
    {1, "001_init.sql", ""},
    {2, "002_more.sql", ""},
    {3, "003_index.sql", ""},
    {0, "R__functions.sql", ""},
};
#define NMS (sizeof(ms) / sizeof(ms[0]))

static void
fake_init(struct fake *f)
{
	memset(f, 0, sizeof(*f));
	f->fail_apply = -1;
	f->ms = ms;
}

static void
test_fresh_database_gets_everything_in_order(void **state)
{
	struct fake f;

	(void)state;
	fake_init(&f);
	assert_int_equal(cm_migration_run(&fake_driver, &f, ms, NMS), 0);
	assert_string_equal(f.log,
	    "lock;prepare;apply 001_init.sql;apply 002_more.sql;"
	    "apply 003_index.sql;apply R__functions.sql;");
}

static void
test_recorded_ones_are_skipped(void **state)
{
	struct fake f;

	(void)state;
	fake_init(&f);
	f.done[0] = f.done[1] = f.done[3] = 1;
	assert_int_equal(cm_migration_run(&fake_driver, &f, ms, NMS), 0);
	assert_string_equal(
	    f.log, "lock;prepare;apply 003_index.sql;");
	/* Nothing new: a second run is a no-op. */
	fake_init(&f);
	f.done[0] = f.done[1] = f.done[2] = f.done[3] = 1;
	assert_int_equal(cm_migration_run(&fake_driver, &f, ms, NMS), 0);
	assert_string_equal(f.log, "lock;prepare;");
}

static void
test_failure_stops(void **state)
{
	struct fake f;

	(void)state;
	fake_init(&f);
	f.fail_apply = 2;
	assert_int_equal(cm_migration_run(&fake_driver, &f, ms, NMS), -1);
	assert_string_equal(f.log,
	    "lock;prepare;apply 001_init.sql;apply 002_more.sql;");
	fake_init(&f);
	f.lock_fails = 1;
	assert_int_equal(cm_migration_run(&fake_driver, &f, ms, NMS), -1);
	assert_string_equal(f.log, "lock;");
}

static void
test_versions_must_increase(void **state)
{
	static const struct cm_migration twins[] = {
	    {4, "004_a.sql", ""},
	    {5, "005_b.sql", ""},
	    {5, "005_c.sql", ""},
	};
	struct fake f;

	(void)state;
	assert_int_equal(cm_migration_check(ms, NMS), 0);
	assert_int_equal(cm_migration_check(twins, 3), -1);
	assert_int_equal(cm_migration_check(twins, 2), 0);
	/* Nothing runs, not even the lock, when two files share a number. */
	fake_init(&f);
	f.ms = twins;
	assert_int_equal(cm_migration_run(&fake_driver, &f, twins, 3), -1);
	assert_string_equal(f.log, "");
}

UNIT_MAIN(
    cmocka_unit_test(test_fresh_database_gets_everything_in_order),
    cmocka_unit_test(test_recorded_ones_are_skipped),
    cmocka_unit_test(test_failure_stops),
    cmocka_unit_test(test_versions_must_increase))
