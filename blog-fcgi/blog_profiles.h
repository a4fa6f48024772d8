/*
 * blog_profiles.h: profiles (GET, follow, unfollow) and the profile object
 * that articles and comments embed as "author".
 */
#ifndef BLOG_PROFILES_H
#define BLOG_PROFILES_H

#include <stddef.h>

#include <jansson.h>

#include "cm_router.h"

/* {"username", "bio", "image", "following"}; NULL bio/image are null. */
json_t *blog_profiles_json(const char *username, size_t ulen, const char *bio,
    size_t blen, const char *image, size_t ilen, int following);

/* A nullable string column as JSON (null when s is NULL). */
json_t *blog_profiles_strn(const char *s, size_t len);

/* The routes it serves, for cm_router_join; its handlers are static. */
extern const struct cm_route blog_profiles_routes[];

#endif
