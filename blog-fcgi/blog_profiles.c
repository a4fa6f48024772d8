/*
 * blog_profiles.c: GET /api/profiles/:username and follow / unfollow.
 */
#include <string.h>

#include "blog_db.h"
#include "blog_error.h"
#include "blog_profiles.h"
#include "blog_valid.h"

json_t *
blog_profiles_strn(const char *s, size_t len)
{
	return s != NULL ? json_stringn_nocheck(s, len) : json_null();
}

json_t *
blog_profiles_json(const char *username, size_t ulen, const char *bio,
    size_t blen, const char *image, size_t ilen, int following)
{
	return json_pack("{s:o,s:o,s:o,s:b}", "username",
	    json_stringn_nocheck(username, ulen), "bio",
	    blog_profiles_strn(bio, blen), "image",
	    blog_profiles_strn(image, ilen), "following", following);
}

enum blog_profiles_op {
	BLOG_PROFILES_GET,
	BLOG_PROFILES_FOLLOW,
	BLOG_PROFILES_UNFOLLOW,
};

/*
 * Look the user up (404 when unknown), apply op for the requester, and
 * answer with the profile as the requester now sees it.
 */
static enum cm_err
blog_profiles_do(struct cm_req *req, enum blog_profiles_op op)
{
	struct blog_db *db = req->worker;
	struct blog_db_stmt *s = NULL;
	const char *name = cm_req_param(req, "username");
	json_t *profile;
	long long id;
	int following;
	enum cm_err rc;

	if (name == NULL ||
	    (rc = blog_valid_username_lookup(req, name, &name)) ==
	        CM_ENOTFOUND) {
		rc = cm_req_fail(req, CM_ENOTFOUND, "profile", "not found");
		goto out;
	}
	if (rc != CM_OK)
		goto out;
	rc = blog_db_profile(db, req->request_id, req->user_id, name, &s);
	rc = blog_error_missing(req, rc, CM_ENOTFOUND, "profile", "not found");
	if (rc != CM_OK)
		goto out;
	id = blog_db_int(s, 0);
	following = blog_db_int(s, 4) != 0;
	if (op != BLOG_PROFILES_GET) {
		rc = blog_db_follow(db, req->request_id, req->user_id, id,
		    op == BLOG_PROFILES_FOLLOW);
		rc = blog_error_missing(
		    req, rc, CM_ENOTFOUND, "profile", "not found");
		if (rc != CM_OK)
			goto out;
		following = op == BLOG_PROFILES_FOLLOW;
	}
	profile = blog_profiles_json(blog_db_str(s, 1), blog_db_len(s, 1),
	    blog_db_str(s, 2), blog_db_len(s, 2), blog_db_str(s, 3),
	    blog_db_len(s, 3), following);
	rc = cm_resp_wrap(&req->resp, 200, "profile", profile);
out:
	blog_db_done(s);
	return rc;
}

static enum cm_err
blog_profiles_get(struct cm_req *req)
{
	return blog_profiles_do(req, BLOG_PROFILES_GET);
}

static enum cm_err
blog_profiles_follow(struct cm_req *req)
{
	return blog_profiles_do(req, BLOG_PROFILES_FOLLOW);
}

static enum cm_err
blog_profiles_unfollow(struct cm_req *req)
{
	return blog_profiles_do(req, BLOG_PROFILES_UNFOLLOW);
}

const struct cm_route blog_profiles_routes[] = {
    {"GET", "/api/profiles/:username", blog_profiles_get, CM_AUTH_OPTIONAL,
        CM_ROUTE_CACHE},
    {"POST", "/api/profiles/:username/follow", blog_profiles_follow,
        CM_AUTH_REQUIRED, 0},
    {"DELETE", "/api/profiles/:username/follow", blog_profiles_unfollow,
        CM_AUTH_REQUIRED, 0},
    {0},
};
