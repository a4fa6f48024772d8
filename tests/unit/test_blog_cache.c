/*
 * Unit tests for blog_cache: answers are served only at the version they
 * were kept at, and a version read is shared only by callers that arrived
 * before it started.
 */
#include <pthread.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "unit.h"

#include "../../blog-fcgi/blog_cache.h"

static int
get(struct blog_cache *c, const char *key, long long ver, const char *want)
{
	char *body;
	size_t len;
	int n = blog_cache_get(c, key, ver, &body, &len);

	if (n == 1) {
		assert_non_null(want);
		assert_int_equal(len, strlen(want));
		assert_memory_equal(body, want, len);
	}
	free(body);
	return n;
}

static void
test_version_gates_answers(void **state)
{
	struct blog_cache *c = blog_cache_new(1 << 20);

	(void)state;
	assert_non_null(c);
	assert_int_equal(get(c, "k", 5, NULL), 0);
	blog_cache_put(c, "k", 5, "{\"a\":1}", 7);
	assert_int_equal(get(c, "k", 5, "{\"a\":1}"), 1);
	assert_int_equal(get(c, "other", 5, NULL), 0);
	/* A request that read a newer version never gets the old answer. */
	assert_int_equal(get(c, "k", 6, NULL), 0);
	/* Nor one that read an older version: a miss costs a query, never
	 * correctness. */
	assert_int_equal(get(c, "k", 4, NULL), 0);
	/* Keeping at a newer version drops everything older. */
	blog_cache_put(c, "j", 6, "6", 1);
	assert_int_equal(get(c, "k", 5, NULL), 0);
	assert_int_equal(get(c, "j", 6, "6"), 1);
	/* An answer read at an older version than the newest is not kept. */
	blog_cache_put(c, "k", 5, "old", 3);
	assert_int_equal(get(c, "k", 5, NULL), 0);
	assert_int_equal(get(c, "k", 6, NULL), 0);
	/* Replacing a key keeps the newest answer. */
	blog_cache_put(c, "j", 6, "66", 2);
	assert_int_equal(get(c, "j", 6, "66"), 1);
	blog_cache_free(c);
}

static void
test_size_bounds(void **state)
{
	struct blog_cache *c = blog_cache_new(64 * 100);
	char big[101], key[16];
	int i, kept = 0;

	(void)state;
	memset(big, 'x', sizeof(big));
	/* Larger than a sixty-fourth of the budget: never kept. */
	blog_cache_put(c, "big", 1, big, 101);
	assert_int_equal(get(c, "big", 1, NULL), 0);
	/* The total stays within the budget. */
	for (i = 0; i < 200; i++) {
		snprintf(key, sizeof(key), "k%d", i);
		blog_cache_put(c, key, 1, big, 100);
	}
	for (i = 0; i < 200; i++) {
		char *body;
		size_t len;

		snprintf(key, sizeof(key), "k%d", i);
		if (blog_cache_get(c, key, 1, &body, &len) == 1)
			kept++;
		free(body);
	}
	assert_true(kept > 0 && kept <= 64);
	blog_cache_free(c);
	blog_cache_free(NULL);
}

/*
 * The gate: a fake database whose reads take a while and count how many
 * writes had committed when each read began.
 */
struct fake {
	pthread_mutex_t mu;
	long long committed; /* the version the database holds */
	int reads;
};

static struct fake fake = {PTHREAD_MUTEX_INITIALIZER, 1, 0};
static struct blog_cache *gate;

static enum cm_err
fake_read(void *arg, long long *ver)
{
	(void)arg;
	pthread_mutex_lock(&fake.mu);
	*ver = fake.committed;
	fake.reads++;
	pthread_mutex_unlock(&fake.mu);
	usleep(2000);
	return CM_OK;
}

static void *
reader(void *arg)
{
	long long *seen = arg, before, v;
	int i;

	for (i = 0; i < 10; i++) {
		/* A write acknowledged before this call began ... */
		pthread_mutex_lock(&fake.mu);
		before = fake.committed;
		pthread_mutex_unlock(&fake.mu);
		assert_int_equal(
		    blog_cache_version(gate, fake_read, NULL, &v), CM_OK);
		/* ... is always seen by it. */
		if (v < before)
			*seen = -1;
	}
	return NULL;
}

