/*
 * Unit tests for cm_reconnect: the backoff doubles up to its cap, a wait
 * in force means no attempt, success resets it. The minimum is a minute so
 * that no test depends on how fast the machine is.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include "unit.h"

#include "cm_clock.h"
#include "cm_reconnect.h"

struct fake {
	int calls;
	int up;
};

static enum cm_err
fake_connect(void *arg, const char *rid)
{
	struct fake *f = arg;

	(void)rid;
	f->calls++;
	return f->up ? CM_OK : CM_EUNAVAIL;
}

static void
test_backoff(void **state)
{
	struct cm_reconnect r;
	struct fake f = {0, 0};
	long long t0;

	(void)state;
	memset(&r, 0, sizeof(r));
	r.min_ms = 60000;
	r.max_ms = 200000;
	t0 = cm_clock_ms();
	assert_int_equal(cm_reconnect(&r, fake_connect, &f, NULL), CM_EUNAVAIL);
	assert_int_equal(f.calls, 1);
	assert_true(r.retry_at_ms >= t0 + 60000);
	/* Waiting: no attempt. */
	assert_int_equal(cm_reconnect(&r, fake_connect, &f, NULL), CM_EUNAVAIL);
	assert_int_equal(f.calls, 1);
	/* Each failure doubles the next wait, up to max. */
	assert_int_equal(r.backoff_ms, 120000);
	cm_reconnect_now(&r);
	(void)cm_reconnect(&r, fake_connect, &f, NULL);
	assert_int_equal(f.calls, 2);
	assert_int_equal(r.backoff_ms, 200000);
	cm_reconnect_now(&r);
	(void)cm_reconnect(&r, fake_connect, &f, NULL);
	assert_int_equal(r.backoff_ms, 200000);
	/* Success resets the wait. */
	f.up = 1;
	cm_reconnect_now(&r);
	assert_int_equal(cm_reconnect(&r, fake_connect, &f, NULL), CM_OK);
	assert_int_equal(f.calls, 4);
	assert_int_equal(r.retry_at_ms, 0);
	assert_int_equal(r.backoff_ms, 0);
	assert_int_equal(r.ever_connected, 1);
	/* The next failure waits the minimum again. */
	f.up = 0;
	t0 = cm_clock_ms();
	(void)cm_reconnect(&r, fake_connect, &f, NULL);
	assert_true(r.retry_at_ms >= t0 + 60000);
	assert_true(r.retry_at_ms < t0 + 120000);
}

UNIT_MAIN(
    cmocka_unit_test(test_backoff))
