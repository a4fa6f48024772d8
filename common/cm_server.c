/*
 * cm_server.c: the FastCGI worker pool and the request pipeline.
 *
 * By default the poller (cm_poller.c) owns the listening socket and every
 * idle connection, and workers take from it only connections that carry a
 * request, so an idle kept-alive connection never pins a worker. With
 * SERVER_ACCEPT_IN_WORKERS=1 every worker calls FCGX_Accept_r on the shared
 * listening socket instead; accept() is thread-safe on Linux, so no accept
 * mutex is taken (DESIGN.md measured a mutex collapsing throughput).
 * Signals are blocked in every thread and taken synchronously by the main
 * thread with sigtimedwait. Shutdown (cm_server_stop_listening): the
 * listening socket goes (new connects fail, nginx passes those requests on),
 * the kept-alive connections nginx holds are served until nginx retires them
 * (never closed here before the grace deadline: see cm_poller_drain), and
 * the main thread joins the workers.
 */
#include <errno.h>
#include <pthread.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include <fcgiapp.h>

#include "cm_admin.h"
#include "cm_clock.h"
#include "cm_config.h"
#include "cm_json.h"
#include "cm_log.h"
#include "cm_metrics.h"
#include "cm_poller.h"
#include "cm_server.h"

#define CM_SERVER_BACKLOG 1024
#define CM_SERVER_DRAIN_MAX ((size_t)4 * 1024 * 1024)

struct cm_worker {
	const struct cm_server_conf *conf;
	pthread_t thread;
	int idx;
	int listen_fd;
	int started;
	struct cm_poller *poller; /* NULL: the worker accepts itself */
};

static atomic_int cm_server_stopping;
static atomic_int cm_server_live; /* workers not yet returned */

int
cm_server_draining(void)
{
	return atomic_load(&cm_server_stopping);
}

void
cm_server_answer_error(cm_error_fn error, struct cm_req *req, enum cm_err err)
{
	int status = cm_err_status(err), own = req->fail_code == err;
	long long after = status == 503 ? 1 : 0;
	char buf[24];

	cm_resp_clear(&req->resp);
	if (status < 500 && own && req->fail_key != NULL)
		error(&req->resp, err, req->fail_key, req->fail_msg);
	else if (status == 503)
		/*
		 * Every 503 is temporary (a database outage, a full password
		 * hashing budget): say when to come back.
		 */
		error(&req->resp, err, "server",
		    "is temporarily unavailable, retry later");
	else if (status >= 500)
		error(&req->resp, err, "server", "internal error");
	else
		/* Generic words for a client code returned without its own. */
		error(&req->resp, err, "request",
		    status == 404       ? "not found"
		        : status == 403 ? "is forbidden"
		        : status == 409 ? "conflicts with the current state"
		        : status == 413 ? "is too large"
		        : status == 401 ? "is not authenticated"
		        : status == 429 ? "is refused for now, retry later"
		                        : "is invalid");
	if (req->resp.status == 0)
		req->resp.status = status;
	if (own && req->fail_retry_after > 0)
		after = req->fail_retry_after;
	if (after > 0) {
		snprintf(buf, sizeof(buf), "%lld", after);
		(void)cm_resp_header(&req->resp, "Retry-After", buf);
	}
}

static void
cm_server_fail(
    const struct cm_server_conf *conf, struct cm_req *req, enum cm_err err)
{
	cm_server_answer_error(conf->error, req, err);
}

/*
 * Check the Authorization header against the route's auth class. Returns
 * CM_OK (identity filled when a valid token was sent) or fills a 401.
 */
