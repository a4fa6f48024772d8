/*
 * unit_routes.h: the blog-shaped route table that the router and metrics
 * tests and the request fuzz target share: a literal route, a body route,
 * a literal that a parameter route would also match (feed), parameters,
 * and two parameters in one path. Each file names the handler.
 */
#ifndef UNIT_ROUTES_H
#define UNIT_ROUTES_H

#include "cm_router.h"

/* The routes, in this order, as initialisers of a struct cm_route array. */
#define UNIT_ROUTES(handler) \
	{ "GET", "/api/articles", handler, CM_AUTH_OPTIONAL, 0 }, \
	{ "POST", "/api/articles", handler, CM_AUTH_REQUIRED, CM_ROUTE_BODY }, \
	{ "GET", "/api/articles/feed", handler, CM_AUTH_REQUIRED, 0 }, \
	{ "GET", "/api/articles/:slug", handler, CM_AUTH_OPTIONAL, 0 }, \
	{ "PUT", "/api/articles/:slug", handler, CM_AUTH_REQUIRED, \
	    CM_ROUTE_BODY }, \
	{ "DELETE", "/api/articles/:slug/comments/:id", handler, \
	    CM_AUTH_REQUIRED, 0 }

/* A handler for tests that only route: it answers nothing. */
static inline enum cm_err
unit_routes_ok(struct cm_req *req)
{
	(void)req;
	return CM_OK;
}

#endif
