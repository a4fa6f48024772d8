/*
 * pay_health.c: liveness (no database) and readiness (database answers).
 *
 * Liveness discloses nothing but "ok" (no pid: nothing to tell replicas
 * apart by). Readiness is a database round trip, routed at the bare
 * /readyz only, which the edge never passes on; the admin port runs it.
 */
#include "pay.h"
#include "pay_health.h"
#include "pay_db.h"

enum cm_err
pay_health_live(struct cm_req *req)
{
	return cm_resp_json(&req->resp, 200,
	    json_pack("{s:s, s:s}", "status", "ok", "service", "pay"));
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
