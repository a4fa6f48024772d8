/*
 * blog_error.c: error bodies in the RealWorld format.
 */
#include "blog_error.h"

static void
blog_error_body(
    struct cm_resp *resp, int status, const char *key, const char *msg)
{
	json_t *body;

	body = json_pack("{s:{s:[s]}}", "errors", key, msg);
	if (body == NULL) {
		/* Out of memory: the status alone still tells the client. */
		cm_resp_empty(resp, status);
		return;
	}
	if (cm_resp_json(resp, status, body) != CM_OK)
		cm_resp_empty(resp, status);
}

void
blog_error(
    struct cm_resp *resp, enum cm_err code, const char *key, const char *msg)
{
	blog_error_body(resp, cm_err_status(code), key, msg);
}

enum cm_err
blog_error_missing(struct cm_req *req, enum cm_err rc, enum cm_err code,
    const char *key, const char *msg)
{
	return rc == CM_ENOTFOUND ? cm_req_fail(req, code, key, msg) : rc;
}
