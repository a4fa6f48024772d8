/* Unit tests for cm_router: literal and parameter segments, 404, 405. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
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

static void
test_literal(void **state)
{
	struct cm_router_match m;
	struct cm_req req;

	(void)state;
	assert_int_equal(match(&req, "GET", "/api/articles", &m), CM_OK);
	assert_ptr_equal(m.route, &routes[0]);
	assert_int_equal(req.nparams, 0);
	assert_int_equal(match(&req, "POST", "/api/articles", &m), CM_OK);
	assert_ptr_equal(m.route, &routes[1]);
	cm_req_reset(&req);
}

static void
test_literal_wins_in_table_order(void **state)
{
	struct cm_router_match m;
	struct cm_req req;

	(void)state;
	assert_int_equal(match(&req, "GET", "/api/articles/feed", &m), CM_OK);
	assert_ptr_equal(m.route, &routes[2]);
	cm_req_reset(&req);
}

static void
test_params(void **state)
{
	struct cm_router_match m;
	struct cm_req req;

	(void)state;
	assert_int_equal(match(&req, "GET", "/api/articles/how-to", &m), CM_OK);
	assert_ptr_equal(m.route, &routes[3]);
	assert_int_equal(req.nparams, 1);
	assert_string_equal(cm_req_param(&req, "slug"), "how-to");
	cm_req_reset(&req);

	assert_int_equal(match(&req, "DELETE", "/api/articles/a-b/comments/42",
	    &m), CM_OK);
	assert_int_equal(req.nparams, 2);
	assert_string_equal(cm_req_param(&req, "slug"), "a-b");
	assert_string_equal(cm_req_param(&req, "id"), "42");
	assert_null(cm_req_param(&req, "nope"));
	assert_string_equal(req.route, "/api/articles/:slug/comments/:id");
	cm_req_reset(&req);
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

static void
test_method_not_allowed(void **state)
{
	struct cm_router_match m;
	struct cm_req req;

	(void)state;
	assert_int_equal(match(&req, "DELETE", "/api/articles", &m),
	    CM_EMETHOD);
	assert_string_equal(m.allow, "GET, POST");
	cm_req_reset(&req);
	assert_int_equal(match(&req, "POST", "/api/articles/x", &m),
	    CM_EMETHOD);
	assert_string_equal(m.allow, "GET, PUT");
	cm_req_reset(&req);
	/* HEAD is answered by GET routes. */
	assert_int_equal(match(&req, "HEAD", "/api/articles/x", &m), CM_OK);
	cm_req_reset(&req);
}

UNIT_MAIN(
    cmocka_unit_test(test_literal),
    cmocka_unit_test(test_literal_wins_in_table_order),
    cmocka_unit_test(test_params),
    cmocka_unit_test(test_not_found),
    cmocka_unit_test(test_method_not_allowed))
