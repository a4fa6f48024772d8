/*
 * blog_idem.h: Idempotency-Key on the blog's writes, our addition to the
 * RealWorld API (README.md, "Idempotent writes").
 */
#ifndef BLOG_IDEM_H
#define BLOG_IDEM_H

#include "cm_err.h"
#include "cm_req.h"
#include "cm_router.h"

/*
 * cm_server_conf.around: a POST, PUT or DELETE with a token and an
 * Idempotency-Key runs handler inside one transaction that also stores
 * the answer under (user, key); a repeat gets that answer back. Anything
 * else (no key, no token, a read) runs handler as it is.
 */
enum cm_err blog_idem_around(struct cm_req *req, cm_handler handler);

/*
 * cm_server_conf.after: delete keys past the TTL, at most one batch a
 * minute per worker, after a response has gone out.
 */
void blog_idem_prune(void *worker);

#endif
