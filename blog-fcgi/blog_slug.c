/*
 * blog_slug.c: slugs. Pure except for blog_slug_random.
 */
#include <stdio.h>
#include <string.h>
#include <sys/random.h>
#include <time.h>

#include "blog_slug.h"

void
blog_slug_make(
    const char *title, size_t len, uint32_t suffix, char out[BLOG_SLUG_MAX + 1])
{
	size_t i, n = 0;
	int dash = 0;

	for (i = 0; i < len && n < BLOG_SLUG_BASE_MAX; i++) {
		unsigned char c = (unsigned char)title[i];

		if (c >= 'A' && c <= 'Z')
			c = (unsigned char)(c - 'A' + 'a');
		if ((c >= 'a' && c <= 'z') || (c >= '0' && c <= '9')) {
			if (dash && n > 0) {
				if (n + 2 > BLOG_SLUG_BASE_MAX)
					break;
				out[n++] = '-';
			}
			dash = 0;
			out[n++] = (char)c;
		} else
			dash = 1;
	}
	if (n == 0) {
		n = (size_t)snprintf(out, BLOG_SLUG_MAX + 1, "article");
	}
	snprintf(out + n, BLOG_SLUG_MAX + 1 - n, "-%08x", (unsigned)suffix);
}

int
blog_slug_valid(const char *s)
{
	size_t n;

	for (n = 0; s[n] != '\0'; n++) {
		if (n >= BLOG_SLUG_MAX)
			return 0;
		if (!((s[n] >= 'a' && s[n] <= 'z') ||
		        (s[n] >= '0' && s[n] <= '9') || s[n] == '-'))
			return 0;
	}
	return n > 0;
}

uint32_t
blog_slug_random(void)
{
	uint32_t v;

	if (getrandom(&v, sizeof(v), 0) != (ssize_t)sizeof(v))
		v = (uint32_t)time(NULL) ^ (uint32_t)clock();
	return v;
}
