/*
 * cm_admin.c: probes and metrics over HTTP with libmicrohttpd.
 *
 * libmicrohttpd runs one internal polling thread, so the handler below is
 * never entered twice at once: the ready callback (which may use a worker
 * context of its own) needs no lock. The admin port knows nothing of the
 * server; the server hands it a callback.
 */
#include <arpa/inet.h>
#include <netinet/in.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include <microhttpd.h>

#include "cm_admin.h"
#include "cm_json.h"
#include "cm_log.h"
#include "cm_metrics.h"

/* A POST body being received (MHD calls the handler once per chunk). */
struct cm_admin_body {
	char *buf;
	size_t len;
	int too_big;
};

struct cm_admin {
	struct MHD_Daemon *daemon;
	cm_admin_ready_fn ready;
	cm_admin_post_fn post; /* NULL: POST is refused */
	size_t max_body;
	void *arg;
};

static enum MHD_Result
cm_admin_send_allow(struct MHD_Connection *c, unsigned status,
    const char *ctype, const char *body, size_t len, const char *allow)
{
	struct MHD_Response *r;
	enum MHD_Result ret;

	r = MHD_create_response_from_buffer(
	    len, (void *)(uintptr_t)body, MHD_RESPMEM_MUST_COPY);
	if (r == NULL)
		return MHD_NO;
	MHD_add_response_header(r, "Content-Type", ctype);
	MHD_add_response_header(r, "Cache-Control", "no-store");
	if (allow != NULL)
		MHD_add_response_header(r, "Allow", allow);
	ret = MHD_queue_response(c, status, r);
	MHD_destroy_response(r);
	return ret;
}

static enum MHD_Result
cm_admin_send(struct MHD_Connection *c, unsigned status, const char *ctype,
    const char *body, size_t len)
{
	return cm_admin_send_allow(c, status, ctype, body, len, NULL);
}

/* Send the response the pipeline filled in req, then release req. */
static enum MHD_Result
cm_admin_answer(struct MHD_Connection *c, struct cm_req *req)
{
	enum MHD_Result ret;
	size_t len = 0;
	char *s;

	s = req->resp.body != NULL ? cm_json_dump(req->resp.body, &len) : NULL;
	ret = cm_admin_send(c, (unsigned)req->resp.status, "application/json",
	    s != NULL ? s : "{}", s != NULL ? len : 2);
	free(s);
	cm_req_reset(req);
	return ret;
}

static enum MHD_Result
cm_admin_ready(struct cm_admin *a, struct MHD_Connection *c)
{
	struct cm_req req;

	memset(&req, 0, sizeof(req));
	req.method = "GET";
	req.path = "/readyz";
	req.query_string = "";
	req.request_id = "admin-readyz";
	req.worker_idx = -1;
	a->ready(a->arg, &req);
	return cm_admin_answer(c, &req);
}

/*
 * A POST (e.g. pay's identity events) goes to the post callback with its
 * body, marked internal so that only internal routes answer it.
 */
static enum MHD_Result
cm_admin_post(struct cm_admin *a, struct MHD_Connection *c, const char *url,
    struct cm_admin_body *b)
{
	struct cm_req req;

	memset(&req, 0, sizeof(req));
	req.method = "POST";
	req.path = url;
	req.query_string = "";
	req.request_id = "admin-post";
	req.content_type = MHD_lookup_connection_value(
	    c, MHD_HEADER_KIND, MHD_HTTP_HEADER_CONTENT_TYPE);
	req.body = b->buf != NULL ? b->buf : "";
	req.body_len = b->len;
	req.body_too_big = b->too_big;
	req.internal = 1;
	req.worker_idx = -1;
	a->post(a->arg, &req);
	req.body = NULL;
	return cm_admin_answer(c, &req);
}

/* Collect a POST body up to the service's limit; past it, flag 413. */
static enum MHD_Result
cm_admin_collect(
    struct cm_admin *a, struct cm_admin_body *b, const char *data, size_t *size)
{
	char *more;

	if (b->too_big || b->len + *size > a->max_body) {
		b->too_big = 1;
		*size = 0;
		return MHD_YES;
	}
	if ((more = realloc(b->buf, b->len + *size + 1)) == NULL)
		return MHD_NO;
	b->buf = more;
	memcpy(b->buf + b->len, data, *size);
	b->len += *size;
	b->buf[b->len] = '\0';
	*size = 0;
	return MHD_YES;
}

static void
cm_admin_done(void *cls, struct MHD_Connection *c, void **con_cls,
    enum MHD_RequestTerminationCode toe)
{
	struct cm_admin_body *b = *con_cls;

	(void)cls;
	(void)c;
	(void)toe;
	if (b != NULL) {
		free(b->buf);
		free(b);
		*con_cls = NULL;
	}
}

