/* Unit tests for cm_json: parse errors and typed getters. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "unit.h"

#include "cm_json.h"

static void
test_parse_ok(void **state)
{
	const char *s = "{\"user\":{\"email\":\"a@b.c\",\"n\":5}}";
	char err[128];
	json_t *v;

	(void)state;
	assert_int_equal(cm_json_parse(s, strlen(s), &v, err, sizeof(err)),
	    CM_OK);
	assert_true(json_is_object(v));
	json_decref(v);
}

static void
test_parse_bad(void **state)
{
	static const char *const bad[] = { "", "{", "{\"a\":}", "[1,]",
	    "nul", "{\"a\":\"\\u0000\"}", "{} x", "\"just a string\"", "5" };
	char err[128];
	json_t *v;
	size_t i;

	(void)state;
	for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		err[0] = '\0';
		assert_int_equal(cm_json_parse(bad[i], strlen(bad[i]), &v, err,
		    sizeof(err)), CM_EINVAL);
		assert_null(v);
		assert_true(strlen(err) > 0);
	}
	/* Invalid UTF-8 inside a string. */
	assert_int_equal(cm_json_parse("{\"a\":\"\xff\xfe\"}", 10, &v, err,
	    sizeof(err)), CM_EINVAL);
	/* An embedded NUL byte in the text itself. */
	assert_int_equal(cm_json_parse("{\"a\":\"x\0y\"}", 11, &v, err,
	    sizeof(err)), CM_EINVAL);
}

static void
test_getters(void **state)
{
	const char *s = "{\"s\":\"x\",\"i\":7,\"r\":1.5,\"b\":true,\"n\":null,"
	    "\"o\":{},\"a\":[]}";
	const char *str;
	json_int_t i;
	json_t *v, *o;
	char err[64];
	int b;

	(void)state;
	assert_int_equal(cm_json_parse(s, strlen(s), &v, err, sizeof(err)),
	    CM_OK);
	assert_int_equal(cm_json_str(v, "s", &str), CM_JSON_OK);
	assert_string_equal(str, "x");
	assert_int_equal(cm_json_str(v, "i", &str), CM_JSON_WRONG_TYPE);
	assert_null(str);
	assert_int_equal(cm_json_str(v, "zz", &str), CM_JSON_MISSING);
	assert_int_equal(cm_json_str(v, "n", &str), CM_JSON_NULL);
	assert_int_equal(cm_json_int(v, "i", &i), CM_JSON_OK);
	assert_int_equal(i, 7);
	assert_int_equal(cm_json_int(v, "r", &i), CM_JSON_WRONG_TYPE);
	assert_int_equal(cm_json_int(v, "s", &i), CM_JSON_WRONG_TYPE);
	assert_int_equal(cm_json_bool(v, "b", &b), CM_JSON_OK);
	assert_true(b);
	assert_int_equal(cm_json_bool(v, "i", &b), CM_JSON_WRONG_TYPE);
	assert_int_equal(cm_json_obj(v, "o", &o), CM_JSON_OK);
	assert_int_equal(cm_json_obj(v, "a", &o), CM_JSON_WRONG_TYPE);
	assert_int_equal(cm_json_arr(v, "a", &o), CM_JSON_OK);
	/* A non-object container reads as missing. */
	assert_int_equal(cm_json_str(o, "s", &str), CM_JSON_MISSING);
	json_decref(v);
}

static void
test_dump_and_len(void **state)
{
	json_t *v = json_pack("{s:s, s:i}", "b", "x", "a", 1);
	size_t len;
	char *s;

	(void)state;
	s = cm_json_dump(v, &len);
	/* Compact and in insertion order. */
	assert_string_equal(s, "{\"b\":\"x\",\"a\":1}");
	assert_int_equal(len, strlen(s));
	free(s);
	json_decref(v);
	assert_int_equal(cm_json_utf8_len("h\xc3\xa9llo \xe2\x82\xac"), 7);
	assert_int_equal(cm_json_utf8_len(""), 0);
}

UNIT_MAIN(
    cmocka_unit_test(test_parse_ok),
    cmocka_unit_test(test_parse_bad),
    cmocka_unit_test(test_getters),
    cmocka_unit_test(test_dump_and_len))
