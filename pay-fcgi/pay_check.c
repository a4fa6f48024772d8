/*
 * pay_check.c: validation of client input. Money is never a floating point
 * number here: only JSON integers are accepted, range-checked as integers.
 */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "cm_json.h"
#include "pay_check.h"

/* A 400 with code and param, the message formatted as printf does. */
static enum cm_err __attribute__((format(printf, 4, 5)))
pay_check_fail(struct pay_check_err *e, const char *code, const char *param,
    const char *fmt, ...)
{
	va_list ap;

	e->status = 400;
	e->code = code;
	e->param = param;
	va_start(ap, fmt);
	vsnprintf(e->message, sizeof(e->message), fmt, ap);
	va_end(ap);
	return CM_EINVAL;
}

/* param names a field of the client's body: copied, as it may be freed. */
static const char *
pay_check_param(struct pay_check_err *e, const char *name, size_t len)
{
	if (len > PAY_CHECK_PARAM_MAX)
		len = PAY_CHECK_PARAM_MAX;
	memcpy(e->pbuf, name, len);
	e->pbuf[len] = '\0';
	e->param = e->pbuf;
	return e->pbuf;
}

enum cm_err
pay_check_amount(const json_t *obj, const char *key, int required,
    long long max, long long *out, struct pay_check_err *e)
{
	json_t *v = json_is_object(obj) ? json_object_get(obj, key) : NULL;
	json_int_t n;

	*out = 0;
	if (v == NULL || json_is_null(v)) {
		if (!required)
			return CM_OK;
		return pay_check_fail(e, "parameter_missing", key,
		    "%s is required: a positive integer in minor units.", key);
	}
	if (!json_is_integer(v))
		return pay_check_fail(e, "parameter_invalid", key,
		    "%s must be a JSON integer in minor units (no decimals, "
		    "no strings).",
		    key);
	n = json_integer_value(v);
	if (n < 1 || n > PAY_AMOUNT_MAX)
		return pay_check_fail(e, "parameter_invalid", key,
		    "%s must be between 1 and %lld.", key, PAY_AMOUNT_MAX);
	if (n > max)
		return pay_check_fail(e, "parameter_invalid", key,
		    "%s must not exceed %lld.", key, max);
	*out = (long long)n;
	return CM_OK;
}

enum cm_err
pay_check_currency(const json_t *obj, char out[4], struct pay_check_err *e)
{
	const char *s;
	int i;

	switch (cm_json_str(obj, "currency", &s)) {
	case CM_JSON_OK:
		break;
	case CM_JSON_MISSING:
	case CM_JSON_NULL:
		return pay_check_fail(e, "parameter_missing", "currency",
		    "currency is required (an ISO 4217 code such as USD).");
	default:
		return pay_check_fail(e, "parameter_invalid", "currency",
		    "currency must be a string (an ISO 4217 code such as "
		    "USD).");
	}
	for (i = 0; i < 3; i++)
		if (s[i] < 'A' || s[i] > 'Z')
			break;
	if (i != 3 || s[3] != '\0')
		return pay_check_fail(e, "parameter_invalid", "currency",
		    "currency must be a supported ISO 4217 code in upper "
		    "case.");
	memcpy(out, s, 4);
	return CM_OK;
}

enum cm_err
pay_check_text(const json_t *obj, const char *key, size_t maxlen, int required,
    const char **out, struct pay_check_err *e)
{
	const char *s;

	*out = NULL;
	switch (cm_json_str(obj, key, &s)) {
	case CM_JSON_OK:
		break;
	case CM_JSON_MISSING:
	case CM_JSON_NULL:
		if (!required)
			return CM_OK;
		return pay_check_fail(
		    e, "parameter_missing", key, "%s is required.", key);
	default:
		return pay_check_fail(
		    e, "parameter_invalid", key, "%s must be a string.", key);
	}
	if (cm_json_utf8_len(s) > maxlen || (required && *s == '\0'))
		return pay_check_fail(e, "parameter_invalid", key,
		    "%s must be %s%zu characters at most.", key,
		    required ? "non-empty and " : "", maxlen);
	*out = s;
	return CM_OK;
}