static enum cm_err
cm_server_auth(
    const struct cm_server_conf *conf, struct cm_req *req, enum cm_auth auth)
{
	struct cm_jwt_claims claims;
	const char *h = req->authorization, *tok = NULL;
	enum cm_err rc;

	if (auth == CM_AUTH_NONE)
		return CM_OK;
	if (h == NULL || *h == '\0') {
		if (auth == CM_AUTH_OPTIONAL)
			return CM_OK;
		conf->error(&req->resp, CM_EAUTH, "token", "is missing");
		return CM_EAUTH;
	}
	if (strncasecmp(h, "Token ", 6) == 0)
		tok = h + 6;
	else if (strncasecmp(h, "Bearer ", 7) == 0)
		tok = h + 7;
	while (tok != NULL && *tok == ' ')
		tok++;
	if (tok == NULL || *tok == '\0' || conf->jwt == NULL) {
		conf->error(&req->resp, CM_EAUTH, "token", "is invalid");
		return CM_EAUTH;
	}
	rc = cm_jwt_verify_cached(conf->jwt, tok, time(NULL), &claims);
	if (rc == CM_EEXPIRED) {
		conf->error(&req->resp, CM_EEXPIRED, "token", "has expired");
		return rc;
	}
	if (rc != CM_OK) {
		conf->error(&req->resp, CM_EAUTH, "token", "is invalid");
		return CM_EAUTH;
	}
	req->user_id = claims.sub;
	memcpy(req->username, claims.username, sizeof(req->username));
	req->token = tok;
	/*
	 * Revocation is checked here, after the cache: a cached verification
	 * says only that the token's bytes are genuine, never that it is still
	 * current, so no cache can outlive a revocation.
	 */
	if (conf->auth_check != NULL &&
	    (rc = conf->auth_check(req, &claims)) != CM_OK) {
		req->user_id = 0;
		req->username[0] = '\0';
		req->token = NULL;
		if (rc == CM_EAUTH)
			conf->error(&req->resp, CM_EREVOKED, "token",
			    "has been revoked");
		else
			cm_server_fail(conf, req, rc);
		return rc;
	}
	return CM_OK;
}

void
cm_server_dispatch(const struct cm_server_conf *conf, struct cm_req *req)
{
	struct cm_router_match m;
	char err[256];
	enum cm_err rc;

	rc = cm_router_match(conf->routes, conf->nroutes, req, &m);
	if (rc == CM_ENOTFOUND) {
		conf->error(&req->resp, CM_ENOTFOUND, "route", "not found");
		return;
	}
	if (rc == CM_EMETHOD) {
		conf->error(&req->resp, CM_EMETHOD, "method", "not allowed");
		if (cm_resp_header(&req->resp, "Allow", m.allow) != CM_OK)
			cm_server_fail(conf, req, CM_ENOMEM);
		return;
	}
	if (rc != CM_OK) {
		cm_server_fail(conf, req, rc);
		return;
	}
	if (req->body_too_big) {
		conf->error(&req->resp, CM_ETOOBIG, "body", "is too large");
		return;
	}
	if (req->repeated_header != NULL) {
		conf->error(&req->resp, CM_EINVAL, req->repeated_header,
		    "must be sent once");
		return;
	}
	if (cm_req_parse_query(req, req->query_string) != CM_OK) {
		conf->error(&req->resp, CM_EINVAL, "query", "is malformed");
		return;
	}
	if (((m.route->flags & CM_ROUTE_INTERNAL) != 0) !=
	    (req->internal != 0)) {
		conf->error(&req->resp, CM_ENOTFOUND, "route", "not found");
		return;
	}
	if (cm_server_auth(conf, req, m.route->auth) != CM_OK)
		return;
	if ((m.route->flags & CM_ROUTE_BODY) && req->body_len > 0) {
		if (cm_json_parse(req->body, req->body_len, &req->json, err,
		        sizeof(err)) != CM_OK) {
			char msg[300];

			snprintf(
			    msg, sizeof(msg), "is not valid JSON (%s)", err);
			conf->error(&req->resp, CM_EBADJSON, "body", msg);
			return;
		}
	}
	rc = conf->around != NULL ? conf->around(req, m.route->handler)
	                          : m.route->handler(req);
	if (rc != CM_OK) {
		if (cm_err_status(rc) >= 500)
			cm_log(CM_LOG_ERROR, req->request_id,
			    "%s %s failed: %s", req->method, req->path,
			    cm_err_name(rc));
		cm_server_fail(conf, req, rc);
	} else if (req->resp.status == 0) {
		cm_log(CM_LOG_ERROR, req->request_id,
		    "%s %s: handler set no response", req->method, req->path);
		cm_server_fail(conf, req, CM_EINTERNAL);
	}
}

