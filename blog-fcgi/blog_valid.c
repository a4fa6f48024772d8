/*
 * blog_valid.c: checks on what clients send, before anything is stored.
 */
#include <stdio.h>
#include <string.h>

#include "blog.h"
#include "blog_error.h"
#include "blog_unicode.h"
#include "blog_valid.h"
#include "cm_json.h"

/*
 * Strict UTF-8 (RFC 3629): no overlong forms, no surrogates, nothing above
 * U+10FFFF.
 */
int
blog_valid_utf8(const char *str, size_t len)
{
	const unsigned char *s = (const unsigned char *)str;
	size_t i = 0, n, k;
	unsigned int cp, min;

	while (i < len) {
		if (s[i] < 0x80) {
			i++;
			continue;
		}
		if ((s[i] & 0xE0) == 0xC0) {
			n = 1;
			cp = s[i] & 0x1F;
			min = 0x80;
		} else if ((s[i] & 0xF0) == 0xE0) {
			n = 2;
			cp = s[i] & 0x0F;
			min = 0x800;
		} else if ((s[i] & 0xF8) == 0xF0) {
			n = 3;
			cp = s[i] & 0x07;
			min = 0x10000;
		} else
			return 0;
		if (len - i <= n)
			return 0;
		for (k = 1; k <= n; k++) {
			if ((s[i + k] & 0xC0) != 0x80)
				return 0;
			cp = (cp << 6) | (s[i + k] & 0x3F);
		}
		if (cp < min || cp > 0x10FFFF || (cp >= 0xD800 && cp <= 0xDFFF))
			return 0;
		i += n + 1;
	}
	return 1;
}

size_t
blog_valid_chars(const char *s, size_t len)
{
	size_t i, n = 0;

	for (i = 0; i < len; i++)
		if (((unsigned char)s[i] & 0xC0) != 0x80)
			n++;
	return n;
}

/*
 * Only a quick filter for lookups (profiles, ?author=, ?favorited=): the
 * rules proper are blog_valid_username_rules, at register and rename.
 * Names from before the Unicode rules are ASCII of this same set.
 */
