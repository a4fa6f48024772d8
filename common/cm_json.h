/*
 * cm_json.h: helpers over jansson: parsing with a clear error, typed getters
 * that tell "missing" from "null" from "wrong type", and compact output.
 */
#ifndef CM_JSON_H
#define CM_JSON_H

#include <stddef.h>

#include <jansson.h>

#include "cm_err.h"

enum cm_jget {
	CM_JSON_OK = 0,
	CM_JSON_MISSING, /* key absent (or obj not an object) */
	CM_JSON_NULL, /* key present with value null */
	CM_JSON_WRONG_TYPE, /* key present with another type */
};

/*
 * Parse len bytes of JSON text. Rejects invalid UTF-8, NUL bytes inside
 * strings, duplicate keys are allowed (last wins). On failure returns
 * CM_EINVAL and writes a one-line reason ("line 1 column 5: ...") to err.
 */
enum cm_err cm_json_parse(
    const char *buf, size_t len, json_t **out, char *err, size_t errlen);

/* Typed getters: *out is borrowed from obj. */
enum cm_jget cm_json_str(const json_t *obj, const char *key, const char **out);
enum cm_jget cm_json_int(const json_t *obj, const char *key, json_int_t *out);
enum cm_jget cm_json_bool(const json_t *obj, const char *key, int *out);
enum cm_jget cm_json_obj(const json_t *obj, const char *key, json_t **out);
enum cm_jget cm_json_arr(const json_t *obj, const char *key, json_t **out);

/* Compact serialisation; caller frees with free(). NULL on ENOMEM. */
char *cm_json_dump(const json_t *v, size_t *len);

/*
 * Number of Unicode code points in a valid UTF-8 string (jansson guarantees
 * validity for strings it parsed).
 */
size_t cm_json_utf8_len(const char *s);

#endif
