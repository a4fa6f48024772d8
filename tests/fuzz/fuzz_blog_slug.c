/*
 * fuzz_blog_slug: slugs from any title. Properties: every slug we make is
 * one blog_slug_valid accepts (so an article can always be found by its
 * own slug), is valid UTF-8, and ends with the 8 hex digits of its suffix;
 * the same title and suffix give the same slug.
 */
#include "../../blog-fcgi/blog_slug.h"
#include "../../blog-fcgi/blog_valid.h"
#include "fuzz_util.h"

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char a[BLOG_SLUG_MAX + 1], b[BLOG_SLUG_MAX + 1], tail[9];
	uint32_t suffix = 0;
	size_t n;

	if (size >= 4) {
		memcpy(&suffix, data, 4);
		data += 4;
		size -= 4;
	}
	blog_slug_make((const char *)data, size, suffix, a);
	blog_slug_make((const char *)data, size, suffix, b);
	FUZZ_CHECK(strcmp(a, b) == 0);
	FUZZ_CHECK(blog_slug_valid(a));
	n = strlen(a);
	FUZZ_CHECK(n <= BLOG_SLUG_MAX && n > 9);
	FUZZ_CHECK(blog_valid_utf8(a, n));
	snprintf(tail, sizeof(tail), "%08x", suffix);
	FUZZ_CHECK(strcmp(a + n - 8, tail) == 0);
	return 0;
}
