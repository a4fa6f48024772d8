/*
 * cm_log.c: one JSON object per line on stderr. A line is built in a local
 * buffer and written with one write(2) so that lines from several worker
 * threads never interleave.
 */
#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>
#include <sys/time.h>
#include <time.h>
#include <unistd.h>

#include <jansson.h>

#include "cm_log.h"
#include "cm_req.h"

static enum cm_log_level cm_log_level = CM_LOG_INFO;
static const char *cm_log_service = "-";

static const char *const cm_log_names[] = {"debug", "info", "warn", "error"};

int
cm_log_set_level(const char *name)
{
	size_t i;

	if (name == NULL || *name == '\0')
		return 0;
	for (i = 0; i < sizeof(cm_log_names) / sizeof(cm_log_names[0]); i++) {
		if (strcasecmp(name, cm_log_names[i]) == 0) {
			cm_log_level = (enum cm_log_level)i;
			return 0;
		}
	}
	return -1;
}

void
cm_log_set_service(const char *name)
{
	cm_log_service = name;
}

static void
cm_log_time(char *buf, size_t len)
{
	struct timeval tv;
	struct tm tm;

	gettimeofday(&tv, NULL);
	gmtime_r(&tv.tv_sec, &tm);
	snprintf(buf, len, "%04d-%02d-%02dT%02d:%02d:%02d.%03ldZ",
	    tm.tm_year + 1900, tm.tm_mon + 1, tm.tm_mday, tm.tm_hour, tm.tm_min,
	    tm.tm_sec, (long)(tv.tv_usec / 1000) % 1000);
}

/*
 * Set a string member; text that is not valid UTF-8 (a client's path, say)
 * would make the whole line unserialisable, so it is replaced by a marker.
 */
static void
cm_log_set_str(json_t *o, const char *key, const char *val)
{
	json_t *v;

	v = json_string(val != NULL ? val : "-");
	if (v == NULL)
		v = json_string("(not UTF-8)");
	json_object_set_new(o, key, v);
}

/* Serialise and write one object as a line; consumes obj. */
static void
cm_log_emit(json_t *obj)
{
	char *s;
	size_t n;

	if (obj == NULL)
		return;
	s = json_dumps(obj, JSON_COMPACT | JSON_PRESERVE_ORDER);
	json_decref(obj);
	if (s == NULL)
		return;
	n = strlen(s);
	s[n] = '\n'; /* overwrite the NUL, write exactly n+1 bytes */
	if (write(STDERR_FILENO, s, n + 1) < 0) {
		/* Nowhere left to report a failed log write. */
	}
	free(s);
}

void
cm_log(enum cm_log_level level, const char *request_id, const char *fmt, ...)
{
	char tbuf[64], msg[2048];
	va_list ap;
	json_t *o;

	if (level < cm_log_level)
		return;
	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	cm_log_time(tbuf, sizeof(tbuf));
	o = json_pack("{s:s, s:s, s:s}", "time", tbuf, "level",
	    cm_log_names[level], "service", cm_log_service);
	if (o == NULL)
		return;
	if (request_id != NULL)
		json_object_set_new(o, "request_id", json_string(request_id));
	cm_log_set_str(o, "msg", msg);
	cm_log_emit(o);
}

void
cm_log_access(const struct cm_req *req, long long duration_us)
{
	char tbuf[64];
	json_t *o;

	if (CM_LOG_INFO < cm_log_level)
		return;
	cm_log_time(tbuf, sizeof(tbuf));
	o = json_pack("{s:s, s:s, s:s}", "time", tbuf, "level", "info",
	    "service", cm_log_service);
	if (o == NULL)
		return;
	cm_log_set_str(o, "request_id", req->request_id);
	cm_log_set_str(o, "method", req->method);
	cm_log_set_str(o, "path", req->path);
	if (req->route != NULL)
		cm_log_set_str(o, "route", req->route);
	json_object_set_new(o, "status", json_integer(req->resp.status));
	json_object_set_new(o, "duration_us", json_integer(duration_us));
	if (req->user_id > 0)
		json_object_set_new(
		    o, "user_id", json_integer((json_int_t)req->user_id));
	cm_log_emit(o);
}
