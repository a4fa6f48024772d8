/*
 * blog_idem.c: the Idempotency-Key store of the blog's writes.
 *
 * A write with a key: take a named lock on (user, key) without waiting (held
 * elsewhere: 409, the first request still runs), look the key up (found:
 * the same fingerprint replays the stored answer, another is a 422), else
 * run the handler inside one transaction and store its answer in that same
 * transaction, so that the write and its key commit together or not at all.
 * The PRIMARY KEY on (user, key) is the last guard: should the lock have
 * been lost with a dropped connection, the second store fails, its write
 * rolls back and the stored answer is replayed.
 *
 * Stored: every answer of a request that executed, 2xx and 4xx alike,
 * except 401 (the token's user is gone) and 409; never a 5xx, which rolls
 * the write back so that a retry with the same key runs it again.
 */
#include <stdlib.h>
#include <string.h>

#include "blog.h"
#include "blog_db.h"
#include "blog_error.h"
#include "blog_idem.h"
#include "cm_clock.h"
#include "cm_idem.h"
#include "cm_json.h"
#include "cm_log.h"
#include "cm_server.h"

#define BLOG_IDEM_PRUNE_EVERY_MS 60000LL

/* Per worker thread: when its next prune may run. */
static __thread long long blog_idem_next_prune;

static int
blog_idem_applies(const struct cm_req *req)
{
	const char *m = req->method;

	if (req->idempotency_key == NULL || *req->idempotency_key == '\0' ||
	    req->user_id == 0)
		return 0;
	return strcmp(m, "POST") == 0 || strcmp(m, "PUT") == 0 ||
	    strcmp(m, "DELETE") == 0;
}

/* Lock the key: 1 taken, 0 held by another request; or an error. */
static enum cm_err
blog_idem_lock(struct blog_db *db, struct cm_req *req, int *taken)
{
	return blog_db_idem_lock(
	    db, req->request_id, req->user_id, req->idempotency_key, taken);
}

static void
blog_idem_unlock(struct blog_db *db, struct cm_req *req)
{
	blog_db_idem_unlock(
	    db, req->request_id, req->user_id, req->idempotency_key);
}

/*
 * Answer from the stored row, if any: *found 1 and the response filled (a
 * replay), or the request failed with 422 (another request under the key).
 */
static enum cm_err
blog_idem_lookup(
    struct blog_db *db, struct cm_req *req, const char *fp, int *found)
{
	struct blog_db_stmt *s = NULL;
	const char *stored_fp, *body;
	char *raw = NULL;
	size_t len;
	enum cm_err rc;
	int status;

	*found = 0;
	rc = blog_db_idem_get(
	    db, req->request_id, req->user_id, req->idempotency_key, &s);
	if (rc == CM_ENOTFOUND) {
		rc = CM_OK;
		goto out;
	}
	if (rc != CM_OK)
		goto out;
	*found = 1;
	stored_fp = blog_db_str(s, 0);
	if (stored_fp == NULL || strcmp(stored_fp, fp) != 0) {
		rc = cm_req_fail(req, CM_EVALIDATION, "Idempotency-Key",
		    "was already used with a different request");
		goto out;
	}
	status = (int)blog_db_int(s, 1);
	body = blog_db_str(s, 2);
	len = blog_db_len(s, 2);
	cm_resp_clear(&req->resp);
	if (len == 0) {
		cm_resp_empty(&req->resp, status);
	} else {
		if ((raw = malloc(len)) == NULL) {
			rc = CM_ENOMEM;
			goto out;
		}
		memcpy(raw, body, len);
		if ((rc = cm_resp_raw(&req->resp, status, raw, len)) != CM_OK)
			goto out;
	}
	rc = cm_resp_header(&req->resp, "Idempotent-Replayed", "true");
out:
	blog_db_done(s);
	return rc;
}

/*
 * Store the handler's answer under the key, inside the handler's
 * transaction. The body is serialised here once and sent as stored, so a
 * replay is byte for byte the first answer.
 */
