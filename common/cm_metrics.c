/*
 * cm_metrics.c: counters behind the /metrics endpoint.
 *
 * Process lifetime: the tables are allocated once by cm_metrics_init and
 * only ever incremented with relaxed atomics afterwards, so workers never
 * take a lock on the request path. Statuses are counted per route in a
 * small fixed set of slots (the distinct statuses an API answers are few).
 */
#include <stdarg.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cm_clock.h"
#include "cm_metrics.h"

#define CM_METRICS_STATUS_SLOTS 16
#define CM_METRICS_NBUCKETS 14

/* Upper bounds of the latency buckets, in microseconds. */
static const long long cm_metrics_bounds[CM_METRICS_NBUCKETS] = {250, 500, 1000,
    2500, 5000, 10000, 25000, 50000, 100000, 250000, 500000, 1000000, 2500000,
    5000000};

struct cm_metrics_route {
	atomic_int status[CM_METRICS_STATUS_SLOTS]; /* 0 = free */
	atomic_ulong count[CM_METRICS_STATUS_SLOTS];
	atomic_ulong bucket[CM_METRICS_NBUCKETS]; /* not cumulative */
	atomic_ulong total;
	atomic_ullong sum_us;
};

static struct {
	const char *service;
	const struct cm_route *routes;
	size_t nroutes;
	int workers;
	struct cm_metrics_route *r; /* nroutes + 1: the last is "none" */
	atomic_int busy;
	atomic_ullong busy_us;
	atomic_ulong db_errors;
	atomic_ulong db_reconnects;
	atomic_llong last_done_us; /* CLOCK_MONOTONIC */
	cm_metrics_extra_fn extra;
	void *extra_arg;
} cm_metrics;

/* The most a service's own lines may take (cm_metrics_extra). */
#define CM_METRICS_EXTRA_MAX 4096

void
cm_metrics_extra(cm_metrics_extra_fn fn, void *arg)
{
	cm_metrics.extra = fn;
	cm_metrics.extra_arg = arg;
}

int
cm_metrics_stalled(int seconds)
{
	long long last = atomic_load(&cm_metrics.last_done_us);

	return cm_metrics.workers > 0 &&
	    atomic_load(&cm_metrics.busy) >= cm_metrics.workers &&
	    cm_clock_us() - last > (long long)seconds * 1000000;
}

int
cm_metrics_init(const char *service, const struct cm_route *routes,
    size_t nroutes, int workers)
{
	free(cm_metrics.r);
	cm_metrics.r = calloc(nroutes + 1, sizeof(*cm_metrics.r));
	if (cm_metrics.r == NULL)
		return -1;
	cm_metrics.service = service;
	cm_metrics.routes = routes;
	cm_metrics.nroutes = nroutes;
	cm_metrics.workers = workers;
	atomic_store(&cm_metrics.last_done_us, cm_clock_us());
	return 0;
}

void
cm_metrics_request(
    const struct cm_route *route, int status, long long duration_us)
{
	struct cm_metrics_route *m;
	size_t i, idx;
	int expect;

	if (cm_metrics.r == NULL)
		return;
	atomic_store_explicit(
	    &cm_metrics.last_done_us, cm_clock_us(), memory_order_relaxed);
	idx = cm_metrics.nroutes;
	if (route != NULL && route >= cm_metrics.routes &&
	    route < cm_metrics.routes + cm_metrics.nroutes)
		idx = (size_t)(route - cm_metrics.routes);
	m = &cm_metrics.r[idx];
	/* Find the status's slot, claiming a free one the first time. */
	for (i = 0; i < CM_METRICS_STATUS_SLOTS; i++) {
		expect = 0;
		if (atomic_load_explicit(&m->status[i], memory_order_relaxed) ==
		        status ||
		    atomic_compare_exchange_strong(
		        &m->status[i], &expect, status) ||
		    expect == status) {
			atomic_fetch_add_explicit(
			    &m->count[i], 1, memory_order_relaxed);
			break;
		}
	}
	for (i = 0; i < CM_METRICS_NBUCKETS; i++)
		if (duration_us <= cm_metrics_bounds[i])
			break;
	if (i < CM_METRICS_NBUCKETS)
		atomic_fetch_add_explicit(
		    &m->bucket[i], 1, memory_order_relaxed);
	atomic_fetch_add_explicit(&m->total, 1, memory_order_relaxed);
	atomic_fetch_add_explicit(&m->sum_us,
	    (unsigned long long)(duration_us > 0 ? duration_us : 0),
	    memory_order_relaxed);
}

void
cm_metrics_worker_busy(int delta)
{
	static _Thread_local long long since;
	long long now = cm_clock_us();

	if (delta < 0)
		atomic_fetch_add_explicit(&cm_metrics.busy_us,
		    (unsigned long long)(now - since), memory_order_relaxed);
	else
		since = now;
	atomic_fetch_add_explicit(
	    &cm_metrics.busy, delta, memory_order_relaxed);
}

void
cm_metrics_db_error(void)
{
	atomic_fetch_add_explicit(
	    &cm_metrics.db_errors, 1, memory_order_relaxed);
}

void
cm_metrics_db_reconnect(void)
{
	atomic_fetch_add_explicit(
	    &cm_metrics.db_reconnects, 1, memory_order_relaxed);
}

/* A growable text buffer; on ENOMEM it stays failed and render says so. */
struct cm_metrics_buf {
	char *s;
	size_t len, cap;
	int failed;
};

