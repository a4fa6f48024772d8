/*
 * blog_tags.h: article tags. A tag list is stored on the article as the
 * sorted tags joined with U+001F (so list pages need no tag query) and in
 * article_tags for filtering.
 */
#ifndef BLOG_TAGS_H
#define BLOG_TAGS_H

#include <stddef.h>

#include <jansson.h>

#include "cm_err.h"
#include "cm_req.h"
#include "cm_router.h"

#define BLOG_TAGS_SEP '\x1f'

/*
 * Validate a tagList array: strings only, trimmed, empty ones dropped, at
 * most BLOG_TAG_MAX characters and no control characters each, at most
 * BLOG_TAGS_MAX distinct. On CM_OK *tags (request lifetime) holds the
 * distinct tags sorted ascending (byte order = code point order) and
 * *joined their stored form. Otherwise the request has failed (CM_EVALIDATION, cm_req_fail).
 */
enum cm_err blog_tags_parse(struct cm_req *req, const json_t *arr,
    const char ***tags, size_t *ntags, char **joined);

/* The stored form back to a JSON array (NULL on ENOMEM). */
json_t *blog_tags_json(const char *joined, size_t len);

/* GET /api/tags */

/* The routes it serves, for cm_router_join; its handlers are static. */
extern const struct cm_route blog_tags_routes[];

#endif