static enum MHD_Result
cm_admin_handle(void *cls, struct MHD_Connection *c, const char *url,
    const char *method, const char *version, const char *upload_data,
    size_t *upload_data_size, void **con_cls)
{
	static const char notfound[] = "{\"error\":\"not found\"}";
	static const char badmethod[] = "{\"error\":\"method not allowed\"}";
	static const char wedged[] = "{\"status\":\"stalled\"}";
	struct cm_admin *a = cls;
	enum MHD_Result ret;
	char buf[64];
	size_t len = 0;
	char *s;
	int n;

	(void)version;
	/* The admin port's own paths answer GET and HEAD only (below). */
	if (strcmp(method, "POST") == 0 && a->post != NULL &&
	    strcmp(url, "/healthz") != 0 && strcmp(url, "/readyz") != 0 &&
	    strcmp(url, "/metrics") != 0) {
		struct cm_admin_body *b = *con_cls;

		if (b == NULL) {
			if ((b = calloc(1, sizeof(*b))) == NULL)
				return MHD_NO;
			*con_cls = b;
			return MHD_YES;
		}
		if (*upload_data_size != 0)
			return cm_admin_collect(
			    a, b, upload_data, upload_data_size);
		return cm_admin_post(a, c, url, b);
	}
	if (*upload_data_size != 0) {
		*upload_data_size = 0; /* no endpoint takes a body */
		return MHD_YES;
	}
	if (strcmp(method, "GET") != 0 && strcmp(method, "HEAD") != 0)
		return cm_admin_send_allow(c, 405, "application/json",
		    badmethod, sizeof(badmethod) - 1, "GET, HEAD");
	if (strcmp(url, "/healthz") == 0) {
		if (cm_metrics_stalled(30))
			return cm_admin_send(c, 503, "application/json", wedged,
			    sizeof(wedged) - 1);
		/*
		 * The pid is for the operator and the local stack, which
		 * checks that the process it started is the one answering;
		 * this port is never exposed at the edge, so the public
		 * liveness answers carry no pid.
		 */
		n = snprintf(buf, sizeof(buf),
		    "{\"status\":\"ok\",\"pid\":%ld}", (long)getpid());
		return cm_admin_send(c, 200, "application/json", buf,
		    n > 0 && (size_t)n < sizeof(buf) ? (size_t)n : 0);
	}
	if (strcmp(url, "/readyz") == 0)
		return cm_admin_ready(a, c);
	if (strcmp(url, "/metrics") == 0) {
		if ((s = cm_metrics_render(&len)) == NULL)
			return MHD_NO;
		ret =
		    cm_admin_send(c, 200, "text/plain; version=0.0.4", s, len);
		free(s);
		return ret;
	}
	return cm_admin_send(
	    c, 404, "application/json", notfound, sizeof(notfound) - 1);
}

/* Parse "host:port", ":port" or "port" into an IPv4 address. */
static int
cm_admin_addr(const char *listen, struct sockaddr_in *sa)
{
	char host[64] = "0.0.0.0";
	const char *colon = strrchr(listen, ':');
	char *end;
	long port;

	memset(sa, 0, sizeof(*sa));
	sa->sin_family = AF_INET;
	if (colon != NULL && colon != listen) {
		if ((size_t)(colon - listen) >= sizeof(host))
			return -1;
		memcpy(host, listen, (size_t)(colon - listen));
		host[colon - listen] = '\0';
	}
	port = strtol(colon != NULL ? colon + 1 : listen, &end, 10);
	if (*end != '\0' || port < 1 || port > 65535)
		return -1;
	if (strcmp(host, "*") == 0)
		strcpy(host, "0.0.0.0");
	if (inet_pton(AF_INET, host, &sa->sin_addr) != 1)
		return -1;
	sa->sin_port = htons((unsigned short)port);
	return 0;
}

struct cm_admin *
cm_admin_start(const char *listen, cm_admin_ready_fn ready,
    cm_admin_post_fn post, size_t max_body, void *arg)
{
	struct sockaddr_in sa;
	struct cm_admin *a;

	if (cm_admin_addr(listen, &sa) != 0) {
		cm_log(CM_LOG_ERROR, NULL, "ADMIN_LISTEN=%s is not host:port",
		    listen);
		return NULL;
	}
	if ((a = calloc(1, sizeof(*a))) == NULL)
		return NULL;
	a->ready = ready;
	a->post = post;
	a->max_body = max_body;
	a->arg = arg;
	a->daemon = MHD_start_daemon(
	    MHD_USE_INTERNAL_POLLING_THREAD | MHD_USE_ERROR_LOG,
	    ntohs(sa.sin_port), NULL, NULL, cm_admin_handle, a,
	    MHD_OPTION_SOCK_ADDR, (struct sockaddr *)&sa,
	    MHD_OPTION_CONNECTION_TIMEOUT, (unsigned int)10,
	    MHD_OPTION_CONNECTION_LIMIT, (unsigned int)64,
	    MHD_OPTION_NOTIFY_COMPLETED, cm_admin_done, NULL, MHD_OPTION_END);
	if (a->daemon == NULL) {
		cm_log(CM_LOG_ERROR, NULL, "cannot start the admin port on %s",
		    listen);
		free(a);
		return NULL;
	}
	cm_log(CM_LOG_INFO, NULL, "admin port on %s", listen);
	return a;
}

void
cm_admin_stop(struct cm_admin *a)
{
	if (a == NULL)
		return;
	MHD_stop_daemon(a->daemon);
	free(a);
}
