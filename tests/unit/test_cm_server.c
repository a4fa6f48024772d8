/*
 * Unit tests for the request pipeline (cm_server_dispatch) without FastCGI:
 * the order of checks and the error each one produces.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "unit.h"

#include "cm_json.h"
#include "cm_server.h"

static int handler_calls;

/* Records the error as {"code", "key", "msg"} for the assertions. */
static void
err_fn(struct cm_resp *resp, enum cm_err code, const char *key,
    const char *msg)
{
	cm_resp_json(resp, cm_err_status(code), json_pack("{s:s, s:s, s:s}",
	    "code", cm_err_name(code), "key", key, "msg", msg));
}

static enum cm_err
h_echo(struct cm_req *req)
{
	handler_calls++;
	return cm_resp_json(&req->resp, 200, json_pack("{s:s?, s:O?}",
	    "slug", cm_req_param(req, "slug"), "body", req->json));
}

static enum cm_err
h_unavail(struct cm_req *req)
{
	handler_calls++;
	/* A half-built response must not leak into the error answer. */
	cm_resp_json(&req->resp, 200, json_object());
	return CM_EUNAVAIL;
}

/* Breaks the contract: an answered request must come back as CM_OK. */
static enum cm_err
h_leaks_answered(struct cm_req *req)
{
	handler_calls++;
	cm_resp_json(&req->resp, 422, json_object());
	return CM_EANSWERED;
}

static enum cm_err
h_silent(struct cm_req *req)
{
	(void)req;
	handler_calls++;
	return CM_OK;
}

static const struct cm_route routes[] = {
	{ "GET", "/a/:slug", h_echo, CM_AUTH_OPTIONAL, 0 },
	{ "POST", "/a/:slug", h_echo, CM_AUTH_NONE, CM_ROUTE_BODY },
	{ "PUT", "/a/:slug", h_echo, CM_AUTH_REQUIRED, CM_ROUTE_BODY },
	{ "GET", "/down", h_unavail, CM_AUTH_NONE, 0 },
	{ "GET", "/silent", h_silent, CM_AUTH_NONE, 0 },
	{ "GET", "/leak", h_leaks_answered, CM_AUTH_NONE, 0 },
	{ "POST", "/internal/x", h_echo, CM_AUTH_NONE,
	    CM_ROUTE_BODY | CM_ROUTE_INTERNAL },
};

static const struct cm_server_conf conf = {
	.routes = routes,
	.nroutes = sizeof(routes) / sizeof(routes[0]),
	.error = err_fn,
	.max_body = 1024,
};

static void
run(struct cm_req *req, const char *method, const char *path,
    const char *qs, const char *body, const char *auth)
{
	memset(req, 0, sizeof(*req));
	req->method = method;
	req->path = path;
	req->query_string = qs != NULL ? qs : "";
	req->request_id = "test";
	req->authorization = auth;
	if (body != NULL) {
		req->body = strdup(body);
		req->body_len = strlen(body);
	}
	handler_calls = 0;
	cm_server_dispatch(&conf, req);
}

static const char *
field_of(struct cm_req *req, const char *name)
{
	const char *s = NULL;

	cm_json_str(req->resp.body, name, &s);
	return s != NULL ? s : "";
}

static const char *
key_of(struct cm_req *req)
{
	return field_of(req, "key");
}

/* The code the error callback was given. */
static const char *
code_of(struct cm_req *req)
{
	return field_of(req, "code");
}

static void
test_ok(void **state)
{
	struct cm_req req;
	const char *s;
	json_t *b;

	(void)state;
	run(&req, "POST", "/a/x", NULL, "{\"k\":1}", NULL);
	assert_int_equal(req.resp.status, 200);
	assert_int_equal(handler_calls, 1);
	assert_int_equal(cm_json_str(req.resp.body, "slug", &s), CM_JSON_OK);
	assert_string_equal(s, "x");
	assert_int_equal(cm_json_obj(req.resp.body, "body", &b), CM_JSON_OK);
	cm_req_reset(&req);
}

static void
test_not_found_and_method(void **state)
{
	struct cm_req req;

	(void)state;
	run(&req, "GET", "/nope", NULL, NULL, NULL);
	assert_int_equal(req.resp.status, 404);
	assert_string_equal(code_of(&req), "ENOTFOUND");
	assert_int_equal(handler_calls, 0);
	cm_req_reset(&req);
	run(&req, "DELETE", "/a/x", NULL, NULL, NULL);
	assert_int_equal(req.resp.status, 405);
	assert_string_equal(code_of(&req), "EMETHOD");
	assert_int_equal(req.resp.nheaders, 1);
	assert_string_equal(req.resp.hname[0], "Allow");
	assert_string_equal(req.resp.hvalue[0], "GET, POST, PUT");
	cm_req_reset(&req);
}

static void
test_too_big_before_auth(void **state)
{
	struct cm_req req;

	(void)state;
	run(&req, "PUT", "/a/x", NULL, NULL, NULL);
	req.body_too_big = 1;
	cm_resp_clear(&req.resp);
	cm_server_dispatch(&conf, &req);
	assert_int_equal(req.resp.status, 413);
	assert_string_equal(code_of(&req), "ETOOBIG");
	assert_int_equal(handler_calls, 0);
	cm_req_reset(&req);
	/* The worker reuses req: the flag must not outlive the request. */
	assert_int_equal(req.body_too_big, 0);
}

