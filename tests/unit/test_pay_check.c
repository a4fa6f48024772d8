/*
 * test_pay_check.c: the pure input checks of pay-fcgi: amounts, currencies,
 * texts, Idempotency-Keys, list parameters, fingerprints and id formats.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include "unit.h"

#include "../../pay-fcgi/pay_check.h"

static json_t *
parse(const char *s)
{
	json_t *j = json_loads(s, JSON_DECODE_ANY, NULL);

	assert_non_null(j);
	return j;
}

static enum cm_err
amount_of(const char *body, int required, long long max, long long *out,
    struct pay_check_err *e)
{
	json_t *j = parse(body);
	enum cm_err rc = pay_check_amount(j, "amount", required, max, out, e);

	json_decref(j);
	return rc;
}

static void
test_amount_valid(void **state)
{
	struct pay_check_err e;
	long long v;

	(void)state;
	assert_int_equal(
	    amount_of("{\"amount\":1}", 1, PAY_AMOUNT_MAX, &v, &e), CM_OK);
	assert_int_equal(v, 1);
	assert_int_equal(amount_of("{\"amount\":9007199254740991}", 1,
	                     PAY_AMOUNT_MAX, &v, &e),
	    CM_OK);
	assert_int_equal(v, 9007199254740991LL);
	/* Optional and absent, or null: no amount. */
	assert_int_equal(amount_of("{}", 0, PAY_AMOUNT_MAX, &v, &e), CM_OK);
	assert_int_equal(v, 0);
	assert_int_equal(
	    amount_of("{\"amount\":null}", 0, PAY_AMOUNT_MAX, &v, &e), CM_OK);
	assert_int_equal(v, 0);
}

static void
test_amount_invalid(void **state)
{
	static const char *bad[] = {"{\"amount\":0}", "{\"amount\":-1}",
	    "{\"amount\":1.5}", "{\"amount\":1.0}", "{\"amount\":1e3}",
	    "{\"amount\":\"100\"}", "{\"amount\":true}", "{\"amount\":[1]}",
	    "{\"amount\":{}}", "{\"amount\":9007199254740992}",
	    "{\"amount\":9223372036854775807}",
	    "{\"amount\":-9223372036854775808}"};
	struct pay_check_err e;
	long long v = 7;
	size_t i;

	(void)state;
	for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		assert_int_equal(
		    amount_of(bad[i], 1, PAY_AMOUNT_MAX, &v, &e), CM_EINVAL);
		assert_string_equal(e.code, "parameter_invalid");
		assert_string_equal(e.param, "amount");
		assert_int_equal(v, 0);
	}
	assert_int_equal(amount_of("{}", 1, PAY_AMOUNT_MAX, &v, &e), CM_EINVAL);
	assert_string_equal(e.code, "parameter_missing");
	/* The per-deposit limit. */
	assert_int_equal(
	    amount_of("{\"amount\":101}", 1, 100, &v, &e), CM_EINVAL);
	assert_non_null(strstr(e.message, "100"));
	assert_int_equal(amount_of("{\"amount\":100}", 1, 100, &v, &e), CM_OK);
}

static void
test_currency(void **state)
{
	static const char *bad[] = {"{\"currency\":\"usd\"}",
	    "{\"currency\":\"US\"}", "{\"currency\":\"USDX\"}",
	    "{\"currency\":\"U$D\"}", "{\"currency\":1}",
	    "{\"currency\":\"\"}"};
	struct pay_check_err e;
	char cur[4];
	json_t *j;
	size_t i;

	(void)state;
	j = parse("{\"currency\":\"JPY\"}");
	assert_int_equal(pay_check_currency(j, cur, &e), CM_OK);
	assert_string_equal(cur, "JPY");
	json_decref(j);
	for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		j = parse(bad[i]);
		assert_int_equal(pay_check_currency(j, cur, &e), CM_EINVAL);
		assert_string_equal(e.code, "parameter_invalid");
		assert_string_equal(e.param, "currency");
		json_decref(j);
	}
	j = parse("{}");
	assert_int_equal(pay_check_currency(j, cur, &e), CM_EINVAL);
	assert_string_equal(e.code, "parameter_missing");
	json_decref(j);
}

