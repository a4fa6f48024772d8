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

/* A client error in the handler's words, after a half-built answer. */
static enum cm_err
h_fails(struct cm_req *req)
{
	handler_calls++;
	cm_resp_json(&req->resp, 200, json_object());
	return cm_req_fail(req, CM_EVALIDATION, "title", "can't be blank");
}

/* A throttle: its words and when to come back. */
static enum cm_err
h_throttled(struct cm_req *req)
{
	enum cm_err rc;

	handler_calls++;
	rc = cm_req_fail(req, CM_ETOOMANY, "credentials", "retry in 7 s");
	req->fail_retry_after = 7;
	return rc;
}

/* Words kept for one code do not dress up another. */
static enum cm_err
h_other_code(struct cm_req *req)
{
	handler_calls++;
	(void)cm_req_fail(req, CM_ENOTFOUND, "article", "not found");
	return CM_EFORBIDDEN;
}

/* Nor are a 5xx's words ever shown. */
static enum cm_err
h_fails_db(struct cm_req *req)
{
	handler_calls++;
	return cm_req_fail(req, CM_EDB, "secret", "table users is corrupt");
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
	{ "GET", "/fails", h_fails, CM_AUTH_NONE, 0 },
	{ "GET", "/throttled", h_throttled, CM_AUTH_NONE, 0 },
	{ "GET", "/other", h_other_code, CM_AUTH_NONE, 0 },
	{ "GET", "/dbfail", h_fails_db, CM_AUTH_NONE, 0 },
	{ "POST", "/internal/x", h_echo, CM_AUTH_NONE,
	    CM_ROUTE_BODY | CM_ROUTE_INTERNAL },
};

static const struct cm_server_conf conf = {
	.routes = routes,
	.nroutes = sizeof(routes) / sizeof(routes[0]),
	.error = err_fn,
	.max_body = 1024,
};

/*
 * A request and the answer it must get: the status, the error's code and
 * key (NULL: not checked), and how many times the handler ran.
 */
struct t_case {
	const char *method, *path, *qs, *body, *auth;
	int internal, too_big;
	const char *repeated_header;
	int status;
	const char *code, *key;
	int calls;
};

