/* Unit tests for cm_metrics: counting and the Prometheus text output. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "unit.h"

#include "cm_metrics.h"
#include "unit_routes.h"

/* Only the first two (GET and POST /api/articles) are registered. */
static const struct cm_route routes[] = {UNIT_ROUTES(unit_routes_ok)};

static void
test_render(void **state)
{
	size_t len;
	char *s;
	int i;

	(void)state;
	assert_int_equal(cm_metrics_init("blog", routes, 2, 4), 0);
	for (i = 0; i < 3; i++)
		cm_metrics_request(&routes[0], 200, 800);
	cm_metrics_request(&routes[0], 404, 3000000);
	cm_metrics_request(&routes[1], 422, 100);
	cm_metrics_request(NULL, 404, 10);
	cm_metrics_db_error();
	cm_metrics_db_reconnect();
	cm_metrics_db_reconnect();
	cm_metrics_worker_busy(1);
	s = cm_metrics_render(&len);
	assert_non_null(s);
	assert_int_equal(len, strlen(s));
	assert_non_null(strstr(s, "cm_requests_total{service=\"blog\","
	    "method=\"GET\",route=\"/api/articles\",status=\"200\"} 3\n"));
	assert_non_null(strstr(s, "route=\"/api/articles\",status=\"404\"} 1"));
	assert_non_null(strstr(s, "method=\"POST\",route=\"/api/articles\","
	    "status=\"422\"} 1"));
	assert_non_null(strstr(s, "route=\"none\",status=\"404\"} 1"));
	/* 800 us falls in the 1 ms bucket, cumulative from there on. */
	assert_non_null(strstr(s, "method=\"GET\",route=\"/api/articles\","
	    "le=\"0.0005\"} 0\n"));
	assert_non_null(strstr(s, "method=\"GET\",route=\"/api/articles\","
	    "le=\"0.001\"} 3\n"));
	assert_non_null(strstr(s, "method=\"GET\",route=\"/api/articles\","
	    "le=\"2.5\"} 3\n"));
	assert_non_null(strstr(s, "method=\"GET\",route=\"/api/articles\","
	    "le=\"5\"} 4\n"));
	assert_non_null(strstr(s, "method=\"GET\",route=\"/api/articles\","
	    "le=\"+Inf\"} 4\n"));
	assert_non_null(strstr(s, "cm_db_errors_total{service=\"blog\"} 1\n"));
	assert_non_null(strstr(s,
	    "cm_db_reconnects_total{service=\"blog\"} 2\n"));
	assert_non_null(strstr(s, "cm_workers{service=\"blog\"} 4\n"));
	assert_non_null(strstr(s, "cm_workers_busy{service=\"blog\"} 1\n"));
	free(s);
	/* One busy worker of four is not a stall. */
	assert_false(cm_metrics_stalled(0));
	cm_metrics_worker_busy(-1);
}

static int
extra_lines(void *arg, char *buf, size_t cap)
{
	return snprintf(buf, cap, "svc_things_total %d\n", *(int *)arg);
}

static int
extra_too_long(void *arg, char *buf, size_t cap)
{
	(void)arg;
	if (cap > 0)
		buf[0] = '\0';
	return (int)cap + 1;
}

/* A service's own lines come after the common ones, whole or not at all. */
static void
test_extra(void **state)
{
	int things = 42;
	char *s;

	(void)state;
	assert_int_equal(cm_metrics_init("blog", routes, 2, 4), 0);
	cm_metrics_extra(extra_lines, &things);
	s = cm_metrics_render(NULL);
	assert_non_null(s);
	assert_non_null(strstr(s, "cm_workers{service=\"blog\"} 4\n"));
	assert_true(strstr(s, "\nsvc_things_total 42\n") >
	    strstr(s, "cm_worker_busy_seconds_total"));
	free(s);
	cm_metrics_extra(extra_too_long, NULL);
	s = cm_metrics_render(NULL);
	assert_non_null(s);
	assert_null(strstr(s, "svc_things_total"));
	assert_non_null(strstr(s, "cm_workers{service=\"blog\"} 4\n"));
	free(s);
	cm_metrics_extra(NULL, NULL);
}

UNIT_MAIN(
    cmocka_unit_test(test_render),
    cmocka_unit_test(test_extra))
