/*
 * cm_router.h: a const table of method + path pattern -> handler.
 *
 * Patterns are literal segments and ":name" parameters that match exactly one
 * non-empty segment: "/api/articles/:slug/comments/:id". A path that matches
 * a pattern with another method is a 405 with an Allow header listing the
 * methods of every matching pattern.
 */
#ifndef CM_ROUTER_H
#define CM_ROUTER_H

#include <stddef.h>

#include "cm_err.h"
#include "cm_req.h"

enum cm_auth {
	CM_AUTH_NONE = 0, /* token ignored */
	CM_AUTH_OPTIONAL, /* token used when present; a bad one is 401 */
	CM_AUTH_REQUIRED, /* no token is 401 */
};

/*
 * A handler validates, does, then fills req->resp (status and body). It
 * returns CM_OK when it filled the response itself (any status), or an error
 * code that the server turns into a generic error response in the service's
 * format (used for CM_EDB, CM_EUNAVAIL, CM_ENOMEM and the like).
 */
typedef enum cm_err (*cm_handler)(struct cm_req *req);

#define CM_ROUTE_BODY 0x1 /* parse a JSON body (400 when malformed) */
/*
 * Only served to requests from the admin port (req->internal), never over
 * FastCGI: the edge cannot reach such a route even if it proxied the path.
 */
#define CM_ROUTE_INTERNAL 0x2
/*
 * The answer depends only on the stored data and on who asks (a GET that
 * reads): a service may keep it and answer from it while the data has not
 * changed.
 */
#define CM_ROUTE_CACHE 0x4

struct cm_route {
	const char *method; /* "GET", "POST", ... */
	const char *pattern;
	cm_handler handler;
	enum cm_auth auth;
	unsigned flags;
};

struct cm_router_match {
	const struct cm_route *route; /* NULL when no route matched */
	char allow[64]; /* for 405: "GET, POST" */
};

/*
 * Match method and path against n routes. On CM_OK, match->route is set and
 * req->pname/pvalue/nparams hold the decoded parameters. CM_ENOTFOUND when no
 * pattern matches the path, CM_EMETHOD (with match->allow filled) when some
 * pattern matches the path but not the method, CM_EINVAL for a bad escape
 * in a parameter, CM_ENOMEM.
 */
enum cm_err cm_router_match(const struct cm_route *routes, size_t n,
    struct cm_req *req, struct cm_router_match *match);

/*
 * One table from the tables of several modules, in the order given: each
 * module exports the routes it serves (its handlers stay static) as a table
 * that ends with an all-zero row, and the service joins them at start.
 * tables ends with NULL. Returns the joined table (process lifetime,
 * released with free()) and its length in *n; NULL when out of memory.
 */
struct cm_route *cm_router_join(
    const struct cm_route *const *tables, size_t *n);

#endif
