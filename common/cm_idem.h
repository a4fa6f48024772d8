/*
 * cm_idem.h: the parts of Idempotency-Key handling that do not depend on a
 * service's storage: what a valid key is, and the fingerprint that tells
 * "the same request again" from "another request with the same key".
 *
 * Semantics (both services, after the IETF httpapi Idempotency-Key draft):
 * keys are scoped to the caller; the first request with a key executes
 * once; a repeat with the same fingerprint gets the stored status and body
 * byte for byte with Idempotent-Replayed: true; the same key with another
 * fingerprint is a 422; a repeat while the first still runs is a 409.
 */
#ifndef CM_IDEM_H
#define CM_IDEM_H

#include <stddef.h>

#include "cm_err.h"

#define CM_IDEM_KEY_MAX 255
#define CM_IDEM_FP_LEN 64 /* hex SHA-256 */

/* CM_OK for 1..255 printable ASCII characters, else CM_EINVAL. */
enum cm_err cm_idem_key_check(const char *key);

/*
 * The digest both services' fingerprints are: hex SHA-256 of method and
 * path, each with its terminating NUL (so no byte shifts between them), and
 * then body[0..len) as given, into out (CM_IDEM_FP_LEN + 1 bytes). What the
 * body's bytes are is each service's choice; both keep theirs, since the
 * fingerprints are stored with the keys.
 */
void cm_idem_digest(const char *method, const char *path, const char *body,
    size_t len, char *out);

/*
 * The blog's fingerprint, hex SHA-256 of method, path and body, into
 * out (CM_IDEM_FP_LEN + 1 bytes). A body that parses as JSON counts in its
 * canonical form (sorted keys, compact), so that formatting does not make
 * two equal requests differ; any other body counts byte for byte.
 * CM_ENOMEM is the only error.
 */
enum cm_err cm_idem_fingerprint(const char *method, const char *path,
    const char *body, size_t body_len, char *out);

#endif
