/*
 * blog_users.c: POST /api/users, POST /api/users/login, GET and PUT
 * /api/user.
 *
 * Uniqueness of usernames and emails is the database's unique indexes'
 * job: an insert or update that violates one is a 409, so two concurrent
 * registrations cannot both win.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "blog.h"
#include "blog_db.h"
#include "blog_error.h"
#include "blog_ident.h"
#include "blog_profiles.h"
#include "blog_users.h"
#include "blog_valid.h"
#include "cm_ident.h"
#include "cm_log.h"
#include "cm_password.h"

/*
 * Answer status with {"user": {...}} from a row of blog_db_user_by_id or
 * blog_db_user_by_email (id, username, email, bio, image, ident_ver). token
 * NULL issues a fresh one at the user's current identity version.
 */
static enum cm_err
blog_users_reply(
    struct cm_req *req, int status, struct blog_db_stmt *s, const char *token)
{
	const struct blog_app *app = req->app;
	char *fresh = NULL;
	json_t *body;
	enum cm_err rc;

	if (token == NULL) {
		rc = cm_jwt_issue_ver(app->jwt, blog_db_int(s, 0),
		    blog_db_str(s, 1), blog_db_int(s, 5), time(NULL), &fresh);
		if (rc != CM_OK) {
			cm_log(CM_LOG_ERROR, req->request_id,
			    "cannot issue a token: %s", cm_err_name(rc));
			return CM_EINTERNAL;
		}
		token = fresh;
	}
	body = json_pack("{s:{s:o,s:s,s:o,s:o,s:o}}", "user", "email",
	    json_stringn_nocheck(blog_db_str(s, 2), blog_db_len(s, 2)), "token",
	    token, "username",
	    json_stringn_nocheck(blog_db_str(s, 1), blog_db_len(s, 1)), "bio",
	    blog_profiles_strn(blog_db_str(s, 3), blog_db_len(s, 3)), "image",
	    blog_profiles_strn(blog_db_str(s, 4), blog_db_len(s, 4)));
	free(fresh);
	if (body == NULL)
		return CM_ENOMEM;
	return cm_resp_json(&req->resp, status, body);
}

/*
 * Answer status with user id as stored now (blog_users_reply); CM_ENOTFOUND,
 * not answered, when there is no such user.
 */
static enum cm_err
blog_users_answer(
    struct cm_req *req, int status, long long id, const char *token)
{
	struct blog_db_stmt *s = NULL;
	enum cm_err rc;

	rc = blog_db_user_by_id(req->worker, req->request_id, id, &s);
	if (rc == CM_OK)
		rc = blog_users_reply(req, status, s, token);
	blog_db_done(s);
	return rc;
}

/* The fields of a user object (register, update). */
struct blog_users_fields {
	struct blog_field username, email, password, bio, image;
};

/*
 * Read the body's user object and its five fields (a wrong type or length
 * is a 422, answered); whether a blank one is refused is the caller's rule.
 */
static enum cm_err
blog_users_fields(struct cm_req *req, struct blog_users_fields *f)
{
	json_t *u;
	enum cm_err rc;

	if ((rc = blog_valid_root(req, "user", &u)) != CM_OK ||
	    (rc = blog_valid_field(req, u, "username", BLOG_USERNAME_MAX, 1,
	         &f->username)) != CM_OK ||
	    (rc = blog_valid_field(
	         req, u, "email", BLOG_EMAIL_MAX, 1, &f->email)) != CM_OK ||
	    (rc = blog_valid_field(req, u, "password", BLOG_PASSWORD_MAX, 0,
	         &f->password)) != CM_OK ||
	    (rc = blog_valid_field(req, u, "bio", BLOG_BIO_MAX, 0, &f->bio)) !=
	        CM_OK)
		return rc;
	return blog_valid_field(req, u, "image", BLOG_IMAGE_MAX, 0, &f->image);
}