static void *
writer(void *arg)
{
	int i;

	(void)arg;
	for (i = 0; i < 40; i++) {
		pthread_mutex_lock(&fake.mu);
		fake.committed++;
		pthread_mutex_unlock(&fake.mu);
		usleep(500);
	}
	return NULL;
}

static void
test_gate_shares_reads_never_stale(void **state)
{
	pthread_t r[8], w;
	long long seen[8] = {0};
	unsigned long long hits, misses, reads, callers;
	int i;

	(void)state;
	gate = blog_cache_new(1 << 20);
	assert_int_equal(pthread_create(&w, NULL, writer, NULL), 0);
	for (i = 0; i < 8; i++)
		assert_int_equal(
		    pthread_create(&r[i], NULL, reader, &seen[i]), 0);
	for (i = 0; i < 8; i++) {
		pthread_join(r[i], NULL);
		assert_int_equal(seen[i], 0);
	}
	pthread_join(w, NULL);
	blog_cache_stats(gate, &hits, &misses, &reads, &callers);
	assert_int_equal(callers, 8 * 10);
	assert_int_equal(reads, (unsigned long long)fake.reads);
	/* Eight callers at a time share reads: fewer reads than calls. */
	assert_true(reads < callers);
	blog_cache_free(gate);
}

static enum cm_err
fail_read(void *arg, long long *ver)
{
	(void)arg;
	*ver = 0;
	return CM_EUNAVAIL;
}

static void
test_gate_failure(void **state)
{
	struct blog_cache *c = blog_cache_new(1024);
	long long v = 7;

	(void)state;
	assert_int_equal(
	    blog_cache_version(c, fail_read, NULL, &v), CM_EUNAVAIL);
	assert_int_equal(v, 0);
	/* The next caller reads again rather than reusing the failure. */
	assert_int_equal(blog_cache_version(c, fake_read, NULL, &v), CM_OK);
	assert_true(v >= 1);
	blog_cache_free(c);
}

/*
 * A read that fails while others wait for it fails them too: a caller that
 * arrived after it began (so could not share its version) does not read
 * again, and is not kept waiting a second time by a database that is down
 * or hung.
 */
struct hung {
	pthread_mutex_t mu;
	pthread_cond_t cv;
	int started, released, second_reads;
	struct blog_cache *c;
	enum cm_err first_rc, second_rc;
	long long second_ver;
};

static struct hung hung = {PTHREAD_MUTEX_INITIALIZER, PTHREAD_COND_INITIALIZER,
    0, 0, 0, NULL, CM_OK, CM_OK, 7};

/* The first caller's read: held until the test lets it fail. */
static enum cm_err
hung_read(void *arg, long long *ver)
{
	(void)arg;
	*ver = 0;
	pthread_mutex_lock(&hung.mu);
	hung.started = 1;
	pthread_cond_broadcast(&hung.cv);
	while (!hung.released)
		pthread_cond_wait(&hung.cv, &hung.mu);
	pthread_mutex_unlock(&hung.mu);
	return CM_EUNAVAIL;
}

/* Any later caller's read: would answer at once, but must not run. */
static enum cm_err
counted_read(void *arg, long long *ver)
{
	(void)arg;
	pthread_mutex_lock(&hung.mu);
	hung.second_reads++;
	pthread_mutex_unlock(&hung.mu);
	*ver = 42;
	return CM_OK;
}

static void *
hung_first(void *arg)
{
	long long v;

	(void)arg;
	hung.first_rc = blog_cache_version(hung.c, hung_read, NULL, &v);
	return NULL;
}

static void *
hung_second(void *arg)
{
	(void)arg;
	hung.second_rc =
	    blog_cache_version(hung.c, counted_read, NULL, &hung.second_ver);
	return NULL;
}

