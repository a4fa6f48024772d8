/*
 * blog_valid.h: request input checks. The pure predicates take no request;
 * the others fail the request in its own words (cm_req_fail: 400 or 422,
 * answered by the pipeline in the RealWorld format) and return that code.
 */
#ifndef BLOG_VALID_H
#define BLOG_VALID_H

#include <stddef.h>

#include <jansson.h>

#include "blog_unicode.h"
#include "cm_err.h"
#include "cm_req.h"

/* A string field of a request object. */
struct blog_field {
	int present; /* key was in the object */
	const char *s; /* NULL when the value was null */
	size_t len; /* bytes */
};

/* Pure predicates. */
int blog_valid_utf8(const char *s, size_t len);
size_t blog_valid_chars(const char *s, size_t len);
/* Could s (len bytes) name a user? A quick filter for lookups only. */
int blog_valid_username(const char *s, size_t len);
int blog_valid_email(const char *s, size_t len);
/*
 * A non-negative decimal integer (no sign, no spaces), values above max
 * become max. Returns 0, or -1 when s is not such a number.
 */
int blog_valid_uint(const char *s, long long max, long long *out);

/*
 * The request body's root object, e.g. {"user": {...}}: 422 when the body
 * is empty, not UTF-8, not an object or lacks the root key; 400 when it is
 * not JSON.
 */
enum cm_err blog_valid_root(struct cm_req *req, const char *root, json_t **out);

/*
 * Read key from obj: absent and null are fine (see struct blog_field), a
 * non-string, a NUL character or more than maxchars characters is a 422.
 * trim removes surrounding white space (the copy lives with the request).
 */
enum cm_err blog_valid_field(struct cm_req *req, const json_t *obj,
    const char *key, size_t maxchars, int trim, struct blog_field *f);

/*
 * The form of a looked-up username (a path or query value) to match the
 * stored display forms: itself when ASCII, else its NFC form (a
 * request-lifetime copy). CM_ENOTFOUND when it cannot name anyone.
 */
enum cm_err blog_valid_username_lookup(
    struct cm_req *req, const char *s, const char **out);

/*
 * The username rules (blog_unicode_username) for a register or rename:
 * fills name with the display form and the canonical key, or answers 422
 * with the rule that failed.
 */
enum cm_err blog_valid_username_rules(struct cm_req *req,
    const struct blog_field *f, struct blog_unicode_name *name);

/* Absent, null or "". */
int blog_valid_blank(const struct blog_field *f);

/* Blank, or nothing but spaces, tabs and line breaks. */
int blog_valid_blank_text(const struct blog_field *f);

/*
 * 422 "can't be blank" under key, answered, when f is blank: by
 * blog_valid_blank_text when text (a password, a body), else blog_valid_blank.
 */
enum cm_err blog_valid_filled(
    struct cm_req *req, const struct blog_field *f, const char *key, int text);

/* limit and offset query parameters (422 when malformed). */
enum cm_err blog_valid_page(
    struct cm_req *req, long long *limit, long long *offset);

#endif