static void
test_text(void **state)
{
	struct pay_check_err e;
	const char *s;
	char buf[1100];
	json_t *j;

	(void)state;
	/* Code points count, not bytes: 255 two-byte characters are fine. */
	memset(buf, 0, sizeof(buf));
	for (int i = 0; i < 255; i++)
		memcpy(buf + 2 * i, "\xc3\xa9", 2);
	j = json_pack("{s:s}", "reference", buf);
	assert_int_equal(
	    pay_check_text(j, "reference", PAY_REFERENCE_MAX, 0, &s, &e),
	    CM_OK);
	json_decref(j);
	strcat(buf, "x");
	j = json_pack("{s:s}", "reference", buf);
	assert_int_equal(
	    pay_check_text(j, "reference", PAY_REFERENCE_MAX, 0, &s, &e),
	    CM_EINVAL);
	assert_string_equal(e.param, "reference");
	json_decref(j);
	j = parse("{\"to\":\"\",\"d\":null,\"n\":5}");
	assert_int_equal(
	    pay_check_text(j, "to", PAY_NAME_MAX, 1, &s, &e), CM_EINVAL);
	assert_int_equal(pay_check_text(j, "d", 10, 0, &s, &e), CM_OK);
	assert_null(s);
	assert_int_equal(pay_check_text(j, "n", 10, 0, &s, &e), CM_EINVAL);
	assert_int_equal(
	    pay_check_text(j, "missing", 10, 1, &s, &e), CM_EINVAL);
	assert_string_equal(e.code, "parameter_missing");
	json_decref(j);
}

static void
test_key(void **state)
{
	struct pay_check_err e;
	char k[300];

	(void)state;
	assert_int_equal(pay_check_key(NULL, &e), CM_EINVAL);
	assert_string_equal(e.code, "idempotency_key_missing");
	assert_int_equal(pay_check_key("", &e), CM_EINVAL);
	assert_string_equal(e.code, "idempotency_key_missing");
	assert_int_equal(pay_check_key("\x7f", &e), CM_EINVAL);
	assert_string_equal(e.code, "idempotency_key_invalid");
	assert_int_equal(pay_check_key("a b~!", &e), CM_OK);
	assert_int_equal(pay_check_key("a,b", &e), CM_OK);
	/* Two headers joined by a proxy. */
	assert_int_equal(pay_check_key("k1, k2", &e), CM_EINVAL);
	assert_string_equal(e.param, "Idempotency-Key");
	assert_int_equal(pay_check_key("tab\there", &e), CM_EINVAL);
	assert_int_equal(pay_check_key("caf\xc3\xa9", &e), CM_EINVAL);
	memset(k, 'k', sizeof(k));
	k[255] = '\0';
	assert_int_equal(pay_check_key(k, &e), CM_OK);
	k[255] = 'k';
	k[256] = '\0';
	assert_int_equal(pay_check_key(k, &e), CM_EINVAL);
}

