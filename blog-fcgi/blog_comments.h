/*
 * blog_comments.h: comments on an article.
 */
#ifndef BLOG_COMMENTS_H
#define BLOG_COMMENTS_H

#include "cm_router.h"

/* The routes it serves, for cm_router_join; its handlers are static. */
extern const struct cm_route blog_comments_routes[];

#endif
