/*
 * Unit tests for cm_idem: which Idempotency-Keys are valid, and that the
 * fingerprint sees through JSON formatting but not through a change of
 * method, path or content.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include "unit.h"

#include "cm_idem.h"

static void
test_key_check(void **state)
{
	char longest[CM_IDEM_KEY_MAX + 2];

	(void)state;
	assert_int_equal(cm_idem_key_check("a"), CM_OK);
	assert_int_equal(cm_idem_key_check("7f3c-9a ~!"), CM_OK);
	memset(longest, 'k', CM_IDEM_KEY_MAX);
	longest[CM_IDEM_KEY_MAX] = '\0';
	assert_int_equal(cm_idem_key_check(longest), CM_OK);
	longest[CM_IDEM_KEY_MAX] = 'k';
	longest[CM_IDEM_KEY_MAX + 1] = '\0';
	assert_int_equal(cm_idem_key_check(longest), CM_EINVAL);
	assert_int_equal(cm_idem_key_check(""), CM_EINVAL);
	assert_int_equal(cm_idem_key_check(NULL), CM_EINVAL);
	assert_int_equal(cm_idem_key_check("tab\there"), CM_EINVAL);
	assert_int_equal(cm_idem_key_check("caf\xc3\xa9"), CM_EINVAL);
}

static void
fp(const char *method, const char *path, const char *body, char *out)
{
	assert_int_equal(cm_idem_fingerprint(method, path, body,
	                     body != NULL ? strlen(body) : 0, out),
	    CM_OK);
	assert_int_equal(strlen(out), CM_IDEM_FP_LEN);
}

static void
test_fingerprint(void **state)
{
	char a[CM_IDEM_FP_LEN + 1], b[CM_IDEM_FP_LEN + 1];

	(void)state;
	/* Key order and white space do not make another request. */
	fp("POST", "/api/articles", "{\"a\":1,\"b\":[1,2]}", a);
	fp("POST", "/api/articles", "{ \"b\": [1, 2],\n  \"a\": 1 }", b);
	assert_string_equal(a, b);
	/* A value, the method or the path do. */
	fp("POST", "/api/articles", "{\"a\":2,\"b\":[1,2]}", b);
	assert_string_not_equal(a, b);
	fp("PUT", "/api/articles", "{\"a\":1,\"b\":[1,2]}", b);
	assert_string_not_equal(a, b);
	fp("POST", "/api/articles/x", "{\"a\":1,\"b\":[1,2]}", b);
	assert_string_not_equal(a, b);
	/* Method and path are separated: no shifting of bytes between them. */
	fp("POST", "/a", NULL, a);
	fp("POS", "T/a", NULL, b);
	assert_string_not_equal(a, b);
	/* A body that is not JSON counts byte for byte. */
	fp("POST", "/a", "not json", a);
	fp("POST", "/a", "not  json", b);
	assert_string_not_equal(a, b);
	fp("POST", "/a", "not json", b);
	assert_string_equal(a, b);
	/* No body and an empty one are the same request. */
	fp("DELETE", "/a", NULL, a);
	fp("DELETE", "/a", "", b);
	assert_string_equal(a, b);
}

/*
 * Fingerprints are stored with their keys (for the key's lifetime), so
 * their bytes are a stored format: a build that computed another digest
 * for the same request would answer a replay with a 422. These values were
 * computed outside this code, as hex SHA-256 of "POST\0<path>\0<body>"
 * with the body in canonical JSON (Python's hashlib).
 */
static void
test_fingerprint_stored(void **state)
{
	char a[CM_IDEM_FP_LEN + 1];

	(void)state;
	fp("POST", "/api/articles", "{ \"b\": [1, 2], \"a\": 1 }", a);
	assert_string_equal(a,
	    "80f7ba35532dc4790b82bcf9c6be7731911f70cd754195e7248a931bf310bfe5");
	/* The blog counts an empty object as a body (pay does not). */
	fp("POST", "/a", "{}", a);
	assert_string_equal(a,
	    "091baf23e820cfe16ce56889330dab8fb736acdf786bec942266a9bce642fb1c");
	fp("POST", "/a", "not json", a);
	assert_string_equal(a,
	    "f73f80e182aff604d22e12d1a21488c89398deeea4a38c7e9b3aa70742fe48df");
}

UNIT_MAIN(
    cmocka_unit_test(test_key_check),
    cmocka_unit_test(test_fingerprint),
    cmocka_unit_test(test_fingerprint_stored))
