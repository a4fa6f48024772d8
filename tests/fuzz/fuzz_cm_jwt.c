/*
 * fuzz_cm_jwt: token verification. Properties: the cached verify answers
 * exactly as the uncached one (code and claims), also on its second call
 * (a cache hit); a token we issue for any sub and username verifies back to
 * the same claims.
 */
#include <time.h>

#include "fuzz_util.h"

static void
fuzz_same(enum cm_err a, const struct cm_jwt_claims *ca, enum cm_err b,
    const struct cm_jwt_claims *cb)
{
	FUZZ_CHECK(a == b);
	if (a != CM_OK)
		return;
	FUZZ_CHECK(ca->sub == cb->sub && ca->ver == cb->ver);
	FUZZ_CHECK(strcmp(ca->username, cb->username) == 0);
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct cm_jwt *jwt = fuzz_jwt();
	struct cm_jwt_claims c1, c2, c3;
	enum cm_err r1, r2, r3;
	time_t now = time(NULL);
	char *f[2], *tok = NULL;
	long long sub;

	fuzz_fields(data, size, 2, f);
	memset(&c1, 0, sizeof(c1));
	memset(&c2, 0, sizeof(c2));
	memset(&c3, 0, sizeof(c3));
	r1 = cm_jwt_verify(jwt, f[0], now, &c1);
	r2 = cm_jwt_verify_cached(jwt, f[0], now, &c2);
	r3 = cm_jwt_verify_cached(jwt, f[0], now, &c3);
	fuzz_same(r1, &c1, r2, &c2);
	fuzz_same(r1, &c1, r3, &c3);

	/* Round trip: the second field as a username, its length as sub. */
	sub = 1 + (long long)strlen(f[1]) * 7919;
	if (cm_jwt_issue(jwt, sub, f[1], now, &tok) == CM_OK) {
		memset(&c1, 0, sizeof(c1));
		FUZZ_CHECK(cm_jwt_verify(jwt, tok, now, &c1) == CM_OK);
		FUZZ_CHECK(c1.sub == sub);
		FUZZ_CHECK(strcmp(c1.username, f[1]) == 0);
		memset(&c2, 0, sizeof(c2));
		FUZZ_CHECK(cm_jwt_verify_cached(jwt, tok, now, &c2) == CM_OK);
		fuzz_same(CM_OK, &c1, CM_OK, &c2);
		free(tok);
	}
	fuzz_fields_free(2, f);
	return 0;
}
