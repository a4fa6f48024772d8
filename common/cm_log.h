/*
 * cm_log.h: structured logs, one JSON object per line on stderr.
 */
#ifndef CM_LOG_H
#define CM_LOG_H

#include <stddef.h>

enum cm_log_level {
	CM_LOG_DEBUG = 0,
	CM_LOG_INFO,
	CM_LOG_WARN,
	CM_LOG_ERROR,
};

/* Set once at start from LOG_LEVEL ("debug", "info", "warn", "error"). */
int cm_log_set_level(const char *name);
void cm_log_set_service(const char *name);

/*
 * One line: {"time":..., "level":..., "service":..., "request_id":...,
 * "msg":...}. request_id may be NULL.
 */
void cm_log(enum cm_log_level level, const char *request_id, const char *fmt,
    ...) __attribute__((format(printf, 3, 4)));

/*
 * Copy in to out (cap bytes, NUL-terminated) with every byte that is not
 * part of valid UTF-8 written as the four characters \xHH; returns the
 * length written. Stops early, on a character boundary, when out is full.
 */
size_t cm_log_escape(const char *in, char *out, size_t cap);

struct cm_req;

/* The access-log line for a finished request. */
void cm_log_access(const struct cm_req *req, long long duration_us);

#endif
