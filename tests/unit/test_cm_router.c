/* Unit tests for cm_router: literal and parameter segments, 404, 405. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "unit.h"

#include "cm_router.h"
#include "unit_routes.h"

static const struct cm_route routes[] = {UNIT_ROUTES(unit_routes_ok)};
#define NROUTES (sizeof(routes) / sizeof(routes[0]))

static enum cm_err
match(struct cm_req *req, const char *method, const char *path,
    struct cm_router_match *m)
{
	memset(req, 0, sizeof(*req));
	req->method = method;
	req->path = path;
	return cm_router_match(routes, NROUTES, req, m);
}

/*
 * Requests the table answers: the route (an index into routes), its
 * parameters, or for 405 the methods it allows.
 */
static const struct {
	const char *method, *path;
	enum cm_err rc;
	size_t route, nparams;
	const char *slug, *id, *allow;
} cases[] = {
    {"GET", "/api/articles", CM_OK, 0, 0, NULL, NULL, NULL},
    {"POST", "/api/articles", CM_OK, 1, 0, NULL, NULL, NULL},
    /* A literal listed before a parameter route that would match too. */
    {"GET", "/api/articles/feed", CM_OK, 2, 0, NULL, NULL, NULL},
    {"GET", "/api/articles/how-to", CM_OK, 3, 1, "how-to", NULL, NULL},
    {"DELETE", "/api/articles/a-b/comments/42", CM_OK, 5, 2, "a-b", "42",
        NULL},
    /* HEAD is answered by GET routes. */
    {"HEAD", "/api/articles/x", CM_OK, 3, 1, "x", NULL, NULL},
    {"DELETE", "/api/articles", CM_EMETHOD, 0, 0, NULL, NULL, "GET, POST"},
    {"POST", "/api/articles/x", CM_EMETHOD, 0, 0, NULL, NULL, "GET, PUT"},
};

static void
test_match(void **state)
{
	struct cm_router_match m;
	struct cm_req req;
	size_t i;

	(void)state;
	for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		print_message("%s %s\n", cases[i].method, cases[i].path);
		assert_int_equal(
		    match(&req, cases[i].method, cases[i].path, &m), cases[i].rc);
		if (cases[i].rc == CM_EMETHOD) {
			assert_string_equal(m.allow, cases[i].allow);
			cm_req_reset(&req);
			continue;
		}
		assert_ptr_equal(m.route, &routes[cases[i].route]);
		assert_string_equal(req.route, m.route->pattern);
		assert_int_equal(req.nparams, cases[i].nparams);
		if (cases[i].slug != NULL)
			assert_string_equal(
			    cm_req_param(&req, "slug"), cases[i].slug);
		if (cases[i].id != NULL)
			assert_string_equal(cm_req_param(&req, "id"), cases[i].id);
		assert_null(cm_req_param(&req, "nope"));
		cm_req_reset(&req);
	}
}

static void
test_not_found(void **state)
{
	static const char *const paths[] = { "/", "", "/api", "/api/",
	    "/api/articles/", "/api/articles//comments/1", "/api/articlesx",
	    "/api/articles/a/comments", "/api/articles/a/comments/1/x",
	    "api/articles", "//api/articles" };
	struct cm_router_match m;
	struct cm_req req;
	size_t i;

	(void)state;
	for (i = 0; i < sizeof(paths) / sizeof(paths[0]); i++) {
		assert_int_equal(match(&req, "GET", paths[i], &m),
		    CM_ENOTFOUND);
		assert_null(m.route);
		cm_req_reset(&req);
	}
}

/* Two modules' tables, each ending with its zero row, and an empty one. */
static const struct cm_route join_a[] = {
    {"GET", "/a", unit_routes_ok, CM_AUTH_NONE, 0},
    {"POST", "/a", unit_routes_ok, CM_AUTH_REQUIRED, CM_ROUTE_BODY},
    {0},
};
static const struct cm_route join_empty[] = {{0}};
static const struct cm_route join_b[] = {
    {"GET", "/b/:id", unit_routes_ok, CM_AUTH_OPTIONAL, 0},
    {0},
};

static void
test_join(void **state)
{
	const struct cm_route *const tables[] = {
	    join_a, join_empty, join_b, NULL};
	struct cm_router_match m;
	struct cm_route *all;
	struct cm_req req;
	size_t n = 99;

	(void)state;
	all = cm_router_join(tables, &n);
	assert_non_null(all);
	assert_int_equal(n, 3);
	assert_string_equal(all[0].pattern, "/a");
	assert_string_equal(all[1].method, "POST");
	assert_int_equal(all[1].flags, CM_ROUTE_BODY);
	assert_string_equal(all[2].pattern, "/b/:id");
	assert_int_equal(all[2].auth, CM_AUTH_OPTIONAL);
	memset(&req, 0, sizeof(req));
	req.method = "GET";
	req.path = "/b/7";
	assert_int_equal(cm_router_match(all, n, &req, &m), CM_OK);
	assert_ptr_equal(m.route, &all[2]);
	assert_string_equal(cm_req_param(&req, "id"), "7");
	cm_req_reset(&req);
	free(all);
	/* No tables at all: an empty table, still freeable. */
	all = cm_router_join((const struct cm_route *const[]){NULL}, &n);
	assert_non_null(all);
	assert_int_equal(n, 0);
	free(all);
}

UNIT_MAIN(
    cmocka_unit_test(test_match),
    cmocka_unit_test(test_not_found),
    cmocka_unit_test(test_join))
