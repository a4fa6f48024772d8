/*
 * blog_articles.c: /api/articles and its sub-resources except comments.
 *
 * A list or feed page costs two queries whatever its size: the page (with
 * author, favorited and following joined in, tags from the article row) and
 * its count. Writes that touch several rows run in one transaction.
 */
#include <string.h>

#include "blog.h"
#include "blog_articles.h"
#include "blog_db.h"
#include "blog_error.h"
#include "blog_profiles.h"
#include "blog_slug.h"
#include "blog_tags.h"
#include "blog_valid.h"

json_t *
blog_articles_json(struct blog_db_stmt *s, int with_body)
{
	json_t *a, *author, *tags;

	author = blog_profiles_json(blog_db_str(s, BLOG_A_USERNAME),
	    blog_db_len(s, BLOG_A_USERNAME), blog_db_str(s, BLOG_A_BIO),
	    blog_db_len(s, BLOG_A_BIO), blog_db_str(s, BLOG_A_IMAGE),
	    blog_db_len(s, BLOG_A_IMAGE),
	    blog_db_int(s, BLOG_A_FOLLOWING) != 0);
	tags = blog_tags_json(
	    blog_db_str(s, BLOG_A_TAGS), blog_db_len(s, BLOG_A_TAGS));
	a = json_pack("{s:o,s:o,s:o}", "slug",
	    json_stringn_nocheck(
	        blog_db_str(s, BLOG_A_SLUG), blog_db_len(s, BLOG_A_SLUG)),
	    "title",
	    json_stringn_nocheck(
	        blog_db_str(s, BLOG_A_TITLE), blog_db_len(s, BLOG_A_TITLE)),
	    "description",
	    json_stringn_nocheck(blog_db_str(s, BLOG_A_DESCRIPTION),
	        blog_db_len(s, BLOG_A_DESCRIPTION)));
	if (a == NULL) {
		json_decref(author);
		json_decref(tags);
		return NULL;
	}
	if (with_body &&
	    json_object_set_new(a, "body",
	        json_stringn_nocheck(blog_db_str(s, BLOG_A_BODY),
	            blog_db_len(s, BLOG_A_BODY))) != 0)
		goto fail;
	if (json_object_set_new(a, "tagList", tags) != 0) {
		tags = NULL;
		goto fail;
	}
	tags = NULL;
	if (json_object_set_new(a, "createdAt",
	        json_string_nocheck(blog_db_time(s, BLOG_A_CREATED))) != 0 ||
	    json_object_set_new(a, "updatedAt",
	        json_string_nocheck(blog_db_time(s, BLOG_A_UPDATED))) != 0 ||
	    json_object_set_new(a, "favorited",
	        json_boolean(blog_db_int(s, BLOG_A_FAVORITED) != 0)) != 0 ||
	    json_object_set_new(a, "favoritesCount",
	        json_integer(blog_db_int(s, BLOG_A_FAVCOUNT))) != 0)
		goto fail;
	if (json_object_set_new(a, "author", author) != 0) {
		author = NULL;
		goto fail;
	}
	return a;
fail:
	json_decref(author);
	json_decref(tags);
	json_decref(a);
	return NULL;
}

/*
 * Answer status with {"article": ...} for the one article with this slug
 * (or, when slug is NULL, this id), as the requesting user sees it; 404
 * when there is none.
 */
static enum cm_err
blog_articles_answer(
    struct cm_req *req, int status, long long id, const char *slug)
{
	struct blog_db *db = req->worker;
	struct blog_db_stmt *s = NULL;
	enum cm_err rc;

	if (slug != NULL)
		rc = blog_db_article_by_slug(
		    db, req->request_id, req->user_id, slug, &s);
	else
		rc = blog_db_article_by_id(
		    db, req->request_id, req->user_id, id, &s);
	/* Unknown, or deleted between a write and this read. */
	rc = blog_error_missing(req, rc, CM_ENOTFOUND, "article", "not found");
	if (rc == CM_OK)
		rc = cm_resp_wrap(
		    &req->resp, status, "article", blog_articles_json(s, 1));
	blog_db_done(s);
	return rc;
}

