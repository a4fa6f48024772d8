/*
 * cm_password.c: Argon2id password hashes (libsodium crypto_pwhash_str_alg).
 *
 * The encoded hash carries its own salt and cost, so hashes made under one
 * PASSWORD_HASH_COST still verify under another; the cost only decides how
 * new hashes (and the dummy one) are made.
 */
#include <errno.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <sodium.h>

#include "cm_clock.h"
#include "cm_log.h"
#include "cm_password.h"

/* "test": the least work libsodium allows, for fast test suites only. */
#define CM_PASSWORD_TEST_MEMLIMIT ((size_t)8 * 1024 * 1024)

/*
 * The memory budget: each Argon2id hash holds its whole memory cost (64 MiB
 * at "interactive") until it ends, so WORKERS threads hashing at once could
 * need WORKERS x 64 MiB (8 workers: 512 MiB, measured peak near 514 MiB),
 * far past a 256 MiB pod limit. At most budget / cost hashes run at once;
 * a request past them waits up to PASSWORD_HASH_WAIT_MS for a slot, then
 * gets CM_EUNAVAIL (503 with Retry-After), which costs no memory.
 */
#define CM_PASSWORD_BUDGET_DEFAULT_MIB 128
#define CM_PASSWORD_WAIT_DEFAULT_MS 1000

/* Process lifetime: written once by cm_password_init, then only read. */
static unsigned long long cm_password_opslimit;
static size_t cm_password_memlimit;
static char cm_password_dummy[CM_PASSWORD_HASH_MAX];
static int cm_password_ready;
static long cm_password_slots;
static long cm_password_wait_ms;

/*
 * Hashes in flight and requests waiting for one, under the mutex; the
 * condition signals a free slot. At most as many wait as may run: a worker
 * thread that waits serves nothing else, so the others stay free for
 * reads while a burst of logins is answered 503 at once.
 */
static pthread_mutex_t cm_password_mu = PTHREAD_MUTEX_INITIALIZER;
static pthread_cond_t cm_password_cv;
static long cm_password_busy;
static long cm_password_waiting;

/*
 * A setting that is a whole number in [min, max]; def when unset. -1 (and a
 * log line naming the variable) when it is something else.
 */
static long
cm_password_setting(const char *name, long def, long min, long max)
{
	const char *v = getenv(name);
	char *end;
	long n;

	if (v == NULL || *v == '\0')
		return def;
	errno = 0;
	n = strtol(v, &end, 10);
	if (errno != 0 || *end != '\0' || n < min || n > max) {
		cm_log(CM_LOG_ERROR, NULL,
		    "%s: \"%s\" is not a whole number from %ld to %ld", name, v,
		    min, max);
		return -1;
	}
	return n;
}

/* Take a hashing slot, waiting up to cm_password_wait_ms for one. */
static enum cm_err
cm_password_acquire(void)
{
	struct timespec dl =
	    cm_clock_deadline(CLOCK_MONOTONIC, cm_password_wait_ms * 1000LL);
	enum cm_err rc = CM_OK;

	pthread_mutex_lock(&cm_password_mu);
	if (cm_password_busy >= cm_password_slots &&
	    cm_password_waiting >= cm_password_slots) {
		pthread_mutex_unlock(&cm_password_mu);
		return CM_EUNAVAIL;
	}
	cm_password_waiting++;
	while (cm_password_busy >= cm_password_slots) {
		if (pthread_cond_timedwait(
		        &cm_password_cv, &cm_password_mu, &dl) == ETIMEDOUT &&
		    cm_password_busy >= cm_password_slots) {
			rc = CM_EUNAVAIL;
			break;
		}
	}
	cm_password_waiting--;
	if (rc == CM_OK)
		cm_password_busy++;
	pthread_mutex_unlock(&cm_password_mu);
	return rc;
}

static void
cm_password_release(void)
{
	pthread_mutex_lock(&cm_password_mu);
	cm_password_busy--;
	pthread_cond_signal(&cm_password_cv);
	pthread_mutex_unlock(&cm_password_mu);
}

long
cm_password_concurrency(void)
{
	return cm_password_slots;
}

enum cm_err
cm_password_init(void)
{
	unsigned char rnd[32];
	char pw[2 * sizeof(rnd) + 1];
	const char *cost;
	pthread_condattr_t ca;
	long budget;
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

	budget = cm_password_setting("PASSWORD_HASH_MEMORY_BUDGET_MIB",
	    CM_PASSWORD_BUDGET_DEFAULT_MIB, 1, 1024L * 1024);
	cm_password_wait_ms = cm_password_setting(
	    "PASSWORD_HASH_WAIT_MS", CM_PASSWORD_WAIT_DEFAULT_MS, 0, 60000);
	if (budget < 0 || cm_password_wait_ms < 0) {
		rc = CM_EINVAL;
		goto out;
	}
	cm_password_slots =
	    (long)(((size_t)budget << 20) / cm_password_memlimit);
	if (cm_password_slots < 1) {
		cm_log(CM_LOG_ERROR, NULL,
		    "PASSWORD_HASH_MEMORY_BUDGET_MIB: %ld MiB is less than one "
		    "hash (%zu MiB at this PASSWORD_HASH_COST)",
		    budget, cm_password_memlimit >> 20);
		rc = CM_EINVAL;
		goto out;
	}
	pthread_condattr_init(&ca);
	pthread_condattr_setclock(&ca, CLOCK_MONOTONIC);
	pthread_cond_init(&cm_password_cv, &ca);
	pthread_condattr_destroy(&ca);
	cm_log(CM_LOG_INFO, NULL,
	    "password hashing: at most %ld at once (%zu MiB each, budget %ld "
	    "MiB), a request waits up to %ld ms for a slot",
	    cm_password_slots, cm_password_memlimit >> 20, budget,
	    cm_password_wait_ms);

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
	enum cm_err rc;
	size_t len;

	if (!cm_password_ready)
		return CM_EINTERNAL;
	if (password == NULL || out == NULL)
		return CM_EINVAL;
	len = strnlen(password, CM_PASSWORD_MAX + 1);
	if (len > CM_PASSWORD_MAX)
		return CM_EINVAL;
	if (cm_password_acquire() != CM_OK)
		return CM_EUNAVAIL;
	/* Fails only when the memory cost cannot be allocated. */
	rc = crypto_pwhash_str_alg(out, password, len, cm_password_opslimit,
	         cm_password_memlimit, crypto_pwhash_ALG_ARGON2ID13) != 0
	    ? CM_ENOMEM
	    : CM_OK;
	cm_password_release();
	return rc;
}

enum cm_err
cm_password_verify(const char *hash, const char *password)
{
	const char *h;
	size_t len;
	int unknown, ok, err;

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
	if (cm_password_acquire() != CM_OK)
		return CM_EUNAVAIL;
	errno = 0;
	ok = crypto_pwhash_str_verify(h, password, len) == 0;
	err = errno;
	cm_password_release();
	if (ok)
		return unknown ? CM_EAUTH : CM_OK;
	if (err == ENOMEM)
		return CM_ENOMEM;
	if (err != EINVAL)
		cm_log(CM_LOG_WARN, NULL, "password: stored hash is malformed");
	return CM_EAUTH;
}