static void
test_gate_failure_fails_waiters(void **state)
{
	unsigned long long h, m, reads, callers = 0;
	pthread_t a, b;
	long long v;

	(void)state;
	hung.c = blog_cache_new(1024);
	assert_int_equal(pthread_create(&a, NULL, hung_first, NULL), 0);
	pthread_mutex_lock(&hung.mu);
	while (!hung.started)
		pthread_cond_wait(&hung.cv, &hung.mu);
	pthread_mutex_unlock(&hung.mu);
	/* The second caller arrives while the first read is in flight. */
	assert_int_equal(pthread_create(&b, NULL, hung_second, NULL), 0);
	while (callers < 2) {
		blog_cache_stats(hung.c, &h, &m, &reads, &callers);
		usleep(1000);
	}
	/* Counted under the lock it then waits on: it waits now. */
	pthread_mutex_lock(&hung.mu);
	hung.released = 1;
	pthread_cond_broadcast(&hung.cv);
	pthread_mutex_unlock(&hung.mu);
	pthread_join(a, NULL);
	pthread_join(b, NULL);
	assert_int_equal(hung.first_rc, CM_EUNAVAIL);
	assert_int_equal(hung.second_rc, CM_EUNAVAIL);
	assert_int_equal(hung.second_reads, 0);
	assert_int_equal(hung.second_ver, 0);
	blog_cache_stats(hung.c, &h, &m, &reads, &callers);
	assert_int_equal(reads, 1);
	/* A caller after the failure reads again. */
	assert_int_equal(
	    blog_cache_version(hung.c, counted_read, NULL, &v), CM_OK);
	assert_int_equal(v, 42);
	assert_int_equal(hung.second_reads, 1);
	blog_cache_free(hung.c);
}

/*
 * The window: a read that began less than the window before a call is
 * shared by it without a new read; an older one, or a failed one, never.
 */
static void
test_window_shares_recent_reads(void **state)
{
	struct blog_cache *c = blog_cache_new(1024);
	unsigned long long h, m, reads, callers;
	long long v = 0;
	int before;

	(void)state;
	/* No window (the old rule): every call after a read reads again. */
	pthread_mutex_lock(&fake.mu);
	before = fake.reads;
	pthread_mutex_unlock(&fake.mu);
	assert_int_equal(blog_cache_version(c, fake_read, NULL, &v), CM_OK);
	assert_int_equal(blog_cache_version(c, fake_read, NULL, &v), CM_OK);
	assert_int_equal(fake.reads - before, 2);
	blog_cache_free(c);
	/*
	 * A window of a minute: the last read is shared, even after a commit
	 * that did not wait (which is why every write waits the window).
	 */
	c = blog_cache_new(1024);
	blog_cache_window(c, 60LL * 1000000);
	assert_int_equal(blog_cache_version(c, fake_read, NULL, &v), CM_OK);
	assert_int_equal(fake.reads - before, 3);
	assert_int_equal(v, fake.committed);
	pthread_mutex_lock(&fake.mu);
	fake.committed++;
	pthread_mutex_unlock(&fake.mu);
	assert_int_equal(blog_cache_version(c, fake_read, NULL, &v), CM_OK);
	assert_int_equal(blog_cache_version(c, fake_read, NULL, &v), CM_OK);
	assert_int_equal(fake.reads - before, 3);
	assert_int_equal(v, fake.committed - 1);
	blog_cache_stats(c, &h, &m, &reads, &callers);
	assert_int_equal(reads, 1);
	assert_int_equal(callers, 3);
	blog_cache_free(c);
	/* A failed read is not shared, window or not. */
	c = blog_cache_new(1024);
	blog_cache_window(c, 60LL * 1000000);
	assert_int_equal(
	    blog_cache_version(c, fail_read, NULL, &v), CM_EUNAVAIL);
	assert_int_equal(blog_cache_version(c, fake_read, NULL, &v), CM_OK);
	assert_int_equal(fake.reads - before, 4);
	blog_cache_free(c);
	/* A window of 1 ms: a read 5 ms old is not shared. */
	c = blog_cache_new(1024);
	blog_cache_window(c, 1000);
	assert_int_equal(blog_cache_version(c, fake_read, NULL, &v), CM_OK);
	usleep(5000);
	assert_int_equal(blog_cache_version(c, fake_read, NULL, &v), CM_OK);
	assert_int_equal(fake.reads - before, 6);
	blog_cache_free(c);
	/* Writes wait the window plus a margin, and nothing without one. */
	assert_int_equal(blog_cache_write_wait_us(0), 0);
	assert_true(blog_cache_write_wait_us(1000) > 1000);
	assert_true(blog_cache_write_wait_us(1600000) >= 1700000);
}

