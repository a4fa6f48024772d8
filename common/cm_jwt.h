/*
 * cm_jwt.h: ES256 JSON Web Tokens, issued with libjwt 1.10 and verified with
 * OpenSSL directly.
 *
 * libjwt 1.10 has no validation API, trusts the "alg" of the token's header
 * and parses the PEM public key again on every call, so verification does
 * not use it: this module pins the algorithm itself, checks the signature
 * against a key parsed once, and checks every claim (exp, nbf, iss, aud) in
 * one place.
 */
#ifndef CM_JWT_H
#define CM_JWT_H

#include <stddef.h>
#include <time.h>

#include <jansson.h>

#include "cm_err.h"

/* OpenSSL's EVP_PKEY, named by its tag so users need no OpenSSL headers. */
struct evp_pkey_st;

#define CM_JWT_USERNAME_MAX 128

/* Longer tokens are rejected unread: ours are well under 1 KiB. */
#define CM_JWT_TOKEN_MAX 8192

/* Clock skew allowed on exp and nbf unless the caller sets jwt->leeway. */
#define CM_JWT_LEEWAY_DEFAULT 60

/*
 * Process lifetime: loaded at start, immutable afterwards, shared by all
 * workers without locks. priv may be NULL in a service that only verifies.
 * pub is parsed once here; OpenSSL 3 allows any number of threads to verify
 * with one EVP_PKEY at a time as long as none modifies it, and each call
 * has its own contexts. leeway starts as CM_JWT_LEEWAY_DEFAULT and may be
 * changed before the key set is shared.
 */
struct cm_jwt {
	unsigned char *priv; /* PEM, EC P-256 private key, or NULL */
	size_t priv_len;
	struct evp_pkey_st *pub; /* EC P-256 public key, parsed */
	char *issuer;
	char *audience;
	struct evp_pkey_st *privkey; /* the same private key, parsed, or NULL */
	long ttl; /* seconds a new token is valid */
	long leeway; /* clock skew allowed on exp/nbf */
	/*
	 * Unique to this key set for the life of the process, never 0: the
	 * token cache's key, where an address could be reused by a key set
	 * made after this one is freed.
	 */
	unsigned long long cache_id;
};

struct cm_jwt_claims {
	long long sub; /* user id, > 0 */
	/*
	 * The user's identity version when the token was issued (claim "ver");
	 * 1 for tokens issued before versions existed, which is the version
	 * every user had then. A token is revoked once the user's current
	 * version is higher (see cm_server_conf.auth_check).
	 */
	long long ver;
	char username[CM_JWT_USERNAME_MAX + 1];
	long iat;
	long exp;
};

/*
 * Load the PEM files into a new key set. priv_path may be NULL (verify
 * only); when given, ttl must be > 0 and the private key must be the pair
 * of the public key. issuer and audience must be non-empty. Returns
 * CM_EINVAL with a one-line message naming the file in err when a file
 * cannot be read, a key does not parse as an unencrypted EC P-256 key, or
 * the keys do not match; CM_ENOMEM when memory runs out.
 */
enum cm_err cm_jwt_new(struct cm_jwt **out, const char *priv_path,
    const char *pub_path, const char *issuer, const char *audience, long ttl,
    char *err, size_t errlen);

/* Safe on NULL. */
void cm_jwt_free(struct cm_jwt *jwt);

/*
 * Issue a token for (sub, username) valid from now for jwt->ttl seconds:
 * header {"alg":"ES256","typ":"JWT"}, claims sub (the id as a decimal
 * string), username, iat, nbf (= iat), exp (= iat + ttl), iss, aud and a
 * random 128-bit jti. The signature is JOSE (raw r || s, 64 bytes).
 * On CM_OK *out is a malloc'd string the caller frees with free().
 * CM_EINVAL without a private key, for sub <= 0, or for a username that is
 * empty, longer than CM_JWT_USERNAME_MAX bytes or not UTF-8; CM_ENOMEM or
 * CM_EINTERNAL (logged) when signing fails.
 */
enum cm_err cm_jwt_issue(const struct cm_jwt *jwt, long long sub,
    const char *username, time_t now, char **out);

/*
 * cm_jwt_issue with the claim "ver" (the user's identity version, >= 1)
 * added; ver 0 omits it, as cm_jwt_issue does.
 */
enum cm_err cm_jwt_issue_ver(const struct cm_jwt *jwt, long long sub,
    const char *username, long long ver, time_t now, char **out);

/*
 * Sign payload (a JSON object) as a compact JWS with ES256 and the header
 * {"alg":"ES256","typ":typ}. typ must not be "JWT": a message signed here is
 * never a token (RFC 8725, section 3.11, explicit typing). On CM_OK *out is
 * a malloc'd string the caller frees. CM_EINVAL without a private key or
 * with a bad typ; CM_ENOMEM; CM_EINTERNAL (logged) when signing fails.
 */
enum cm_err cm_jwt_sign_typed(const struct cm_jwt *jwt, const char *typ,
    const json_t *payload, char **out);

/*
 * Verify a compact JWS whose header is exactly alg ES256 with typ equal to
 * typ (case-insensitive, required), with the same strictness as
 * cm_jwt_verify (shape, length, 64-byte signature, no crit). On CM_OK
 * *payload is the signed JSON object (the caller decrefs); the caller checks
 * its claims. CM_EAUTH for anything wrong, CM_ENOMEM, CM_EINTERNAL.
 */
enum cm_err cm_jwt_verify_typed(const struct cm_jwt *jwt, const char *token,
    const char *typ, json_t **payload);

/*
 * Verify a compact token with the public key only. The header must say
 * exactly {"alg":"ES256"} (typ JWT optional); "none", HS256 (also HS256 keyed
 * with the public key's bytes) or any other algorithm is rejected before any
 * signature check, as are tokens longer than CM_JWT_TOKEN_MAX, a "crit"
 * header and signatures that are not 64 raw bytes (r || s; a DER signature
 * is refused). Then signature, exp
 * (required integer), nbf (integer, if present), iss and aud (both
 * required; aud may be an array containing ours), sub (positive integer,
 * as a number or a decimal string), username (string, 1 to
 * CM_JWT_USERNAME_MAX bytes), iat (integer, if present; 0 when absent).
 * Returns CM_OK and fills *claims, CM_EEXPIRED for an expired but otherwise
 * valid token, CM_ENOMEM when memory runs out, CM_EINTERNAL (logged) when
 * OpenSSL cannot set up a verification with our key, CM_EAUTH for anything
 * else. The reason for a rejection is logged at debug level. Safe to call
 * from many threads at once with the same jwt.
 */
enum cm_err cm_jwt_verify(const struct cm_jwt *jwt, const char *token,
    time_t now, struct cm_jwt_claims *claims);

/*
 * cm_jwt_verify with a cache of tokens that verified, shared by the
 * process's threads (4,096 tokens, least recently used out first): a client
 * sends the same token on every request, and the ES256 check is most of an
 * authenticated request's CPU. A hit is a token byte-for-byte equal (by its
 * BLAKE2b-256 digest) to one verified with the same key set at or before
 * now and not expired at now (leeway included); anything else, and every
 * failure, goes through the full check. Answers exactly as cm_jwt_verify
 * does. A hit says the token's bytes are genuine, not that it is current:
 * revocation (claims.ver) is the caller's check, on every request.
 */
enum cm_err cm_jwt_verify_cached(const struct cm_jwt *jwt, const char *token,
    time_t now, struct cm_jwt_claims *claims);

#endif
