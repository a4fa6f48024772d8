/*
 * Unit tests for cm_clock: deadlines are normalised and lie exactly us
 * after a moment between the reads before and after the call, whatever the
 * machine's speed (no timed assertion: only the order of three readings).
 */
#include <time.h>

#include "unit.h"

#include "cm_clock.h"

static long long
ts_us(const struct timespec *ts)
{
	return (long long)ts->tv_sec * 1000000 + ts->tv_nsec / 1000;
}

static void
test_deadline(void **state)
{
	/* Whole seconds, a carry into tv_sec from any tv_nsec, none. */
	static const long long us[] = {0, 1, 999999, 1000000, 1999999,
	    2500000, 60000000};
	static const clockid_t clocks[] = {CLOCK_MONOTONIC, CLOCK_REALTIME};
	struct timespec before, dl, after;
	size_t i, c;

	(void)state;
	for (c = 0; c < sizeof(clocks) / sizeof(clocks[0]); c++)
		for (i = 0; i < sizeof(us) / sizeof(us[0]); i++) {
			clock_gettime(clocks[c], &before);
			dl = cm_clock_deadline(clocks[c], us[i]);
			clock_gettime(clocks[c], &after);
			assert_true(dl.tv_nsec >= 0 && dl.tv_nsec < 1000000000L);
			assert_true(ts_us(&dl) >= ts_us(&before) + us[i]);
			assert_true(ts_us(&dl) <= ts_us(&after) + us[i]);
		}
}

UNIT_MAIN(cmocka_unit_test(test_deadline))
