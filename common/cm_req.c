/*
 * cm_req.c: request-lifetime memory, query strings and the response a
 * handler fills.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "cm_req.h"
#include "cm_url.h"

#define CM_ARENA_CHUNK 4096
#define CM_QUERY_MAX 64 /* parameters kept from one query string */

/*
 * A chunk list: small allocations are carved from the newest chunk, larger
 * ones get a chunk of their own. Everything is freed at once by
 * cm_req_reset.
 */
struct cm_arena_chunk {
	struct cm_arena_chunk *next;
	size_t size;
	size_t used;
	_Alignas(max_align_t) unsigned char data[];
};

void *
cm_req_alloc(struct cm_req *req, size_t size)
{
	struct cm_arena_chunk *c = req->arena;
	size_t align = _Alignof(max_align_t), cap;
	void *p;

	size = (size + align - 1) & ~(align - 1);
	if (size == 0)
		size = align;
	if (c == NULL || c->size - c->used < size) {
		cap = size > CM_ARENA_CHUNK ? size : CM_ARENA_CHUNK;
		if (cap > SIZE_MAX - sizeof(*c))
			return NULL;
		if ((c = malloc(sizeof(*c) + cap)) == NULL)
			return NULL;
		c->size = cap;
		c->used = 0;
		c->next = req->arena;
		req->arena = c;
	}
	p = c->data + c->used;
	c->used += size;
	return p;
}

char *
cm_req_strdup(struct cm_req *req, const char *s)
{
	size_t n = strlen(s) + 1;
	char *p;

	if ((p = cm_req_alloc(req, n)) != NULL)
		memcpy(p, s, n);
	return p;
}

enum cm_err
cm_req_decode(
    struct cm_req *req, const char *src, size_t len, int plus_space, char **out)
{
	char *dst;

	*out = NULL;
	if ((dst = cm_req_alloc(req, len + 1)) == NULL)
		return CM_ENOMEM;
	if (cm_url_decode(src, len, plus_space, dst) < 0)
		return CM_EINVAL;
	*out = dst;
	return CM_OK;
}

enum cm_err
cm_req_parse_query(struct cm_req *req, const char *qs)
{
	const char *p = qs, *amp, *eq;
	struct cm_qparam *q;
	enum cm_err rc;
	size_t n = 0;

	req->query = NULL;
	req->nquery = 0;
	if (qs == NULL || *qs == '\0')
		return CM_OK;
	if ((q = cm_req_alloc(req, CM_QUERY_MAX * sizeof(*q))) == NULL)
		return CM_ENOMEM;
	while (*p != '\0' && n < CM_QUERY_MAX) {
		amp = strchr(p, '&');
		if (amp == NULL)
			amp = p + strlen(p);
		if (amp == p) {
			p++;
			continue;
		}
		eq = memchr(p, '=', (size_t)(amp - p));
		if (eq == NULL) {
			rc = cm_req_decode(
			    req, p, (size_t)(amp - p), 1, &q[n].key);
			if (rc == CM_OK)
				q[n].value = cm_req_strdup(req, "");
		} else {
			rc = cm_req_decode(
			    req, p, (size_t)(eq - p), 1, &q[n].key);
			if (rc == CM_OK)
				rc = cm_req_decode(req, eq + 1,
				    (size_t)(amp - eq - 1), 1, &q[n].value);
		}
		if (rc != CM_OK)
			return rc;
		if (q[n].value == NULL)
			return CM_ENOMEM;
		n++;
		p = *amp == '\0' ? amp : amp + 1;
	}
	req->query = q;
	req->nquery = n;
	return CM_OK;
}

enum cm_err
cm_req_fail(
    struct cm_req *req, enum cm_err code, const char *key, const char *msg)
{
	char *k = cm_req_strdup(req, key), *m = cm_req_strdup(req, msg);

