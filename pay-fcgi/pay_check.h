/*
 * pay_check.h: pure validation of what clients send (no database, no I/O),
 * shared by the handlers and unit-tested on its own.
 */
#ifndef PAY_CHECK_H
#define PAY_CHECK_H

#include <stddef.h>

#include <jansson.h>

#include "cm_err.h"
#include "cm_idem.h"

#define PAY_AMOUNT_MAX 9007199254740991LL /* 2^53 - 1 */
#define PAY_KEY_MAX CM_IDEM_KEY_MAX
#define PAY_DESCRIPTION_MAX 1000
#define PAY_REFERENCE_MAX 255
#define PAY_NAME_MAX 128
#define PAY_ID_MAX 64
#define PAY_LIMIT_DEFAULT 20
#define PAY_LIMIT_MAX 100
#define PAY_FINGERPRINT_LEN CM_IDEM_FP_LEN /* hex SHA-256 */
#define PAY_CHECK_LIM_LEN 8 /* a limit as text */
#define PAY_CHECK_PARAM_MAX 64 /* longer field names are cut in param */

/* Why a check failed, in the words of pay.md's error body. */
struct pay_check_err {
	int status; /* 400, or 415 for a body that is not JSON */
	const char *code; /* "parameter_missing", ... */
	const char *param; /* NULL when none */
	char message[192];
	char pbuf[PAY_CHECK_PARAM_MAX + 1]; /* param, when it is a field */
};

/*
 * A positive integer amount in [1, max] under key. A JSON real, string,
 * bool, zero or negative is CM_EINVAL. When required is 0, an absent or null
 * key is CM_OK with *out = 0.
 */
enum cm_err pay_check_amount(const json_t *obj, const char *key, int required,
    long long max, long long *out, struct pay_check_err *e);

/* Three upper-case ASCII letters; existence is the database's to check. */
enum cm_err pay_check_currency(
    const json_t *obj, char out[4], struct pay_check_err *e);

/*
 * A string of at most maxlen code points. Not required: absent or null is
 * CM_OK with *out = NULL. Required strings must not be empty.
 */
enum cm_err pay_check_text(const json_t *obj, const char *key, size_t maxlen,
    int required, const char **out, struct pay_check_err *e);

/*
 * Idempotency-Key: 1..255 printable ASCII; NULL or "" is missing. ", " is
 * refused: it is how a proxy joins a header sent twice (nginx >= 1.23 does
 * when passing headers to FastCGI), and one request has one key.
 */
enum cm_err pay_check_key(const char *key, struct pay_check_err *e);

/* ?limit=: absent is the default, else a decimal in 1..100. */
enum cm_err pay_check_limit(const char *s, int *out, struct pay_check_err *e);

/* ?starting_after= and path ids: NULL or 1..PAY_ID_MAX printable chars. */
enum cm_err pay_check_cursor(const char *s, struct pay_check_err *e);

/*
 * A list's query: limit (pay_check_limit, written as text into lim) and
 * starting_after (pay_check_cursor).
 */
enum cm_err pay_check_page(const char *limit, const char *after,
    char lim[PAY_CHECK_LIM_LEN], struct pay_check_err *e);

/*
 * The request fingerprint an Idempotency-Key is bound to: hex SHA-256 of
 * method, path and the canonical body (sorted keys, compact; no body and {}
 * are the same). out must hold PAY_FINGERPRINT_LEN + 1 bytes.
 */
enum cm_err pay_check_fingerprint(
    const char *method, const char *path, const json_t *body, char *out);

/* A request body must be a JSON object; no body counts as {}. */
enum cm_err pay_check_object(const json_t *body, struct pay_check_err *e);

/*
 * The body of a POST, strictly (pay.md, "Requests"): no body is {}; a body
 * must come as Content-Type: application/json (else 415), parse as JSON and
 * be an object whose every key is one of fields (NULL-terminated; else
 * parameter_unknown naming it). A number too large for jansson names its
 * field: parameter_invalid for a field of this request. *out is a new
 * reference the caller owns (NULL for no body).
 */
enum cm_err pay_check_body(const char *content_type, const char *body,
    size_t len, const char *const *fields, json_t **out,
    struct pay_check_err *e);

/* Whether s is prefix followed by 32 lower-case hex digits. */
int pay_check_id_format(const char *s, const char *prefix);

/*
 * Whether a path id could name an object at all (1..PAY_ID_MAX printable
 * ASCII characters): one that cannot is unknown without asking the
 * database.
 */
int pay_check_id_ok(const char *id);

#endif