/*
 * Readers with a window never miss a write acknowledged before they
 * began, when writers wait blog_cache_write_wait_us after committing: the
 * gate test again, with a window and writers that wait.
 */
static long long acked; /* the newest version a writer answered for */

static void *
window_reader(void *arg)
{
	long long *seen = arg, before, v;
	int i;

	for (i = 0; i < 20; i++) {
		pthread_mutex_lock(&fake.mu);
		before = acked;
		pthread_mutex_unlock(&fake.mu);
		assert_int_equal(
		    blog_cache_version(gate, fake_read, NULL, &v), CM_OK);
		if (v < before)
			*seen = -1;
		usleep(300);
	}
	return NULL;
}

static void *
window_writer(void *arg)
{
	long long mine;
	int i;

	(void)arg;
	for (i = 0; i < 10; i++) {
		pthread_mutex_lock(&fake.mu);
		mine = ++fake.committed;
		pthread_mutex_unlock(&fake.mu);
		usleep((useconds_t)blog_cache_write_wait_us(3000));
		pthread_mutex_lock(&fake.mu);
		if (mine > acked)
			acked = mine;
		pthread_mutex_unlock(&fake.mu);
	}
	return NULL;
}

static void
test_window_never_stale_when_writes_wait(void **state)
{
	pthread_t r[4], w;
	long long seen[4] = {0};
	unsigned long long h, m, reads, callers;
	int i;

	(void)state;
	gate = blog_cache_new(1 << 20);
	blog_cache_window(gate, 3000);
	pthread_mutex_lock(&fake.mu);
	acked = fake.committed;
	pthread_mutex_unlock(&fake.mu);
	assert_int_equal(pthread_create(&w, NULL, window_writer, NULL), 0);
	for (i = 0; i < 4; i++)
		assert_int_equal(
		    pthread_create(&r[i], NULL, window_reader, &seen[i]), 0);
	for (i = 0; i < 4; i++) {
		pthread_join(r[i], NULL);
		assert_int_equal(seen[i], 0);
	}
	pthread_join(w, NULL);
	blog_cache_stats(gate, &h, &m, &reads, &callers);
	assert_true(reads < callers);
	blog_cache_free(gate);
}

/*
 * Keys whose hashes agree in their low 16 bits share a slot of a
 * direct-mapped table of 65,536 slots (only the last stayed) and a set
 * here: four of them stay, and a fifth replaces the least recently used.
 */
static void
test_colliding_keys_stay(void **state)
{
	struct blog_cache *c = blog_cache_new(1 << 20);
	char keys[5][24];
	uint64_t low = 0;
	int i, n = 0;

	(void)state;
	for (i = 0; n < 5; i++) {
		snprintf(keys[n], sizeof(keys[n]), "/k%d", i);
		if (n == 0)
			low = blog_cache_hash(keys[0]) & 0xffff;
		if ((blog_cache_hash(keys[n]) & 0xffff) == low)
			n++;
	}
	for (i = 0; i < 4; i++)
		blog_cache_put(c, keys[i], 1, keys[i], strlen(keys[i]));
	for (i = 0; i < 4; i++)
		assert_int_equal(get(c, keys[i], 1, keys[i]), 1);
	/* Use keys 0, 2 and 3 again: key 1 is now the least recently used. */
	assert_int_equal(get(c, keys[0], 1, keys[0]), 1);
	assert_int_equal(get(c, keys[2], 1, keys[2]), 1);
	assert_int_equal(get(c, keys[3], 1, keys[3]), 1);
	blog_cache_put(c, keys[4], 1, keys[4], strlen(keys[4]));
	assert_int_equal(get(c, keys[1], 1, NULL), 0);
	assert_int_equal(get(c, keys[0], 1, keys[0]), 1);
	assert_int_equal(get(c, keys[2], 1, keys[2]), 1);
	assert_int_equal(get(c, keys[3], 1, keys[3]), 1);
	assert_int_equal(get(c, keys[4], 1, keys[4]), 1);
	/* Replacing a key in a full set keeps the others. */
	blog_cache_put(c, keys[0], 1, "new", 3);
	assert_int_equal(get(c, keys[0], 1, "new"), 1);
	assert_int_equal(get(c, keys[4], 1, keys[4]), 1);
	blog_cache_free(c);
}

