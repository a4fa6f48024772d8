/*
 * cm_err.h: the error codes every fallible function in the project returns,
 * and the one table that maps them to HTTP statuses.
 */
#ifndef CM_ERR_H
#define CM_ERR_H

enum cm_err {
	CM_OK = 0,
	CM_EINVAL, /* client sent something malformed: 400 */
	CM_EAUTH, /* missing or invalid credentials: 401 */
	CM_EEXPIRED, /* a token that has expired: 401 */
	CM_EREVOKED, /* a genuine token its user no longer stands by: 401 */
	CM_EFORBIDDEN, /* authenticated but not allowed: 403 */
	CM_ENOTFOUND, /* 404 */
	CM_EMETHOD, /* 405 */
	CM_ECONFLICT, /* 409 */
	CM_ETOOBIG, /* 413 */
	CM_EVALIDATION, /* well-formed but semantically invalid: 422 */
	CM_ENOMEM, /* 500 */
	CM_EDB, /* unexpected database error: 500 */
	CM_EUNAVAIL, /* a dependency is down: 503 */
	CM_EINTERNAL, /* 500 */
	CM_EBADJSON, /* a request body that is not JSON: 400 */
	CM_ETOOMANY, /* refused for now, retry later (a throttle): 429 */
};

/* The HTTP status for an error code (CM_OK is 200). */
int cm_err_status(enum cm_err err);

/* A short stable name for logs ("EINVAL"); never NULL. */
const char *cm_err_name(enum cm_err err);

#endif
