/*
 * fuzz_util.h: helpers shared by the libFuzzer targets (header only: each
 * target is one program).
 *
 * Inputs are split into fields at NUL bytes, the way FastCGI hands us C
 * strings: a field can hold any byte but NUL. A property that fails calls
 * FUZZ_CHECK, which aborts so that libFuzzer keeps the input as a crash.
 */
#ifndef FUZZ_UTIL_H
#define FUZZ_UTIL_H

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <openssl/evp.h>
#include <openssl/pem.h>

#include "cm_jwt.h"

/* libFuzzer's entry point, called once per input. */
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define FUZZ_CHECK(cond)                                                       \
	do {                                                                   \
		if (!(cond)) {                                                 \
			fprintf(stderr, "%s:%d: property failed: %s\n",        \
			    __FILE__, __LINE__, #cond);                        \
			abort();                                               \
		}                                                              \
	} while (0)

/* Split data at NUL bytes into n malloc'd strings (missing ones are ""). */
static inline void
fuzz_fields(const uint8_t *data, size_t size, size_t n, char **out)
{
	size_t i, start = 0, end;

	for (i = 0; i < n; i++) {
		end = start;
		while (end < size && data[end] != 0)
			end++;
		if (start > size)
			start = end = size;
		out[i] = malloc(end - start + 1);
		if (out[i] == NULL)
			abort();
		memcpy(out[i], data + start, end - start);
		out[i][end - start] = '\0';
		start = end + 1;
	}
}

static inline void
fuzz_fields_free(size_t n, char **f)
{
	size_t i;

	for (i = 0; i < n; i++)
		free(f[i]);
}

/*
 * A fresh ES256 key set (process lifetime), as the services load it: both
 * PEM files are written to a private temporary folder and removed again.
 */
static inline struct cm_jwt *
fuzz_jwt(void)
{
	static struct cm_jwt *jwt;
	char dir[] = "/tmp/fuzz-jwt-XXXXXX", priv[64], pub[64], err[256];
	EVP_PKEY *k;
	FILE *f;

	if (jwt != NULL)
		return jwt;
	if (mkdtemp(dir) == NULL || (k = EVP_EC_gen("P-256")) == NULL)
		abort();
	snprintf(priv, sizeof(priv), "%s/priv.pem", dir);
	snprintf(pub, sizeof(pub), "%s/pub.pem", dir);
	if ((f = fopen(priv, "w")) == NULL ||
	    !PEM_write_PrivateKey(f, k, NULL, NULL, 0, NULL, NULL))
		abort();
	fclose(f);
	if ((f = fopen(pub, "w")) == NULL || !PEM_write_PUBKEY(f, k))
		abort();
	fclose(f);
	EVP_PKEY_free(k);
	if (cm_jwt_new(&jwt, priv, pub, "conduit", "conduit", 3600, err,
	        sizeof(err)) != CM_OK) {
		fprintf(stderr, "fuzz: cm_jwt_new: %s\n", err);
		abort();
	}
	unlink(priv);
	unlink(pub);
	rmdir(dir);
	return jwt;
}

#endif