/*
 * A full budget makes room for a new answer by dropping answers nobody
 * read lately, wherever they are, and keeps the ones being read.
 */
static void
test_full_budget_makes_room(void **state)
{
	/* 64 KiB: answers up to 1 KiB are kept. */
	struct blog_cache *c = blog_cache_new(64 << 10);
	char key[32], small[501], big[1001];
	int i, kept = 0;

	(void)state;
	assert_non_null(c);
	memset(small, 'a', sizeof(small) - 1);
	small[sizeof(small) - 1] = '\0';
	memset(big, 'b', sizeof(big) - 1);
	big[sizeof(big) - 1] = '\0';
	/* Fill the budget with 500-byte answers (130 of them fit)... */
	for (i = 0; i < 130; i++) {
		snprintf(key, sizeof(key), "/cold/%d", i);
		blog_cache_put(c, key, 1, small, 500);
	}
	/* ... of which one in ten is read. */
	for (i = 0; i < 130; i += 10) {
		snprintf(key, sizeof(key), "/cold/%d", i);
		assert_int_equal(get(c, key, 1, small), 1);
	}
	/* A larger answer than any one it could replace in its set. */
	blog_cache_put(c, "/list", 1, big, 1000);
	assert_int_equal(get(c, "/list", 1, big), 1);
	/* The read ones are still there. */
	for (i = 0; i < 130; i += 10) {
		snprintf(key, sizeof(key), "/cold/%d", i);
		kept += get(c, key, 1, small) == 1;
	}
	assert_int_equal(kept, 13);
	blog_cache_free(c);
}

/* /metrics: what was looked for and found, and what is kept. */
static void
test_metrics(void **state)
{
	struct blog_cache *c = blog_cache_new(1 << 20);
	char buf[4096], small[64];
	long long v;
	int n;

	(void)state;
	assert_non_null(c);
	blog_cache_put(c, "k", 1, "12345", 5);
	assert_int_equal(get(c, "k", 1, "12345"), 1);
	assert_int_equal(get(c, "k", 1, "12345"), 1);
	assert_int_equal(get(c, "j", 1, NULL), 0);
	assert_int_equal(blog_cache_version(c, fake_read, NULL, &v), CM_OK);
	n = blog_cache_metrics(c, buf, sizeof(buf));
	assert_true(n > 0 && (size_t)n < sizeof(buf));
	assert_non_null(strstr(buf,
	    "\nblog_read_cache_lookups_total{result=\"hit\"} 2\n"));
	assert_non_null(strstr(buf,
	    "\nblog_read_cache_lookups_total{result=\"miss\"} 1\n"));
	assert_non_null(
	    strstr(buf, "\nblog_read_cache_version_requests_total 1\n"));
	assert_non_null(
	    strstr(buf, "\nblog_read_cache_version_reads_total 1\n"));
	assert_non_null(strstr(buf, "\nblog_read_cache_entries 1\n"));
	assert_non_null(strstr(buf, "\nblog_read_cache_bytes 5\n"));
	/* Too small a buffer: the length it would need, as snprintf. */
	assert_int_equal(blog_cache_metrics(c, small, sizeof(small)), n);
	blog_cache_free(c);
}

UNIT_MAIN(cmocka_unit_test(test_version_gates_answers),
    cmocka_unit_test(test_size_bounds),
    cmocka_unit_test(test_gate_shares_reads_never_stale),
    cmocka_unit_test(test_gate_failure),
    cmocka_unit_test(test_gate_failure_fails_waiters),
    cmocka_unit_test(test_window_shares_recent_reads),
    cmocka_unit_test(test_window_never_stale_when_writes_wait),
    cmocka_unit_test(test_colliding_keys_stay),
    cmocka_unit_test(test_full_budget_makes_room),
    cmocka_unit_test(test_metrics))
