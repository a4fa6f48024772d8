/*
 * pay_ident.h: pay's directory of users, fed only by the blog's signed
 * identity events, and the revocation check of every token.
 */
#ifndef PAY_IDENT_H
#define PAY_IDENT_H

#include "cm_err.h"
#include "cm_jwt.h"
#include "cm_req.h"
#include "cm_router.h"

/*
 * cm_server_conf.auth_check: CM_EAUTH (401 token_revoked) when the token's
 * identity version is older than the one the blog told pay; otherwise sets
 * req->username to the directory's name for the caller.
 */
enum cm_err pay_ident_check(
    struct cm_req *req, const struct cm_jwt_claims *claims);

/*
 * Its one route, POST /internal/identity (admin port only): apply a batch
 * of events.
 */
extern const struct cm_route pay_ident_routes[];

#endif