/* Answer status with {"article": ...} for the article with this id. */
static enum cm_err
blog_articles_reply(struct cm_req *req, int status, long long id)
{
	return blog_articles_answer(req, status, id, NULL);
}

/*
 * The single exit of a handler that writes article id: when rc is CM_OK,
 * the article as it now is answered with status; any other rc as it is.
 */
static enum cm_err
blog_articles_finish(
    struct cm_req *req, enum cm_err rc, int status, long long id)
{
	if (rc == CM_OK)
		rc = blog_articles_reply(req, status, id);
	return rc;
}

enum cm_err
blog_articles_head(
    struct cm_req *req, long long *id, long long *author_id, char **title)
{
	struct blog_db *db = req->worker;
	struct blog_db_stmt *s = NULL;
	const char *slug = cm_req_param(req, "slug");
	enum cm_err rc;

	*id = 0;
	*author_id = 0;
	if (slug == NULL || !blog_slug_valid(slug))
		return cm_req_fail(req, CM_ENOTFOUND, "article", "not found");
	rc = blog_db_article_head(db, req->request_id, slug, &s);
	rc = blog_error_missing(req, rc, CM_ENOTFOUND, "article", "not found");
	if (rc != CM_OK)
		goto out;
	*id = blog_db_int(s, 0);
	*author_id = blog_db_int(s, 1);
	if (title != NULL &&
	    (*title = cm_req_strdup(req, blog_db_str(s, 2))) == NULL)
		rc = CM_ENOMEM;
out:
	blog_db_done(s);
	return rc;
}

/*
 * The route's article when the requester wrote it: *id (and *title as
 * blog_articles_head gives it); 404 or 403 answered otherwise.
 */
static enum cm_err
blog_articles_own(struct cm_req *req, long long *id, char **title)
{
	long long author_id;
	enum cm_err rc;

	if ((rc = blog_articles_head(req, id, &author_id, title)) != CM_OK)
		return rc;
	if (author_id != req->user_id)
		return cm_req_fail(req, CM_EFORBIDDEN, "article", "forbidden");
	return CM_OK;
}

/* A list item: the article without its body. */
static json_t *
blog_articles_item_json(struct blog_db_stmt *s)
{
	return blog_articles_json(s, 0);
}

/*
 * Answer {"articles": [...], "articlesCount": n} for a page of filter f
 * (the feed when f is NULL).
 */
static enum cm_err
blog_articles_page(struct cm_req *req, const struct blog_db_filter *f,
    long long limit, long long offset)
{
	struct blog_db *db = req->worker;
	struct blog_db_stmt *s = NULL;
	json_t *arr = NULL, *body;
	long long count = 0;
	enum cm_err rc;

	if (f != NULL)
		rc = blog_db_articles_page(
		    db, req->request_id, req->user_id, f, limit, offset, &s);
	else
		rc = blog_db_feed_page(db, req->request_id, req->user_id, limit,
		    offset, &count, &s);
	if (rc != CM_OK ||
	    (rc = blog_db_rows_json(db, req->request_id, s,
	         blog_articles_item_json, &arr)) != CM_OK)
		goto out;
	if (f != NULL &&
	    (rc = blog_db_articles_count(db, req->request_id, f, &count)) !=
	        CM_OK)
		goto out;
	body = json_pack(
	    "{s:O,s:I}", "articles", arr, "articlesCount", (json_int_t)count);
	rc = body != NULL ? cm_resp_json(&req->resp, 200, body) : CM_ENOMEM;
out:
	json_decref(arr);
	blog_db_done(s);
	return rc;
}

static enum cm_err
blog_articles_empty(struct cm_req *req)
{
	json_t *body;

	body = json_pack("{s:[],s:i}", "articles", "articlesCount", 0);
	return body != NULL ? cm_resp_json(&req->resp, 200, body) : CM_ENOMEM;
}

/* A query filter: absent or "" is no filter. */
static const char *
blog_articles_filter(struct cm_req *req, const char *key)
{
	const char *v = cm_req_query(req, key);

	return v != NULL && *v != '\0' ? v : NULL;
}

