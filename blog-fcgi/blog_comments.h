/*
 * blog_comments.h: comments on an article.
 */
#ifndef BLOG_COMMENTS_H
#define BLOG_COMMENTS_H

#include "cm_err.h"
#include "cm_req.h"

enum cm_err blog_comments_create(struct cm_req *req);
enum cm_err blog_comments_list(struct cm_req *req);
enum cm_err blog_comments_delete(struct cm_req *req);

#endif