/* Which unique key a write ran into (read before the rollback). */
enum blog_users_dup {
	BLOG_USERS_DUP_USERNAME = 0,
	BLOG_USERS_DUP_EMAIL,
	BLOG_USERS_DUP_SKELETON,
};

static enum blog_users_dup
blog_users_dup_of(const struct blog_db *db)
{
	if (blog_db_dup_key(db, "uk_users_email"))
		return BLOG_USERS_DUP_EMAIL;
	if (blog_db_dup_key(db, "uk_users_username_skeleton"))
		return BLOG_USERS_DUP_SKELETON;
	return BLOG_USERS_DUP_USERNAME;
}

/* 409 for a duplicate username or email (after CM_ECONFLICT). */
static enum cm_err
blog_users_conflict_reply(struct cm_req *req, enum blog_users_dup dup)
{
	if (dup == BLOG_USERS_DUP_EMAIL)
		return cm_req_fail(
		    req, CM_ECONFLICT, "email", "has already been taken");
	if (dup == BLOG_USERS_DUP_SKELETON)
		return cm_req_fail(req, CM_ECONFLICT, "username",
		    "looks like a name already taken");
	return cm_req_fail(
	    req, CM_ECONFLICT, "username", "has already been taken");
}

/*
 * The username rules: name gets the display form that is stored and shown,
 * the key whose unique index makes "ｂｏｂ", "BOB" and "bob" one name, and
 * the skeleton whose unique index refuses look-alikes of a taken name.
 */
static enum cm_err
blog_users_check_username(struct cm_req *req, const struct blog_field *f,
    struct blog_unicode_name *name)
{
	return blog_valid_username_rules(req, f, name);
}

/*
 * The platform's own names (cm_ident_reserved) are nobody's username: in
 * payment statements "system" is the platform, and a user called that
 * would be paid what others meant for it. Checked on the canonical key, so
 * "ＳＹＳＴＥＭ" is reserved too, and on the skeleton (below).
 */
static enum cm_err
blog_users_check_reserved(
    struct cm_req *req, const struct blog_unicode_name *name)
{
	struct blog_unicode_name r;
	const char *s, *why;
	size_t i;
	enum cm_err rc;

	if (cm_ident_reserved(name->key, name->key_len))
		return cm_req_fail(
		    req, CM_EVALIDATION, "username", "is reserved");
	/*
	 * Nor may a name look like one: "ѕуѕтем" in Cyrillic or "adrnin"
	 * would read as the platform in a payment statement.
	 */
	for (i = 0; (s = cm_ident_reserved_name(i)) != NULL; i++) {
		if ((rc = blog_unicode_username(s, strlen(s), &r, &why)) !=
		    CM_OK)
			return rc == CM_EVALIDATION ? CM_EINTERNAL : rc;
		if (strcmp(r.skeleton, name->skeleton) == 0)
			return cm_req_fail(
			    req, CM_EVALIDATION, "username", "is reserved");
	}
	return CM_OK;
}

static enum cm_err
blog_users_check_email(struct cm_req *req, const struct blog_field *f)
{
	if (!blog_valid_email(f->s, f->len))
		return cm_req_fail(req, CM_EVALIDATION, "email", "is invalid");
	return CM_OK;
}

/* What a write transaction needs and finds (register, update). */
struct blog_users_write {
	struct blog_db_user row; /* what the INSERT or UPDATE writes */
	long long id; /* the user */
	int identity; /* update: username or password changes */
	const char *new_name; /* update: the new username, NULL when none */
	size_t new_name_len;
	long long seq; /* the outbox row written, 0 when none */
	enum blog_users_dup dup; /* after CM_ECONFLICT: which unique key */
};

/* The username's three stored forms (blog_users_check_username). */
static void
blog_users_row_name(
    struct blog_db_user *row, const struct blog_unicode_name *name)
{
	row->username = name->display;
	row->username_len = name->display_len;
	row->username_key = name->key;
	row->username_key_len = name->key_len;
	row->username_skeleton = name->skeleton;
	row->username_skeleton_len = name->skeleton_len;
}

