/*
 * blog_ident.c: identity versions, the outbox and its delivery to pay (see
 * blog_ident.h).
 *
 * Delivery is an HTTP POST of {"events": [<JWS>, ...]} to pay's internal
 * route on its admin port (which the edge does not proxy), tried on each
 * address of BLOG_IDENTITY_URLS in turn until one answers 200; only then
 * are the rows marked delivered, one by one (never by range: a row with a
 * lower seq may still be uncommitted and must not be marked unseen).
 * The events are signed with the blog's token key, so pay needs nothing it
 * does not already hold, and nobody who can merely reach the port (a pod
 * in the cluster, a scraper) can make one.
 */
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <curl/curl.h>
#include <jansson.h>

#include "blog_cache.h"
#include "blog_ident.h"
#include "cm_clock.h"
#include "cm_ident.h"
#include "cm_log.h"

/* One pending batch at most this big: 100 events are about 50 KB. */
#define BLOG_IDENT_BATCH 100

struct blog_ident_relay {
	pthread_t thread;
	pthread_mutex_t mu;
	pthread_cond_t cv;
	int stop;
	int kicked; /* a push failed: try again now, not at the next tick */
	int failing; /* the last attempt failed (log state changes only) */
};

enum cm_err
blog_ident_check(struct cm_req *req, const struct cm_jwt_claims *claims)
{
	struct blog_db *db = req->worker;
	long long ver = 0;
	enum cm_err rc;

	if (db == NULL)
		return CM_EUNAVAIL;
	rc = blog_cache_ident(req, claims->sub, &ver);
	if (rc == CM_ENOTFOUND)
		return CM_EAUTH; /* a token for a user that is gone */
	if (rc != CM_OK)
		return rc;
	/*
	 * Older than the user's version: revoked. Newer cannot be issued by
	 * this blog; it is refused too rather than trusted.
	 */
	return claims->ver != ver ? CM_EAUTH : CM_OK;
}

enum cm_err
blog_ident_record(struct blog_db *db, const char *rid, long long user_id,
    int bump, long long *seq)
{
	enum cm_err rc;

	if (bump && (rc = blog_db_user_ver_bump(db, rid, user_id)) != CM_OK)
		return rc;
	if ((rc = blog_db_outbox_add(db, rid, user_id, seq)) != CM_OK)
		return rc;
	return *seq > 0 ? CM_OK : CM_EDB;
}

/* Sign the current row of s (seq, user_id, ver, username) into events. */
static enum cm_err
blog_ident_sign_row(const struct blog_app *app, struct blog_db_stmt *s,
    json_t *events, long long *seq)
{
	struct cm_ident_event ev;
	char *jws = NULL;
	size_t len = blog_db_len(s, 3);
	enum cm_err rc;

	memset(&ev, 0, sizeof(ev));
	ev.seq = *seq = blog_db_int(s, 0);
	ev.sub = blog_db_int(s, 1);
	ev.ver = blog_db_int(s, 2);
	if (len == 0 || len >= sizeof(ev.username))
		return CM_EINVAL;
	memcpy(ev.username, blog_db_str(s, 3), len);
	if ((rc = cm_ident_encode(app->jwt, &ev, time(NULL), &jws)) != CM_OK)
		return rc;
	if (json_array_append_new(events, json_string(jws)) != 0)
		rc = CM_ENOMEM;
	free(jws);
	return rc;
}

/* libcurl's write callback: the answer is small, and ignored but for 200. */
static size_t
blog_ident_discard(char *ptr, size_t size, size_t n, void *ud)
{
	(void)ptr;
	(void)ud;
	return size * n;
}

/*
 * POST the events to each address in turn; CM_OK as soon as one answers
 * 200, CM_EUNAVAIL when none does (each is logged at debug level, the
 * caller decides what to say).
 */