/*
 * Read the body announced by CONTENT_LENGTH, at most max_body bytes. A
 * larger body is drained (up to a bound) and flagged so that the answer is
 * a 413 rather than a connection reset.
 */
static enum cm_err
cm_server_read_body(
    const struct cm_server_conf *conf, FCGX_Request *fr, struct cm_req *req)
{
	const char *cl = FCGX_GetParam("CONTENT_LENGTH", fr->envp);
	char *end, sink[4096];
	unsigned long long n = 0;
	size_t got = 0;
	int r;

	if (cl != NULL && *cl != '\0') {
		errno = 0;
		n = strtoull(cl, &end, 10);
		if (errno != 0 || *end != '\0')
			n = ~0ULL;
	}
	if (n == 0)
		return CM_OK;
	if (n > conf->max_body || n >= SIZE_MAX) {
		req->body_too_big = 1;
		for (got = 0; got < CM_SERVER_DRAIN_MAX; got += (size_t)r)
			if ((r = FCGX_GetStr(sink, sizeof(sink), fr->in)) <= 0)
				break;
		return CM_OK;
	}
	if ((req->body = malloc((size_t)n + 1)) == NULL)
		return CM_ENOMEM;
	while (got < n) {
		r = FCGX_GetStr(req->body + got, (int)(n - got), fr->in);
		if (r <= 0)
			break;
		got += (size_t)r;
	}
	req->body[got] = '\0';
	req->body_len = got;
	return CM_OK;
}

/* Reason phrases, so that clients see "HTTP/1.1 404 Not Found". */
static const char *
cm_server_reason(int status)
{
	switch (status) {
	case 200:
		return "OK";
	case 201:
		return "Created";
	case 204:
		return "No Content";
	case 304:
		return "Not Modified";
	case 400:
		return "Bad Request";
	case 401:
		return "Unauthorized";
	case 402:
		return "Payment Required";
	case 403:
		return "Forbidden";
	case 404:
		return "Not Found";
	case 405:
		return "Method Not Allowed";
	case 409:
		return "Conflict";
	case 413:
		return "Content Too Large";
	case 415:
		return "Unsupported Media Type";
	case 422:
		return "Unprocessable Content";
	case 429:
		return "Too Many Requests";
	case 500:
		return "Internal Server Error";
	case 502:
		return "Bad Gateway";
	case 503:
		return "Service Unavailable";
	case 504:
		return "Gateway Timeout";
	default:
		return "";
	}
}

static void
cm_server_write(FCGX_Request *fr, struct cm_req *req)
{
	char head[2048], *dump = NULL;
	const char *body = NULL;
	size_t blen = 0, i;
	int n, head_only;

	head_only = strcmp(req->method, "HEAD") == 0;
	if (req->resp.raw != NULL) {
		body = req->resp.raw;
		blen = req->resp.raw_len;
	} else if (req->resp.body != NULL) {
		dump = cm_json_dump(req->resp.body, &blen);
		if (dump == NULL) {
			req->resp.status = 500;
			body = "{}";
			blen = 2;
		} else {
			body = dump;
		}
	}
	if (req->resp.status == 204 || req->resp.status == 304) {
		body = NULL;
		blen = 0;
		n = snprintf(head, sizeof(head), "Status: %d %s\r\n",
		    req->resp.status, cm_server_reason(req->resp.status));
	} else {
		n = snprintf(head, sizeof(head),
		    "Status: %d %s\r\nContent-Type: application/json; "
		    "charset=utf-8\r\nContent-Length: %zu\r\n",
		    req->resp.status, cm_server_reason(req->resp.status), blen);
	}
	if (req->request_id != NULL &&
	    strpbrk(req->request_id, "\r\n") == NULL &&
	    strlen(req->request_id) < 128)
		n += snprintf(head + n, sizeof(head) - (size_t)n,
		    "X-Request-ID: %s\r\n", req->request_id);
	for (i = 0; i < req->resp.nheaders && (size_t)n < sizeof(head); i++)
		n += snprintf(head + n, sizeof(head) - (size_t)n, "%s: %s\r\n",
		    req->resp.hname[i], req->resp.hvalue[i]);
	if ((size_t)n >= sizeof(head) - 3)
		n = (int)sizeof(head) - 3;
	memcpy(head + n, "\r\n", 3);
	n += 2;
	FCGX_PutStr(head, n, fr->out);
	if (body != NULL && blen > 0 && !head_only)
		FCGX_PutStr(body, (int)blen, fr->out);
	free(dump);
}

