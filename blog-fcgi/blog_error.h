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
 * rc, except that a missing row (CM_ENOTFOUND) fails the request with code
 * in its own words (cm_req_fail): "rc = blog_error_missing(req, rc,
 * CM_ENOTFOUND, "article", "not found"); if (rc != CM_OK) goto out;".
 */
enum cm_err blog_error_missing(struct cm_req *req, enum cm_err rc,
    enum cm_err code, const char *key, const char *msg);

#endif