static enum cm_err
blog_ident_send(
    const struct blog_app *app, const char *rid, const json_t *events)
{
	struct curl_slist *hdr = NULL;
	CURL *c = NULL;
	json_t *body = NULL;
	char *text = NULL;
	long status = 0;
	size_t i;
	CURLcode cc;
	enum cm_err rc = CM_ENOMEM;

	if ((body = json_pack("{s:O}", "events", events)) == NULL ||
	    (text = json_dumps(body, JSON_COMPACT)) == NULL ||
	    (c = curl_easy_init()) == NULL ||
	    (hdr = curl_slist_append(NULL, "Content-Type: application/json")) ==
	        NULL)
		goto out;
	rc = CM_EUNAVAIL;
	for (i = 0; i < app->npay_urls; i++) {
		curl_easy_reset(c);
		curl_easy_setopt(c, CURLOPT_URL, app->pay_urls[i]);
		curl_easy_setopt(c, CURLOPT_NOSIGNAL, 1L);
		curl_easy_setopt(c, CURLOPT_HTTPHEADER, hdr);
		curl_easy_setopt(c, CURLOPT_POSTFIELDS, text);
		curl_easy_setopt(c, CURLOPT_POSTFIELDSIZE, (long)strlen(text));
		curl_easy_setopt(c, CURLOPT_TIMEOUT_MS, app->ident_timeout_ms);
		curl_easy_setopt(c, CURLOPT_PROTOCOLS_STR, "http,https");
		curl_easy_setopt(c, CURLOPT_WRITEFUNCTION, blog_ident_discard);
		cc = curl_easy_perform(c);
		status = 0;
		if (cc == CURLE_OK)
			curl_easy_getinfo(c, CURLINFO_RESPONSE_CODE, &status);
		if (status == 200) {
			rc = CM_OK;
			break;
		}
		cm_log(CM_LOG_DEBUG, rid, "identity: %s: %s (HTTP %ld)",
		    app->pay_urls[i],
		    cc == CURLE_OK ? "refused" : curl_easy_strerror(cc),
		    status);
	}
out:
	curl_slist_free_all(hdr);
	if (c != NULL)
		curl_easy_cleanup(c);
	free(text);
	json_decref(body);
	return rc;
}

/* Mark rows delivered, one statement per row (see the top comment). */
static enum cm_err
blog_ident_done(
    struct blog_db *db, const char *rid, const long long *seqs, size_t n)
{
	enum cm_err rc;
	size_t i;

	for (i = 0; i < n; i++)
		if ((rc = blog_db_outbox_done(db, rid, seqs[i])) != CM_OK)
			return rc;
	return CM_OK;
}

/* Wake the relay thread now: to try again (a push failed), or to stop. */
static void
blog_ident_wake(struct blog_ident_relay *r, int stop)
{
	if (r == NULL)
		return;
	pthread_mutex_lock(&r->mu);
	if (stop)
		r->stop = 1;
	else
		r->kicked = 1;
	pthread_cond_signal(&r->cv);
	pthread_mutex_unlock(&r->mu);
}

/* Release the relay, whose thread has ended or never started. */
static void
blog_ident_relay_free(struct blog_app *app)
{
	struct blog_ident_relay *r = app->relay;

	app->relay = NULL;
	pthread_cond_destroy(&r->cv);
	pthread_mutex_destroy(&r->mu);
	free(r);
}

void
blog_ident_push(struct cm_req *req, long long seq)
{
	const struct blog_app *app = req->app;
	struct blog_db *db = req->worker;
	struct blog_db_stmt *s = NULL;
	json_t *events = NULL;
	enum cm_err rc = CM_ENOMEM;

	if (app->npay_urls == 0)
		return;
	if ((events = json_array()) == NULL)
		goto out;
	if ((rc = blog_db_outbox_get(db, req->request_id, seq, &s)) != CM_OK ||
	    (rc = blog_ident_sign_row(app, s, events, &seq)) != CM_OK ||
	    (rc = blog_ident_send(app, req->request_id, events)) != CM_OK)
		goto out;
	rc = blog_ident_done(db, req->request_id, &seq, 1);
out:
	if (rc != CM_OK) {
		cm_log(CM_LOG_WARN, req->request_id,
		    "identity event %lld not delivered now (%s); the relay "
		    "retries",
		    seq, cm_err_name(rc));
		blog_ident_wake(app->relay, 0);
	}
	blog_db_done(s);
	json_decref(events);
}

