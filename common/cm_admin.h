/*
 * cm_admin.h: the per-process admin HTTP port (libmicrohttpd) for probes and
 * metrics, separate from the FastCGI socket so that Kubernetes and
 * Prometheus can reach one pod directly.
 *
 *   GET /healthz  liveness: the process answers and its worker pool is not
 *                 wedged; never depends on the database
 *   GET /readyz   readiness: whatever the server's ready callback answers
 *                 (cm_server runs the service's own GET /readyz route
 *                 through the request pipeline; 503 while draining)
 *   GET /metrics  Prometheus text format (cm_metrics)
 *   POST <path>   the service's internal routes (CM_ROUTE_INTERNAL, e.g.
 *                 pay's /internal/identity), through the pipeline with
 *                 the body; no other route answers here
 */
#ifndef CM_ADMIN_H
#define CM_ADMIN_H

#include "cm_req.h"

struct cm_admin;

/*
 * Fill req->resp with the answer to GET /readyz. Called on the admin
 * thread only, never twice at once, so arg needs no lock.
 */
typedef void (*cm_admin_ready_fn)(void *arg, struct cm_req *req);

/*
 * Fill req->resp with the answer to a POST (req->method, path, body,
 * content_type set; req->internal 1). Same thread rules as ready.
 */
typedef void (*cm_admin_post_fn)(void *arg, struct cm_req *req);

/*
 * Start serving on listen ("host:port", ":port" or "port") in a thread of
 * libmicrohttpd's. NULL (logged) when it cannot start.
 */
struct cm_admin *cm_admin_start(const char *listen, cm_admin_ready_fn ready,
    cm_admin_post_fn post, size_t max_body, void *arg);

/* Stop and release; safe on NULL. */
void cm_admin_stop(struct cm_admin *admin);

#endif
