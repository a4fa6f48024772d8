/*
 * blog_error.h: the RealWorld error body {"errors":{"<key>":["<msg>"]}}.
 */
#ifndef BLOG_ERROR_H
#define BLOG_ERROR_H

#include "cm_err.h"
#include "cm_req.h"

/* The server's cm_error_fn: fill resp with status and the error body. */
void blog_error(
    struct cm_resp *resp, int status, const char *key, const char *msg);

/*
 * Answer the request with an error and return the matching code (never
 * CM_OK), so that a handler can "rc = blog_error_reply(...); goto out;".
 */
enum cm_err blog_error_reply(
    struct cm_req *req, int status, const char *key, const char *msg);

/*
 * A handler's single exit: an error that was already answered becomes
 * CM_OK; any other error is left to the server's generic 5xx answer.
 */
enum cm_err blog_error_finish(struct cm_req *req, enum cm_err rc);

#endif