static enum cm_err
blog_idem_store(struct blog_db *db, struct cm_req *req, const char *fp)
{
	char *dump = NULL;
	size_t len = 0;
	enum cm_err rc;

	if (req->resp.raw == NULL && req->resp.body != NULL) {
		if ((dump = cm_json_dump(req->resp.body, &len)) == NULL)
			return CM_ENOMEM;
		json_decref(req->resp.body);
		req->resp.body = NULL;
		if ((rc = cm_resp_raw(
		         &req->resp, req->resp.status, dump, len)) != CM_OK)
			return rc;
	}
	return blog_db_idem_put(db, req->request_id, req->user_id,
	    req->idempotency_key, fp, req->resp.status,
	    req->resp.raw != NULL ? req->resp.raw : "",
	    req->resp.raw != NULL ? req->resp.raw_len : 0);
}

/* Run the handler and store its answer, all in one transaction. */
static enum cm_err
blog_idem_execute(
    struct blog_db *db, struct cm_req *req, cm_handler handler, const char *fp)
{
	enum cm_err rc, hrc;
	int status, found;

	if ((rc = blog_db_outer_begin(db, req->request_id)) != CM_OK)
		return rc;
	hrc = handler(req);
	status = hrc == CM_OK ? req->resp.status : cm_err_status(hrc);
	if (status == 0 || status >= 500 || status == 401 || status == 409) {
		/* Not an outcome to keep: nothing of it stays either. */
		blog_db_outer_abort(db, req->request_id);
		return hrc;
	}
	if (hrc != CM_OK)
		/* A client error is an outcome: answered here to be stored. */
		cm_server_answer_error(blog_error, req, hrc);
	rc = blog_idem_store(db, req, fp);
	if (rc == CM_ECONFLICT) {
		/* Another request stored this key first: answer with it. */
		blog_db_outer_abort(db, req->request_id);
		rc = blog_idem_lookup(db, req, fp, &found);
		return rc == CM_OK && !found ? CM_EDB : rc;
	}
	if (rc == CM_OK)
		rc = blog_db_outer_commit(db, req->request_id);
	else
		blog_db_outer_abort(db, req->request_id);
	if (rc != CM_OK)
		/* Not committed: neither the write nor its key exist. */
		cm_resp_clear(&req->resp);
	return rc;
}

enum cm_err
blog_idem_around(struct cm_req *req, cm_handler handler)
{
	struct blog_db *db = req->worker;
	char fp[CM_IDEM_FP_LEN + 1];
	enum cm_err rc;
	int taken = 0, found = 0;

	if (!blog_idem_applies(req))
		return handler(req);
	if (cm_idem_key_check(req->idempotency_key) != CM_OK) {
		return cm_req_fail(req, CM_EINVAL, "Idempotency-Key",
		    "must be 1 to 255 printable ASCII characters");
	}
	if ((rc = cm_idem_fingerprint(req->method, req->path, req->body,
	         req->body_len, fp)) != CM_OK)
		return rc;
	if ((rc = blog_db_ready(db, req->request_id)) != CM_OK ||
	    (rc = blog_idem_lock(db, req, &taken)) != CM_OK)
		return rc;
	if (!taken) {
		return cm_req_fail(req, CM_ECONFLICT, "Idempotency-Key",
		    "is in use by a request still in progress; retry later");
	}
	rc = blog_idem_lookup(db, req, fp, &found);
	if (rc == CM_OK && !found)
		rc = blog_idem_execute(db, req, handler, fp);
	blog_idem_unlock(db, req);
	return rc;
}

void
blog_idem_prune(void *worker)
{
	struct blog_db *db = worker;
	const struct blog_app *app;
	long long now = cm_clock_ms();

	if (db == NULL || now < blog_idem_next_prune)
		return;
	/* Workers start their minutes at their first requests: spread. */
	blog_idem_next_prune = now + BLOG_IDEM_PRUNE_EVERY_MS;
	app = blog_db_app(db);
	if (blog_db_ready(db, "-") != CM_OK)
		return;
	(void)blog_db_idem_prune(db, "-", app->idem_ttl_hours);
}
