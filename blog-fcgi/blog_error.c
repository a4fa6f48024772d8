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
blog_error_reply(
    struct cm_req *req, int status, const char *key, const char *msg)
{
	cm_resp_clear(&req->resp);
	blog_error_body(&req->resp, status, key, msg);
	return CM_EANSWERED;
}

enum cm_err
blog_error_missing(struct cm_req *req, enum cm_err rc, int status,
    const char *key, const char *msg)
{
	return rc == CM_ENOTFOUND ? blog_error_reply(req, status, key, msg)
	                          : rc;
}

enum cm_err
blog_error_finish(enum cm_err rc)
{
	return rc == CM_EANSWERED ? CM_OK : rc;
}
