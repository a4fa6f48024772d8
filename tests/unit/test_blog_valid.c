/*
 * Unit tests for blog_valid and blog_tags: UTF-8, usernames, emails, paging
 * numbers, request fields and tag lists.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "unit.h"

#include "../../blog-fcgi/blog.h"
#include "../../blog-fcgi/blog_error.h"
#include "../../blog-fcgi/blog_tags.h"
#include "../../blog-fcgi/blog_valid.h"
#include "cm_server.h"

#define U8(s) blog_valid_utf8((s), sizeof(s) - 1)

static void
test_utf8(void **state)
{
	(void)state;
	assert_true(U8(""));
	assert_true(U8("plain ascii"));
	assert_true(U8("caf\xc3\xa9 \xe6\x97\xa5 \xf0\x9f\x98\x80"));
	assert_false(U8("\xff"));
	assert_false(U8("\xc3")); /* truncated */
	assert_false(U8("\xc3\x28")); /* bad continuation */
	assert_false(U8("\xc0\xaf")); /* overlong '/' */
	assert_false(U8("\xe0\x80\xaf")); /* overlong */
	assert_false(U8("\xed\xa0\x80")); /* surrogate */
	assert_false(U8("\xf4\x90\x80\x80")); /* > U+10FFFF */
	assert_false(U8("\xf8\x88\x80\x80\x80")); /* 5 bytes */
	assert_int_equal(blog_valid_chars("caf\xc3\xa9", 5), 4);
	assert_int_equal(blog_valid_chars("\xf0\x9f\x98\x80", 4), 1);
}

static void
test_username_email(void **state)
{
	char u65[66];

	(void)state;
	assert_true(blog_valid_username("auth_1732550000123", 18));
	assert_true(blog_valid_username("A.b-C_9", 7));
	assert_false(blog_valid_username("", 0));
	assert_false(blog_valid_username("a b", 3));
	assert_false(blog_valid_username("a'b", 3));
	/* The lookup filter lets Unicode through; the rules are ICU's. */
	assert_true(blog_valid_username("caf\xc3\xa9", 5));
	assert_false(blog_valid_username("caf\xc3", 4));
	memset(u65, 'u', sizeof(u65));
	assert_true(blog_valid_username(u65, 64));
	assert_false(blog_valid_username(u65, 65));

	assert_true(blog_valid_email("a@b.c", 5));
	assert_false(blog_valid_email("ab.c", 4));
	assert_false(blog_valid_email("@b.c", 4));
	assert_false(blog_valid_email("a@", 2));
	assert_false(blog_valid_email("a b@c.d", 7));
}

static void
test_uint(void **state)
{
	long long v = -5;

	(void)state;
	assert_int_equal(blog_valid_uint("0", 100, &v), 0);
	assert_int_equal(v, 0);
	assert_int_equal(blog_valid_uint("42", 100, &v), 0);
	assert_int_equal(v, 42);
	assert_int_equal(blog_valid_uint("1000", 100, &v), 0);
	assert_int_equal(v, 100);
	assert_int_equal(
	    blog_valid_uint("99999999999999999999999999", 100, &v), 0);
	assert_int_equal(v, 100);
	assert_int_equal(blog_valid_uint("-1", 100, &v), -1);
	assert_int_equal(blog_valid_uint("1.5", 100, &v), -1);
	assert_int_equal(blog_valid_uint("abc", 100, &v), -1);
	assert_int_equal(blog_valid_uint("", 100, &v), -1);
	assert_int_equal(blog_valid_uint(" 1", 100, &v), -1);
	assert_int_equal(blog_valid_uint("+1", 100, &v), -1);
	assert_int_equal(blog_valid_uint(NULL, 100, &v), -1);
}

/* The error body's first message for key, or NULL. */
static const char *
err_msg(struct cm_req *req, const char *key)
{
	json_t *errs = json_object_get(req->resp.body, "errors");

	return json_string_value(json_array_get(json_object_get(errs, key), 0));
}

/* Answer req as the pipeline answers a handler that returned rc. */
static enum cm_err
answered(struct cm_req *req, enum cm_err rc)
{
	if (rc != CM_OK)
		cm_server_answer_error(blog_error, req, rc);
	return rc;
}

