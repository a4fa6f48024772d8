/*
 * fuzz_cm_ident: identity events (signed JWS from the blog to pay).
 * Properties: decoding anything never crashes and, when it succeeds, gives
 * an event in range; an event we encode decodes back to itself.
 */
#include <time.h>

#include "cm_ident.h"
#include "fuzz_util.h"

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct cm_jwt *jwt = fuzz_jwt();
	struct cm_ident_event ev, back;
	char *f[2], *jws = NULL;
	size_t n;

	fuzz_fields(data, size, 2, f);
	memset(&ev, 0, sizeof(ev));
	if (cm_ident_decode(jwt, f[0], &ev) == CM_OK) {
		FUZZ_CHECK(ev.sub > 0 && ev.ver >= 1 && ev.seq >= 1);
		FUZZ_CHECK(strlen(ev.username) <= CM_JWT_USERNAME_MAX);
	}

	memset(&ev, 0, sizeof(ev));
	n = strlen(f[1]);
	ev.sub = 1 + (long long)n;
	ev.ver = 1 + (long long)(size % 97);
	ev.seq = 1 + (long long)(size % 1013);
	if (n > CM_JWT_USERNAME_MAX)
		n = CM_JWT_USERNAME_MAX;
	memcpy(ev.username, f[1], n);
	ev.username[n] = '\0';
	if (cm_ident_encode(jwt, &ev, time(NULL), &jws) == CM_OK) {
		memset(&back, 0, sizeof(back));
		FUZZ_CHECK(cm_ident_decode(jwt, jws, &back) == CM_OK);
		FUZZ_CHECK(back.sub == ev.sub && back.ver == ev.ver &&
		    back.seq == ev.seq);
		FUZZ_CHECK(strcmp(back.username, ev.username) == 0);
		free(jws);
	}
	fuzz_fields_free(2, f);
	return 0;
}