static enum cm_err
blog_articles_list(struct cm_req *req)
{
	struct blog_db_filter f;
	const char *tag, *author, *fav;
	long long limit, offset;
	enum cm_err rc;

	if ((rc = blog_valid_page(req, &limit, &offset)) != CM_OK)
		goto out;
	tag = blog_articles_filter(req, "tag");
	author = blog_articles_filter(req, "author");
	fav = blog_articles_filter(req, "favorited");
	/* Values that cannot name anything match nothing. */
	if ((tag != NULL &&
	        blog_valid_chars(tag, strlen(tag)) > BLOG_TAG_MAX) ||
	    (author != NULL &&
	        (rc = blog_valid_username_lookup(req, author, &author)) !=
	            CM_OK) ||
	    (fav != NULL &&
	        (rc = blog_valid_username_lookup(req, fav, &fav)) != CM_OK)) {
		if (rc == CM_OK || rc == CM_ENOTFOUND)
			rc = blog_articles_empty(req);
		goto out;
	}
	f.tag = tag;
	f.favorited = fav;
	f.author = author;
	rc = blog_articles_page(req, &f, limit, offset);
out:
	return rc;
}

static enum cm_err
blog_articles_feed(struct cm_req *req)
{
	long long limit, offset;
	enum cm_err rc;

	if ((rc = blog_valid_page(req, &limit, &offset)) != CM_OK)
		goto out;
	rc = blog_articles_page(req, NULL, limit, offset);
out:
	return rc;
}

static enum cm_err
blog_articles_get(struct cm_req *req)
{
	const char *slug = cm_req_param(req, "slug");
	enum cm_err rc;

	if (slug == NULL || !blog_slug_valid(slug))
		rc = cm_req_fail(req, CM_ENOTFOUND, "article", "not found");
	else
		rc = blog_articles_answer(req, 200, 0, slug);
	return rc;
}

/* What a create or update writes, shared with its transaction. */
struct blog_articles_write {
	long long id; /* 0 to create */
	long long author_id;
	const char *title; /* NULL: keep (update) */
	struct blog_field description, body;
	int new_slug;
	char slug[BLOG_SLUG_MAX + 1];
	int set_tags;
	const char **tags;
	size_t ntags;
	char *joined;
};

/* Attach the tags to the article, creating the ones that are new. */
static enum cm_err
blog_articles_tags(
    struct blog_db *db, const char *rid, struct blog_articles_write *w)
{
	enum cm_err rc;
	size_t i;

	for (i = 0; i < w->ntags; i++)
		if ((rc = blog_db_article_tag(db, rid, w->id, w->tags[i])) !=
		    CM_OK)
			return rc;
	return CM_OK;
}

/* Move one random slot of the article counter (migration 002) by delta. */
static enum cm_err
blog_articles_count(struct blog_db *db, const char *rid, long long delta)
{
	return blog_db_article_count_add(
	    db, rid, delta, (unsigned int)blog_slug_random());
}

static enum cm_err
blog_articles_insert_txn(struct blog_db *db, const char *rid, void *ctx)
{
	struct blog_articles_write *w = ctx;
	struct blog_db_article row = {w->slug, w->author_id, w->title,
	    w->description.s, w->description.len, w->body.s, w->body.len,
	    w->joined};
	enum cm_err rc;

	if ((rc = blog_db_article_insert(db, rid, &row, &w->id)) != CM_OK)
		return rc;
	if ((rc = blog_articles_count(db, rid, 1)) != CM_OK)
		return rc;
	return blog_articles_tags(db, rid, w);
}

static enum cm_err
blog_articles_update_txn(struct blog_db *db, const char *rid, void *ctx)
{
	struct blog_articles_write *w = ctx;
	struct blog_db_article row = {w->new_slug ? w->slug : NULL, 0, w->title,
	    w->description.s, w->description.len, w->body.s, w->body.len,
	    w->set_tags ? w->joined : NULL};
	enum cm_err rc;

	if ((rc = blog_db_article_update(db, rid, w->id, &row)) != CM_OK)
		return rc;
	if (!w->set_tags)
		return CM_OK;
	if ((rc = blog_db_article_tags_clear(db, rid, w->id)) != CM_OK)
		return rc;
	return blog_articles_tags(db, rid, w);
}

