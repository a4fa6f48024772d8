/*
 * blog_articles.h: articles, the list and the feed, and favourites.
 */
#ifndef BLOG_ARTICLES_H
#define BLOG_ARTICLES_H

#include <jansson.h>

#include "blog_db.h"
#include "cm_err.h"
#include "cm_req.h"
#include "cm_router.h"

/*
 * The article object of the current row of an article query (columns of
 * enum blog_acol); with_body 0 for list items. NULL on ENOMEM.
 */
json_t *blog_articles_json(struct blog_db_stmt *s, int with_body);

/*
 * Look up the article of the route's :slug: *id and *author_id on CM_OK;
 * answers 404 "article" itself. title (may be NULL) receives a request
 * copy of the title.
 */
enum cm_err blog_articles_head(
    struct cm_req *req, long long *id, long long *author_id, char **title);

/* The routes it serves, for cm_router_join; its handlers are static. */
extern const struct cm_route blog_articles_routes[];

#endif
