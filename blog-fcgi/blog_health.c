/*
 * blog_health.c: GET /healthz and GET /readyz (also under /api).
 */
#include <unistd.h>

#include "blog_db.h"
#include "blog_health.h"

enum cm_err
blog_health_live(struct cm_req *req)
{
	json_t *body;

	body = json_pack("{s:s,s:s,s:I}", "status", "ok", "service", "blog",
	    "pid", (json_int_t)getpid());
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
