/*
 * blog_tags.c: tag lists and GET /api/tags.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "blog.h"
#include "blog_db.h"
#include "blog_error.h"
#include "blog_tags.h"
#include "blog_valid.h"

static int
blog_tags_cmp(const void *a, const void *b)
{
	return strcmp(*(const char *const *)a, *(const char *const *)b);
}

enum cm_err
blog_tags_parse(struct cm_req *req, const json_t *arr, const char ***tags,
    size_t *ntags, char **joined)
{
	const char **t;
	char msg[96], *copy, *out;
	size_t i, k, n = 0, len, total = 0;
	json_t *v;

	*tags = NULL;
	*ntags = 0;
	*joined = NULL;
	if (!json_is_array(arr))
		return cm_req_fail(req, CM_EVALIDATION, "tagList",
		    "must be an array of strings");
	if (json_array_size(arr) > (size_t)BLOG_TAGS_MAX * 4) {
		snprintf(msg, sizeof(msg), "is too long (maximum is %d tags)",
		    BLOG_TAGS_MAX);
		return cm_req_fail(req, CM_EVALIDATION, "tagList", msg);
	}
	t = cm_req_alloc(req, (json_array_size(arr) + 1) * sizeof(*t));
	if (t == NULL)
		return CM_ENOMEM;
	json_array_foreach(arr, i, v)
	{
		const char *s;

		if (!json_is_string(v))
			return cm_req_fail(req, CM_EVALIDATION, "tagList",
			    "must be an array of strings");
		s = json_string_value(v);
		len = json_string_length(v);
		if (strlen(s) != len)
			return cm_req_fail(req, CM_EVALIDATION, "tagList",
			    "must not contain NUL characters");
		while (len > 0 && (*s == ' ' || *s == '\t')) {
			s++;
			len--;
		}
		while (len > 0 && (s[len - 1] == ' ' || s[len - 1] == '\t'))
			len--;
		if (len == 0)
			continue;
		for (k = 0; k < len; k++)
			if ((unsigned char)s[k] < 0x20 || s[k] == 0x7f)
				return cm_req_fail(req, CM_EVALIDATION,
				    "tagList",
				    "must not contain control characters");
		if (blog_valid_chars(s, len) > BLOG_TAG_MAX) {
			snprintf(msg, sizeof(msg),
			    "has a tag that is too long "
			    "(maximum is %d characters)",
			    BLOG_TAG_MAX);
			return cm_req_fail(req, CM_EVALIDATION, "tagList", msg);
		}
		if ((copy = cm_req_alloc(req, len + 1)) == NULL)
			return CM_ENOMEM;
		memcpy(copy, s, len);
		copy[len] = '\0';
		t[n++] = copy;
	}
	qsort(t, n, sizeof(*t), blog_tags_cmp);
	for (i = 0, k = 0; i < n; i++)
		if (k == 0 || strcmp(t[k - 1], t[i]) != 0)
			t[k++] = t[i];
	n = k;
	if (n > BLOG_TAGS_MAX) {
		snprintf(msg, sizeof(msg), "is too long (maximum is %d tags)",
		    BLOG_TAGS_MAX);
		return cm_req_fail(req, CM_EVALIDATION, "tagList", msg);
	}
	for (i = 0; i < n; i++)
		total += strlen(t[i]) + 1;
	if ((out = cm_req_alloc(req, total + 1)) == NULL)
		return CM_ENOMEM;
	out[0] = '\0';
	for (i = 0, k = 0; i < n; i++) {
		len = strlen(t[i]);
		if (i > 0)
			out[k++] = BLOG_TAGS_SEP;
		memcpy(out + k, t[i], len);
		k += len;
	}
	out[k] = '\0';
	*tags = t;
	*ntags = n;
	*joined = out;
	return CM_OK;
}

json_t *
blog_tags_json(const char *joined, size_t len)
{
	const char *p, *end, *sep;
	json_t *arr;

	if ((arr = json_array()) == NULL)
		return NULL;
	if (joined == NULL)
		return arr;
	for (p = joined, end = joined + len; p < end; p = sep + 1) {
		if ((sep = memchr(p, BLOG_TAGS_SEP, (size_t)(end - p))) == NULL)
			sep = end;
		if (sep > p &&
		    json_array_append_new(
		        arr, json_stringn_nocheck(p, (size_t)(sep - p))) != 0) {
			json_decref(arr);
			return NULL;
		}
	}
	return arr;
}

/* A tag of the current row of blog_db_tags, as a JSON string. */
static json_t *
blog_tags_name_json(struct blog_db_stmt *s)
{
	return json_stringn_nocheck(blog_db_str(s, 0), blog_db_len(s, 0));
}

static enum cm_err
blog_tags_list(struct cm_req *req)
{
	struct blog_db_stmt *s = NULL;
	enum cm_err rc;

	rc = blog_db_tags(req->worker, req->request_id, &s);
	return blog_db_rows_answer(req, rc, s, "tags", blog_tags_name_json);
}

const struct cm_route blog_tags_routes[] = {
    {"GET", "/api/tags", blog_tags_list, CM_AUTH_NONE, CM_ROUTE_CACHE},
    {0},
};
