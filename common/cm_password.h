/*
 * cm_password.h: password hashing with Argon2id (libsodium crypto_pwhash_str).
 */
#ifndef CM_PASSWORD_H
#define CM_PASSWORD_H

#include <sodium.h>

#include "cm_err.h"

#define CM_PASSWORD_HASH_MAX crypto_pwhash_STRBYTES

/* Longer passwords are refused: hashing them would only cost us time. */
#define CM_PASSWORD_MAX 4096

/*
 * Call once at process start, before any worker runs (sodium_init, then
 * the cost read from PASSWORD_HASH_COST: "interactive" (default, 64 MiB per
 * hash in flight), "moderate" (256 MiB) or "test" (8 MiB, one pass: only
 * for test runs), the memory budget PASSWORD_HASH_MEMORY_BUDGET_MIB
 * (default 128: at most budget / cost hashes run at once, at least one)
 * and PASSWORD_HASH_WAIT_MS (default 1000: how long a request waits for a
 * free slot), then the dummy hash for unknown users). Later calls return
 * CM_OK and change nothing. CM_EINVAL (logged, naming the variable) for a
 * bad value or a budget smaller than one hash, CM_EINTERNAL or CM_ENOMEM
 * on failure.
 */
enum cm_err cm_password_init(void);

/* How many hashes may run at once (the budget over the cost). */
long cm_password_concurrency(void);

/*
 * Hash a NUL-terminated password into out (an encoded Argon2id string with
 * its own salt and parameters). CM_EINVAL for a NULL password or one longer
 * than CM_PASSWORD_MAX bytes; CM_ENOMEM when the memory cost cannot be
 * allocated; CM_EINTERNAL before cm_password_init.
 */
enum cm_err cm_password_hash(
    const char *password, char out[CM_PASSWORD_HASH_MAX]);

/*
 * Both cm_password_hash and cm_password_verify wait for a slot of the
 * memory budget and answer CM_EUNAVAIL (503, retry later) when none frees
 * up within PASSWORD_HASH_WAIT_MS.
 */

/*
 * CM_OK when password matches hash, CM_EAUTH otherwise (also for a NULL
 * or too long password and a malformed hash). When hash is NULL (unknown
 * user) a fixed dummy hash is verified instead, so that the time taken does
 * not reveal whether the account exists; the answer is CM_EAUTH. CM_ENOMEM
 * when the memory cost cannot be allocated (not a wrong password: 500, not
 * 401); CM_EINTERNAL before cm_password_init.
 */
enum cm_err cm_password_verify(const char *hash, const char *password);

#endif
