/*
 * fuzz_cm_request: FastCGI params to a request through the whole pipeline
 * without FastCGI (cm_server_dispatch): method, path (DOCUMENT_URI), query
 * string, Authorization, Content-Type and body come from the input, the
 * routes are a small table like the services' (literal and parameter
 * segments, every auth class, a body route). Properties: every request is
 * answered with a status; no client input is ever a 5xx (the handler here
 * touches no database); the answer serialises; route parameters are
 * non-empty and hold no '/'.
 */
#include "cm_json.h"
#include "cm_server.h"
#include "fuzz_util.h"
#include "../unit/unit_routes.h"

static void
fuzz_error(
    struct cm_resp *resp, enum cm_err code, const char *key, const char *msg)
{
	cm_resp_json(resp, cm_err_status(code),
	    json_pack("{s:{s:[s]}}", "errors", key, msg));
}

static enum cm_err
fuzz_echo(struct cm_req *req)
{
	size_t i;

	const char *q;
	json_t *v;

	for (i = 0; i < req->nparams; i++) {
		FUZZ_CHECK(req->pvalue[i] != NULL && req->pvalue[i][0] != '\0');
		FUZZ_CHECK(strchr(req->pvalue[i], '/') == NULL);
		/* As the services do: an id that is not UTF-8 names nothing. */
		if ((v = json_string(req->pvalue[i])) == NULL)
			return cm_resp_json(&req->resp, 404, json_object());
		json_decref(v);
	}
	q = cm_req_query(req, "limit");
	/* A query value that is not UTF-8 is left out, not an error. */
	return cm_resp_json(&req->resp, 200,
	    json_pack("{s:s?, s:O?, s:o?}", "slug", cm_req_param(req, "slug"),
	        "body", req->json, "q", q != NULL ? json_string(q) : NULL));
}

static const struct cm_route fuzz_routes[] = {
    UNIT_ROUTES(fuzz_echo),
    {"POST", "/api/users/login", fuzz_echo, CM_AUTH_NONE, CM_ROUTE_BODY},
    {"GET", "/pay/v1/payments/:id", fuzz_echo, CM_AUTH_REQUIRED, 0},
};

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct cm_server_conf conf;
	struct cm_req req;
	char *f[6], *dump;
	size_t len = 0;

	memset(&conf, 0, sizeof(conf));
	conf.routes = fuzz_routes;
	conf.nroutes = sizeof(fuzz_routes) / sizeof(fuzz_routes[0]);
	conf.error = fuzz_error;
	conf.max_body = 4096;
	conf.jwt = fuzz_jwt();
	fuzz_fields(data, size, 6, f);
	memset(&req, 0, sizeof(req));
	req.method = f[0][0] != '\0' ? f[0] : "GET";
	req.path = f[1][0] != '\0' ? f[1] : "/";
	req.query_string = f[2];
	req.authorization = f[3][0] != '\0' ? f[3] : NULL;
	req.content_type = f[4][0] != '\0' ? f[4] : NULL;
	req.request_id = "fuzz";
	if (f[5][0] != '\0') {
		req.body = strdup(f[5]);
		if (req.body == NULL)
			abort();
		req.body_len = strlen(f[5]);
		req.body_too_big = req.body_len > conf.max_body;
	}
	cm_server_dispatch(&conf, &req);
	if (req.resp.status < 200 || req.resp.status >= 500)
		fprintf(stderr, "status %d for %s %s ? %s\n", req.resp.status,
		    req.method, req.path, req.query_string);
	FUZZ_CHECK(req.resp.status >= 200 && req.resp.status < 500);
	if (req.resp.body != NULL) {
		dump = cm_json_dump(req.resp.body, &len);
		FUZZ_CHECK(dump != NULL);
		free(dump);
	}
	cm_req_reset(&req);
	fuzz_fields_free(6, f);
	return 0;
}