/*
 * The headers a request may carry once. Debian's nginx 1.22 passes a
 * repeated header to FastCGI as two params of the same name, of which
 * FCGX_GetParam returns the first: a second Idempotency-Key would be
 * ignored silently. (nginx >= 1.23 joins them with ", " instead; pay
 * refuses that form in the key itself.)
 */
static const char *
cm_server_repeated(char **envp)
{
	static const struct {
		const char *param, *header;
	} once[] = {
	    {"HTTP_AUTHORIZATION=", "Authorization"},
	    {"HTTP_IDEMPOTENCY_KEY=", "Idempotency-Key"},
	};
	size_t i, n;
	char **p;

	for (i = 0; i < sizeof(once) / sizeof(once[0]); i++) {
		n = 0;
		for (p = envp; p != NULL && *p != NULL; p++)
			if (strncmp(*p, once[i].param, strlen(once[i].param)) ==
			        0 &&
			    ++n > 1)
				return once[i].header;
	}
	return NULL;
}

static void
cm_server_handle(
    const struct cm_server_conf *conf, FCGX_Request *fr, struct cm_req *req)
{
	const char *v;
	long long t0 = cm_clock_us(), dur;

	cm_metrics_worker_busy(1);

	v = FCGX_GetParam("REQUEST_METHOD", fr->envp);
	req->method = v != NULL && *v != '\0' ? v : "GET";
	v = FCGX_GetParam("DOCUMENT_URI", fr->envp);
	if (v == NULL || *v == '\0')
		v = FCGX_GetParam("SCRIPT_NAME", fr->envp);
	req->path = v != NULL && *v != '\0' ? v : "/";
	v = FCGX_GetParam("QUERY_STRING", fr->envp);
	req->query_string = v != NULL ? v : "";
	req->content_type = FCGX_GetParam("CONTENT_TYPE", fr->envp);
	req->authorization = FCGX_GetParam("HTTP_AUTHORIZATION", fr->envp);
	req->idempotency_key = FCGX_GetParam("HTTP_IDEMPOTENCY_KEY", fr->envp);
	req->repeated_header = cm_server_repeated(fr->envp);
	v = FCGX_GetParam("REQUEST_ID", fr->envp);
	req->request_id = v != NULL && *v != '\0' ? v : "-";
	req->remote_addr = FCGX_GetParam("REMOTE_ADDR", fr->envp);

	if (cm_server_read_body(conf, fr, req) != CM_OK)
		cm_server_fail(conf, req, CM_ENOMEM);
	else
		cm_server_dispatch(conf, req);
	cm_server_write(fr, req);
	dur = cm_clock_us() - t0;
	cm_log_access(req, dur);
	cm_metrics_request(req->matched, req->resp.status, dur);
	cm_metrics_worker_busy(-1);
	cm_req_reset(req);
}

/*
 * Wait for the next request and read its head. With the poller, a worker
 * never blocks on a connection that has no request: libfcgi's protocol
 * handling is kept by giving FCGX_Accept_r an open descriptor (ipcFd) and
 * no listening socket, so it reads the request from that connection and
 * never accepts by itself. Without it, FCGX_Accept_r accepts on the shared
 * socket. Returns 0 with a request, -1 once the server stops.
 */
