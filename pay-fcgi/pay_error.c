/*
 * pay_error.c: every error body pay-fcgi writes from C. The SQL functions
 * render theirs with pay_error_json(), in the same shape.
 */
#include <stdio.h>

#include "pay_error.h"

enum cm_err
pay_error(struct cm_resp *resp, int status, const char *type, const char *code,
    const char *message, const char *param)
{
	json_t *err;

	err = json_pack(
	    "{s:s, s:s, s:s}", "type", type, "code", code, "message", message);
	if (err == NULL)
		return CM_ENOMEM;
	if (param != NULL &&
	    json_object_set_new(err, "param", json_string(param)) != 0) {
		json_decref(err);
		return CM_ENOMEM;
	}
	cm_resp_clear(resp);
	return cm_resp_wrap(resp, status, "error", err);
}

enum cm_err
pay_error_not_found(struct cm_resp *resp, const char *noun)
{
	char code[32], message[40];

	snprintf(code, sizeof(code), "no_such_%s", noun);
	snprintf(message, sizeof(message), "No such %s.", noun);
	return pay_error(resp, 404, "not_found_error", code, message, NULL);
}

enum cm_err
pay_error_check(struct cm_resp *resp, const struct pay_check_err *e)
{
	/* 415 is the only other status a check decides (pay_check_body). */
	return pay_error(resp, e->status == 415 ? 415 : 400,
	    "invalid_request_error", e->code, e->message, e->param);
}

/*
 * The server reports failures that happen before or around a handler:
 * routing, body size, token, JSON syntax, and the generic statuses of a
 * handler's error code. Each becomes a pay.md error with a stable code,
 * chosen from the server's code alone; key and msg only word the message.
 */
void
pay_error_server(
    struct cm_resp *resp, enum cm_err err, const char *key, const char *msg)
{
	const char *type = "invalid_request_error", *code, *param = NULL;
	int status = cm_err_status(err);
	char message[384];

	snprintf(message, sizeof(message), "%s %s.", key, msg);
	switch (err) {
	case CM_EBADJSON:
		code = "invalid_json";
		break;
	case CM_EINVAL:
		code = "parameter_invalid";
		param = key;
		break;
	case CM_EAUTH:
	case CM_EEXPIRED:
	case CM_EREVOKED:
		type = "authentication_error";
		code = err == CM_EEXPIRED ? "token_expired"
		    : err == CM_EREVOKED  ? "token_revoked"
		                          : "token_invalid";
		snprintf(message, sizeof(message),
		    "The token %s: send "
		    "Authorization: Bearer <token> from the blog's login.",
		    msg);
		break;
	case CM_EFORBIDDEN:
		type = "permission_error";
		code = "forbidden";
		break;
	case CM_ENOTFOUND:
		type = "not_found_error";
		code = "not_found";
		snprintf(message, sizeof(message), "No such endpoint.");
		break;
	case CM_EMETHOD:
		code = "method_not_allowed";
		snprintf(message, sizeof(message),
		    "This endpoint does not "
		    "support that method; see the Allow header.");
		break;
	case CM_ECONFLICT:
		code = "conflict";
		break;
	case CM_ETOOBIG:
		code = "body_too_large";
		snprintf(message, sizeof(message),
		    "The request body is too "
		    "large.");
		break;
	case CM_EVALIDATION:
		code = "unprocessable";
		break;
	case CM_EUNAVAIL:
		type = "api_error";
		code = "unavailable";
		snprintf(message, sizeof(message),
		    "The service is "
		    "temporarily unavailable; retry with the same "
		    "Idempotency-Key.");
		break;
	default:
		if (status >= 500) {
			type = "api_error";
			code = "internal_error";
			snprintf(message, sizeof(message),
			    "Internal error; "
			    "it has been logged with the request id.");
		} else
			code = "invalid_request";
		break;
	}
	/* Out of memory here leaves status 0: the server answers 500. */
	(void)pay_error(resp, status, type, code, message, param);
}
