/*
 * fuzz_pay_check: pay's checks of what clients send. The input is a JSON
 * body, then NUL-separated strings for the Idempotency-Key, ?limit=,
 * ?starting_after= and a path id. Properties: an accepted amount is in
 * [1, max], a currency three upper-case letters, a limit in 1..100, a
 * cursor or id 1..64 printable ASCII characters; a refusal names a code;
 * the fingerprint is 64 hex digits and the same for the same request.
 */
#include <ctype.h>

#include "fuzz_util.h"
#include "../../pay-fcgi/pay_check.h"

static int
fuzz_printable(const char *s)
{
	size_t i, n = strlen(s);

	if (n < 1 || n > PAY_ID_MAX)
		return 0;
	for (i = 0; i < n; i++)
		if (s[i] <= 0x20 || s[i] > 0x7e)
			return 0;
	return 1;
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct pay_check_err e;
	char *f[5], cur[4], fp1[PAY_FINGERPRINT_LEN + 1],
	    fp2[PAY_FINGERPRINT_LEN + 1], err[64];
	const char *text;
	json_t *body = NULL;
	long long amount;
	int limit;
	size_t i;

	fuzz_fields(data, size, 5, f);
	body = json_loads(f[0], JSON_REJECT_DUPLICATES, NULL);
	(void)err;
	if (pay_check_object(body, &e) == CM_OK) {
		if (pay_check_amount(body, "amount", 1, PAY_AMOUNT_MAX, &amount,
		        &e) == CM_OK)
			FUZZ_CHECK(amount >= 1 && amount <= PAY_AMOUNT_MAX);
		else
			FUZZ_CHECK(e.code != NULL);
		if (pay_check_currency(body, cur, &e) == CM_OK)
			FUZZ_CHECK(strlen(cur) == 3 && isupper(cur[0]) &&
			    isupper(cur[1]) && isupper(cur[2]));
		if (pay_check_text(body, "description", PAY_DESCRIPTION_MAX, 0,
		        &text, &e) == CM_OK &&
		    text != NULL)
			FUZZ_CHECK(json_is_string(
			    json_object_get(body, "description")));
		FUZZ_CHECK(pay_check_fingerprint(
		               "POST", "/pay/v1/payments", body, fp1) == CM_OK);
		FUZZ_CHECK(pay_check_fingerprint(
		               "POST", "/pay/v1/payments", body, fp2) == CM_OK);
		FUZZ_CHECK(strcmp(fp1, fp2) == 0);
		FUZZ_CHECK(strlen(fp1) == PAY_FINGERPRINT_LEN);
		for (i = 0; i < PAY_FINGERPRINT_LEN; i++)
			FUZZ_CHECK(isxdigit((unsigned char)fp1[i]));
	}
	if (pay_check_key(f[1], &e) == CM_OK)
		FUZZ_CHECK(f[1][0] != '\0' && strlen(f[1]) <= PAY_KEY_MAX);
	if (pay_check_limit(f[2][0] != '\0' ? f[2] : NULL, &limit, &e) == CM_OK)
		FUZZ_CHECK(limit >= 1 && limit <= PAY_LIMIT_MAX);
	if (pay_check_cursor(f[3][0] != '\0' ? f[3] : NULL, &e) == CM_OK)
		FUZZ_CHECK(f[3][0] == '\0' || fuzz_printable(f[3]));
	else
		FUZZ_CHECK(!fuzz_printable(f[3]));
	FUZZ_CHECK(pay_check_id_ok(f[4]) == fuzz_printable(f[4]));
	json_decref(body);
	fuzz_fields_free(5, f);
	return 0;
}
