/*
 * cm_admin.h: the per-process admin HTTP port (libmicrohttpd) for probes and
 * metrics, separate from the FastCGI socket so that Kubernetes and
 * Prometheus can reach one pod directly.
 *
 *   GET /healthz  liveness: the process answers and its worker pool is not
 *                 wedged; never depends on the database
 *   GET /readyz   readiness: runs the service's own GET /readyz route
 *                 through the request pipeline (database reachable); 503
 *                 while draining after SIGTERM
 *   GET /metrics  Prometheus text format (cm_metrics)
 */
#ifndef CM_ADMIN_H
#define CM_ADMIN_H

#include "cm_server.h"

struct cm_admin;

/*
 * Start serving on conf->admin_listen ("host:port", ":port" or "port") in
 * a thread of libmicrohttpd's. NULL (logged) when it cannot start.
 */
struct cm_admin *cm_admin_start(const struct cm_server_conf *conf);

/* Stop and release; safe on NULL. */
void cm_admin_stop(struct cm_admin *admin);

#endif
