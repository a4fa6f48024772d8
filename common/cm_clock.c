/*
 * cm_clock.c: the monotonic clock and deadlines (see cm_clock.h).
 */
#include "cm_clock.h"

long long
cm_clock_us(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (long long)ts.tv_sec * 1000000 + ts.tv_nsec / 1000;
}

long long
cm_clock_ms(void)
{
	return cm_clock_us() / 1000;
}

struct timespec
cm_clock_deadline(clockid_t clk, long long us)
{
	struct timespec ts;

	clock_gettime(clk, &ts);
	ts.tv_sec += (time_t)(us / 1000000);
	ts.tv_nsec += (long)(us % 1000000) * 1000;
	if (ts.tv_nsec >= 1000000000L) {
		ts.tv_sec++;
		ts.tv_nsec -= 1000000000L;
	}
	return ts;
}