/*
 * Run the write; a new slug that collides with an existing one (a random
 * suffix repeated) is drawn again.
 */
static enum cm_err
blog_articles_write(
    struct cm_req *req, struct blog_articles_write *w, blog_db_txn_fn fn)
{
	enum cm_err rc;
	int attempt;

	for (attempt = 0; attempt < 4; attempt++) {
		if (w->new_slug)
			blog_slug_make(w->title, strlen(w->title),
			    blog_slug_random(), w->slug);
		rc = blog_db_txn(req->worker, req->request_id, fn, w);
		if (rc != CM_ECONFLICT || !w->new_slug)
			break;
	}
	if (rc == CM_ECONFLICT)
		rc = CM_EDB;
	return rc;
}

/*
 * Read title, description, body and tagList of an article object.
 * required: create (all three non-blank); otherwise each may be absent but
 * not blank or null when present. Answers 422 itself.
 */
static enum cm_err
blog_articles_fields(struct cm_req *req, const json_t *obj, int required,
    struct blog_articles_write *w)
{
	static const char *names[] = {"title", "description", "body"};
	struct blog_field title, *f[3];
	json_t *tl;
	enum cm_err rc;
	size_t i;

	f[0] = &title;
	f[1] = &w->description;
	f[2] = &w->body;
	if ((rc = blog_valid_field(
	         req, obj, "title", BLOG_TITLE_MAX, 1, &title)) != CM_OK ||
	    (rc = blog_valid_field(req, obj, "description",
	         BLOG_DESCRIPTION_MAX, 1, &w->description)) != CM_OK ||
	    (rc = blog_valid_field(
	         req, obj, "body", BLOG_BODY_MAX, 0, &w->body)) != CM_OK)
		return rc;
	for (i = 0; i < 3; i++)
		if ((required || f[i]->present) &&
		    (rc = blog_valid_filled(req, f[i], names[i], 1)) != CM_OK)
			return rc;
	w->title = title.s;
	tl = json_object_get(obj, "tagList");
	if (tl == NULL || (required && json_is_null(tl))) {
		/* Create without tags stores an empty list. */
		w->set_tags = required;
		w->joined = "";
		return CM_OK;
	}
	if (json_is_null(tl))
		return cm_req_fail(req, CM_EVALIDATION, "tagList",
		    "must be an array (use [] to remove all tags)");
	w->set_tags = 1;
	return blog_tags_parse(req, tl, &w->tags, &w->ntags, &w->joined);
}

static enum cm_err
blog_articles_create(struct cm_req *req)
{
	struct blog_articles_write w;
	json_t *obj;
	enum cm_err rc;

	memset(&w, 0, sizeof(w));
	if ((rc = blog_valid_root(req, "article", &obj)) != CM_OK ||
	    (rc = blog_articles_fields(req, obj, 1, &w)) != CM_OK)
		goto out;
	w.author_id = req->user_id;
	w.new_slug = 1;
	rc = blog_articles_write(req, &w, blog_articles_insert_txn);
	/* The author's row is gone: the token outlived the user. */
	rc = blog_error_missing(req, rc, CM_EAUTH, "token", "is invalid");
out:
	return blog_articles_finish(req, rc, 201, w.id);
}

static enum cm_err
blog_articles_update(struct cm_req *req)
{
	struct blog_articles_write w;
	char *old_title = NULL;
	json_t *obj;
	enum cm_err rc;

	memset(&w, 0, sizeof(w));
	if ((rc = blog_articles_own(req, &w.id, &old_title)) != CM_OK ||
	    (rc = blog_valid_root(req, "article", &obj)) != CM_OK ||
	    (rc = blog_articles_fields(req, obj, 0, &w)) != CM_OK)
		goto out;
	/* The slug follows the title, and only when the title changes. */
	w.new_slug = w.title != NULL &&
	    (old_title == NULL || strcmp(w.title, old_title) != 0);
	rc = blog_articles_write(req, &w, blog_articles_update_txn);
out:
	return blog_articles_finish(req, rc, 200, w.id);
}

