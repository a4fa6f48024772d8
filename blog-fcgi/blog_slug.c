/*
 * blog_slug.c: slugs. Pure except for blog_slug_random.
 */
#include <stdio.h>
#include <string.h>
#include <sys/random.h>
#include <time.h>

#include "blog_slug.h"
#include "blog_unicode.h"
#include "blog_valid.h"

void
blog_slug_make(
    const char *title, size_t len, uint32_t suffix, char out[BLOG_SLUG_MAX + 1])
{
	size_t n;

	n = blog_unicode_slug(title, len, out, BLOG_SLUG_BASE_MAX + 1);
	if (n == 0)
		n = (size_t)snprintf(out, BLOG_SLUG_MAX + 1, "article");
	snprintf(out + n, BLOG_SLUG_MAX + 1 - n, "-%08x", (unsigned)suffix);
}

int
blog_slug_valid(const char *s)
{
	size_t n;

	/*
	 * Cheap on purpose (every article URL passes here): the ASCII a
	 * slug can hold, and well-formed UTF-8 for the rest. The database
	 * lookup is exact, so anything else simply finds nothing.
	 */
	for (n = 0; s[n] != '\0'; n++) {
		if (n >= BLOG_SLUG_MAX)
			return 0;
		if ((unsigned char)s[n] >= 0x80)
			continue;
		if (!((s[n] >= 'a' && s[n] <= 'z') ||
		        (s[n] >= '0' && s[n] <= '9') || s[n] == '-'))
			return 0;
	}
	return n > 0 && blog_valid_utf8(s, n);
}

uint32_t
blog_slug_random(void)
{
	uint32_t v;

	if (getrandom(&v, sizeof(v), 0) != (ssize_t)sizeof(v))
		v = (uint32_t)time(NULL) ^ (uint32_t)clock();
	return v;
}