/*
 * One relay pass: up to BLOG_IDENT_BATCH undelivered rows, oldest first,
 * in one POST. Returns the number delivered, or -1 on failure.
 */
static long
blog_ident_relay_pass(const struct blog_app *app, struct blog_db *db)
{
	long long seqs[BLOG_IDENT_BATCH];
	struct blog_db_stmt *s = NULL;
	json_t *events = NULL;
	size_t n = 0;
	long ret = -1;
	enum cm_err rc;

	if ((events = json_array()) == NULL)
		goto out;
	if (blog_db_outbox_pending(db, "relay", &s) != CM_OK)
		goto out;
	while (n < BLOG_IDENT_BATCH &&
	    (rc = blog_db_fetch(db, "relay", s)) == CM_OK) {
		if ((rc = blog_ident_sign_row(app, s, events, &seqs[n])) !=
		    CM_OK) {
			cm_log(CM_LOG_ERROR, "relay",
			    "identity event %lld cannot be signed: %s", seqs[n],
			    cm_err_name(rc));
			goto out;
		}
		n++;
	}
	if (rc != CM_OK && rc != CM_ENOTFOUND)
		goto out;
	blog_db_done(s);
	s = NULL;
	if (n == 0) {
		ret = 0;
		goto out;
	}
	if (blog_ident_send(app, "relay", events) != CM_OK ||
	    blog_ident_done(db, "relay", seqs, n) != CM_OK)
		goto out;
	ret = (long)n;
out:
	blog_db_done(s);
	json_decref(events);
	return ret;
}

static void *
blog_ident_relay_main(void *arg)
{
	struct blog_app *app = arg;
	struct blog_ident_relay *r = app->relay;
	struct blog_db *db;
	struct timespec until;
	long n;

	if ((db = blog_db_new(app, 1, 2)) == NULL) {
		cm_log(CM_LOG_ERROR, NULL, "identity relay: out of memory");
		return NULL;
	}
	for (;;) {
		n = blog_ident_relay_pass(app, db);
		if (n < 0 && !r->failing)
			cm_log(CM_LOG_WARN, "relay",
			    "identity relay: pay did not acknowledge; retrying "
			    "every %ld ms",
			    app->ident_relay_ms);
		else if (n >= 0 && r->failing)
			cm_log(CM_LOG_INFO, "relay",
			    "identity relay: delivering again");
		r->failing = n < 0;
		if (n > 0)
			cm_log(CM_LOG_INFO, "relay",
			    "identity relay: %ld event(s) delivered", n);
		pthread_mutex_lock(&r->mu);
		/* A full batch: more may wait, go on at once. */
		if (n < BLOG_IDENT_BATCH && !r->stop && !r->kicked) {
			until = cm_clock_deadline(
			    CLOCK_REALTIME, app->ident_relay_ms * 1000LL);
			(void)pthread_cond_timedwait(&r->cv, &r->mu, &until);
		}
		r->kicked = 0;
		if (r->stop) {
			pthread_mutex_unlock(&r->mu);
			break;
		}
		pthread_mutex_unlock(&r->mu);
	}
	blog_db_free(db);
	return NULL;
}

int
blog_ident_relay_start(struct blog_app *app)
{
	struct blog_ident_relay *r;

	if (app->npay_urls == 0) {
		cm_log(CM_LOG_WARN, NULL,
		    "BLOG_IDENTITY_URLS is not set: identity changes wait in "
		    "the outbox and pay does not learn them");
		return 0;
	}
	if ((r = calloc(1, sizeof(*r))) == NULL)
		return -1;
	pthread_mutex_init(&r->mu, NULL);
	pthread_cond_init(&r->cv, NULL);
	app->relay = r;
	if (pthread_create(&r->thread, NULL, blog_ident_relay_main, app) != 0) {
		cm_log(CM_LOG_ERROR, NULL, "cannot start the identity relay");
		blog_ident_relay_free(app);
		return -1;
	}
	return 0;
}

void
blog_ident_relay_stop(struct blog_app *app)
{
	struct blog_ident_relay *r = app->relay;

	if (r == NULL)
		return;
	blog_ident_wake(r, 1);
	pthread_join(r->thread, NULL);
	blog_ident_relay_free(app);
}
