/*
 * pay_health.c: liveness (no database) and readiness (database answers).
 */
#include <unistd.h>

#include "pay.h"
#include "pay_health.h"
#include "pay_db.h"

enum cm_err
pay_health_live(struct cm_req *req)
{
	return cm_resp_json(&req->resp, 200,
	    json_pack("{s:s, s:s, s:I}", "status", "ok", "service", "pay",
	        "pid", (json_int_t)getpid()));
}

enum cm_err
pay_health_ready(struct cm_req *req)
{
	if (pay_db_ping(req) != CM_OK)
		return cm_resp_json(&req->resp, 503,
		    json_pack("{s:s, s:s}", "status", "unavailable", "service",
		        "pay"));
	return cm_resp_json(&req->resp, 200,
	    json_pack("{s:s, s:s}", "status", "ready", "service", "pay"));
}