static void
test_root_and_field(void **state)
{
	static const struct {
		const char *body; /* NULL: none sent */
		enum cm_err rc;
		int status;
		const char *key, *msg; /* NULL: message not checked */
	} roots[] = {
	    {NULL, CM_EVALIDATION, 422, "article", "is missing"},
	    {"{\"article\":", CM_EINVAL, 400, NULL, NULL},
	    {"{\"article\":\"\xff\"}", CM_EVALIDATION, 422, "body",
	        "is not valid UTF-8"},
	};
	struct cm_req req;
	struct blog_field f;
	json_t *root;
	size_t i;

	(void)state;
	memset(&req, 0, sizeof(req));
	req.body = strdup("{\"user\":{\"username\":\"  bob \","
	                  "\"bio\":null,\"n\":5}}");
	req.body_len = strlen(req.body);
	assert_int_equal(blog_valid_root(&req, "user", &root), CM_OK);
	assert_int_equal(
	    blog_valid_field(&req, root, "username", 64, 1, &f), CM_OK);
	assert_true(f.present);
	assert_string_equal(f.s, "bob");
	assert_int_equal(f.len, 3);
	assert_int_equal(blog_valid_field(&req, root, "bio", 10, 0, &f), CM_OK);
	assert_true(f.present && f.s == NULL && blog_valid_blank(&f));
	assert_int_equal(
	    blog_valid_field(&req, root, "email", 10, 0, &f), CM_OK);
	assert_false(f.present);
	assert_int_equal(
	    answered(&req, blog_valid_field(&req, root, "username", 2, 1, &f)),
	    CM_EVALIDATION);
	assert_int_equal(req.resp.status, 422);
	assert_string_equal(
	    err_msg(&req, "username"), "is too long (maximum is 2 characters)");
	assert_int_equal(
	    answered(&req, blog_valid_field(&req, root, "n", 2, 1, &f)),
	    CM_EVALIDATION);
	assert_string_equal(err_msg(&req, "n"), "must be a string");
	cm_req_reset(&req);

	/* The root object: absent, malformed JSON, invalid UTF-8. */
	for (i = 0; i < sizeof(roots) / sizeof(roots[0]); i++) {
		memset(&req, 0, sizeof(req));
		if (roots[i].body != NULL) {
			req.body = strdup(roots[i].body);
			req.body_len = strlen(req.body);
		}
		assert_int_equal(
		    answered(&req, blog_valid_root(&req, "article", &root)),
		    roots[i].rc);
		assert_int_equal(req.resp.status, roots[i].status);
		if (roots[i].key != NULL)
			assert_string_equal(
			    err_msg(&req, roots[i].key), roots[i].msg);
		cm_req_reset(&req);
	}
}

static void
test_tags(void **state)
{
	struct cm_req req;
	const char **tags;
	char *joined;
	size_t n;
	json_t *arr, *back;

	(void)state;
	memset(&req, 0, sizeof(req));
	arr = json_pack(
	    "[s,s,s,s,s]", "training", "dragons", " dragons ", "", "Zed");
	assert_int_equal(blog_tags_parse(&req, arr, &tags, &n, &joined), CM_OK);
	assert_int_equal(n, 3);
	assert_string_equal(tags[0], "Zed");
	assert_string_equal(tags[1], "dragons");
	assert_string_equal(tags[2], "training");
	assert_string_equal(joined,
	    "Zed\x1f"
	    "dragons\x1f"
	    "training");
	back = blog_tags_json(joined, strlen(joined));
	assert_int_equal(json_array_size(back), 3);
	assert_string_equal(
	    json_string_value(json_array_get(back, 1)), "dragons");
	json_decref(back);
	json_decref(arr);

	back = blog_tags_json("", 0);
	assert_int_equal(json_array_size(back), 0);
	json_decref(back);

	arr = json_pack("[s,i]", "ok", 1);
	assert_int_equal(
	    answered(&req, blog_tags_parse(&req, arr, &tags, &n, &joined)),
	    CM_EVALIDATION);
	assert_int_equal(req.resp.status, 422);
	json_decref(arr);
	arr = json_pack("[s]", "a\tb\nc");
	assert_int_equal(
	    blog_tags_parse(&req, arr, &tags, &n, &joined), CM_EVALIDATION);
	json_decref(arr);
	arr = json_string("x");
	assert_int_equal(
	    blog_tags_parse(&req, arr, &tags, &n, &joined), CM_EVALIDATION);
	json_decref(arr);
	cm_req_reset(&req);
}

UNIT_MAIN(
    cmocka_unit_test(test_utf8),
    cmocka_unit_test(test_username_email),
    cmocka_unit_test(test_uint),
    cmocka_unit_test(test_root_and_field),
    cmocka_unit_test(test_tags))
