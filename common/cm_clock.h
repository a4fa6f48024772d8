/*
 * cm_clock.h: the one clock for durations, deadlines and backoff.
 *
 * CLOCK_MONOTONIC, so that a wall-clock step (NTP, an operator) never makes
 * a duration negative or a deadline fire early. Wall time for tokens and
 * logs stays time(2) / CLOCK_REALTIME where it is used.
 */
#ifndef CM_CLOCK_H
#define CM_CLOCK_H

/* Microseconds since an arbitrary fixed point. */
long long cm_clock_us(void);

/* Milliseconds since the same point. */
long long cm_clock_ms(void);

#endif