enum cm_err
pay_check_key(const char *key, struct pay_check_err *e)
{
	/* An empty header is no key at all (proxies may send one). */
	if (key == NULL || *key == '\0')
		return pay_check_fail(e, "idempotency_key_missing", NULL,
		    "This request moves money: send an Idempotency-Key "
		    "header (a unique value per operation).");
	if (cm_idem_key_check(key) != CM_OK)
		return pay_check_fail(e, "idempotency_key_invalid", NULL,
		    "Idempotency-Key must be 1 to 255 printable ASCII "
		    "characters.");
	if (strstr(key, ", ") != NULL)
		return pay_check_fail(e, "parameter_invalid", "Idempotency-Key",
		    "Idempotency-Key must be sent once (a proxy joins a "
		    "repeated header with \", \").");
	return CM_OK;
}

enum cm_err
pay_check_limit(const char *s, int *out, struct pay_check_err *e)
{
	int n = 0;
	size_t i;

	*out = PAY_LIMIT_DEFAULT;
	if (s == NULL)
		return CM_OK;
	for (i = 0; i < 4 && s[i] >= '0' && s[i] <= '9'; i++)
		n = n * 10 + (s[i] - '0');
	if (i == 0 || s[i] != '\0' || n < 1 || n > PAY_LIMIT_MAX)
		return pay_check_fail(e, "parameter_invalid", "limit",
		    "limit must be an integer between 1 and 100.");
	*out = n;
	return CM_OK;
}

enum cm_err
pay_check_cursor(const char *s, struct pay_check_err *e)
{
	size_t i;

	if (s == NULL)
		return CM_OK;
	/* At most PAY_ID_MAX characters: the 65th is already too many. */
	for (i = 0; i < PAY_ID_MAX && s[i] != '\0'; i++)
		if (s[i] <= 0x20 || s[i] > 0x7e)
			break;
	if (i == 0 || s[i] != '\0')
		return pay_check_fail(e, "parameter_invalid", "starting_after",
		    "starting_after must be the id of an object of this "
		    "list.");
	return CM_OK;
}

enum cm_err
pay_check_page(const char *limit, const char *after,
    char lim[PAY_CHECK_LIM_LEN], struct pay_check_err *e)
{
	int n;

	if (pay_check_limit(limit, &n, e) != CM_OK ||
	    pay_check_cursor(after, e) != CM_OK)
		return CM_EINVAL;
	snprintf(lim, PAY_CHECK_LIM_LEN, "%d", n);
	return CM_OK;
}

enum cm_err
pay_check_fingerprint(
    const char *method, const char *path, const json_t *body, char *out)
{
	char *canon = NULL;

	/*
	 * jansson sorts keys and prints integers exactly: a stable form. {}
	 * counts as no body (a refund of what remains either way), unlike
	 * the blog's cm_idem_fingerprint; keys are stored with their
	 * fingerprints, so pay keeps its rule.
	 */
	if (body != NULL &&
	    !(json_is_object(body) && json_object_size(body) == 0) &&
	    (canon = json_dumps(body,
	         JSON_SORT_KEYS | JSON_COMPACT | JSON_ENCODE_ANY)) == NULL)
		return CM_ENOMEM;
	cm_idem_digest(
	    method, path, canon, canon != NULL ? strlen(canon) : 0, out);
	free(canon);
	return CM_OK;
}

enum cm_err
pay_check_object(const json_t *body, struct pay_check_err *e)
{
	if (body == NULL || json_is_object(body))
		return CM_OK;
	return pay_check_fail(
	    e, "invalid_json", NULL, "The request body must be a JSON object.");
}

int
pay_check_id_format(const char *s, const char *prefix)
{
	size_t n = strlen(prefix), i;

	if (s == NULL || strncmp(s, prefix, n) != 0)
		return 0;
	for (i = 0; i < 32; i++) {
		char c = s[n + i];

		if (!((c >= '0' && c <= '9') || (c >= 'a' && c <= 'f')))
			return 0;
	}
	return s[n + 32] == '\0';
}

int
pay_check_id_ok(const char *id)
{
	size_t i;

	/*
	 * Ids are printable ASCII: bytes that are not (invalid UTF-8, say)
	 * never reach PostgreSQL, where they were a 500.
	 */
	if (id == NULL)
		return 0;
	for (i = 0; i < PAY_ID_MAX && id[i] != '\0'; i++)
		if (id[i] <= 0x20 || id[i] > 0x7e)
			return 0;
	return i > 0 && id[i] == '\0';
}