/* Dispatch c's request into req; the caller checks it and resets req. */
static void
run(struct cm_req *req, const struct t_case *c)
{
	memset(req, 0, sizeof(*req));
	req->method = c->method;
	req->path = c->path;
	req->query_string = c->qs != NULL ? c->qs : "";
	req->request_id = "test";
	req->authorization = c->auth;
	req->internal = c->internal;
	req->body_too_big = c->too_big;
	req->repeated_header = c->repeated_header;
	if (c->body != NULL) {
		req->body = strdup(c->body);
		req->body_len = strlen(c->body);
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
	static const struct t_case c = {
	    .method = "POST", .path = "/a/x", .body = "{\"k\":1}"};
	struct cm_req req;
	const char *s;
	json_t *b;

	(void)state;
	run(&req, &c);
	assert_int_equal(req.resp.status, 200);
	assert_int_equal(handler_calls, 1);
	assert_int_equal(cm_json_str(req.resp.body, "slug", &s), CM_JSON_OK);
	assert_string_equal(s, "x");
	assert_int_equal(cm_json_obj(req.resp.body, "body", &b), CM_JSON_OK);
	cm_req_reset(&req);
}

/* A throttle's Retry-After is its own; every 503's is 1 s. */
static void
test_retry_after(void **state)
{
	static const struct t_case throttled = {
	    .method = "GET", .path = "/throttled"};
	static const struct t_case down = {.method = "GET", .path = "/down"};
	struct cm_req req;

	(void)state;
	run(&req, &throttled);
	assert_int_equal(req.resp.nheaders, 1);
	assert_string_equal(req.resp.hname[0], "Retry-After");
	assert_string_equal(req.resp.hvalue[0], "7");
	cm_req_reset(&req);
	/* The worker reuses req: a request's words must not outlive it. */
	assert_null(req.fail_key);
	assert_null(req.fail_msg);
	assert_int_equal(req.fail_code, CM_OK);
	assert_int_equal(req.fail_retry_after, 0);
	run(&req, &down);
	assert_int_equal(req.resp.nheaders, 1);
	assert_string_equal(req.resp.hvalue[0], "1");
	cm_req_reset(&req);
}

static void
test_method_not_allowed(void **state)
{
	static const struct t_case c = {.method = "DELETE", .path = "/a/x"};
	struct cm_req req;

	(void)state;
	run(&req, &c);
	assert_int_equal(req.resp.status, 405);
	assert_string_equal(code_of(&req), "EMETHOD");
	assert_int_equal(req.resp.nheaders, 1);
	assert_string_equal(req.resp.hname[0], "Allow");
	assert_string_equal(req.resp.hvalue[0], "GET, POST, PUT");
	cm_req_reset(&req);
}

/* The order of the pipeline's checks, told by the answers they give. */
static const struct t_case answers[] = {
    {.method = "GET", .path = "/nope", .status = 404, .code = "ENOTFOUND"},
    /* Too big is answered before authentication. */
    {.method = "PUT", .path = "/a/x", .too_big = 1, .status = 413,
        .code = "ETOOBIG"},
    /* A header that must come once, sent twice: 400 naming it. */
    {.method = "GET", .path = "/a/x", .repeated_header = "Idempotency-Key",
        .status = 400, .code = "EINVAL", .key = "Idempotency-Key"},
    /* Required and missing: 401 before the body is even looked at. */
    {.method = "PUT", .path = "/a/x", .body = "{bad json", .status = 401,
        .code = "EAUTH", .key = "token"},
    /* Present but unverifiable, on an optional route: still 401. */
    {.method = "GET", .path = "/a/x", .auth = "Token abc.def.ghi",
        .status = 401},
    /* An unknown scheme is invalid too. */
    {.method = "GET", .path = "/a/x", .auth = "Basic Zm9vOmJhcg==",
        .status = 401},
    /* Optional and absent: the handler runs anonymously. */
    {.method = "GET", .path = "/a/x", .status = 200, .calls = 1},
    {.method = "POST", .path = "/a/x", .body = "{\"k\":", .status = 400,
        .code = "EBADJSON", .key = "body"},
    {.method = "GET", .path = "/a/x", .qs = "limit=%zz", .status = 400,
        .code = "EINVAL"},
    {.method = "GET", .path = "/down", .status = 503, .code = "EUNAVAIL",
        .key = "server", .calls = 1},
    {.method = "GET", .path = "/silent", .status = 500, .code = "EINTERNAL",
        .calls = 1},
    /*
     * Whatever a handler left, only CM_OK is written as it stands; a
     * client error comes with the handler's words (cm_req_fail) when they
     * were given for that code, generic ones otherwise, never a 5xx's.
     */
    {.method = "GET", .path = "/fails", .status = 422, .code = "EVALIDATION",
        .key = "title", .calls = 1},
    {.method = "GET", .path = "/throttled", .status = 429,
        .code = "ETOOMANY", .key = "credentials", .calls = 1},
    {.method = "GET", .path = "/other", .status = 403, .code = "EFORBIDDEN",
        .key = "request", .calls = 1},
    {.method = "GET", .path = "/dbfail", .status = 500, .code = "EDB",
        .key = "server", .calls = 1},
    /*
     * Internal routes answer only requests from the admin port
     * (req->internal), and those reach nothing else: FastCGI cannot touch
     * pay's identity route even if a proxy passed the path.
     */
    {.method = "POST", .path = "/internal/x", .body = "{}", .status = 404,
        .key = "route"},
    {.method = "POST", .path = "/internal/x", .body = "{}", .internal = 1,
        .status = 200, .calls = 1},
    {.method = "POST", .path = "/a/x", .internal = 1, .status = 404},
};

static void
test_answers(void **state)
{
	struct cm_req req;
	size_t i;

	(void)state;
	for (i = 0; i < sizeof(answers) / sizeof(answers[0]); i++) {
		print_message("%s %s\n", answers[i].method, answers[i].path);
		run(&req, &answers[i]);
		assert_int_equal(req.resp.status, answers[i].status);
		if (answers[i].code != NULL)
			assert_string_equal(code_of(&req), answers[i].code);
		if (answers[i].key != NULL)
			assert_string_equal(key_of(&req), answers[i].key);
		assert_int_equal(handler_calls, answers[i].calls);
		/* No request here carries a valid token. */
		assert_int_equal(req.user_id, 0);
		cm_req_reset(&req);
		/* The worker reuses req: the flag must not outlive it. */
		assert_int_equal(req.body_too_big, 0);
	}
}

UNIT_MAIN(
    cmocka_unit_test(test_ok),
    cmocka_unit_test(test_method_not_allowed),
    cmocka_unit_test(test_retry_after),
    cmocka_unit_test(test_answers))
