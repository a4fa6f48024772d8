/* Unit tests for cm_req: query strings, percent-decoding, arena, response. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "unit.h"

#include "cm_req.h"

static void
test_query_basic(void **state)
{
	struct cm_req req;

	(void)state;
	memset(&req, 0, sizeof(req));
	assert_int_equal(cm_req_parse_query(&req,
	    "tag=dragons&limit=1&offset=1&author=jake+doe&x=%41%2Bb&flag"),
	    CM_OK);
	assert_int_equal(req.nquery, 6);
	assert_string_equal(cm_req_query(&req, "tag"), "dragons");
	assert_string_equal(cm_req_query(&req, "limit"), "1");
	assert_string_equal(cm_req_query(&req, "author"), "jake doe");
	assert_string_equal(cm_req_query(&req, "x"), "A+b");
	assert_string_equal(cm_req_query(&req, "flag"), "");
	assert_null(cm_req_query(&req, "missing"));
	cm_req_reset(&req);
}

static void
test_query_repeated_and_empty(void **state)
{
	struct cm_req req;

	(void)state;
	memset(&req, 0, sizeof(req));
	assert_int_equal(cm_req_parse_query(&req, "&&a=1&a=2&&b=&"), CM_OK);
	assert_int_equal(req.nquery, 3);
	assert_string_equal(req.query[0].key, "a");
	assert_string_equal(req.query[0].value, "1");
	assert_string_equal(req.query[1].value, "2");
	/* The first value wins for the single-value getter. */
	assert_string_equal(cm_req_query(&req, "a"), "1");
	assert_string_equal(cm_req_query(&req, "b"), "");
	cm_req_reset(&req);
	assert_int_equal(cm_req_parse_query(&req, ""), CM_OK);
	assert_int_equal(req.nquery, 0);
	assert_int_equal(cm_req_parse_query(&req, NULL), CM_OK);
	cm_req_reset(&req);
}

static void
test_query_bad_escapes(void **state)
{
	static const char *const bad[] = { "a=%", "a=%4", "a=%zz", "%g1=x",
	    "a=%00", "a=b%" };
	struct cm_req req;
	size_t i;

	(void)state;
	memset(&req, 0, sizeof(req));
	for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		assert_int_equal(cm_req_parse_query(&req, bad[i]), CM_EINVAL);
		cm_req_reset(&req);
	}
}

static void
test_decode_no_plus(void **state)
{
	struct cm_req req;
	char *out;

	(void)state;
	memset(&req, 0, sizeof(req));
	assert_int_equal(cm_req_decode(&req, "a+b%20c", 7, 0, &out), CM_OK);
	assert_string_equal(out, "a+b c");
	cm_req_reset(&req);
}

static void
test_arena_many(void **state)
{
	struct cm_req req;
	char *p;
	int i;

	(void)state;
	memset(&req, 0, sizeof(req));
	/* Enough to span several chunks, plus one larger than a chunk. */
	for (i = 0; i < 1000; i++) {
		p = cm_req_alloc(&req, 37);
		assert_non_null(p);
		assert_int_equal((uintptr_t)p % _Alignof(max_align_t), 0);
		memset(p, 'x', 37);
	}
	p = cm_req_alloc(&req, 100000);
	assert_non_null(p);
	memset(p, 'y', 100000);
	assert_string_equal(cm_req_strdup(&req, "hello"), "hello");
	cm_req_reset(&req);
	assert_null(req.arena);
}

static void
test_resp(void **state)
{
	struct cm_resp r;

	(void)state;
	memset(&r, 0, sizeof(r));
	assert_int_equal(cm_resp_json(&r, 201, json_pack("{s:i}", "a", 1)),
	    CM_OK);
	assert_int_equal(r.status, 201);
	/* Replacing a body releases the old one (valgrind checks). */
	assert_int_equal(cm_resp_json(&r, 200, json_object()), CM_OK);
	assert_int_equal(cm_resp_header(&r, "Allow", "GET"), CM_OK);
	assert_int_equal(cm_resp_header(&r, "X", "a\r\nSet-Cookie: x"),
	    CM_EINVAL);
	assert_int_equal(r.nheaders, 1);
	cm_resp_empty(&r, 204);
	assert_null(r.body);
	assert_int_equal(cm_resp_raw(&r, 200, strdup("{}"), 2), CM_OK);
	cm_resp_clear(&r);
	assert_int_equal(r.status, 0);
	assert_int_equal(cm_resp_json(&r, 200, NULL), CM_ENOMEM);
	cm_resp_clear(&r);
}

/* The envelope takes its value, and a NULL value (out of memory) is one. */
static void
test_resp_wrap(void **state)
{
	struct cm_resp r;
	char *text;

	(void)state;
	memset(&r, 0, sizeof(r));
	assert_int_equal(
	    cm_resp_wrap(&r, 201, "article", json_pack("{s:i}", "id", 7)),
	    CM_OK);
	assert_int_equal(r.status, 201);
	text = json_dumps(r.body, JSON_COMPACT);
	assert_string_equal(text, "{\"article\":{\"id\":7}}");
	free(text);
	assert_int_equal(cm_resp_wrap(&r, 200, "tags", NULL), CM_ENOMEM);
	assert_null(r.body);
	cm_resp_clear(&r);
}

UNIT_MAIN(
    cmocka_unit_test(test_query_basic),
    cmocka_unit_test(test_query_repeated_and_empty),
    cmocka_unit_test(test_query_bad_escapes),
    cmocka_unit_test(test_decode_no_plus),
    cmocka_unit_test(test_arena_many),
    cmocka_unit_test(test_resp),
    cmocka_unit_test(test_resp_wrap))
