/*
 * blog_comments.c: /api/articles/:slug/comments[/:id].
 */
#include <string.h>

#include "blog.h"
#include "blog_articles.h"
#include "blog_comments.h"
#include "blog_db.h"
#include "blog_error.h"
#include "blog_profiles.h"
#include "blog_valid.h"

/* The comment object of the current row of blog_db_comment_by_id or _of. */
static json_t *
blog_comments_json(struct blog_db_stmt *s)
{
	json_t *author;

	author = blog_profiles_json(blog_db_str(s, 4), blog_db_len(s, 4),
	    blog_db_str(s, 5), blog_db_len(s, 5), blog_db_str(s, 6),
	    blog_db_len(s, 6), blog_db_int(s, 7) != 0);
	if (author == NULL)
		return NULL;
	return json_pack("{s:I,s:s,s:s,s:o,s:o}", "id",
	    (json_int_t)blog_db_int(s, 0), "createdAt", blog_db_time(s, 1),
	    "updatedAt", blog_db_time(s, 2), "body",
	    json_stringn_nocheck(blog_db_str(s, 3), blog_db_len(s, 3)),
	    "author", author);
}

static enum cm_err
blog_comments_create(struct cm_req *req)
{
	struct blog_db *db = req->worker;
	struct blog_db_stmt *s = NULL;
	struct blog_field body;
	long long article_id, author_id, id;
	json_t *obj;
	enum cm_err rc;

	if ((rc = blog_articles_head(req, &article_id, &author_id, NULL)) !=
	    CM_OK)
		goto out;
	if ((rc = blog_valid_root(req, "comment", &obj)) != CM_OK ||
	    (rc = blog_valid_field(
	         req, obj, "body", BLOG_COMMENT_MAX, 0, &body)) != CM_OK ||
	    (rc = blog_valid_filled(req, &body, "body", 1)) != CM_OK)
		goto out;
	rc = blog_db_comment_insert(db, req->request_id, article_id,
	    req->user_id, body.s, body.len, &id);
	/* The article was deleted in between (or the user). */
	rc = blog_error_missing(req, rc, CM_ENOTFOUND, "article", "not found");
	if (rc != CM_OK)
		goto out;
	rc = blog_db_comment_by_id(db, req->request_id, req->user_id, id, &s);
	rc = blog_error_missing(req, rc, CM_ENOTFOUND, "comment", "not found");
	if (rc == CM_OK)
		rc = cm_resp_wrap(
		    &req->resp, 201, "comment", blog_comments_json(s));
out:
	blog_db_done(s);
	return rc;
}

static enum cm_err
blog_comments_list(struct cm_req *req)
{
	struct blog_db_stmt *s = NULL;
	long long article_id, author_id;
	enum cm_err rc;

	if ((rc = blog_articles_head(req, &article_id, &author_id, NULL)) ==
	    CM_OK)
		rc = blog_db_comments_of(
		    req->worker, req->request_id, req->user_id, article_id, &s);
	rc = blog_db_rows_answer(req, rc, s, "comments", blog_comments_json);
	return rc;
}

static enum cm_err
blog_comments_delete(struct cm_req *req)
{
	struct blog_db *db = req->worker;
	const char *idp = cm_req_param(req, "id");
	long long article_id, author_id, id, comment_author;
	enum cm_err rc;

	if ((rc = blog_articles_head(req, &article_id, &author_id, NULL)) !=
	    CM_OK)
		goto out;
	if (idp == NULL || strlen(idp) > 18 ||
	    blog_valid_uint(idp, 999999999999999999LL, &id) != 0 || id == 0) {
		rc = cm_req_fail(req, CM_ENOTFOUND, "comment", "not found");
		goto out;
	}
	rc = blog_db_comment_author(
	    db, req->request_id, id, article_id, &comment_author);
	rc = blog_error_missing(req, rc, CM_ENOTFOUND, "comment", "not found");
	if (rc != CM_OK)
		goto out;
	if (comment_author != req->user_id) {
		rc = cm_req_fail(req, CM_EFORBIDDEN, "comment", "forbidden");
		goto out;
	}
	if ((rc = blog_db_comment_delete(db, req->request_id, id)) != CM_OK)
		goto out;
	cm_resp_empty(&req->resp, 204);
out:
	return rc;
}

const struct cm_route blog_comments_routes[] = {
    {"GET", "/api/articles/:slug/comments", blog_comments_list,
        CM_AUTH_OPTIONAL, CM_ROUTE_CACHE},
    {"POST", "/api/articles/:slug/comments", blog_comments_create,
        CM_AUTH_REQUIRED, 0},
    {"DELETE", "/api/articles/:slug/comments/:id", blog_comments_delete,
        CM_AUTH_REQUIRED, 0},
    {0},
};
