/*
 * blog_comments.h: comments on an article.
 */
#ifndef BLOG_COMMENTS_H
#define BLOG_COMMENTS_H

#include "cm_router.h"

/* The routes it serves, in match order, ended by BLOG_ROUTES_END. */
extern const struct cm_route blog_comments_routes[];

#endif
