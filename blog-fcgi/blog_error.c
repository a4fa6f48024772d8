/*
 * blog_error.c: error bodies in the RealWorld format.
 */
#include "blog_error.h"

void
blog_error(struct cm_resp *resp, int status, const char *key, const char *msg)
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

static enum cm_err
blog_error_code(int status)
{
	switch (status) {
	case 400:
		return CM_EINVAL;
	case 401:
		return CM_EAUTH;
	case 403:
		return CM_EFORBIDDEN;
	case 404:
		return CM_ENOTFOUND;
	case 409:
		return CM_ECONFLICT;
	case 413:
		return CM_ETOOBIG;
	case 422:
		return CM_EVALIDATION;
	case 503:
		return CM_EUNAVAIL;
	default:
		return CM_EINTERNAL;
	}
}

enum cm_err
blog_error_reply(
    struct cm_req *req, int status, const char *key, const char *msg)
{
	cm_resp_clear(&req->resp);
	blog_error(&req->resp, status, key, msg);
	return blog_error_code(status);
}

enum cm_err
blog_error_finish(struct cm_req *req, enum cm_err rc)
{
	if (rc != CM_OK && req->resp.status != 0 && rc != CM_ENOMEM &&
	    rc != CM_EDB && rc != CM_EUNAVAIL && rc != CM_EINTERNAL)
		return CM_OK;
	if (rc != CM_OK)
		cm_resp_clear(&req->resp);
	return rc;
}