	if (k == NULL || m == NULL)
		return CM_ENOMEM;
	req->fail_code = code;
	req->fail_key = k;
	req->fail_msg = m;
	req->fail_retry_after = 0;
	return code;
}

const char *
cm_req_query(const struct cm_req *req, const char *key)
{
	size_t i;

	for (i = 0; i < req->nquery; i++)
		if (strcmp(req->query[i].key, key) == 0)
			return req->query[i].value;
	return NULL;
}

const char *
cm_req_param(const struct cm_req *req, const char *name)
{
	size_t i;

	for (i = 0; i < req->nparams; i++)
		if (strcmp(req->pname[i], name) == 0)
			return req->pvalue[i];
	return NULL;
}

void
cm_resp_clear(struct cm_resp *resp)
{
	size_t i;

	json_decref(resp->body);
	free(resp->raw);
	for (i = 0; i < resp->nheaders; i++)
		free(resp->hvalue[i]);
	memset(resp, 0, sizeof(*resp));
}

enum cm_err
cm_resp_json(struct cm_resp *resp, int status, json_t *body)
{
	json_decref(resp->body);
	free(resp->raw);
	resp->raw = NULL;
	resp->raw_len = 0;
	resp->status = status;
	resp->body = body;
	return body != NULL ? CM_OK : CM_ENOMEM;
}

enum cm_err
cm_resp_wrap(struct cm_resp *resp, int status, const char *key, json_t *value)
{
	json_t *body = json_object();

	if (body == NULL) {
		json_decref(value);
		return cm_resp_json(resp, status, NULL);
	}
	/* json_object_set_new takes value, also when it fails (or is NULL). */
	if (json_object_set_new(body, key, value) != 0) {
		json_decref(body);
		body = NULL;
	}
	return cm_resp_json(resp, status, body);
}

enum cm_err
cm_resp_raw(struct cm_resp *resp, int status, char *raw, size_t len)
{
	json_decref(resp->body);
	resp->body = NULL;
	free(resp->raw);
	resp->status = status;
	resp->raw = raw;
	resp->raw_len = len;
	return raw != NULL ? CM_OK : CM_ENOMEM;
}

void
cm_resp_empty(struct cm_resp *resp, int status)
{
	json_decref(resp->body);
	resp->body = NULL;
	free(resp->raw);
	resp->raw = NULL;
	resp->raw_len = 0;
	resp->status = status;
}

enum cm_err
cm_resp_header(struct cm_resp *resp, const char *name, const char *value)
{
	char *v;

	if (resp->nheaders >= CM_RESP_MAX_HEADERS)
		return CM_EINTERNAL;
	/* A header value must not be able to start another header. */
	if (strpbrk(value, "\r\n") != NULL)
		return CM_EINVAL;
	if ((v = strdup(value)) == NULL)
		return CM_ENOMEM;
	resp->hname[resp->nheaders] = name;
	resp->hvalue[resp->nheaders] = v;
	resp->nheaders++;
	return CM_OK;
}

void
cm_req_reset(struct cm_req *req)
{
	struct cm_arena_chunk *c, *next;
	size_t i;

	for (c = req->arena; c != NULL; c = next) {
		next = c->next;
		free(c);
	}
	req->arena = NULL;
	json_decref(req->json);
	req->json = NULL;
	free(req->body);
	req->body = NULL;
	req->body_len = 0;
	req->body_too_big = 0;
	req->query = NULL;
	req->nquery = 0;
	for (i = 0; i < CM_REQ_MAX_PARAMS; i++) {
		req->pname[i] = NULL;
		req->pvalue[i] = NULL;
	}
	req->nparams = 0;
	req->route = NULL;
	req->matched = NULL;
	req->user_id = 0;
	req->username[0] = '\0';
	req->token = NULL;
	req->data_version = 0;
	req->fail_code = CM_OK;
	req->fail_key = NULL;
	req->fail_msg = NULL;
	req->fail_retry_after = 0;
	cm_resp_clear(&req->resp);
}
