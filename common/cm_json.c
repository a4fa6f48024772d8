/*
 * cm_json.c: jansson helpers shared by both services.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cm_json.h"

enum cm_err
cm_json_parse(
    const char *buf, size_t len, json_t **out, char *err, size_t errlen)
{
	json_error_t jerr;
	json_t *v;

	*out = NULL;
	/*
	 * JSON_REJECT_DUPLICATES is deliberately not set: RFC 8259 leaves
	 * duplicates to the implementation and clients do send them. NUL in
	 * strings (\u0000) and invalid UTF-8 are rejected by jansson's
	 * defaults.
	 */
	v = json_loadb(buf, len, 0, &jerr);
	if (v == NULL) {
		snprintf(err, errlen, "line %d column %d: %s", jerr.line,
		    jerr.column, jerr.text);
		return CM_EINVAL;
	}
	*out = v;
	return CM_OK;
}

/*
 * The value at key if it has type want (JSON_TRUE: either boolean), else
 * *out = NULL; jansson's accessors read NULL as NULL, 0 or false, which is
 * what the typed getters give on any failure.
 */
static enum cm_jget
cm_json_get(const json_t *obj, const char *key, json_type want, json_t **out)
{
	json_t *v;

	*out = NULL;
	if (!json_is_object(obj) || (v = json_object_get(obj, key)) == NULL)
		return CM_JSON_MISSING;
	if (json_is_null(v))
		return CM_JSON_NULL;
	if (json_typeof(v) != want &&
	    !(want == JSON_TRUE && json_is_boolean(v)))
		return CM_JSON_WRONG_TYPE;
	*out = v;
	return CM_JSON_OK;
}

enum cm_jget
cm_json_str(const json_t *obj, const char *key, const char **out)
{
	json_t *v;
	enum cm_jget r = cm_json_get(obj, key, JSON_STRING, &v);

	*out = json_string_value(v);
	return r;
}

enum cm_jget
cm_json_int(const json_t *obj, const char *key, json_int_t *out)
{
	json_t *v;
	enum cm_jget r = cm_json_get(obj, key, JSON_INTEGER, &v);

	*out = json_integer_value(v);
	return r;
}

enum cm_jget
cm_json_bool(const json_t *obj, const char *key, int *out)
{
	json_t *v;
	enum cm_jget r = cm_json_get(obj, key, JSON_TRUE, &v);

	*out = json_is_true(v);
	return r;
}

enum cm_jget
cm_json_obj(const json_t *obj, const char *key, json_t **out)
{
	return cm_json_get(obj, key, JSON_OBJECT, out);
}

enum cm_jget
cm_json_arr(const json_t *obj, const char *key, json_t **out)
{
	return cm_json_get(obj, key, JSON_ARRAY, out);
}

char *
cm_json_dump(const json_t *v, size_t *len)
{
	char *s;

	s = json_dumps(v, JSON_COMPACT | JSON_PRESERVE_ORDER | JSON_ENCODE_ANY);
	if (s != NULL && len != NULL)
		*len = strlen(s);
	return s;
}

size_t
cm_json_utf8_len(const char *s)
{
	size_t n = 0;

	for (; *s != '\0'; s++)
		if (((unsigned char)*s & 0xC0) != 0x80)
			n++;
	return n;
}
