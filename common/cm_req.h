/*
 * cm_req.h: one FastCGI request as the handlers see it, and the response they
 * fill. The server (cm_server.c) writes the response; handlers never touch
 * the FastCGI stream.
 *
 * Lifetimes: everything reachable from a struct cm_req is released by the
 * server after the response is written (request lifetime). Strings obtained
 * with cm_req_* are borrowed from the request. Memory from cm_req_alloc and
 * cm_req_strdup dies with the request.
 */
#ifndef CM_REQ_H
#define CM_REQ_H

#include <stddef.h>

#include <jansson.h>

#include "cm_err.h"
#include "cm_jwt.h"

#define CM_REQ_MAX_PARAMS 4
#define CM_RESP_MAX_HEADERS 8

struct cm_qparam {
	char *key; /* percent-decoded */
	char *value; /* percent-decoded, "" when absent */
};

struct cm_resp {
	int status; /* 0 until set */
	json_t *body; /* owned; NULL for an empty body */
	char *raw; /* owned; pre-serialised JSON, wins over body */
	size_t raw_len;
	const char *hname[CM_RESP_MAX_HEADERS]; /* static strings */
	char *hvalue[CM_RESP_MAX_HEADERS]; /* owned */
	size_t nheaders;
};

struct cm_arena_chunk;

struct cm_req {
	/* From FastCGI params; borrowed, valid for the request. */
	const char *method;
	const char *path; /* DOCUMENT_URI, else SCRIPT_NAME+PATH_INFO */
	const char *query_string; /* raw, "" when absent */
	const char *content_type; /* NULL when absent */
	const char *authorization; /* NULL when absent */
	const char *idempotency_key; /* NULL when absent */
	const char
	    *repeated_header; /* a once-only header sent twice, or NULL */
	const char *request_id; /* "-" when absent */
	const char *remote_addr;

	/* Body: read by the server, NUL-terminated, body_len excludes NUL. */
	char *body;
	size_t body_len;
	json_t *json; /* parsed body, NULL when empty */
	int body_too_big; /* over max_body: answered 413 */

	struct cm_qparam *query;
	size_t nquery;

	/* Route parameters, percent-decoded, in pattern order. */
	const char *pname[CM_REQ_MAX_PARAMS];
	char *pvalue[CM_REQ_MAX_PARAMS];
	size_t nparams;
	const char *route; /* the matched pattern, for logs */
	const struct cm_route *matched; /* NULL when no route matched */

	/* Identity from a verified token; user_id 0 when anonymous. */
	long long user_id;
	char username[CM_JWT_USERNAME_MAX + 1];
	const char *token; /* the raw token, NULL when anonymous */

	/* Came through the admin port, not FastCGI (CM_ROUTE_INTERNAL). */
	int internal;

	/*
	 * The service's data version as read for this request, once (blog:
	 * blog_cache.c); 0 until then.
	 */
	long long data_version;

	/*
	 * A client error a handler returns in its own words (cm_req_fail):
	 * the pipeline answers fail_code with them through the service's
	 * error callback. Request-lifetime copies.
	 */
	enum cm_err fail_code;
	const char *fail_key;
	const char *fail_msg;
	long long fail_retry_after; /* seconds for Retry-After; 0: none */

	void *worker; /* per-worker context (DB connection) */
	void *app; /* process-wide context of the service */
	int worker_idx;

	struct cm_resp resp;
	struct cm_arena_chunk *arena;
};

/* Request-lifetime allocation; NULL on out of memory. */
void *cm_req_alloc(struct cm_req *req, size_t size);
char *cm_req_strdup(struct cm_req *req, const char *s);

/*
 * Fail the request with a client error in the service's own words: keep
 * key and msg (copied) for the error callback and return code, so that a
 * helper deep in a handler can "return cm_req_fail(req, CM_EVALIDATION,
 * "title", "can't be blank");" and every caller passes the code up.
 * CM_ENOMEM when the copies cannot be made.
 */
enum cm_err cm_req_fail(
    struct cm_req *req, enum cm_err code, const char *key, const char *msg);

/* First value of query key, or NULL when absent. */
const char *cm_req_query(const struct cm_req *req, const char *key);

/* Route parameter by name (without ':'), or NULL. */
const char *cm_req_param(const struct cm_req *req, const char *name);

/*
 * Parse a raw query string into req->query (percent-decoding, '+' as space,
 * repeated keys kept in order). CM_EINVAL on a malformed escape.
 */
enum cm_err cm_req_parse_query(struct cm_req *req, const char *qs);

/*
 * Percent-decode src into a new request-lifetime string. plus_space turns
 * '+' into ' ' (query strings). CM_EINVAL on a bad escape or an embedded NUL.
 */
enum cm_err cm_req_decode(struct cm_req *req, const char *src, size_t len,
    int plus_space, char **out);

/* Release everything the request owns (arena, query, json, response). */
void cm_req_reset(struct cm_req *req);

/*
 * Response builders. The json variants take ownership of body (also on
 * failure). Each returns CM_OK or CM_ENOMEM.
 */
enum cm_err cm_resp_json(struct cm_resp *resp, int status, json_t *body);
/* The body {"<key>": value}, the one-member envelope both APIs use. */
enum cm_err cm_resp_wrap(
    struct cm_resp *resp, int status, const char *key, json_t *value);
enum cm_err cm_resp_raw(
    struct cm_resp *resp, int status, char *raw, size_t len);
void cm_resp_empty(struct cm_resp *resp, int status);
enum cm_err cm_resp_header(
    struct cm_resp *resp, const char *name, const char *value);
void cm_resp_clear(struct cm_resp *resp);

#endif
