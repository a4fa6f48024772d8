/*
 * blog_slug.h: URL slugs for articles: a lower-case kebab form of the title
 * and a random suffix, so that equal titles get distinct slugs.
 */
#ifndef BLOG_SLUG_H
#define BLOG_SLUG_H

#include <stddef.h>
#include <stdint.h>

#define BLOG_SLUG_BASE_MAX 100
#define BLOG_SLUG_MAX (BLOG_SLUG_BASE_MAX + 9)

/*
 * Write the slug of title (len bytes) with suffix as 8 hex digits into out,
 * which holds at least BLOG_SLUG_MAX + 1 bytes. Only [a-z0-9] survive, runs
 * of anything else become one '-'; an empty result becomes "article".
 */
void blog_slug_make(const char *title, size_t len, uint32_t suffix,
    char out[BLOG_SLUG_MAX + 1]);

/* Could s be a slug we made? Anything else cannot exist: 404 at once. */
int blog_slug_valid(const char *s);

/* A random suffix (getrandom). */
uint32_t blog_slug_random(void);

#endif
