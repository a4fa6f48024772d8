/*
 * blog_slug.h: URL slugs for articles: a lower-case kebab form of the title
 * in its own script(s) and a random suffix, so that equal titles get
 * distinct slugs. Slugs are UTF-8; URLs carry them raw or percent-encoded
 * (nginx decodes the path before it reaches us).
 */
#ifndef BLOG_SLUG_H
#define BLOG_SLUG_H

#include <stddef.h>
#include <stdint.h>

/* Bytes, not characters: 100 bytes is 33 Chinese characters. */
#define BLOG_SLUG_BASE_MAX 100
#define BLOG_SLUG_MAX (BLOG_SLUG_BASE_MAX + 9)

/*
 * Write the slug of title (len bytes) with suffix as 8 hex digits into out,
 * which holds at least BLOG_SLUG_MAX + 1 bytes: blog_unicode_slug's base
 * (letters and digits of every script, NFKC, lower case, runs of anything
 * else one '-'), or "article" when nothing is left.
 */
void blog_slug_make(const char *title, size_t len, uint32_t suffix,
    char out[BLOG_SLUG_MAX + 1]);

/*
 * Could s be a slug we made (at most BLOG_SLUG_MAX bytes of UTF-8, no ASCII
 * but [a-z0-9-])? Anything else cannot exist: 404 at once.
 */
int blog_slug_valid(const char *s);

/* A random suffix (getrandom). */
uint32_t blog_slug_random(void);

#endif