/* Whether name[0..len) is one of fields. */
static int
pay_check_known(const char *const *fields, const char *name, size_t len)
{
	size_t i;

	for (i = 0; fields[i] != NULL; i++)
		if (strlen(fields[i]) == len &&
		    memcmp(fields[i], name, len) == 0)
			return 1;
	return 0;
}

/*
 * jansson refuses a number it cannot hold (an integer beyond 2^63, a real
 * beyond DBL_MAX) as a syntax error, at the byte after the number. Walk
 * back over the number, the colon and the key's closing quote to find the
 * key, so the error can name it as pay.md asks. 0 when the number is not
 * the value of a key (an array element).
 */
static int
pay_check_number_key(
    const char *body, size_t pos, const char **key, size_t *klen)
{
	size_t end;

	while (pos > 0 && strchr("0123456789+-.eE", body[pos - 1]) != NULL)
		pos--;
	while (pos > 0 && strchr(" \t\r\n", body[pos - 1]) != NULL)
		pos--;
	if (pos == 0 || body[--pos] != ':')
		return 0;
	while (pos > 0 && strchr(" \t\r\n", body[pos - 1]) != NULL)
		pos--;
	if (pos == 0 || body[--pos] != '"')
		return 0;
	end = pos;
	/* An escaped quote does not open the key; names here have none. */
	while (pos > 0 &&
	    (body[pos - 1] != '"' || (pos > 1 && body[pos - 2] == '\\')))
		pos--;
	if (pos == 0)
		return 0;
	*key = body + pos;
	*klen = end - pos;
	return 1;
}

/* A field the request does not have: refused, so a typo never passes. */
static enum cm_err
pay_check_unknown(struct pay_check_err *e, const char *name, size_t len)
{
	const char *param = pay_check_param(e, name, len);

	return pay_check_fail(e, "parameter_unknown", param,
	    "%s is not a field of this request.", param);
}

/* application/json, in any case, optionally with parameters (charset). */
static int
pay_check_json_type(const char *ct)
{
	static const char want[] = "application/json";
	size_t n = sizeof(want) - 1;

	if (ct == NULL || strncasecmp(ct, want, n) != 0)
		return 0;
	ct += n;
	while (*ct == ' ' || *ct == '\t')
		ct++;
	return *ct == '\0' || *ct == ';';
}

enum cm_err
pay_check_body(const char *content_type, const char *body, size_t len,
    const char *const *fields, json_t **out, struct pay_check_err *e)
{
	json_error_t jerr;
	const char *key = NULL, *k;
	json_t *v, *val;
	size_t klen;

	*out = NULL;
	if (body == NULL || len == 0)
		return CM_OK;
	if (!pay_check_json_type(content_type)) {
		(void)pay_check_fail(e, "unsupported_media_type", NULL,
		    "Send the body as JSON with Content-Type: "
		    "application/json.");
		e->status = 415;
		return CM_EINVAL;
	}
	if ((v = json_loadb(body, len, 0, &jerr)) == NULL) {
		if (json_error_code(&jerr) == json_error_numeric_overflow &&
		    jerr.position > 0 && (size_t)jerr.position <= len &&
		    pay_check_number_key(
		        body, (size_t)jerr.position, &key, &klen)) {
			if (!pay_check_known(fields, key, klen))
				return pay_check_unknown(e, key, klen);
			k = pay_check_param(e, key, klen);
			return pay_check_fail(e, "parameter_invalid", k,
			    "%s must be an integer between 1 and %lld.", k,
			    PAY_AMOUNT_MAX);
		}
		return pay_check_fail(e, "invalid_json", NULL,
		    "The body is not valid JSON (line %d column %d: %.100s).",
		    jerr.line, jerr.column, jerr.text);
	}
	if (pay_check_object(v, e) != CM_OK) {
		json_decref(v);
		return CM_EINVAL;
	}
	json_object_foreach(v, k, val)
	{
		if (!pay_check_known(fields, k, strlen(k))) {
			(void)pay_check_unknown(e, k, strlen(k));
			json_decref(v);
			return CM_EINVAL;
		}
	}
	*out = v;
	return CM_OK;
}
