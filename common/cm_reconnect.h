/*
 * cm_reconnect.h: re-opening a lost database connection with exponential
 * backoff, the same for every service.
 *
 * A worker whose database is down must answer 503 at once rather than wait
 * for a connect timeout on every request, and must not hammer a database
 * that is coming back: the first retry waits min_ms, each failure doubles
 * the wait up to max_ms, and a success resets it. The service supplies only
 * how to connect.
 */
#ifndef CM_RECONNECT_H
#define CM_RECONNECT_H

#include "cm_err.h"

struct cm_reconnect {
	long long min_ms, max_ms; /* set by the caller before first use */
	long long retry_at_ms; /* no attempt before this (cm_clock_ms) */
	long long backoff_ms; /* the wait after the next failure; 0: min */
	int ever_connected; /* a later success counts as a reconnect */
};

/*
 * Open a connection; CM_OK once arg holds it, anything else (logged by
 * connect) when it cannot.
 */
typedef enum cm_err (*cm_reconnect_fn)(void *arg, const char *rid);

/*
 * Call connect unless the backoff says not yet. CM_OK when it connected;
 * CM_EUNAVAIL when it failed or was not tried. Counts reconnects in the
 * metrics.
 */
enum cm_err cm_reconnect(struct cm_reconnect *r, cm_reconnect_fn connect,
    void *arg, const char *rid);

/* Let the next cm_reconnect try at once (a caller that waits by itself). */
void cm_reconnect_now(struct cm_reconnect *r);

#endif
