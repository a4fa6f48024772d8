/*
 * cm_metrics.h: Prometheus metrics of one process: requests by route and
 * status, a latency histogram per route, database errors and reconnects,
 * worker utilisation. Lock-free counters, updated from every worker thread,
 * rendered in the text exposition format on the admin port.
 */
#ifndef CM_METRICS_H
#define CM_METRICS_H

#include <stddef.h>

#include "cm_router.h"

/* Once at start, before the workers: size the tables for the routes. */
int cm_metrics_init(const char *service, const struct cm_route *routes,
    size_t nroutes, int workers);

/* One finished request; route NULL when no route matched. */
void cm_metrics_request(
    const struct cm_route *route, int status, long long duration_us);

void cm_metrics_worker_busy(int delta);

/*
 * True when every worker has been busy and no request has finished for
 * more than seconds: the pool is wedged (liveness fails).
 */
int cm_metrics_stalled(int seconds);
void cm_metrics_db_error(void);
void cm_metrics_db_reconnect(void);

/*
 * A service's own lines, appended after the common ones: fn writes
 * complete lines in the text format into buf (at most cap bytes, NUL
 * included) and returns their length as snprintf does; lines that do not
 * fit are all left out. One callback per process, set before the admin
 * port starts; arg is passed back.
 */
typedef int (*cm_metrics_extra_fn)(void *arg, char *buf, size_t cap);
void cm_metrics_extra(cm_metrics_extra_fn fn, void *arg);

/* Render everything; malloc'd text the caller frees, NULL on ENOMEM. */
char *cm_metrics_render(size_t *len);

#endif
