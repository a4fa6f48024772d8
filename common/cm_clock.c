/*
 * cm_clock.c: the monotonic clock (see cm_clock.h).
 */
#include <time.h>

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
