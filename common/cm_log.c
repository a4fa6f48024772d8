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

/*
 * v in decimal, zero-padded to at least width digits, at p; returns the
 * count. snprintf took a third of an access line's instructions.
 */
static size_t
cm_log_digits(char *p, unsigned long long v, size_t width)
{
	char tmp[24];
	size_t n = 0, i;

	do {
		tmp[n++] = (char)('0' + v % 10);
		v /= 10;
	} while (v > 0);
	while (n < width)
		tmp[n++] = '0';
	for (i = 0; i < n; i++)
		p[i] = tmp[n - 1 - i];
	return n;
}

/* 2026-12-01T19:41:00.123Z (24 bytes and a NUL; buf holds 32). */
static void
cm_log_time(char buf[32])
{
	struct timeval tv;
	struct tm tm;
	size_t n;

	gettimeofday(&tv, NULL);
	gmtime_r(&tv.tv_sec, &tm);
	n = cm_log_digits(buf, (unsigned long long)tm.tm_year + 1900, 4);
	buf[n++] = '-';
	n += cm_log_digits(buf + n, (unsigned long long)tm.tm_mon + 1, 2);
	buf[n++] = '-';
	n += cm_log_digits(buf + n, (unsigned long long)tm.tm_mday, 2);
	buf[n++] = 'T';
	n += cm_log_digits(buf + n, (unsigned long long)tm.tm_hour, 2);
	buf[n++] = ':';
	n += cm_log_digits(buf + n, (unsigned long long)tm.tm_min, 2);
	buf[n++] = ':';
	n += cm_log_digits(buf + n, (unsigned long long)tm.tm_sec, 2);
	buf[n++] = '.';
	n += cm_log_digits(
	    buf + n, (unsigned long long)(tv.tv_usec / 1000) % 1000, 3);
	buf[n++] = 'Z';
	buf[n] = '\0';
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
	char tbuf[32], msg[2048];
	va_list ap;
	json_t *o;

	if (level < cm_log_level)
		return;
	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	cm_log_time(tbuf);
	o = json_pack("{s:s, s:s, s:s}", "time", tbuf, "level",
	    cm_log_names[level], "service", cm_log_service);
	if (o == NULL)
		return;
	if (request_id != NULL)
		cm_log_set_str(o, "request_id", request_id);
	cm_log_set_str(o, "msg", msg);
	cm_log_emit(o);
}

/*
 * The access line is written without jansson: building an object of eight
 * members and dumping it cost a replica 12 % of its CPU on an authenticated
 * list (profile of 2026-12-01 19:41: 34 samples of 270 in cm_log_access,
 * 4 of them the write). The bytes are those json_dumps wrote for the same
 * object (JSON_COMPACT | JSON_PRESERVE_ORDER, cm_log_set_str's \xHH for
 * bytes that are not UTF-8), which tests/unit/test_cm_log.c checks against
 * jansson. A line grows from the stack to the heap, so nothing is cut.
 */
struct cm_log_line {
	char *p;
	size_t len, cap;
	int failed; /* out of memory: the line is dropped, as before */
	char stack[1024];
};

static void
cm_log_put(struct cm_log_line *l, const char *s, size_t n)
{
	size_t cap;
	char *np;

	if (l->failed)
		return;
	if (n > l->cap - l->len) {
		for (cap = l->cap * 2; n > cap - l->len; cap *= 2)
			;
		np = l->p == l->stack ? malloc(cap) : realloc(l->p, cap);
		if (np == NULL) {
			l->failed = 1;
			return;
		}
		if (l->p == l->stack)
			memcpy(np, l->stack, l->len);
		l->p = np;
		l->cap = cap;
	}
	memcpy(l->p + l->len, s, n);
	l->len += n;
}

/* "key": with the comma before it unless it is the first member. */
static void
cm_log_put_key(struct cm_log_line *l, const char *key)
{
	cm_log_put(l, l->len > 1 ? ",\"" : "\"", l->len > 1 ? 2 : 1);
	cm_log_put(l, key, strlen(key));
	cm_log_put(l, "\":", 2);
}

/* The characters JSON escapes with one letter, and those letters. */
#define CM_LOG_ESC_FROM "\b\f\n\r\t\"\\"
#define CM_LOG_ESC_TO "bfnrt\"\\"

/* A string as jansson dumps it ("-" for NULL, like cm_log_set_str). */
static void
cm_log_put_str(struct cm_log_line *l, const char *key, const char *val)
{
	const unsigned char *s;
	const char *short_esc;
	size_t n, i = 0, start, k = 1;
	char esc[8];

	if (val == NULL)
		val = "-";
	s = (const unsigned char *)val;
	n = strlen(val);
	cm_log_put_key(l, key);
	cm_log_put(l, "\"", 1);
	while (i < n) {
		for (start = i; i < n; i += k)
			if (s[i] < 0x20 || s[i] == '"' || s[i] == '\\' ||
			    (k = cm_log_utf8_len(s + i, n - i)) == 0)
				break;
		cm_log_put(l, val + start, i - start);
		if (i == n)
			break;
		/* Not UTF-8: cm_log_escape's \xHH, its backslash escaped. */
		if (s[i] >= 0x80) {
			snprintf(esc, sizeof(esc), "\\\\x%02x", s[i]);
			cm_log_put(l, esc, 5);
		} else if ((short_esc = memchr(CM_LOG_ESC_FROM, s[i],
		                sizeof(CM_LOG_ESC_FROM) - 1)) != NULL) {
			esc[0] = '\\';
			esc[1] = CM_LOG_ESC_TO[short_esc - CM_LOG_ESC_FROM];
			cm_log_put(l, esc, 2);
		} else {
			snprintf(esc, sizeof(esc), "\\u%04X", s[i]);
			cm_log_put(l, esc, 6);
		}
		i++;
	}
	cm_log_put(l, "\"", 1);
}

static void
cm_log_put_int(struct cm_log_line *l, const char *key, long long v)
{
	char num[24];
	size_t n = 0;

	/* The magnitude as unsigned: -LLONG_MIN does not fit. */
	if (v < 0)
		num[n++] = '-';
	n += cm_log_digits(num + n,
	    v < 0 ? 0ULL - (unsigned long long)v : (unsigned long long)v, 1);
	cm_log_put_key(l, key);
	cm_log_put(l, num, n);
}

void
cm_log_access(const struct cm_req *req, long long duration_us)
{
	struct cm_log_line l;
	char tbuf[32];

	if (CM_LOG_INFO < cm_log_level)
		return;
	l.p = l.stack;
	l.len = 0;
	l.cap = sizeof(l.stack);
	l.failed = 0;
	cm_log_time(tbuf);
	cm_log_put(&l, "{", 1);
	cm_log_put_str(&l, "time", tbuf);
	cm_log_put_str(&l, "level", "info");
	cm_log_put_str(&l, "service", cm_log_service);
	cm_log_put_str(&l, "request_id", req->request_id);
	cm_log_put_str(&l, "method", req->method);
	cm_log_put_str(&l, "path", req->path);
	if (req->route != NULL)
		cm_log_put_str(&l, "route", req->route);
	cm_log_put_int(&l, "status", req->resp.status);
	cm_log_put_int(&l, "duration_us", duration_us);
	if (req->user_id > 0)
		cm_log_put_int(&l, "user_id", req->user_id);
	cm_log_put(&l, "}\n", 2);
	if (!l.failed && write(STDERR_FILENO, l.p, l.len) < 0) {
		/* Nowhere left to report a failed log write. */
	}
	if (l.p != l.stack)
		free(l.p);
}
