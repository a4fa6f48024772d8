/*
 * Unit tests for cm_log_escape: bytes that are not UTF-8 become \xHH and
 * everything else is kept, so a log line never loses its message; and the
 * access line, byte for byte what jansson wrote for it before.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "unit.h"
#include <jansson.h>

#include "cm_log.h"
#include "cm_req.h"

static void
check(const char *in, const char *want)
{
	char out[256];
	json_t *j;

	assert_int_equal(cm_log_escape(in, out, sizeof(out)), strlen(want));
	assert_string_equal(out, want);
	/* Whatever came in, what goes out is a valid JSON string. */
	j = json_string(out);
	assert_non_null(j);
	json_decref(j);
}

static void
test_valid_kept(void **state)
{
	(void)state;
	check("", "");
	check("/pay/v1/payments/pay_1", "/pay/v1/payments/pay_1");
	check("caf\xc3\xa9 \xe2\x82\xac \xf0\x9f\x98\x80",
	    "caf\xc3\xa9 \xe2\x82\xac \xf0\x9f\x98\x80");
}

static void
test_invalid_escaped(void **state)
{
	(void)state;
	check("/x/\xff", "/x/\\xff");
	check("\xc0\xaf", "\\xc0\\xaf");               /* overlong "/" */
	check("\xed\xa0\x80", "\\xed\\xa0\\x80");      /* surrogate */
	check("\xf4\x90\x80\x80", "\\xf4\\x90\\x80\\x80"); /* > U+10FFFF */
	check("a\xe2\x82", "a\\xe2\\x82");             /* truncated */
	check("\xe2\x82\xac\xff\xe2\x82\xac", "\xe2\x82\xac\\xff\xe2\x82\xac");
}

static void
test_bounded(void **state)
{
	char out[6];

	(void)state;
	/* Stops on a boundary: never half of an escape or of a character. */
	assert_int_equal(cm_log_escape("ab\xff\xff", out, sizeof(out)), 2);
	assert_string_equal(out, "ab");
	assert_int_equal(cm_log_escape("abc\xe2\x82\xac", out, sizeof(out)), 3);
	assert_int_equal(cm_log_escape("x", out, 0), 0);
}

/* A member as cm_log_access wrote it with jansson. */
static void
t_set_str(json_t *o, const char *key, const char *val)
{
	char buf[4096];
	json_t *v;

	if (val == NULL)
		val = "-";
	if ((v = json_string(val)) == NULL)
		v = json_stringn(buf, cm_log_escape(val, buf, sizeof(buf)));
	assert_non_null(v);
	assert_int_equal(json_object_set_new(o, key, v), 0);
}

/*
 * cm_log_access's line for req (read back from stderr), and the line the
 * jansson version wrote for it with the same time.
 */
static void
t_access(const struct cm_req *req, long long dur)
{
	char got[8192], tbuf[32], *want;
	const char *t;
	json_t *o;
	ssize_t n;
	int fds[2], saved;

	assert_int_equal(pipe(fds), 0);
	saved = dup(STDERR_FILENO);
	assert_true(saved >= 0);
	assert_true(dup2(fds[1], STDERR_FILENO) >= 0);
	cm_log_access(req, dur);
	assert_true(dup2(saved, STDERR_FILENO) >= 0);
	close(saved);
	close(fds[1]);
	n = read(fds[0], got, sizeof(got) - 1);
	close(fds[0]);
	assert_true(n > 0);
	got[n] = '\0';

	assert_int_equal(strncmp(got, "{\"time\":\"", 9), 0);
	t = got + 9;
	/* 2026-12-01T19:41:00.123Z */
	assert_int_equal(strspn(t, "0123456789-T:.Z"), 24);
	assert_int_equal(t[24], '"');
	assert_true(t[4] == '-' && t[7] == '-' && t[10] == 'T' &&
	            t[13] == ':' && t[16] == ':' && t[19] == '.' && t[23] == 'Z');
	memcpy(tbuf, t, 24);
	tbuf[24] = '\0';
	o = json_pack("{s:s, s:s, s:s}", "time", tbuf, "level", "info",
	    "service", "blog");
	assert_non_null(o);
	t_set_str(o, "request_id", req->request_id);
	t_set_str(o, "method", req->method);
	t_set_str(o, "path", req->path);
	if (req->route != NULL)
		t_set_str(o, "route", req->route);
	json_object_set_new(o, "status", json_integer(req->resp.status));
	json_object_set_new(o, "duration_us", json_integer(dur));
	if (req->user_id > 0)
		json_object_set_new(
		    o, "user_id", json_integer((json_int_t)req->user_id));
	want = json_dumps(o, JSON_COMPACT | JSON_PRESERVE_ORDER);
	assert_non_null(want);
	json_decref(o);
	assert_int_equal((size_t)n, strlen(want) + 1);
	assert_int_equal(got[n - 1], '\n');
	got[n - 1] = '\0';
	assert_string_equal(got, want);
	free(want);
}

static void
test_access_line_as_jansson_wrote_it(void **state)
{
	static const char *const paths[] = {
	    "/api/articles",
	    "/api/articles/caf\xc3\xa9-\xe2\x82\xac-\xf0\x9f\x98\x80",
	    "/a\"b\\c/d\x01\x1f\x7f\b\f\n\r\t",
	    "/x/\xff\xc0\xaf\xed\xa0\x80\xf4\x90\x80\x80" "a\xe2\x82",
	    "",
	};
	struct cm_req req;
	char *big;
	size_t i;

	(void)state;
	cm_log_set_service("blog");
	memset(&req, 0, sizeof(req));
	req.method = "GET";
	req.request_id = "-";
	for (i = 0; i < sizeof(paths) / sizeof(paths[0]); i++) {
		req.path = paths[i];
		req.resp.status = 200;
		t_access(&req, 1234);
	}
	/* Every optional member, and none. */
	req.route = "/api/articles/:slug";
	req.user_id = 42;
	req.resp.status = 404;
	t_access(&req, 0);
	req.request_id = NULL;
	req.method = NULL;
	req.path = NULL;
	req.route = NULL;
	req.user_id = 0;
	req.resp.status = 0;
	t_access(&req, -1);
	req.user_id = LLONG_MAX;
	req.resp.status = 599;
	t_access(&req, LLONG_MIN);
	req.user_id = 0;
	/* Longer than the line's stack buffer. */
	big = malloc(3001);
	assert_non_null(big);
	memset(big, 'p', 3000);
	big[3000] = '\0';
	big[1500] = '\xff';
	req.path = big;
	t_access(&req, 7);
	free(big);
}

UNIT_MAIN(
    cmocka_unit_test(test_valid_kept),
    cmocka_unit_test(test_invalid_escaped),
    cmocka_unit_test(test_bounded),
    cmocka_unit_test(test_access_line_as_jansson_wrote_it))
