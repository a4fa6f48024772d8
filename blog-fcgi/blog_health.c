/*
 * blog_health.c: GET /healthz and GET /readyz, and the public
 * GET /api/healthz.
 *
 * Liveness says only that a worker answered: no pid, no version, nothing an
 * outsider could use to tell replicas apart or to time restarts. Readiness
 * costs a database round trip, so it is routed at the bare /readyz only,
 * which the edge never passes on: the admin port (cm_admin.c) runs it
 * through the pipeline for the orchestrator's probes. Ready means the
 * database answers and holds the newest migration this binary embeds, so
 * a bare `kubectl apply -k` keeps the pods out of the Service until the
 * migration Job has run.
 */
#include "blog_db.h"
#include "blog_health.h"
#include "blog_migrate.h"

static enum cm_err
blog_health_live(struct cm_req *req)
{
	json_t *body;

	body = json_pack("{s:s,s:s}", "status", "ok", "service", "blog");
	return body != NULL ? cm_resp_json(&req->resp, 200, body) : CM_ENOMEM;
}

static enum cm_err
blog_health_ready(struct cm_req *req)
{
	const char *db;
	json_t *body;
	enum cm_err rc;
	int need = cm_migration_newest(blog_migrations, blog_migrations_count);

	rc = blog_db_schema_ready(req->worker, req->request_id, need);
	db = rc == CM_OK ? "ok" : rc == CM_ENOTFOUND ? "not migrated" : "down";
	body = json_pack("{s:s,s:s,s:s,s:i}", "status",
	    rc == CM_OK ? "ready" : "unavailable", "service", "blog",
	    "database", db, "schema", need);
	return body != NULL
	    ? cm_resp_json(&req->resp, rc == CM_OK ? 200 : 503, body)
	    : CM_ENOMEM;
}

const struct cm_route blog_health_routes[] = {
    {"GET", "/healthz", blog_health_live, CM_AUTH_NONE, 0},
    {"GET", "/readyz", blog_health_ready, CM_AUTH_NONE, 0},
    {"GET", "/api/healthz", blog_health_live, CM_AUTH_NONE, 0},
    {0},
};