static int
cm_server_next(struct cm_worker *w, FCGX_Request *fr)
{
	int fd, rc;

	for (;;) {
		if (w->poller != NULL) {
			if ((fd = cm_poller_next(w->poller)) < 0)
				return -1;
			fr->ipcFd = fd;
			/*
			 * FCGX_Accept_r first finishes the previous request
			 * and would close the descriptor unless the connection
			 * is marked kept.
			 */
			fr->keepConnection = 1;
			if (FCGX_Accept_r(fr) == 0)
				return 0;
			/* Closed by the peer or not FastCGI: libfcgi closed it. */
			fr->ipcFd = -1;
			cm_poller_closed(w->poller);
			continue;
		}
		if (atomic_load(&cm_server_stopping))
			return -1;
		if ((rc = FCGX_Accept_r(fr)) == 0)
			return 0;
		if (atomic_load(&cm_server_stopping))
			return -1;
		cm_log(CM_LOG_WARN, NULL, "worker %d: accept: %s", w->idx,
		    strerror(-rc));
		usleep(10000);
	}
}

static void *
cm_server_worker(void *arg)
{
	struct cm_worker *w = arg;
	const struct cm_server_conf *conf = w->conf;
	struct cm_req req;
	FCGX_Request fr;

	memset(&req, 0, sizeof(req));
	req.app = conf->app;
	req.worker_idx = w->idx;
	if (conf->worker_open != NULL)
		req.worker = conf->worker_open(conf->app, w->idx);
	if (FCGX_InitRequest(&fr, w->poller != NULL ? -1 : w->listen_fd, 0) !=
	    0) {
		cm_log(CM_LOG_ERROR, NULL, "worker %d: FCGX_InitRequest failed",
		    w->idx);
		goto out;
	}
	while (cm_server_next(w, &fr) == 0) {
		cm_server_handle(conf, &fr, &req);
		FCGX_Finish_r(&fr);
		/* A kept-alive connection goes back to the poller to idle. */
		if (w->poller != NULL && fr.ipcFd >= 0) {
			cm_poller_keep(w->poller, fr.ipcFd);
			fr.ipcFd = -1;
		} else if (w->poller != NULL) {
			/* Not kept alive: libfcgi closed it. */
			cm_poller_closed(w->poller);
		}
		/* The response is sent and the connection handed back. */
		if (conf->after != NULL)
			conf->after(req.worker);
	}
	FCGX_Free(&fr, 1);
out:
	if (conf->worker_close != NULL)
		conf->worker_close(req.worker);
	atomic_fetch_sub(&cm_server_live, 1);
	return NULL;
}

static int
cm_server_listen(const char *listen)
{
	struct stat st;
	int fd;

	/*
	 * A unix socket left behind by a killed process would make bind fail;
	 * remove it, but only if it is a socket.
	 */
	if (strchr(listen, ':') == NULL && stat(listen, &st) == 0 &&
	    S_ISSOCK(st.st_mode))
		unlink(listen);
	fd = FCGX_OpenSocket(listen, CM_SERVER_BACKLOG);
	if (fd < 0)
		return -1;
	if (strchr(listen, ':') == NULL)
		chmod(listen, 0660);
	return fd;
}

/* Everything cm_server_run starts, so that teardown can undo any prefix. */
struct cm_server_run {
	const struct cm_server_conf *conf;
	sigset_t signals;
	int fd;
	struct cm_admin *admin;
	struct cm_poller *poller;
	struct cm_worker *ws;
	void *probe; /* worker context for /readyz, opened on first use */
	int probe_open;
};

/*
 * A request on the admin port (readiness, and POSTs to the service's
 * internal routes, marked internal): the pipeline with the admin thread's
 * own worker context, opened on first use.
 */
static void
cm_server_post(void *arg, struct cm_req *req)
{
	struct cm_server_run *r = arg;
	const struct cm_server_conf *conf = r->conf;

	if (!r->probe_open && conf->worker_open != NULL) {
		r->probe = conf->worker_open(conf->app, -1);
		r->probe_open = 1;
	}
	req->app = conf->app;
	req->worker = r->probe;
	cm_server_dispatch(conf, req);
}

