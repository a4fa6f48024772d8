/* Unit tests for blog_slug: the kebab form, the suffix, and what a slug is. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

#include "../../blog-fcgi/blog_slug.h"
#include "../../blog-fcgi/blog_unicode.h"

static void
slug(const char *title, uint32_t suffix, const char *want)
{
	char out[BLOG_SLUG_MAX + 1];

	blog_slug_make(title, strlen(title), suffix, out);
	assert_string_equal(out, want);
	assert_true(blog_slug_valid(out));
}

static void
test_make(void **state)
{
	(void)state;
	slug("How to train your dragon", 0x1a2b3c4d,
	    "how-to-train-your-dragon-1a2b3c4d");
	slug("  Hello,   World!!  ", 0, "hello-world-00000000");
	slug("C++ & C# -- 2024", 0xffffffff, "c-c-2024-ffffffff");
	slug("ÜNÏCÖDÉ café", 1, "ünïcödé-café-00000001");
	slug("日本語", 2, "日本語-00000002");
	slug("", 3, "article-00000003");
	slug("----", 4, "article-00000004");
	slug("'; DROP TABLE articles; --", 5, "drop-table-articles-00000005");
}

static void
test_long_title(void **state)
{
	char title[1000], out[BLOG_SLUG_MAX + 1];
	size_t i;

	(void)state;
	for (i = 0; i < sizeof(title) - 1; i++)
		title[i] = i % 7 == 6 ? ' ' : 'a';
	title[sizeof(title) - 1] = '\0';
	blog_slug_make(title, strlen(title), 0xabcdef01, out);
	assert_true(strlen(out) <= BLOG_SLUG_MAX);
	assert_true(blog_slug_valid(out));
	/* No "--" where the base was cut. */
	assert_null(strstr(out, "--"));
	assert_string_equal(out + strlen(out) - 9, "-abcdef01");
}

static void
test_valid(void **state)
{
	char big[BLOG_SLUG_MAX + 2];

	(void)state;
	assert_true(blog_slug_valid("abc-123"));
	assert_true(blog_slug_valid("高可用性和低延迟的web应用程序-ef5c9415"));
	assert_false(blog_slug_valid(""));
	assert_false(blog_slug_valid("ABC"));
	assert_false(blog_slug_valid("a b"));
	assert_false(blog_slug_valid("a'b"));
	assert_false(blog_slug_valid("a%20b"));
	assert_false(blog_slug_valid("a/b"));
	assert_true(blog_slug_valid("caf\xc3\xa9"));
	assert_false(blog_slug_valid("caf\xc3"));
	/* A UTF-16 surrogate encoded in UTF-8 is not a character. */
	assert_false(blog_slug_valid("\xed\xa0\x80"));
	memset(big, 'a', sizeof(big) - 1);
	big[sizeof(big) - 1] = '\0';
	assert_false(blog_slug_valid(big));
	big[BLOG_SLUG_MAX] = '\0';
	assert_true(blog_slug_valid(big));
}

static void
test_random(void **state)
{
	uint32_t a, b, c;

	(void)state;
	a = blog_slug_random();
	b = blog_slug_random();
	c = blog_slug_random();
	/* Three equal 32-bit draws in a row mean the source is broken. */
	assert_false(a == b && b == c);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_make),
	    cmocka_unit_test(test_long_title),
	    cmocka_unit_test(test_valid),
	    cmocka_unit_test(test_random),
	};

	int rc;

	rc = cmocka_run_group_tests(tests, NULL, NULL);
	blog_unicode_cleanup();
	return rc;
}
