/*
 * cm_idem.c: Idempotency-Key validation and request fingerprints.
 */
#include <stdlib.h>
#include <string.h>

#include <jansson.h>
#include <sodium.h>

#include "cm_idem.h"

enum cm_err
cm_idem_key_check(const char *key)
{
	size_t i;

	if (key == NULL)
		return CM_EINVAL;
	for (i = 0; key[i] != '\0'; i++)
		if (key[i] < 0x20 || key[i] > 0x7e || i >= CM_IDEM_KEY_MAX)
			return CM_EINVAL;
	return i > 0 ? CM_OK : CM_EINVAL;
}

void
cm_idem_digest(const char *method, const char *path, const char *body,
    size_t len, char *out)
{
	crypto_hash_sha256_state st;
	unsigned char digest[crypto_hash_sha256_BYTES];

	crypto_hash_sha256_init(&st);
	crypto_hash_sha256_update(
	    &st, (const unsigned char *)method, strlen(method) + 1);
	crypto_hash_sha256_update(
	    &st, (const unsigned char *)path, strlen(path) + 1);
	if (len > 0)
		crypto_hash_sha256_update(
		    &st, (const unsigned char *)body, len);
	crypto_hash_sha256_final(&st, digest);
	sodium_bin2hex(out, CM_IDEM_FP_LEN + 1, digest, sizeof(digest));
}

enum cm_err
cm_idem_fingerprint(const char *method, const char *path, const char *body,
    size_t body_len, char *out)
{
	json_t *j = NULL;
	char *canon = NULL;

	if (body != NULL && body_len > 0) {
		j = json_loadb(body, body_len, JSON_DECODE_ANY, NULL);
		if (j != NULL) {
			/* jansson sorts keys and prints integers exactly. */
			canon = json_dumps(
			    j, JSON_SORT_KEYS | JSON_COMPACT | JSON_ENCODE_ANY);
			json_decref(j);
			if (canon == NULL)
				return CM_ENOMEM;
		}
	}
	/* Not JSON: the body counts byte for byte. */
	if (canon != NULL)
		cm_idem_digest(method, path, canon, strlen(canon), out);
	else
		cm_idem_digest(
		    method, path, body, body != NULL ? body_len : 0, out);
	free(canon);
	return CM_OK;
}
