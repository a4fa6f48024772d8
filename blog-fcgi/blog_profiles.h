/*
 * blog_profiles.h: profiles (GET, follow, unfollow) and the profile object
 * that articles and comments embed as "author".
 */
#ifndef BLOG_PROFILES_H
#define BLOG_PROFILES_H

#include <stddef.h>

#include <jansson.h>

#include "cm_err.h"
#include "cm_req.h"

/* {"username", "bio", "image", "following"}; NULL bio/image are null. */
json_t *blog_profiles_json(const char *username, size_t ulen, const char *bio,
    size_t blen, const char *image, size_t ilen, int following);

/* A nullable string column as JSON (null when s is NULL). */
json_t *blog_profiles_strn(const char *s, size_t len);

enum cm_err blog_profiles_get(struct cm_req *req);
enum cm_err blog_profiles_follow(struct cm_req *req);
enum cm_err blog_profiles_unfollow(struct cm_req *req);

#endif