/* The article and its count go together (comments, favourites and tag
 * links follow by ON DELETE CASCADE). */
static enum cm_err
blog_articles_delete_txn(struct blog_db *db, const char *rid, void *ctx)
{
	enum cm_err rc;
	int deleted;

	if ((rc = blog_db_article_delete(
	         db, rid, *(long long *)ctx, &deleted)) != CM_OK)
		return rc;
	/* A concurrent delete already counted it. */
	if (!deleted)
		return CM_OK;
	return blog_articles_count(db, rid, -1);
}

static enum cm_err
blog_articles_delete(struct cm_req *req)
{
	long long id;
	enum cm_err rc;

	if ((rc = blog_articles_own(req, &id, NULL)) != CM_OK)
		goto out;
	if ((rc = blog_db_txn(req->worker, req->request_id,
	         blog_articles_delete_txn, &id)) != CM_OK)
		goto out;
	cm_resp_empty(&req->resp, 204);
out:
	return rc;
}

struct blog_articles_fav {
	const char *slug;
	long long user_id;
	int add;
	long long id; /* 0: no such article */
};

/*
 * Lock the article row first: concurrent favourites of one article then
 * queue on it instead of deadlocking on the foreign key's shared lock, and
 * the count moves exactly when a favourite row is inserted or deleted.
 */
static enum cm_err
blog_articles_fav_txn(struct blog_db *db, const char *rid, void *ctx)
{
	struct blog_articles_fav *f = ctx;
	enum cm_err rc;

	f->id = 0;
	if ((rc = blog_db_article_lock(db, rid, f->slug, &f->id)) != CM_OK)
		return rc;
	return blog_db_favorite(db, rid, f->user_id, f->id, f->add);
}

static enum cm_err
blog_articles_fav(struct cm_req *req, int add)
{
	struct blog_articles_fav f;
	enum cm_err rc;

	f.slug = cm_req_param(req, "slug");
	f.user_id = req->user_id;
	f.add = add;
	f.id = 0;
	if (f.slug == NULL || !blog_slug_valid(f.slug)) {
		rc = cm_req_fail(req, CM_ENOTFOUND, "article", "not found");
		goto out;
	}
	rc = blog_db_txn(
	    req->worker, req->request_id, blog_articles_fav_txn, &f);
	if (rc == CM_ENOTFOUND && f.id == 0) {
		rc = cm_req_fail(req, CM_ENOTFOUND, "article", "not found");
		goto out;
	}
	rc = blog_error_missing(req, rc, CM_EAUTH, "token", "is invalid");
out:
	return blog_articles_finish(req, rc, 200, f.id);
}

static enum cm_err
blog_articles_favorite(struct cm_req *req)
{
	return blog_articles_fav(req, 1);
}

static enum cm_err
blog_articles_unfavorite(struct cm_req *req)
{
	return blog_articles_fav(req, 0);
}

const struct cm_route blog_articles_routes[] = {
    {"GET", "/api/articles", blog_articles_list, CM_AUTH_OPTIONAL,
        CM_ROUTE_CACHE},
    {"POST", "/api/articles", blog_articles_create, CM_AUTH_REQUIRED, 0},
    {"GET", "/api/articles/feed", blog_articles_feed, CM_AUTH_REQUIRED,
        CM_ROUTE_CACHE},
    {"GET", "/api/articles/:slug", blog_articles_get, CM_AUTH_OPTIONAL,
        CM_ROUTE_CACHE},
    {"PUT", "/api/articles/:slug", blog_articles_update, CM_AUTH_REQUIRED, 0},
    {"DELETE", "/api/articles/:slug", blog_articles_delete, CM_AUTH_REQUIRED,
        0},
    {"POST", "/api/articles/:slug/favorite", blog_articles_favorite,
        CM_AUTH_REQUIRED, 0},
    {"DELETE", "/api/articles/:slug/favorite", blog_articles_unfavorite,
        CM_AUTH_REQUIRED, 0},
    {0},
};
