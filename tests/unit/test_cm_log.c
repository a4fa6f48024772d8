/*
 * Unit tests for cm_log_escape: bytes that are not UTF-8 become \xHH and
 * everything else is kept, so a log line never loses its message.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>
#include <jansson.h>

#include "cm_log.h"

static void
check(const char *in, const char *want)
{
	char out[256];
	json_t *j;

	assert_int_equal(cm_log_escape(in, out, sizeof(out)), strlen(want));
	assert_string_equal(out, want);
	/* Whatever came in, what goes out is a valid JSON string. */
	j = json_string(out);
	assert_non_null(j);
	json_decref(j);
}

static void
test_valid_kept(void **state)
{
	(void)state;
	check("", "");
	check("/pay/v1/payments/pay_1", "/pay/v1/payments/pay_1");
	check("caf\xc3\xa9 \xe2\x82\xac \xf0\x9f\x98\x80",
	    "caf\xc3\xa9 \xe2\x82\xac \xf0\x9f\x98\x80");
}

static void
test_invalid_escaped(void **state)
{
	(void)state;
	check("/x/\xff", "/x/\\xff");
	check("\xc0\xaf", "\\xc0\\xaf");               /* overlong "/" */
	check("\xed\xa0\x80", "\\xed\\xa0\\x80");      /* surrogate */
	check("\xf4\x90\x80\x80", "\\xf4\\x90\\x80\\x80"); /* > U+10FFFF */
	check("a\xe2\x82", "a\\xe2\\x82");             /* truncated */
	check("\xe2\x82\xac\xff\xe2\x82\xac", "\xe2\x82\xac\\xff\xe2\x82\xac");
}

static void
test_bounded(void **state)
{
	char out[6];

	(void)state;
	/* Stops on a boundary: never half of an escape or of a character. */
	assert_int_equal(cm_log_escape("ab\xff\xff", out, sizeof(out)), 2);
	assert_string_equal(out, "ab");
	assert_int_equal(cm_log_escape("abc\xe2\x82\xac", out, sizeof(out)), 3);
	assert_int_equal(cm_log_escape("x", out, 0), 0);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_valid_kept),
		cmocka_unit_test(test_invalid_escaped),
		cmocka_unit_test(test_bounded),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
