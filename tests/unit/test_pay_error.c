/*
 * test_pay_error.c: the server's failures in pay.md's error format, and the
 * statuses each maps to (type and code are what clients branch on).
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include "unit.h"

#include "../../pay-fcgi/pay_error.h"

static void
expect(enum cm_err err, int status, const char *key, const char *msg,
    const char *type, const char *code, const char *param)
{
	struct cm_resp resp;
	json_t *e;

	memset(&resp, 0, sizeof(resp));
	pay_error_server(&resp, err, key, msg);
	assert_int_equal(resp.status, status);
	assert_non_null(resp.body);
	e = json_object_get(resp.body, "error");
	assert_non_null(e);
	assert_string_equal(
	    json_string_value(json_object_get(e, "type")), type);
	assert_string_equal(
	    json_string_value(json_object_get(e, "code")), code);
	assert_true(json_string_length(json_object_get(e, "message")) > 0);
	if (param == NULL)
		assert_null(json_object_get(e, "param"));
	else
		assert_string_equal(
		    json_string_value(json_object_get(e, "param")), param);
	assert_int_equal(json_object_size(e), param == NULL ? 3 : 4);
	cm_resp_clear(&resp);
}

/* What the server reports, and the pay.md error each must become. */
static const struct server_case {
	enum cm_err err;
	int status;
	const char *key, *msg, *type, *code, *param;
} server_cases[] = {
	{ CM_EBADJSON, 400, "body", "is not valid JSON (line 1)",
	    "invalid_request_error", "invalid_json", NULL },
	{ CM_EINVAL, 400, "query", "is malformed", "invalid_request_error",
	    "parameter_invalid", "query" },
	{ CM_EAUTH, 401, "token", "is missing", "authentication_error",
	    "token_invalid", NULL },
	{ CM_EAUTH, 401, "token", "is invalid", "authentication_error",
	    "token_invalid", NULL },
	{ CM_EEXPIRED, 401, "token", "has expired", "authentication_error",
	    "token_expired", NULL },
	{ CM_EEXPIRED, 401, "token", "is out of date", "authentication_error",
	    "token_expired", NULL },
	{ CM_EREVOKED, 401, "token", "has been revoked",
	    "authentication_error", "token_revoked", NULL },
	/* The code decides, never the wording of the message. */
	{ CM_EAUTH, 401, "token", "has been revoked", "authentication_error",
	    "token_invalid", NULL },
	{ CM_EINVAL, 400, "body", "is odd", "invalid_request_error",
	    "parameter_invalid", "body" },
	{ CM_ENOTFOUND, 404, "route", "not found", "not_found_error",
	    "not_found", NULL },
	{ CM_EMETHOD, 405, "method", "not allowed", "invalid_request_error",
	    "method_not_allowed", NULL },
	{ CM_ETOOBIG, 413, "body", "is too large", "invalid_request_error",
	    "body_too_large", NULL },
	{ CM_EINTERNAL, 500, "server", "internal error", "api_error",
	    "internal_error", NULL },
	{ CM_EDB, 500, "server", "internal error", "api_error",
	    "internal_error", NULL },
	{ CM_EUNAVAIL, 503, "server", "is temporarily unavailable",
	    "api_error", "unavailable", NULL },
};

static void
test_server_errors(void **state)
{
	const struct server_case *c;
	size_t i;

	(void)state;
	for (i = 0; i < sizeof(server_cases) / sizeof(server_cases[0]); i++) {
		c = &server_cases[i];
		expect(c->err, c->status, c->key, c->msg, c->type, c->code,
		    c->param);
	}
}

static void
test_handler_errors(void **state)
{
	struct pay_check_err ce = {.status = 400,
	    .code = "parameter_missing",
	    .param = "amount",
	    .message = "amount!"};
	struct cm_resp resp;
	json_t *e;

	(void)state;
	memset(&resp, 0, sizeof(resp));
	assert_int_equal(pay_error_check(&resp, &ce), CM_OK);
	assert_int_equal(resp.status, 400);
	e = json_object_get(resp.body, "error");
	assert_string_equal(
	    json_string_value(json_object_get(e, "param")), "amount");
	assert_string_equal(
	    json_string_value(json_object_get(e, "message")), "amount!");
	/* A second error replaces the first, headers included. */
	assert_int_equal(cm_resp_header(&resp, "X-Test", "1"), CM_OK);
	assert_int_equal(pay_error(&resp, 403, "permission_error",
	                     "deposits_disabled", "off", NULL),
	    CM_OK);
	assert_int_equal(resp.status, 403);
	assert_int_equal(resp.nheaders, 0);
	/* The 404 of each resource says its noun. */
	assert_int_equal(pay_error_not_found(&resp, "deposit"), CM_OK);
	assert_int_equal(resp.status, 404);
	e = json_object_get(resp.body, "error");
	assert_string_equal(
	    json_string_value(json_object_get(e, "type")), "not_found_error");
	assert_string_equal(
	    json_string_value(json_object_get(e, "code")), "no_such_deposit");
	assert_string_equal(
	    json_string_value(json_object_get(e, "message")), "No such deposit.");
	cm_resp_clear(&resp);
}

UNIT_MAIN(
    cmocka_unit_test(test_server_errors),
    cmocka_unit_test(test_handler_errors))