/*
 * bio and image as sent: "" and null are both stored as null; set_* say
 * whether an update writes them at all.
 */
static void
blog_users_row_profile(struct blog_db_user *row, const struct blog_field *bio,
    const struct blog_field *image)
{
	row->set_bio = bio->present;
	row->bio = bio->len > 0 ? bio->s : NULL;
	row->bio_len = bio->len;
	row->set_image = image->present;
	row->image = image->len > 0 ? image->s : NULL;
	row->image_len = image->len;
}

/*
 * After a register or update transaction: 409 (answered) for a taken
 * username or email, else rc; on CM_OK an identity event written by it
 * goes to pay.
 */
static enum cm_err
blog_users_written(
    struct cm_req *req, enum cm_err rc, const struct blog_users_write *w)
{
	if (rc == CM_ECONFLICT)
		return blog_users_conflict_reply(req, w->dup);
	if (rc == CM_OK && w->seq > 0)
		blog_ident_push(req, w->seq);
	return rc;
}

/*
 * The new user and its first identity event, in one transaction: pay
 * learns of every user the blog has, and of no other.
 */
static enum cm_err
blog_users_register_txn(struct blog_db *db, const char *rid, void *ctx)
{
	struct blog_users_write *w = ctx;
	enum cm_err rc;

	w->seq = 0;
	rc = blog_db_user_insert(db, rid, &w->row, &w->id);
	if (rc == CM_ECONFLICT)
		w->dup = blog_users_dup_of(db);
	if (rc != CM_OK)
		return rc;
	return blog_ident_record(db, rid, w->id, 0, &w->seq);
}

static enum cm_err
blog_users_register(struct cm_req *req)
{
	struct blog_users_fields f;
	struct blog_unicode_name name;
	struct blog_users_write w;
	char hash[CM_PASSWORD_HASH_MAX];
	enum cm_err rc;

	if ((rc = blog_users_fields(req, &f)) != CM_OK ||
	    (rc = blog_valid_filled(req, &f.username, "username", 0)) !=
	        CM_OK ||
	    (rc = blog_valid_filled(req, &f.email, "email", 0)) != CM_OK ||
	    (rc = blog_valid_filled(req, &f.password, "password", 1)) !=
	        CM_OK ||
	    (rc = blog_users_check_username(req, &f.username, &name)) !=
	        CM_OK ||
	    (rc = blog_users_check_reserved(req, &name)) != CM_OK ||
	    (rc = blog_users_check_email(req, &f.email)) != CM_OK ||
	    (rc = cm_password_hash(f.password.s, hash)) != CM_OK)
		goto out;

	memset(&w, 0, sizeof(w));
	blog_users_row_name(&w.row, &name);
	w.row.email = f.email.s;
	w.row.email_len = f.email.len;
	w.row.password_hash = hash;
	blog_users_row_profile(&w.row, &f.bio, &f.image);
	rc = blog_db_txn(
	    req->worker, req->request_id, blog_users_register_txn, &w);
	if ((rc = blog_users_written(req, rc, &w)) != CM_OK)
		goto out;
	/* Committed just now: a missing row is our failure. */
	if ((rc = blog_users_answer(req, 201, w.id, NULL)) == CM_ENOTFOUND)
		rc = CM_EDB;
out:
	return rc;
}

