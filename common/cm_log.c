/*
 * cm_log.c: one JSON object per line on stderr. A line is built in a local
 * buffer and written with one write(2) so that lines from several worker
 * threads never interleave.
 */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
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
 * Length of the valid UTF-8 sequence at s (at most n bytes), 0 when the
 * byte at s does not start one: overlong forms, surrogates and code
 * points past U+10FFFF are invalid, as jansson sees them.
 */
static size_t
cm_log_utf8_len(const unsigned char *s, size_t n)
{
	size_t len, i;
	unsigned long cp;

	if (s[0] < 0x80)
		return 1;
	if (s[0] >= 0xc2 && s[0] <= 0xdf) {
		len = 2;
		cp = s[0] & 0x1f;
	} else if (s[0] >= 0xe0 && s[0] <= 0xef) {
		len = 3;
		cp = s[0] & 0x0f;
	} else if (s[0] >= 0xf0 && s[0] <= 0xf4) {
		len = 4;
		cp = s[0] & 0x07;
	} else
		return 0;
	if (len > n)
		return 0;
	for (i = 1; i < len; i++) {
		if ((s[i] & 0xc0) != 0x80)
			return 0;
		cp = (cp << 6) | (s[i] & 0x3f);
	}
	if ((len == 3 && cp < 0x800) || (len == 4 && cp < 0x10000) ||
	    (cp >= 0xd800 && cp <= 0xdfff) || cp > 0x10ffff)
		return 0;
	return len;
}

size_t
cm_log_escape(const char *in, char *out, size_t cap)
{
	static const char hex[] = "0123456789abcdef";
	const unsigned char *s = (const unsigned char *)in;
	size_t n = strlen(in), i = 0, o = 0, k;

	if (cap == 0)
		return 0;
	while (i < n) {
		k = cm_log_utf8_len(s + i, n - i);
		if (k > 0) {
			if (o + k >= cap)
				break;
			memcpy(out + o, s + i, k);
			o += k;
			i += k;
			continue;
		}
		if (o + 4 >= cap)
			break;
		out[o++] = '\\';
		out[o++] = 'x';
		out[o++] = hex[s[i] >> 4];
		out[o++] = hex[s[i] & 0x0f];
		i++;
	}
	out[o] = '\0';
	return o;
}

/*
 * Set a string member. Text that is not valid UTF-8 (a client's path, a
 * database message quoting it) would make the whole line unserialisable,
 * so each invalid byte is written as \xHH and the rest is kept as it was:
 * the message is never dropped.
 */
static void
cm_log_set_str(json_t *o, const char *key, const char *val)
{
	size_t cap;
	char *buf;
	json_t *v;

	if (val == NULL)
		val = "-";
	v = json_string(val);
	if (v == NULL) {
		cap = 4 * strlen(val) + 1; /* every byte may become \xHH */
		if ((buf = malloc(cap)) != NULL) {
			v = json_stringn(buf, cm_log_escape(val, buf, cap));
			free(buf);
		}
	}
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
		cm_log_set_str(o, "request_id", request_id);
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