int
blog_valid_username(const char *s, size_t len)
{
	size_t i;

	if (len == 0 || len > BLOG_USERNAME_BYTES_MAX)
		return 0;
	for (i = 0; i < len; i++) {
		char c = s[i];

		if ((unsigned char)c >= 0x80)
			continue;
		if (!((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
		        (c >= '0' && c <= '9') || c == '_' || c == '-' ||
		        c == '.'))
			return 0;
	}
	return blog_valid_utf8(s, len) &&
	    blog_valid_chars(s, len) <= BLOG_USERNAME_MAX;
}

enum cm_err
blog_valid_username_lookup(struct cm_req *req, const char *s, const char **out)
{
	size_t len = strlen(s), i, n;
	char *nfc;
	enum cm_err rc;

	*out = NULL;
	if (!blog_valid_username(s, len))
		return CM_ENOTFOUND;
	for (i = 0; i < len && (unsigned char)s[i] < 0x80; i++)
		;
	if (i == len) {
		*out = s;
		return CM_OK;
	}
	/* Stored names are NFC: a decomposed "é" in a URL finds "é". */
	if ((nfc = cm_req_alloc(req, BLOG_USERNAME_BYTES_MAX + 1)) == NULL)
		return CM_ENOMEM;
	rc = blog_unicode_nfc(s, len, nfc, BLOG_USERNAME_BYTES_MAX + 1, &n);
	if (rc == CM_ETOOBIG || rc == CM_EINVAL)
		return CM_ENOTFOUND;
	if (rc != CM_OK)
		return rc;
	*out = nfc;
	return CM_OK;
}

enum cm_err
blog_valid_username_rules(struct cm_req *req, const struct blog_field *f,
    struct blog_unicode_name *name)
{
	const char *why = NULL;
	enum cm_err rc;

	rc = blog_unicode_username(f->s, f->len, name, &why);
	if (rc == CM_EVALIDATION)
		return cm_req_fail(req, CM_EVALIDATION, "username", why);
	return rc;
}

int
blog_valid_email(const char *s, size_t len)
{
	const char *at;
	size_t i;

	if (len < 3 || len > BLOG_EMAIL_MAX)
		return 0;
	for (i = 0; i < len; i++)
		if ((unsigned char)s[i] <= 0x20 || s[i] == 0x7f)
			return 0;
	at = memrchr(s, '@', len);
	return at != NULL && at != s && at != s + len - 1;
}

int
blog_valid_uint(const char *s, long long max, long long *out)
{
	long long v = 0;
	size_t i;

	if (s == NULL || *s == '\0')
		return -1;
	for (i = 0; s[i] != '\0'; i++) {
		if (s[i] < '0' || s[i] > '9')
			return -1;
		if (v <= max)
			v = v * 10 + (s[i] - '0');
	}
	*out = v > max ? max : v;
	return 0;
}

enum cm_err
blog_valid_root(struct cm_req *req, const char *root, json_t **out)
{
	char err[200], msg[260];
	json_t *v;

	*out = NULL;
	if (req->json == NULL) {
		if (req->body == NULL || req->body_len == 0)
			return cm_req_fail(
			    req, CM_EVALIDATION, root, "is missing");
		/*
		 * Invalid UTF-8 is a content error (422), malformed JSON a
		 * syntax error (400).
		 */
		if (!blog_valid_utf8(req->body, req->body_len))
			return cm_req_fail(
			    req, CM_EVALIDATION, "body", "is not valid UTF-8");
		if (cm_json_parse(req->body, req->body_len, &req->json, err,
		        sizeof(err)) != CM_OK) {
			snprintf(
			    msg, sizeof(msg), "is not valid JSON (%s)", err);
			return cm_req_fail(req, CM_EINVAL, "body", msg);
		}
	}
	if (!json_is_object(req->json))
		return cm_req_fail(
		    req, CM_EVALIDATION, "body", "must be a JSON object");
	v = json_object_get(req->json, root);
	if (v == NULL)
		return cm_req_fail(req, CM_EVALIDATION, root, "is missing");
	if (!json_is_object(v))
		return cm_req_fail(
		    req, CM_EVALIDATION, root, "must be an object");
	*out = v;
	return CM_OK;
}

static int
blog_valid_space(char c)
{
	return c == ' ' || c == '\t' || c == '\r' || c == '\n';
}

enum cm_err
blog_valid_field(struct cm_req *req, const json_t *obj, const char *key,
    size_t maxchars, int trim, struct blog_field *f)
{
	const char *s;
	char msg[96], *copy;
	json_t *v;
	size_t len;

	memset(f, 0, sizeof(*f));
	if ((v = json_object_get(obj, key)) == NULL)
		return CM_OK;
	f->present = 1;
	if (json_is_null(v))
		return CM_OK;
	if (!json_is_string(v))
		return cm_req_fail(
		    req, CM_EVALIDATION, key, "must be a string");
	s = json_string_value(v);
	len = json_string_length(v);
	if (strlen(s) != len)
		return cm_req_fail(req, CM_EVALIDATION, key,
		    "must not contain NUL characters");
	if (trim) {
		while (len > 0 && blog_valid_space(*s)) {
			s++;
			len--;
		}
		while (len > 0 && blog_valid_space(s[len - 1]))
			len--;
		if ((copy = cm_req_alloc(req, len + 1)) == NULL)
			return CM_ENOMEM;
		memcpy(copy, s, len);
		copy[len] = '\0';
		s = copy;
	}
	if (blog_valid_chars(s, len) > maxchars) {
		snprintf(msg, sizeof(msg),
		    "is too long (maximum is %zu characters)", maxchars);
		return cm_req_fail(req, CM_EVALIDATION, key, msg);
	}
	f->s = s;
	f->len = len;
	return CM_OK;
}

int
blog_valid_blank(const struct blog_field *f)
{
	return !f->present || f->s == NULL || f->len == 0;
}

int
blog_valid_blank_text(const struct blog_field *f)
{
	size_t i;

	if (blog_valid_blank(f))
		return 1;
	for (i = 0; i < f->len; i++)
		if (f->s[i] != ' ' && f->s[i] != '\t' && f->s[i] != '\r' &&
		    f->s[i] != '\n')
			return 0;
	return 1;
}

enum cm_err
blog_valid_filled(
    struct cm_req *req, const struct blog_field *f, const char *key, int text)
{
	if (text ? blog_valid_blank_text(f) : blog_valid_blank(f))
		return cm_req_fail(req, CM_EVALIDATION, key, "can't be blank");
	return CM_OK;
}

enum cm_err
blog_valid_page(struct cm_req *req, long long *limit, long long *offset)
{
	const char *v;

	*limit = BLOG_LIMIT_DEFAULT;
	*offset = 0;
	v = cm_req_query(req, "limit");
	if (v != NULL && *v != '\0' &&
	    blog_valid_uint(v, BLOG_LIMIT_MAX, limit) != 0)
		return cm_req_fail(req, CM_EVALIDATION, "limit",
		    "must be a non-negative integer");
	v = cm_req_query(req, "offset");
	if (v != NULL && *v != '\0' &&
	    blog_valid_uint(v, BLOG_OFFSET_MAX, offset) != 0)
		return cm_req_fail(req, CM_EVALIDATION, "offset",
		    "must be a non-negative integer");
	return CM_OK;
}