static void __attribute__((format(printf, 2, 3)))
cm_metrics_printf(struct cm_metrics_buf *b, const char *fmt, ...)
{
	va_list ap;
	size_t need;
	char *ns;
	int n;

	if (b->failed)
		return;
	for (;;) {
		va_start(ap, fmt);
		n = vsnprintf(b->s + b->len, b->cap - b->len, fmt, ap);
		va_end(ap);
		if (n < 0) {
			b->failed = 1;
			return;
		}
		if ((size_t)n < b->cap - b->len) {
			b->len += (size_t)n;
			return;
		}
		need = b->cap * 2 + (size_t)n + 1;
		if ((ns = realloc(b->s, need)) == NULL) {
			b->failed = 1;
			return;
		}
		b->s = ns;
		b->cap = need;
	}
}

static void
cm_metrics_labels(struct cm_metrics_buf *b, size_t idx)
{
	if (idx < cm_metrics.nroutes)
		cm_metrics_printf(b,
		    "service=\"%s\",method=\"%s\","
		    "route=\"%s\"",
		    cm_metrics.service, cm_metrics.routes[idx].method,
		    cm_metrics.routes[idx].pattern);
	else
		cm_metrics_printf(b,
		    "service=\"%s\",method=\"\","
		    "route=\"none\"",
		    cm_metrics.service);
}

char *
cm_metrics_render(size_t *len)
{
	struct cm_metrics_buf b = {NULL, 0, 0, 0};
	struct cm_metrics_route *m;
	unsigned long cum, c;
	size_t i, k;
	int st;

	if ((b.s = malloc(8192)) == NULL)
		return NULL;
	b.cap = 8192;
	b.s[0] = '\0';
	cm_metrics_printf(&b,
	    "# HELP cm_requests_total Requests answered, "
	    "by route and status.\n# TYPE cm_requests_total counter\n");
	for (i = 0; cm_metrics.r != NULL && i <= cm_metrics.nroutes; i++) {
		m = &cm_metrics.r[i];
		for (k = 0; k < CM_METRICS_STATUS_SLOTS; k++) {
			if ((st = atomic_load(&m->status[k])) == 0)
				continue;
			cm_metrics_printf(&b, "cm_requests_total{");
			cm_metrics_labels(&b, i);
			cm_metrics_printf(&b, ",status=\"%d\"} %lu\n", st,
			    atomic_load(&m->count[k]));
		}
	}
	cm_metrics_printf(&b,
	    "# HELP cm_request_duration_seconds Time from "
	    "accept to response written.\n"
	    "# TYPE cm_request_duration_seconds histogram\n");
	for (i = 0; cm_metrics.r != NULL && i <= cm_metrics.nroutes; i++) {
		m = &cm_metrics.r[i];
		if ((c = atomic_load(&m->total)) == 0)
			continue;
		for (k = 0, cum = 0; k < CM_METRICS_NBUCKETS; k++) {
			cum += atomic_load(&m->bucket[k]);
			cm_metrics_printf(
			    &b, "cm_request_duration_seconds_bucket{");
			cm_metrics_labels(&b, i);
			cm_metrics_printf(&b, ",le=\"%g\"} %lu\n",
			    (double)cm_metrics_bounds[k] / 1e6, cum);
		}
		cm_metrics_printf(&b, "cm_request_duration_seconds_bucket{");
		cm_metrics_labels(&b, i);
		cm_metrics_printf(&b, ",le=\"+Inf\"} %lu\n", c);
		cm_metrics_printf(&b, "cm_request_duration_seconds_sum{");
		cm_metrics_labels(&b, i);
		cm_metrics_printf(
		    &b, "} %.6f\n", (double)atomic_load(&m->sum_us) / 1e6);
		cm_metrics_printf(&b, "cm_request_duration_seconds_count{");
		cm_metrics_labels(&b, i);
		cm_metrics_printf(&b, "} %lu\n", c);
	}
	cm_metrics_printf(&b,
	    "# HELP cm_db_errors_total Unexpected database errors.\n"
	    "# TYPE cm_db_errors_total counter\n"
	    "cm_db_errors_total{service=\"%s\"} %lu\n"
	    "# HELP cm_db_reconnects_total Database connections re-opened.\n"
	    "# TYPE cm_db_reconnects_total counter\n"
	    "cm_db_reconnects_total{service=\"%s\"} %lu\n"
	    "# HELP cm_workers Worker threads (one database connection each).\n"
	    "# TYPE cm_workers gauge\n"
	    "cm_workers{service=\"%s\"} %d\n"
	    "# HELP cm_workers_busy Workers handling a request now.\n"
	    "# TYPE cm_workers_busy gauge\n"
	    "cm_workers_busy{service=\"%s\"} %d\n"
	    "# HELP cm_worker_busy_seconds_total Time workers spent on "
	    "requests; its rate over cm_workers is the utilisation.\n"
	    "# TYPE cm_worker_busy_seconds_total counter\n"
	    "cm_worker_busy_seconds_total{service=\"%s\"} %.6f\n",
	    cm_metrics.service, atomic_load(&cm_metrics.db_errors),
	    cm_metrics.service, atomic_load(&cm_metrics.db_reconnects),
	    cm_metrics.service, cm_metrics.workers, cm_metrics.service,
	    atomic_load(&cm_metrics.busy), cm_metrics.service,
	    (double)atomic_load(&cm_metrics.busy_us) / 1e6);
	if (cm_metrics.extra != NULL) {
		char extra[CM_METRICS_EXTRA_MAX];
		int n = cm_metrics.extra(
		    cm_metrics.extra_arg, extra, sizeof(extra));

		if (n > 0 && (size_t)n < sizeof(extra))
			cm_metrics_printf(&b, "%s", extra);
	}
	if (b.failed) {
		free(b.s);
		return NULL;
	}
	if (len != NULL)
		*len = b.len;
	return b.s;
}