/*
 * The admin port's readiness: the service's own GET /readyz through the
 * pipeline (cm_server_post), or 503 once draining.
 */
static void
cm_server_ready(void *arg, struct cm_req *req)
{
	json_t *body;

	if (cm_server_draining()) {
		body = json_pack("{s:s}", "status", "draining");
		if (body == NULL ||
		    cm_resp_json(&req->resp, 503, body) != CM_OK)
			req->resp.status = 503;
		return;
	}
	cm_server_post(arg, req);
}

/*
 * Block the shutdown signals (taken by cm_server_wait), open the listening
 * socket, metrics, the admin port and the poller, and start the workers.
 * Returns 0, or -1 (logged) with whatever started left for teardown.
 */
static int
cm_server_start(struct cm_server_run *r)
{
	const struct cm_server_conf *conf = r->conf;
	char err[256];
	int in_workers = 0, i;

	if (FCGX_Init() != 0) {
		cm_log(CM_LOG_ERROR, NULL, "FCGX_Init failed");
		return -1;
	}
	sigemptyset(&r->signals);
	sigaddset(&r->signals, SIGTERM);
	sigaddset(&r->signals, SIGINT);
	sigaddset(&r->signals, SIGQUIT);
	/* A client that goes away must not kill the process. */
	signal(SIGPIPE, SIG_IGN);
	pthread_sigmask(SIG_BLOCK, &r->signals, NULL);

	if ((r->fd = cm_server_listen(conf->listen)) < 0) {
		cm_log(CM_LOG_ERROR, NULL, "cannot listen on %s: %s",
		    conf->listen, strerror(errno));
		return -1;
	}
	if (cm_metrics_init(conf->service != NULL ? conf->service : "-",
	        conf->routes, conf->nroutes, conf->workers) != 0) {
		cm_log(CM_LOG_ERROR, NULL, "out of memory");
		return -1;
	}
	if (conf->admin_listen != NULL && *conf->admin_listen != '\0' &&
	    (r->admin = cm_admin_start(conf->admin_listen, cm_server_ready,
	         cm_server_post, conf->max_body, r)) == NULL)
		return -1;
	/*
	 * SERVER_ACCEPT_IN_WORKERS=1 restores libfcgi's classic loop (every
	 * worker accepts and owns its connection); it is only safe without
	 * upstream keepalive and is kept for measurement.
	 */
	if (cm_config_bool("SERVER_ACCEPT_IN_WORKERS", 0, &in_workers, err,
	        sizeof(err)) != CM_OK) {
		cm_log(CM_LOG_ERROR, NULL, "%s", err);
		return -1;
	}
	if (!in_workers && (r->poller = cm_poller_start(r->fd)) == NULL)
		return -1;
	if ((r->ws = calloc((size_t)conf->workers, sizeof(*r->ws))) == NULL) {
		cm_log(CM_LOG_ERROR, NULL, "out of memory");
		return -1;
	}
	atomic_store(&cm_server_stopping, 0);
	for (i = 0; i < conf->workers; i++) {
		r->ws[i].conf = conf;
		r->ws[i].idx = i;
		r->ws[i].listen_fd = r->fd;
		r->ws[i].poller = r->poller;
		atomic_fetch_add(&cm_server_live, 1);
		if (pthread_create(&r->ws[i].thread, NULL, cm_server_worker,
		        &r->ws[i]) != 0) {
			atomic_fetch_sub(&cm_server_live, 1);
			cm_log(CM_LOG_ERROR, NULL, "cannot start worker %d", i);
			/* cm_server_wait drains the ones that started. */
			atomic_store(&cm_server_stopping, 1);
			return 0;
		}
		r->ws[i].started = 1;
	}
	cm_log(CM_LOG_INFO, NULL, "listening on %s with %d workers (%s)",
	    conf->listen, conf->workers,
	    r->poller != NULL ? "poller" : "accept in workers");
	return 0;
}

