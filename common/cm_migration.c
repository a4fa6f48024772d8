/*
 * cm_migration.c: the one migration runner (see cm_migration.h).
 */
#include "cm_log.h"
#include "cm_migration.h"

/* Apply the migrations of one kind (numbered or repeatable) not yet in. */
static int
cm_migration_pass(const struct cm_migration_driver *d, void *db,
    const struct cm_migration *ms, size_t n, int repeatable, int *applied,
    int *version)
{
	size_t i;
	int done;

	for (i = 0; i < n; i++) {
		if ((ms[i].version == 0) != repeatable)
			continue;
		if (d->applied(db, &ms[i], &done) != 0)
			return -1;
		if (!repeatable)
			*version = ms[i].version;
		if (done)
			continue;
		if (d->apply(db, &ms[i]) != 0)
			return -1;
		cm_log(CM_LOG_INFO, NULL, "migrate: applied %s", ms[i].name);
		(*applied)++;
	}
	return 0;
}

int
cm_migration_check(const struct cm_migration *ms, size_t n)
{
	size_t i, last = n;

	for (i = 0; i < n; i++) {
		if (ms[i].version == 0)
			continue;
		if (last != n && ms[i].version <= ms[last].version) {
			/* Two files with one number: only one would ever run. */
			cm_log(CM_LOG_ERROR, NULL,
			    "migrate: %s and %s: versions must increase",
			    ms[last].name, ms[i].name);
			return -1;
		}
		last = i;
	}
	return 0;
}

int
cm_migration_run(const struct cm_migration_driver *d, void *db,
    const struct cm_migration *ms, size_t n)
{
	int applied = 0, version = 0;

	if (cm_migration_check(ms, n) != 0 || d->lock(db) != 0 ||
	    d->prepare(db) != 0)
		return -1;
	/* Numbered first: repeatable ones may use what they create. */
	if (cm_migration_pass(d, db, ms, n, 0, &applied, &version) != 0 ||
	    cm_migration_pass(d, db, ms, n, 1, &applied, &version) != 0)
		return -1;
	cm_log(CM_LOG_INFO, NULL, "migrate: %d applied, schema at version %d",
	    applied, version);
	return 0;
}

int
cm_migration_newest(const struct cm_migration *ms, size_t n)
{
	size_t i;
	int v = 0;

	for (i = 0; i < n; i++)
		if (ms[i].version > v)
			v = ms[i].version;
	return v;
}
