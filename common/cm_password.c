/*
 * cm_password.c: Argon2id password hashes (libsodium crypto_pwhash_str_alg).
 *
 * The encoded hash carries its own salt and cost, so hashes made under one
 * PASSWORD_HASH_COST still verify under another; the cost only decides how
 * new hashes (and the dummy one) are made.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include <sodium.h>

#include "cm_log.h"
#include "cm_password.h"

/* "test": the least work libsodium allows, for fast test suites only. */
#define CM_PASSWORD_TEST_MEMLIMIT ((size_t)8 * 1024 * 1024)

/* Process lifetime: written once by cm_password_init, then only read. */
static unsigned long long cm_password_opslimit;
static size_t cm_password_memlimit;
static char cm_password_dummy[CM_PASSWORD_HASH_MAX];
static int cm_password_ready;

enum cm_err
cm_password_init(void)
{
	unsigned char rnd[32];
	char pw[2 * sizeof(rnd) + 1];
	const char *cost;
	enum cm_err rc = CM_EINTERNAL;

	if (cm_password_ready)
		return CM_OK;
	if (sodium_init() < 0) {
		cm_log(CM_LOG_ERROR, NULL, "password: sodium_init failed");
		goto out;
	}
	cost = getenv("PASSWORD_HASH_COST");
	if (cost == NULL || *cost == '\0' || strcmp(cost, "interactive") == 0) {
		cm_password_opslimit = crypto_pwhash_OPSLIMIT_INTERACTIVE;
		cm_password_memlimit = crypto_pwhash_MEMLIMIT_INTERACTIVE;
	} else if (strcmp(cost, "moderate") == 0) {
		cm_password_opslimit = crypto_pwhash_OPSLIMIT_MODERATE;
		cm_password_memlimit = crypto_pwhash_MEMLIMIT_MODERATE;
	} else if (strcmp(cost, "test") == 0) {
		cm_password_opslimit = crypto_pwhash_OPSLIMIT_MIN;
		cm_password_memlimit = CM_PASSWORD_TEST_MEMLIMIT;
	} else {
		cm_log(CM_LOG_ERROR, NULL,
		    "PASSWORD_HASH_COST: \"%s\" is not one of interactive, "
		    "moderate, test",
		    cost);
		rc = CM_EINVAL;
		goto out;
	}

	/*
	 * The dummy hash is of a random password nobody knows, made with the
	 * same cost as real ones, so that checking it takes as long as
	 * checking a real user's password and never succeeds.
	 */
	randombytes_buf(rnd, sizeof(rnd));
	sodium_bin2hex(pw, sizeof(pw), rnd, sizeof(rnd));
	if (crypto_pwhash_str_alg(cm_password_dummy, pw, strlen(pw),
	        cm_password_opslimit, cm_password_memlimit,
	        crypto_pwhash_ALG_ARGON2ID13) != 0) {
		cm_log(CM_LOG_ERROR, NULL,
		    "password: cannot compute the dummy hash (out of memory?)");
		rc = CM_ENOMEM;
		goto out;
	}
	cm_password_ready = 1;
	rc = CM_OK;
out:
	sodium_memzero(pw, sizeof(pw));
	sodium_memzero(rnd, sizeof(rnd));
	return rc;
}

enum cm_err
cm_password_hash(const char *password, char out[CM_PASSWORD_HASH_MAX])
{
	size_t len;

	if (!cm_password_ready)
		return CM_EINTERNAL;
	if (password == NULL || out == NULL)
		return CM_EINVAL;
	len = strnlen(password, CM_PASSWORD_MAX + 1);
	if (len > CM_PASSWORD_MAX)
		return CM_EINVAL;
	/* Fails only when the memory cost cannot be allocated. */
	if (crypto_pwhash_str_alg(out, password, len, cm_password_opslimit,
	        cm_password_memlimit, crypto_pwhash_ALG_ARGON2ID13) != 0)
		return CM_ENOMEM;
	return CM_OK;
}

enum cm_err
cm_password_verify(const char *hash, const char *password)
{
	const char *h;
	size_t len;
	int unknown;

	if (!cm_password_ready)
		return CM_EINTERNAL;
	/*
	 * A password that could never have been hashed cannot match; refusing
	 * it early saves the work and leaks nothing about the account.
	 */
	if (password == NULL)
		return CM_EAUTH;
	len = strnlen(password, CM_PASSWORD_MAX + 1);
	if (len > CM_PASSWORD_MAX)
		return CM_EAUTH;
	unknown = hash == NULL;
	h = unknown ? cm_password_dummy : hash;
	if (strnlen(h, CM_PASSWORD_HASH_MAX) >= CM_PASSWORD_HASH_MAX) {
		cm_log(CM_LOG_WARN, NULL, "password: stored hash too long");
		return CM_EAUTH;
	}

	/*
	 * libsodium sets errno to EINVAL for a mismatch; ENOMEM means the
	 * memory cost could not be allocated, which is our failure, not the
	 * user's wrong password.
	 */
	errno = 0;
	if (crypto_pwhash_str_verify(h, password, len) == 0)
		return unknown ? CM_EAUTH : CM_OK;
	if (errno == ENOMEM)
		return CM_ENOMEM;
	if (errno != EINVAL)
		cm_log(CM_LOG_WARN, NULL, "password: stored hash is malformed");
	return CM_EAUTH;
}
