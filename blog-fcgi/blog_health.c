/*
 * blog_health.c: GET /healthz and GET /readyz, and the public
 * GET /api/healthz.
 *
 * Liveness says only that a worker answered: no pid, no version, nothing an
 * outsider could use to tell replicas apart or to time restarts. Readiness
 * costs a database round trip, so it is routed at the bare /readyz only,
 * which the edge never passes on: the admin port (cm_admin.c) runs it
 * through the pipeline for the orchestrator's probes.
 */
#include "blog_db.h"
#include "blog_health.h"

enum cm_err
blog_health_live(struct cm_req *req)
{
	json_t *body;

	body = json_pack("{s:s,s:s}", "status", "ok", "service", "blog");
	return body != NULL ? cm_resp_json(&req->resp, 200, body) : CM_ENOMEM;
}

enum cm_err
blog_health_ready(struct cm_req *req)
{
	json_t *body;
	int ok;

	ok = blog_db_ping(req->worker, req->request_id) == CM_OK;
	body =
	    json_pack("{s:s,s:s,s:s}", "status", ok ? "ready" : "unavailable",
	        "service", "blog", "database", ok ? "ok" : "down");
	return body != NULL ? cm_resp_json(&req->resp, ok ? 200 : 503, body)
	                    : CM_ENOMEM;
}
