/*
 * pay_health.c: liveness (no database) and readiness (database answers).
 *
 * Liveness discloses nothing but "ok" (no pid: nothing to tell replicas
 * apart by). Readiness is a database round trip, routed at the bare
 * /readyz only, which the edge never passes on; the admin port runs it.
 * Ready means the database answers and holds the newest migration this
 * binary embeds (a bare apply keeps the pods out until the Job ran).
 */
#include "pay.h"
#include "pay_db.h"
#include "pay_health.h"
#include "pay_migrate.h"

static enum cm_err
pay_health_live(struct cm_req *req)
{
	return cm_resp_json(&req->resp, 200,
	    json_pack("{s:s, s:s}", "status", "ok", "service", "pay"));
}

static enum cm_err
pay_health_ready(struct cm_req *req)
{
	int need = cm_migration_newest(pay_migrations, pay_migrations_count);
	enum cm_err rc = pay_db_ping(req, need);

	return cm_resp_json(&req->resp, rc == CM_OK ? 200 : 503,
	    json_pack("{s:s, s:s, s:s, s:i}", "status",
	        rc == CM_OK ? "ready" : "unavailable", "service", "pay",
	        "database",
	        rc == CM_OK              ? "ok"
	            : rc == CM_ENOTFOUND ? "not migrated"
	                                 : "down",
	        "schema", need));
}

const struct cm_route pay_health_routes[] = {
    {"GET", "/healthz", pay_health_live, CM_AUTH_NONE, 0},
    {"GET", "/readyz", pay_health_ready, CM_AUTH_NONE, 0},
    {"GET", "/pay/v1/healthz", pay_health_live, CM_AUTH_NONE, 0},
    {0},
};
