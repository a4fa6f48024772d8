/*
 * blog_error.h: the RealWorld error body {"errors":{"<key>":["<msg>"]}}.
 */
#ifndef BLOG_ERROR_H
#define BLOG_ERROR_H

#include "cm_err.h"
#include "cm_req.h"

/* The server's cm_error_fn: the error body with cm_err_status(code). */
void blog_error(
    struct cm_resp *resp, enum cm_err code, const char *key, const char *msg);

/*
 * Answer the request with a client error and return CM_EANSWERED, so that
 * a helper or handler can "rc = blog_error_reply(...); goto out;".
 */
enum cm_err blog_error_reply(
    struct cm_req *req, int status, const char *key, const char *msg);

/*
 * rc, except that a missing row (CM_ENOTFOUND) answers status with key and
 * msg (and returns CM_EANSWERED): "rc = blog_error_missing(req, rc, 404,
 * "article", "not found"); if (rc != CM_OK) goto out;".
 */
enum cm_err blog_error_missing(struct cm_req *req, enum cm_err rc, int status,
    const char *key, const char *msg);

/*
 * A handler's single exit, for the server's contract (cm_server.h): an
 * answered request is CM_OK; any other code goes to the server as it is.
 */
enum cm_err blog_error_finish(enum cm_err rc);

#endif