/*
 * The first step of a shutdown: no new connection reaches this process, so
 * nginx's next connect fails and it passes that request (even a POST: it
 * never reached us) to another replica, leaving this one out for
 * fail_timeout. A unix socket's name goes first, so that no connect can
 * even be queued; what is queued already is accepted and served; then the
 * socket closes. Kept-alive connections stay open and served until nginx
 * retires them (cm_poller_drain says why).
 */
static void
cm_server_stop_listening(struct cm_server_run *r)
{
	if (strchr(r->conf->listen, ':') == NULL)
		unlink(r->conf->listen);
	if (r->poller != NULL) {
		cm_poller_drain(r->poller);
		close(r->fd);
		r->fd = -1;
	} else {
		/* Wakes every worker blocked in accept(). */
		shutdown(r->fd, SHUT_RDWR);
	}
}

/*
 * Serve until a shutdown signal (or a worker that failed to start), then
 * stop accepting and wait for the workers until the grace deadline. At the
 * deadline the connections nginx still holds are closed and the requests in
 * flight get one more second. A second signal exits the process at once.
 */
static void
cm_server_wait(struct cm_server_run *r)
{
	struct timespec tick = {0, 100 * 1000000L};
	long long deadline = 0;
	int sig, forced = 0;

	for (;;) {
		sig = sigtimedwait(&r->signals, NULL, &tick);
		if (sig > 0) {
			if (deadline != 0) {
				cm_log(CM_LOG_WARN, NULL,
				    "second signal %d: exiting now", sig);
				_exit(1);
			}
			cm_log(CM_LOG_INFO, NULL,
			    "signal %d: draining (grace %d s)", sig,
			    r->conf->shutdown_grace);
		}
		if (deadline == 0 &&
		    (sig > 0 || atomic_load(&cm_server_stopping))) {
			atomic_store(&cm_server_stopping, 1);
			deadline = cm_clock_us() +
			    (long long)r->conf->shutdown_grace * 1000000;
			cm_server_stop_listening(r);
		}
		if (deadline != 0 && atomic_load(&cm_server_live) == 0)
			return;
		if (deadline != 0 && cm_clock_us() > deadline &&
		    r->poller != NULL && !forced) {
			/*
			 * nginx kept connections open all through the grace
			 * period (an edge without keepalive_time): close them
			 * now, racing a request it may write on one.
			 */
			cm_log(CM_LOG_WARN, NULL,
			    "grace period over with %d connections open: "
			    "closing the idle ones",
			    cm_poller_open(r->poller));
			cm_poller_force(r->poller);
			forced = 1;
			deadline = cm_clock_us() + 1000000;
			continue;
		}
		if (deadline != 0 && cm_clock_us() > deadline) {
			cm_log(CM_LOG_WARN, NULL,
			    "grace period over with %d workers busy: exiting",
			    atomic_load(&cm_server_live));
			_exit(1);
		}
	}
}

/* Undo whatever cm_server_start did; the workers have returned. */
static void
cm_server_teardown(struct cm_server_run *r)
{
	int i;

	if (r->ws != NULL)
		for (i = 0; i < r->conf->workers; i++)
			if (r->ws[i].started)
				pthread_join(r->ws[i].thread, NULL);
	cm_poller_free(r->poller);
	cm_admin_stop(r->admin);
	if (r->probe_open && r->conf->worker_close != NULL)
		r->conf->worker_close(r->probe);
	free(r->ws);
	if (r->fd >= 0) {
		close(r->fd);
		if (strchr(r->conf->listen, ':') == NULL)
			unlink(r->conf->listen);
	}
}

int
cm_server_run(const struct cm_server_conf *conf)
{
	struct cm_server_run r;
	int rc = -1;

	memset(&r, 0, sizeof(r));
	r.conf = conf;
	r.fd = -1;
	if (cm_server_start(&r) == 0) {
		cm_server_wait(&r);
		rc = 0;
	}
	cm_server_teardown(&r);
	if (rc == 0)
		cm_log(CM_LOG_INFO, NULL, "stopped");
	return rc;
}