static enum cm_err
blog_users_login(struct cm_req *req)
{
	struct blog_db *db = req->worker;
	struct blog_db_stmt *s = NULL;
	struct blog_field email, password;
	long long locked;
	char msg[96];
	json_t *u;
	enum cm_err rc;

	if ((rc = blog_valid_root(req, "user", &u)) != CM_OK ||
	    (rc = blog_valid_field(
	         req, u, "email", BLOG_EMAIL_MAX, 1, &email)) != CM_OK ||
	    (rc = blog_valid_field(
	         req, u, "password", BLOG_PASSWORD_MAX, 0, &password)) != CM_OK)
		goto out;
	if ((rc = blog_valid_filled(req, &email, "email", 0)) != CM_OK ||
	    (rc = blog_valid_filled(req, &password, "password", 1)) != CM_OK)
		goto out;
	/*
	 * An email locked by failed logins (migration 008) is refused before
	 * any work: no lookup, no hash, and the refusal does not count.
	 */
	if ((rc = blog_db_login_locked(
	         db, req->request_id, email.s, email.len, &locked)) != CM_OK)
		goto out;
	if (locked > 0) {
		snprintf(msg, sizeof(msg),
		    "too many failed logins for this email; retry in %lld s",
		    locked);
		rc = cm_req_fail(req, CM_ETOOMANY, "credentials", msg);
		req->fail_retry_after = locked;
		goto out;
	}
	rc = blog_db_user_by_email(db, req->request_id, email.s, email.len, &s);
	if (rc != CM_OK && rc != CM_ENOTFOUND)
		goto out;
	/*
	 * An unknown email still costs one full verification (of a dummy
	 * hash) so that timing does not tell which emails exist.
	 */
	rc = cm_password_verify(
	    rc == CM_OK ? blog_db_str(s, 6) : NULL, password.s);
	if (rc == CM_EAUTH) {
		blog_db_done(s);
		s = NULL;
		/* Not counting it would be worse than a 500: fail closed. */
		if ((rc = blog_db_login_failed(
		         db, req->request_id, email.s, email.len)) != CM_OK)
			goto out;
		rc = cm_req_fail(req, CM_EAUTH, "credentials", "invalid");
		goto out;
	}
	/* CM_EUNAVAIL: the hashing budget is full (503, Retry-After). */
	if (rc != CM_OK)
		goto out;
	rc = blog_users_reply(req, 200, s, NULL);
	blog_db_done(s);
	s = NULL;
	/* The login stands even if forgetting the failures does not. */
	if (rc == CM_OK &&
	    blog_db_login_reset(db, req->request_id, email.s, email.len) !=
	        CM_OK)
		cm_log(CM_LOG_WARN, req->request_id,
		    "login: failed logins not reset");
out:
	blog_db_done(s);
	return rc;
}

static enum cm_err
blog_users_current(struct cm_req *req)
{
	enum cm_err rc;

	rc = blog_users_answer(req, 200, req->user_id, req->token);
	/* A valid token for a user that no longer exists. */
	rc = blog_error_missing(req, rc, CM_EAUTH, "token", "is invalid");
	return rc;
}

/* The rule a new password meets beyond not being blank (update). */
static enum cm_err
blog_users_check_password(struct cm_req *req, const struct blog_field *f)
{
	char msg[64];

	if (blog_valid_chars(f->s, f->len) >= BLOG_PASSWORD_MIN)
		return CM_OK;
	snprintf(msg, sizeof(msg), "is too short (minimum is %d characters)",
	    BLOG_PASSWORD_MIN);
	return cm_req_fail(req, CM_EVALIDATION, "password", msg);
}

/*
 * The update and, when the username really changes or a password is set,
 * a new identity version with its outbox row, in one transaction. The row
 * lock orders concurrent updates of one user, so the version they write
 * and the name the outbox row carries belong together.
 */
static enum cm_err
blog_users_update_txn(struct blog_db *db, const char *rid, void *ctx)
{
	struct blog_users_write *w = ctx;
	struct blog_db_stmt *s = NULL;
	int identity = w->identity;
	enum cm_err rc;

	w->seq = 0;
	if ((rc = blog_db_user_lock(db, rid, w->id, &s)) != CM_OK)
		goto out;
	if (w->new_name != NULL &&
	    (blog_db_len(s, 0) != w->new_name_len ||
	        memcmp(blog_db_str(s, 0), w->new_name, w->new_name_len) != 0))
		identity = 1;
	blog_db_done(s);
	s = NULL;
	rc = blog_db_user_update(db, rid, w->id, &w->row);
	if (rc == CM_ECONFLICT)
		w->dup = blog_users_dup_of(db);
	if (rc != CM_OK || !identity)
		goto out;
	rc = blog_ident_record(db, rid, w->id, 1, &w->seq);
out:
	blog_db_done(s);
	return rc;
}