static void
test_limit_cursor(void **state)
{
	char longid[PAY_ID_MAX + 2], lim[PAY_CHECK_LIM_LEN];
	static const char *bad[] = {
	    "0", "101", "-1", "", "1x", "1.5", "99999", " 5"};
	struct pay_check_err e;
	size_t i;
	int n;

	(void)state;
	assert_int_equal(pay_check_limit(NULL, &n, &e), CM_OK);
	assert_int_equal(n, 20);
	assert_int_equal(pay_check_limit("1", &n, &e), CM_OK);
	assert_int_equal(n, 1);
	assert_int_equal(pay_check_limit("100", &n, &e), CM_OK);
	assert_int_equal(n, 100);
	for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		assert_int_equal(pay_check_limit(bad[i], &n, &e), CM_EINVAL);
		assert_string_equal(e.param, "limit");
	}
	assert_int_equal(pay_check_cursor(NULL, &e), CM_OK);
	assert_int_equal(pay_check_cursor("pay_0123", &e), CM_OK);
	assert_int_equal(pay_check_cursor("", &e), CM_EINVAL);
	assert_int_equal(pay_check_cursor("a b", &e), CM_EINVAL);
	/* The limit is PAY_ID_MAX (64) characters: 64 pass, 65 do not. */
	memset(longid, 'p', sizeof(longid));
	longid[PAY_ID_MAX] = '\0';
	assert_int_equal(pay_check_cursor(longid, &e), CM_OK);
	longid[PAY_ID_MAX] = 'p';
	longid[PAY_ID_MAX + 1] = '\0';
	assert_int_equal(pay_check_cursor(longid, &e), CM_EINVAL);
	assert_string_equal(e.param, "starting_after");
	assert_int_equal(pay_check_cursor("pay_\xff", &e), CM_EINVAL);
	/* Both together, the limit as the text the statement takes. */
	assert_int_equal(pay_check_page(NULL, NULL, lim, &e), CM_OK);
	assert_string_equal(lim, "20");
	assert_int_equal(pay_check_page("100", "pay_1", lim, &e), CM_OK);
	assert_string_equal(lim, "100");
	assert_int_equal(pay_check_page("101", NULL, lim, &e), CM_EINVAL);
	assert_string_equal(e.param, "limit");
	assert_int_equal(pay_check_page("5", "", lim, &e), CM_EINVAL);
	assert_string_equal(e.param, "starting_after");
	/* Path ids: the same characters and length. */
	assert_true(pay_check_id_ok("pay_0123"));
	assert_false(pay_check_id_ok("pay_\xff"));
	assert_false(pay_check_id_ok(""));
	assert_false(pay_check_id_ok(longid));
	longid[PAY_ID_MAX] = '\0';
	assert_true(pay_check_id_ok(longid));
}

static void
test_fingerprint(void **state)
{
	char a[PAY_FINGERPRINT_LEN + 1], b[PAY_FINGERPRINT_LEN + 1];
	json_t *x, *y;

	(void)state;
	/* Key order and whitespace do not matter; values and paths do. */
	x = parse("{\"to\":\"bob\", \"amount\": 5, \"currency\":\"USD\"}");
	y = parse("{\"currency\":\"USD\",\"amount\":5,\"to\":\"bob\"}");
	assert_int_equal(pay_check_fingerprint("POST", "/p", x, a), CM_OK);
	assert_int_equal(pay_check_fingerprint("POST", "/p", y, b), CM_OK);
	assert_int_equal(strlen(a), PAY_FINGERPRINT_LEN);
	assert_string_equal(a, b);
	assert_int_equal(pay_check_fingerprint("POST", "/q", y, b), CM_OK);
	assert_string_not_equal(a, b);
	json_decref(y);
	y = parse("{\"currency\":\"USD\",\"amount\":6,\"to\":\"bob\"}");
	assert_int_equal(pay_check_fingerprint("POST", "/p", y, b), CM_OK);
	assert_string_not_equal(a, b);
	json_decref(x);
	json_decref(y);
	/* No body and an empty object are the same request. */
	x = parse("{}");
	assert_int_equal(pay_check_fingerprint("POST", "/r", NULL, a), CM_OK);
	assert_int_equal(pay_check_fingerprint("POST", "/r", x, b), CM_OK);
	assert_string_equal(a, b);
	json_decref(x);
	/*
	 * Stored with their keys, so their bytes must not change: hex SHA-256
	 * of "POST\0<path>\0<canonical body>", computed outside this code
	 * (Python's hashlib); {} counts as no body.
	 */
	x = parse("{\"to\":\"bob\", \"amount\": 5, \"currency\":\"USD\"}");
	assert_int_equal(pay_check_fingerprint("POST", "/p", x, a), CM_OK);
	assert_string_equal(a,
	    "79340693923ca2d4a12048b4be7df3b171f4372c629aed5f6eed47a15fa28d99");
	json_decref(x);
	x = parse("{}");
	assert_int_equal(pay_check_fingerprint("POST", "/r", x, a), CM_OK);
	assert_string_equal(a,
	    "09f663fb8b60f9980bd1c34714f08f92cbbefdacadeeea8f7a0ccd23f7e321ab");
	json_decref(x);
	/* Method and path are separated: "POST"+"/ab" is not "POST/"+"ab". */
	assert_int_equal(pay_check_fingerprint("POST", "/ab", NULL, a), CM_OK);
	assert_int_equal(pay_check_fingerprint("POST/", "ab", NULL, b), CM_OK);
	assert_string_not_equal(a, b);
}

