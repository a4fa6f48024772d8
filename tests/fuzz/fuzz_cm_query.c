/*
 * fuzz_cm_query: percent-decoding and query strings. Properties: a decoded
 * string never holds a NUL and is never longer than its source; encoding
 * every byte of it and decoding again gives it back (round trip); every
 * parsed parameter can be looked up.
 */
#include "cm_req.h"
#include "fuzz_util.h"

static void
fuzz_roundtrip(struct cm_req *req, const char *d)
{
	static const char hex[] = "0123456789ABCDEF";
	size_t n = strlen(d), i;
	char *enc, *back = NULL;

	if ((enc = malloc(3 * n + 1)) == NULL)
		abort();
	for (i = 0; i < n; i++) {
		enc[3 * i] = '%';
		enc[3 * i + 1] = hex[(unsigned char)d[i] >> 4];
		enc[3 * i + 2] = hex[(unsigned char)d[i] & 15];
	}
	enc[3 * n] = '\0';
	FUZZ_CHECK(cm_req_decode(req, enc, 3 * n, 1, &back) == CM_OK);
	FUZZ_CHECK(strcmp(back, d) == 0);
	free(enc);
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct cm_req req;
	char *f[1], *out = NULL;
	size_t i;
	int plus;

	fuzz_fields(data, size, 1, f);
	memset(&req, 0, sizeof(req));
	for (plus = 0; plus <= 1; plus++) {
		if (cm_req_decode(&req, f[0], strlen(f[0]), plus, &out) !=
		    CM_OK)
			continue;
		FUZZ_CHECK(strlen(out) <= strlen(f[0]));
		fuzz_roundtrip(&req, out);
	}
	if (cm_req_parse_query(&req, f[0]) == CM_OK) {
		for (i = 0; i < req.nquery; i++)
			FUZZ_CHECK(
			    cm_req_query(&req, req.query[i].key) != NULL);
	}
	cm_req_reset(&req);
	fuzz_fields_free(1, f);
	return 0;
}
