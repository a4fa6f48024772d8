/*
 * cm_clock.h: the one clock for durations, deadlines and backoff.
 *
 * CLOCK_MONOTONIC, so that a wall-clock step (NTP, an operator) never makes
 * a duration negative or a deadline fire early. Wall time for tokens and
 * logs stays time(2) / CLOCK_REALTIME where it is used, and a deadline is
 * on the clock of what waits for it (a condition variable's is
 * CLOCK_REALTIME unless its attributes say otherwise).
 */
#ifndef CM_CLOCK_H
#define CM_CLOCK_H

#include <time.h>

/* Microseconds since an arbitrary fixed point. */
long long cm_clock_us(void);

/* Milliseconds since the same point. */
long long cm_clock_ms(void);

/*
 * The time us (>= 0) microseconds from now on clock clk, as an absolute
 * deadline for pthread_cond_timedwait (CLOCK_REALTIME unless the condition
 * says otherwise) or clock_nanosleep with TIMER_ABSTIME.
 */
struct timespec cm_clock_deadline(clockid_t clk, long long us);

#endif
