/*
 * cm_reconnect.c: reconnect with exponential backoff (see cm_reconnect.h).
 */
#include "cm_clock.h"
#include "cm_metrics.h"
#include "cm_reconnect.h"

enum cm_err
cm_reconnect(
    struct cm_reconnect *r, cm_reconnect_fn connect, void *arg, const char *rid)
{
	if (cm_clock_ms() < r->retry_at_ms)
		return CM_EUNAVAIL;
	if (connect(arg, rid) != CM_OK) {
		if (r->backoff_ms < r->min_ms)
			r->backoff_ms = r->min_ms;
		r->retry_at_ms = cm_clock_ms() + r->backoff_ms;
		r->backoff_ms *= 2;
		if (r->backoff_ms > r->max_ms)
			r->backoff_ms = r->max_ms;
		return CM_EUNAVAIL;
	}
	r->backoff_ms = 0;
	r->retry_at_ms = 0;
	if (r->ever_connected)
		cm_metrics_db_reconnect();
	r->ever_connected = 1;
	return CM_OK;
}

void
cm_reconnect_now(struct cm_reconnect *r)
{
	r->retry_at_ms = 0;
}
