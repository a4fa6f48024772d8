/*
 * cm_server.h: the multi-threaded FastCGI server both binaries run.
 *
 * One poller thread (cm_poller.c) accepts connections and watches the idle
 * kept-alive ones; WORKERS threads take connections that carry a request
 * from it, and each owns a worker context opened at start (one database
 * connection). SERVER_ACCEPT_IN_WORKERS=1 instead has every worker accept
 * on the shared listening socket, libfcgi's classic loop. A request goes:
 * route (404/405), body size (413), token (401), body read and JSON parse
 * (400), handler, response, access log, release.
 */
#ifndef CM_SERVER_H
#define CM_SERVER_H

#include <stddef.h>

#include "cm_jwt.h"
#include "cm_req.h"
#include "cm_router.h"

/*
 * Fill resp with an error in the service's format, with the HTTP status
 * cm_err_status(code). code says what went wrong (CM_EAUTH, CM_EEXPIRED,
 * CM_EREVOKED, CM_EBADJSON, ...), so a service picks its own codes from it;
 * key is the field or resource ("token", "query", "route") and msg a
 * sentence fragment for the client ("is missing"), both for the message
 * only.
 *
 * The handler contract: a handler that answered (success or a client error
 * in its own words) returns CM_OK with req->resp filled. Any other code
 * means "not answered": the pipeline discards whatever the handler left in
 * req->resp and answers with this callback and that code, logging 5xx. A
 * client error in the handler's own words is such a code too: the handler
 * returns cm_req_fail(req, code, key, msg) and the callback gets code, key
 * and msg (cm_server_answer_error).
 */
typedef void (*cm_error_fn)(
    struct cm_resp *resp, enum cm_err code, const char *key, const char *msg);

/*
 * Answer req with err through error, as the pipeline answers a handler
 * that returned err: the handler's own words when it failed with
 * cm_req_fail(req, err, ...) and err is a client error, generic words
 * otherwise (never a 5xx's detail); Retry-After on a 503 (1 s) or where
 * the handler set req->fail_retry_after. For wrappers that must keep a
 * client error's answer (the blog's Idempotency-Key store).
 */
void cm_server_answer_error(
    cm_error_fn error, struct cm_req *req, enum cm_err err);

struct cm_server_conf {
	const char *service; /* "blog", "pay": metrics label */
	const char *listen; /* "host:port", ":port" or a socket path */
	const char *admin_listen; /* HTTP probes/metrics, NULL for none */
	int workers;
	size_t max_body;
	int shutdown_grace; /* seconds */
	const struct cm_route *routes;
	size_t nroutes;
	const struct cm_jwt *jwt; /* for CM_AUTH_* routes */
	cm_error_fn error;
	void *app; /* passed to every request */
	/*
	 * Called once in each worker thread before it serves; the result is
	 * req->worker. May return NULL (e.g. the database is down: the service
	 * reconnects lazily). close is called at thread exit.
	 */
	void *(*worker_open)(void *app, int idx);
	/*
	 * Called after a token verified (signature and claims, possibly from
	 * the per-thread cache), on every request, with req->worker ready: the
	 * service checks the token against what it knows now (the user's
	 * identity version) and may correct req->username. CM_EAUTH answers
	 * 401 "token has been revoked" (the error callback gets CM_EREVOKED);
	 * another error answers as a handler's would (CM_EUNAVAIL: 503).
	 * NULL: tokens are only verified.
	 */
	enum cm_err (*auth_check)(
	    struct cm_req *req, const struct cm_jwt_claims *claims);
	void (*worker_close)(void *worker);
	/*
	 * Optional: runs the matched route's handler (the blog's
	 * Idempotency-Key store wraps its writes this way); NULL calls the
	 * handler directly. Same contract as a handler.
	 */
	enum cm_err (*around)(struct cm_req *req, cm_handler handler);
	/*
	 * Optional: called in the worker thread after each response has been
	 * sent, off every request's path (housekeeping such as pruning).
	 */
	void (*after)(void *worker);
};

/*
 * Open the listening socket, start the workers and serve until SIGTERM or
 * SIGINT; then stop accepting, let requests in flight finish within
 * shutdown_grace seconds (a second signal or the deadline forces the exit)
 * and return 0. Returns -1 (logged) when it cannot start.
 */
int cm_server_run(const struct cm_server_conf *conf);

/* True once a shutdown signal was taken (readiness goes false). */
int cm_server_draining(void);

/*
 * Run one request through the pipeline without FastCGI (used by the server
 * and by unit tests): req must have method, path, query_string, body set.
 */
void cm_server_dispatch(const struct cm_server_conf *conf, struct cm_req *req);

#endif