static enum cm_err
blog_users_update(struct cm_req *req)
{
	struct blog_users_fields f;
	struct blog_unicode_name name;
	struct blog_users_write w;
	char hash[CM_PASSWORD_HASH_MAX];
	enum cm_err rc;

	/* Each field is optional; one that is sent must be valid. */
	if ((rc = blog_users_fields(req, &f)) != CM_OK)
		goto out;
	if (f.email.present &&
	    ((rc = blog_valid_filled(req, &f.email, "email", 0)) != CM_OK ||
	        (rc = blog_users_check_email(req, &f.email)) != CM_OK))
		goto out;
	if (f.username.present &&
	    ((rc = blog_valid_filled(req, &f.username, "username", 0)) !=
	            CM_OK ||
	        (rc = blog_users_check_username(req, &f.username, &name)) !=
	            CM_OK ||
	        (rc = blog_users_check_reserved(req, &name)) != CM_OK))
		goto out;
	if (f.password.present &&
	    ((rc = blog_valid_filled(req, &f.password, "password", 1)) !=
	            CM_OK ||
	        (rc = blog_users_check_password(req, &f.password)) != CM_OK ||
	        (rc = cm_password_hash(f.password.s, hash)) != CM_OK))
		goto out;

	memset(&w, 0, sizeof(w));
	w.id = req->user_id;
	w.identity = f.password.present;
	if (f.username.present) {
		w.new_name = name.display;
		w.new_name_len = name.display_len;
		blog_users_row_name(&w.row, &name);
	}
	w.row.email = f.email.present ? f.email.s : NULL;
	w.row.email_len = f.email.len;
	w.row.password_hash = f.password.present ? hash : NULL;
	blog_users_row_profile(&w.row, &f.bio, &f.image);
	rc = blog_db_txn(
	    req->worker, req->request_id, blog_users_update_txn, &w);
	/* A missing row, then or now: the token outlived its user. */
	rc = blog_error_missing(req, rc, CM_EAUTH, "token", "is invalid");
	if ((rc = blog_users_written(req, rc, &w)) != CM_OK)
		goto out;
	rc = blog_users_answer(req, 200, req->user_id, NULL);
	rc = blog_error_missing(req, rc, CM_EAUTH, "token", "is invalid");
out:
	return rc;
}

/*
 * POST /api/user/logout-all: a new identity version, so that every token
 * issued so far, this one included, is refused by both services (204).
 */
static enum cm_err
blog_users_logout_all_txn(struct blog_db *db, const char *rid, void *ctx)
{
	struct blog_users_write *w = ctx;

	return blog_ident_record(db, rid, w->id, 1, &w->seq);
}

static enum cm_err
blog_users_logout_all(struct cm_req *req)
{
	struct blog_users_write w;
	enum cm_err rc;

	memset(&w, 0, sizeof(w));
	w.id = req->user_id;
	rc = blog_db_txn(
	    req->worker, req->request_id, blog_users_logout_all_txn, &w);
	if (rc == CM_OK) {
		blog_ident_push(req, w.seq);
		cm_resp_empty(&req->resp, 204);
	}
	return rc;
}

const struct cm_route blog_users_routes[] = {
    {"POST", "/api/users/login", blog_users_login, CM_AUTH_NONE, 0},
    {"POST", "/api/users", blog_users_register, CM_AUTH_NONE, 0},
    {"GET", "/api/user", blog_users_current, CM_AUTH_REQUIRED, 0},
    {"PUT", "/api/user", blog_users_update, CM_AUTH_REQUIRED, 0},
    {"POST", "/api/user/logout-all", blog_users_logout_all, CM_AUTH_REQUIRED,
        0},
    {0},
};
