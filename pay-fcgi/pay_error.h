/*
 * pay_error.h: pay.md's error body, {"error": {"type", "code", "message",
 * "param"?}}, for handlers and for the server's generic failures.
 */
#ifndef PAY_ERROR_H
#define PAY_ERROR_H

#include "cm_req.h"
#include "pay_check.h"

/* Fill resp with an error; param may be NULL. CM_OK or CM_ENOMEM. */
enum cm_err pay_error(struct cm_resp *resp, int status, const char *type,
    const char *code, const char *message, const char *param);

/*
 * 404 "no_such_<noun>", "No such <noun>.": an object the caller may not
 * see, or that does not exist, which is the same to the caller.
 */
enum cm_err pay_error_not_found(struct cm_resp *resp, const char *noun);

/* A failed pay_check_* as a 400 invalid_request_error. */
enum cm_err pay_error_check(
    struct cm_resp *resp, const struct pay_check_err *e);

/* The server's cm_error_fn: maps its code to pay.md's type and code. */
void pay_error_server(
    struct cm_resp *resp, enum cm_err code, const char *key, const char *msg);

#endif