static void
test_id_format_object(void **state)
{
	struct pay_check_err e;
	json_t *j;

	(void)state;
	assert_true(pay_check_id_format(
	    "pay_0123456789abcdef0123456789abcdef", "pay_"));
	assert_false(
	    pay_check_id_format("pay_0123456789abcdef0123456789abcde", "pay_"));
	assert_false(pay_check_id_format(
	    "pay_0123456789abcdef0123456789abcdeF", "pay_"));
	assert_false(pay_check_id_format(
	    "acc_0123456789abcdef0123456789abcdef", "pay_"));
	assert_false(pay_check_id_format(NULL, "pay_"));
	assert_int_equal(pay_check_object(NULL, &e), CM_OK);
	j = parse("[1]");
	assert_int_equal(pay_check_object(j, &e), CM_EINVAL);
	assert_string_equal(e.code, "invalid_json");
	json_decref(j);
}

/* One body through pay_check_body; returns the error code or "ok". */
static const char *
body_code(const char *ct, const char *body, struct pay_check_err *e)
{
	static const char *const fields[] = {"to", "amount", "currency", NULL};
	json_t *v = (json_t *)1;
	enum cm_err rc;

	memset(e, 0, sizeof(*e));
	rc = pay_check_body(ct, body, strlen(body), fields, &v, e);
	if (rc == CM_OK) {
		json_decref(v);
		return "ok";
	}
	assert_null(v);
	return e->code;
}

static void
test_body(void **state)
{
	static const char *const fields[] = {"amount", NULL};
	struct pay_check_err e;
	json_t *v = (json_t *)1;

	(void)state;
	/* No body is {} whatever the type says. */
	assert_int_equal(pay_check_body("text/plain", NULL, 0, fields, &v, &e),
	    CM_OK);
	assert_null(v);
	assert_string_equal(body_code("application/json", "{\"to\":\"x\"}", &e),
	    "ok");
	assert_string_equal(
	    body_code("Application/JSON ; charset=utf-8", "{}", &e), "ok");
	assert_string_equal(
	    body_code("text/plain", "{}", &e), "unsupported_media_type");
	assert_int_equal(e.status, 415);
	assert_string_equal(
	    body_code(NULL, "{}", &e), "unsupported_media_type");
	assert_string_equal(
	    body_code("application/jsonp", "{}", &e), "unsupported_media_type");
	assert_string_equal(
	    body_code("application/json", "[1]", &e), "invalid_json");
	assert_string_equal(
	    body_code("application/json", "{\"to\":", &e), "invalid_json");
	assert_null(e.param);
	assert_int_equal(e.status, 400);

	assert_string_equal(
	    body_code("application/json", "{\"to\":\"x\",\"descripton\":1}", &e),
	    "parameter_unknown");
	assert_string_equal(e.param, "descripton");
	assert_non_null(strstr(e.message, "descripton"));

	/* Numbers jansson cannot hold name their field. */
	assert_string_equal(body_code("application/json",
	                        "{\"amount\" :\t18446744073709551616}", &e),
	    "parameter_invalid");
	assert_string_equal(e.param, "amount");
	assert_string_equal(
	    body_code("application/json", "{\"amount\":-1e400}", &e),
	    "parameter_invalid");
	assert_string_equal(e.param, "amount");
	assert_string_equal(
	    body_code("application/json", "{\"zz\":1e400,\"amount\":1}", &e),
	    "parameter_unknown");
	assert_string_equal(e.param, "zz");
	/* Not the value of a key: nothing to name. */
	assert_string_equal(
	    body_code("application/json", "{\"to\":[1e400]}", &e),
	    "invalid_json");
	assert_null(e.param);
}

UNIT_MAIN(
    cmocka_unit_test(test_amount_valid),
    cmocka_unit_test(test_amount_invalid),
    cmocka_unit_test(test_currency),
    cmocka_unit_test(test_text),
    cmocka_unit_test(test_key),
    cmocka_unit_test(test_limit_cursor),
    cmocka_unit_test(test_fingerprint),
    cmocka_unit_test(test_id_format_object),
    cmocka_unit_test(test_body))