/*
 * Internal routes answer only requests from the admin port (req->internal),
 * and those reach nothing else: FastCGI cannot touch pay's identity route
 * even if a proxy passed the path.
 */
static void
test_internal_routes(void **state)
{
	struct cm_req req;

	(void)state;
	run(&req, "POST", "/internal/x", NULL, "{}", NULL);
	assert_int_equal(req.resp.status, 404);
	assert_string_equal(key_of(&req), "route");
	assert_int_equal(handler_calls, 0);
	cm_req_reset(&req);

	memset(&req, 0, sizeof(req));
	req.method = "POST";
	req.path = "/internal/x";
	req.query_string = "";
	req.request_id = "test";
	req.internal = 1;
	req.body = strdup("{}");
	req.body_len = 2;
	handler_calls = 0;
	cm_server_dispatch(&conf, &req);
	assert_int_equal(req.resp.status, 200);
	assert_int_equal(handler_calls, 1);
	cm_req_reset(&req);

	memset(&req, 0, sizeof(req));
	req.method = "POST";
	req.path = "/a/x";
	req.query_string = "";
	req.request_id = "test";
	req.internal = 1;
	handler_calls = 0;
	cm_server_dispatch(&conf, &req);
	assert_int_equal(req.resp.status, 404);
	assert_int_equal(handler_calls, 0);
	cm_req_reset(&req);
}

/* A header that must come once, sent twice: 400 naming it, no handler. */
static void
test_repeated_header(void **state)
{
	struct cm_req req;

	(void)state;
	run(&req, "GET", "/a/x", NULL, NULL, NULL);
	req.repeated_header = "Idempotency-Key";
	cm_resp_clear(&req.resp);
	handler_calls = 0;
	cm_server_dispatch(&conf, &req);
	assert_int_equal(req.resp.status, 400);
	assert_string_equal(code_of(&req), "EINVAL");
	assert_string_equal(key_of(&req), "Idempotency-Key");
	assert_int_equal(handler_calls, 0);
	cm_req_reset(&req);
}

static void
test_auth(void **state)
{
	struct cm_req req;

	(void)state;
	/* Required and missing: 401 before the body is even looked at. */
	run(&req, "PUT", "/a/x", NULL, "{bad json", NULL);
	assert_int_equal(req.resp.status, 401);
	assert_string_equal(key_of(&req), "token");
	assert_string_equal(code_of(&req), "EAUTH");
	cm_req_reset(&req);
	/* Present but unverifiable, on an optional route: still 401. */
	run(&req, "GET", "/a/x", NULL, NULL, "Token abc.def.ghi");
	assert_int_equal(req.resp.status, 401);
	assert_int_equal(handler_calls, 0);
	cm_req_reset(&req);
	/* An unknown scheme is invalid too. */
	run(&req, "GET", "/a/x", NULL, NULL, "Basic Zm9vOmJhcg==");
	assert_int_equal(req.resp.status, 401);
	cm_req_reset(&req);
	/* Optional and absent: the handler runs anonymously. */
	run(&req, "GET", "/a/x", NULL, NULL, NULL);
	assert_int_equal(req.resp.status, 200);
	assert_int_equal(req.user_id, 0);
	cm_req_reset(&req);
}

static void
test_bad_json_and_query(void **state)
{
	struct cm_req req;

	(void)state;
	run(&req, "POST", "/a/x", NULL, "{\"k\":", NULL);
	assert_int_equal(req.resp.status, 400);
	assert_string_equal(key_of(&req), "body");
	assert_string_equal(code_of(&req), "EBADJSON");
	assert_int_equal(handler_calls, 0);
	cm_req_reset(&req);
	run(&req, "GET", "/a/x", "limit=%zz", NULL, NULL);
	assert_int_equal(req.resp.status, 400);
	assert_string_equal(code_of(&req), "EINVAL");
	cm_req_reset(&req);
}

static void
test_handler_errors(void **state)
{
	struct cm_req req;

	(void)state;
	run(&req, "GET", "/down", NULL, NULL, NULL);
	assert_int_equal(req.resp.status, 503);
	assert_string_equal(key_of(&req), "server");
	assert_string_equal(code_of(&req), "EUNAVAIL");
	cm_req_reset(&req);
	run(&req, "GET", "/silent", NULL, NULL, NULL);
	assert_int_equal(req.resp.status, 500);
	assert_string_equal(code_of(&req), "EINTERNAL");
	cm_req_reset(&req);
	/* Whatever a handler left, only CM_OK is written as it stands. */
	run(&req, "GET", "/leak", NULL, NULL, NULL);
	assert_int_equal(req.resp.status, 500);
	assert_string_equal(code_of(&req), "EANSWERED");
	cm_req_reset(&req);
}

UNIT_MAIN(
    cmocka_unit_test(test_ok),
    cmocka_unit_test(test_not_found_and_method),
    cmocka_unit_test(test_too_big_before_auth),
    cmocka_unit_test(test_repeated_header),
    cmocka_unit_test(test_auth),
    cmocka_unit_test(test_internal_routes),
    cmocka_unit_test(test_bad_json_and_query),
    cmocka_unit_test(test_handler_errors))
