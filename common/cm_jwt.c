/*
 * cm_jwt.c: ES256 JSON Web Tokens, issued with libjwt 1.10 and verified with
 * OpenSSL directly.
 *
 * Verification does not use libjwt. libjwt 1.10 verifies with whatever
 * algorithm the token's header names (a token saying HS256 "verifies" when
 * its HMAC was keyed with the bytes of our public key PEM, which anyone can
 * read), and it parses the PEM key again on every call, which cost about
 * three quarters of the time of a verification. Here the key is parsed once
 * in cm_jwt_new, everything an attacker controls is checked before any
 * cryptography (the shape of the token, the header with alg exactly ES256,
 * the length of the signature), then OpenSSL checks the ECDSA signature,
 * and the claims are read from our own strict decoding of the payload that
 * signature covers. Issuing is rare and stays with libjwt.
 */
#include <assert.h>
#include <errno.h>
#include <limits.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include <jansson.h>
#include <jwt.h>
#include <openssl/bio.h>
#include <openssl/bn.h>
#include <openssl/crypto.h>
#include <openssl/ec.h>
#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/objects.h>
#include <openssl/pem.h>
#include <openssl/rand.h>
#include <sodium.h>

#include "cm_config.h"
#include "cm_jwt.h"
#include "cm_log.h"

/* PEM key files are a few hundred bytes; anything this big is a mistake. */
#define CM_JWT_KEYFILE_MAX ((size_t)64 * 1024)

/* An ES256 JOSE signature is r || s, 32 bytes each: 86 base64url chars. */
#define CM_JWT_SIG_BYTES 64
#define CM_JWT_SIG_CHARS 86

/*
 * The same signature in DER, as OpenSSL takes it: a SEQUENCE (2 bytes of
 * tag and length) of two INTEGERs of at most 33 bytes each (a leading zero
 * when the top bit is set) with 2 bytes of tag and length each.
 */
#define CM_JWT_DER_MAX (2 + 2 * (2 + 33))

#define CM_JWT_JTI_BYTES 16

/* The last cm_jwt.cache_id handed out. */
static atomic_ullong cm_jwt_cache_ids;

/* The 6-bit value of a base64url character, or -1. */
static int
cm_jwt_b64url_val(unsigned char c)
{
	if (c >= 'A' && c <= 'Z')
		return c - 'A';
	if (c >= 'a' && c <= 'z')
		return c - 'a' + 26;
	if (c >= '0' && c <= '9')
		return c - '0' + 52;
	if (c == '-')
		return 62;
	if (c == '_')
		return 63;
	return -1;
}

/*
 * Strict base64url (RFC 7515 section 2): no padding, no whitespace, and the
 * unused low bits of the last character must be zero, so that each byte
 * string has exactly one encoding and a token cannot be altered without
 * altering what it decodes to. dst must hold len * 3 / 4 bytes. Returns -1
 * on any deviation.
 */
static int
cm_jwt_b64url_decode(
    const char *src, size_t len, unsigned char *dst, size_t *dstlen)
{
	unsigned long acc = 0;
	size_t i, n = 0;
	int bits = 0, v;

	if (len % 4 == 1)
		return -1;
	for (i = 0; i < len; i++) {
		v = cm_jwt_b64url_val((unsigned char)src[i]);
		if (v < 0)
			return -1;
		acc = (acc << 6) | (unsigned long)v;
		bits += 6;
		if (bits >= 8) {
			bits -= 8;
			dst[n++] = (unsigned char)(acc >> bits);
			acc &= (1UL << bits) - 1;
		}
	}
	if (acc != 0)
		return -1;
	*dstlen = n;
	return 0;
}

/*
 * Decode one base64url segment and parse it as a JSON object, refusing
 * duplicate keys: with them, two parsers (ours and any other that reads the
 * same token) could disagree on what it says. jansson also refuses \u0000
 * in strings (we do not pass JSON_ALLOW_NUL), so strcmp on the strings it
 * returns is exact.
 */
static enum cm_err
cm_jwt_segment_json(const char *seg, size_t len, json_t **out)
{
	unsigned char *buf = NULL;
	json_error_t jerr;
	json_t *v = NULL;
	size_t n;
	enum cm_err rc = CM_EAUTH;

	*out = NULL;
	if (len == 0)
		goto out;
	if ((buf = malloc(len * 3 / 4 + 1)) == NULL) {
		rc = CM_ENOMEM;
		goto out;
	}
	if (cm_jwt_b64url_decode(seg, len, buf, &n) == -1)
		goto out;
	v = json_loadb((const char *)buf, n, JSON_REJECT_DUPLICATES, &jerr);
	if (v == NULL) {
		if (json_error_code(&jerr) == json_error_out_of_memory)
			rc = CM_ENOMEM;
		goto out;
	}
	if (!json_is_object(v))
		goto out;
	*out = v;
	v = NULL;
	rc = CM_OK;
out:
	json_decref(v);
	free(buf);
	return rc;
}

/*
 * The header must pin ES256. For a token (want NULL) typ, when present,
 * must say JWT; for any other message typ must be present and name it, so
 * that a token is never taken for a message nor the other way round. crit
 * names extensions a recipient must understand, and we understand none.
 */
static int
cm_jwt_header_ok(const json_t *hdr, const char *want, const char **why)
{
	const json_t *alg, *typ;

	alg = json_object_get(hdr, "alg");
	if (alg == NULL || !json_is_string(alg)) {
		*why = "header has no alg string";
		return 0;
	}
	if (strcmp(json_string_value(alg), "ES256") != 0) {
		*why = "header alg is not ES256";
		return 0;
	}
	typ = json_object_get(hdr, "typ");
	if (want == NULL && typ != NULL &&
	    (!json_is_string(typ) ||
	        strcasecmp(json_string_value(typ), "JWT") != 0)) {
		*why = "header typ is not JWT";
		return 0;
	}
	if (want != NULL &&
	    (typ == NULL || !json_is_string(typ) ||
	        strcasecmp(json_string_value(typ), want) != 0)) {
		*why = "header typ is not the expected one";
		return 0;
	}
	if (json_object_get(hdr, "crit") != NULL) {
		*why = "header has crit";
		return 0;
	}
	return 1;
}

/*
 * sub is a StringOrURI (RFC 7519), so ours is a decimal string; a plain
 * JSON number is accepted too. Either way a positive integer without sign,
 * leading zeros or overflow.
 */
static int
cm_jwt_sub_parse(const json_t *v, long long *out)
{
	const char *s;
	long long n = 0;
	size_t i, len;
	int d;

	if (json_is_integer(v)) {
		if (json_integer_value(v) <= 0)
			return -1;
		*out = json_integer_value(v);
		return 0;
	}
	if (!json_is_string(v))
		return -1;
	s = json_string_value(v);
	len = json_string_length(v);
	if (len == 0 || s[0] == '0')
		return -1;
	for (i = 0; i < len; i++) {
		if (s[i] < '0' || s[i] > '9')
			return -1;
		d = s[i] - '0';
		if (n > (LLONG_MAX - d) / 10)
			return -1;
		n = n * 10 + d;
	}
	*out = n;
	return 0;
}

/* aud is a string or an array of strings; ours must be among them. */
static int
cm_jwt_aud_ok(const json_t *aud, const char *want)
{
	const json_t *v;
	size_t i;
	int found = 0;

	if (json_is_string(aud))
		return strcmp(json_string_value(aud), want) == 0;
	if (!json_is_array(aud))
		return 0;
	for (i = 0; i < json_array_size(aud); i++) {
		v = json_array_get(aud, i);
		if (!json_is_string(v))
			return 0;
		if (strcmp(json_string_value(v), want) == 0)
			found = 1;
	}
	return found;
}

/*
 * Check the claims of a token whose signature is valid. Expiry is checked
 * last, so that CM_EEXPIRED only ever means "this was a good token".
 */
static enum cm_err
cm_jwt_claims_check(const struct cm_jwt *jwt, const json_t *c, time_t now,
    struct cm_jwt_claims *claims, const char **why)
{
	const json_t *v, *exp;
	long long t = (long long)now;

	if ((v = json_object_get(c, "iss")) == NULL || !json_is_string(v) ||
	    strcmp(json_string_value(v), jwt->issuer) != 0) {
		*why = "iss missing or not ours";
		return CM_EAUTH;
	}
	if ((v = json_object_get(c, "aud")) == NULL ||
	    !cm_jwt_aud_ok(v, jwt->audience)) {
		*why = "aud missing or not ours";
		return CM_EAUTH;
	}
	if ((v = json_object_get(c, "sub")) == NULL ||
	    cm_jwt_sub_parse(v, &claims->sub) == -1) {
		*why = "sub missing or not a positive integer";
		return CM_EAUTH;
	}
	if ((v = json_object_get(c, "username")) == NULL ||
	    !json_is_string(v) || json_string_length(v) == 0 ||
	    json_string_length(v) > CM_JWT_USERNAME_MAX) {
		*why = "username missing or invalid";
		return CM_EAUTH;
	}
	memcpy(claims->username, json_string_value(v), json_string_length(v));
	claims->username[json_string_length(v)] = '\0';
	claims->ver = 1;
	if ((v = json_object_get(c, "ver")) != NULL) {
		if (!json_is_integer(v) || json_integer_value(v) < 1) {
			*why = "ver is not a positive integer";
			return CM_EAUTH;
		}
		claims->ver = json_integer_value(v);
	}
	if ((v = json_object_get(c, "iat")) != NULL) {
		if (!json_is_integer(v) || json_integer_value(v) < 0 ||
		    json_integer_value(v) > LONG_MAX) {
			*why = "iat is not a valid time";
			return CM_EAUTH;
		}
		claims->iat = (long)json_integer_value(v);
	}
	if ((v = json_object_get(c, "nbf")) != NULL) {
		if (!json_is_integer(v)) {
			*why = "nbf is not an integer";
			return CM_EAUTH;
		}
		/* Written so that no attacker-chosen value can overflow. */
		if (t + jwt->leeway < json_integer_value(v)) {
			*why = "not valid yet (nbf)";
			return CM_EAUTH;
		}
	}
	exp = json_object_get(c, "exp");
	if (exp == NULL || !json_is_integer(exp) ||
	    json_integer_value(exp) > LONG_MAX) {
		*why = "exp missing or not an integer";
		return CM_EAUTH;
	}
	claims->exp = (long)json_integer_value(exp);
	if (t - jwt->leeway >= json_integer_value(exp)) {
		*why = "expired";
		return CM_EEXPIRED;
	}
	return CM_OK;
}

/*
 * Check a JOSE ES256 signature (r || s, 32 bytes each, big-endian) over
 * input with our public key. OpenSSL takes ECDSA signatures as DER, so the
 * two integers are re-encoded; that encoding is canonical by construction,
 * and OpenSSL refuses r or s that are zero or not below the group order.
 * Like every ECDSA verifier that does not demand a low s, it accepts both
 * (r, s) and (r, n - s): the second token differs from the first only in
 * its signature, says the same and expires at the same time, and nothing
 * here keys state on a token's bytes. Rejecting a high s would reject half
 * the tokens libjwt (through OpenSSL) issues.
 */
static enum cm_err
cm_jwt_sig_check(const struct cm_jwt *jwt, const char *input, size_t len,
    const unsigned char sig[CM_JWT_SIG_BYTES], const char **why)
{
	unsigned char der[CM_JWT_DER_MAX], *p = der;
	unsigned long e;
	const char *reason;
	ECDSA_SIG *es = NULL;
	EVP_MD_CTX *ctx = NULL;
	BIGNUM *r = NULL, *s = NULL;
	enum cm_err rc = CM_ENOMEM;
	int derlen;

	*why = "out of memory checking the signature";
	if ((es = ECDSA_SIG_new()) == NULL ||
	    (r = BN_bin2bn(sig, CM_JWT_SIG_BYTES / 2, NULL)) == NULL ||
	    (s = BN_bin2bn(sig + CM_JWT_SIG_BYTES / 2, CM_JWT_SIG_BYTES / 2,
	         NULL)) == NULL)
		goto out;
	/* On success es owns r and s. */
	if (ECDSA_SIG_set0(es, r, s) != 1)
		goto out;
	r = s = NULL;
	derlen = i2d_ECDSA_SIG(es, NULL);
	if (derlen <= 0 || (size_t)derlen > sizeof(der) ||
	    i2d_ECDSA_SIG(es, &p) != derlen) {
		/* Two 32-byte integers always fit: this is OpenSSL's fault. */
		cm_log(CM_LOG_ERROR, NULL,
		    "jwt verify: cannot DER-encode a signature (%d bytes)",
		    derlen);
		*why = "signature does not encode as DER";
		rc = CM_EINTERNAL;
		goto out;
	}
	if ((ctx = EVP_MD_CTX_new()) == NULL)
		goto out;
	if (EVP_DigestVerifyInit(ctx, NULL, EVP_sha256(), NULL, jwt->pub) !=
	    1) {
		e = ERR_peek_last_error();
		if (ERR_GET_REASON(e) == ERR_R_MALLOC_FAILURE)
			goto out;
		if ((reason = ERR_reason_error_string(e)) == NULL)
			reason = "no OpenSSL error";
		cm_log(CM_LOG_ERROR, NULL,
		    "jwt verify: EVP_DigestVerifyInit failed: %s", reason);
		*why = "EVP_DigestVerifyInit failed";
		rc = CM_EINTERNAL;
		goto out;
	}
	/* 0 is a bad signature; below 0, one OpenSSL could not judge. */
	if (EVP_DigestVerify(ctx, der, (size_t)derlen,
	        (const unsigned char *)input, len) != 1) {
		*why = "bad signature";
		rc = CM_EAUTH;
		goto out;
	}
	rc = CM_OK;
out:
	EVP_MD_CTX_free(ctx);
	ECDSA_SIG_free(es);
	BN_free(r);
	BN_free(s);
	return rc;
}

/*
 * Everything of a verification but the claims: shape, header (typ as
 * cm_jwt_header_ok says), signature, then the payload as a JSON object.
 */
static enum cm_err
cm_jwt_open(const struct cm_jwt *jwt, const char *token, const char *typ,
    json_t **out, const char **why)
{
	unsigned char sig[CM_JWT_SIG_BYTES + 3];
	const char *dot1 = NULL, *dot2 = NULL, *p, *s64;
	json_t *hdr = NULL;
	size_t siglen;
	enum cm_err rc = CM_EAUTH;

	*out = NULL;
	*why = "malformed token";
	if (jwt == NULL || jwt->pub == NULL || token == NULL) {
		*why = "no token or no key";
		goto out;
	}
	if (strnlen(token, CM_JWT_TOKEN_MAX + 1) > CM_JWT_TOKEN_MAX) {
		*why = "token too long";
		goto out;
	}

	/* Exactly three segments of base64url characters. */
	for (p = token; *p != '\0'; p++) {
		if (*p == '.') {
			if (dot1 == NULL)
				dot1 = p;
			else if (dot2 == NULL)
				dot2 = p;
			else
				goto out;
		} else if (cm_jwt_b64url_val((unsigned char)*p) < 0)
			goto out;
	}
	if (dot1 == NULL || dot2 == NULL)
		goto out;

	rc = cm_jwt_segment_json(token, (size_t)(dot1 - token), &hdr);
	if (rc != CM_OK) {
		*why = "header is not a base64url JSON object";
		goto out;
	}
	rc = CM_EAUTH;
	if (!cm_jwt_header_ok(hdr, typ, why))
		goto out;

	/*
	 * JOSE ES256 signatures are 64 raw bytes. Insisting on that keeps out
	 * DER signatures, which another library might accept, and with the
	 * strict decoder any second spelling of the same bytes.
	 */
	s64 = dot2 + 1;
	if (strlen(s64) != CM_JWT_SIG_CHARS ||
	    cm_jwt_b64url_decode(s64, CM_JWT_SIG_CHARS, sig, &siglen) != 0) {
		*why = "signature is not 64 bytes of base64url";
		goto out;
	}
	assert(siglen == CM_JWT_SIG_BYTES);

	/* The signature covers "header.payload", the token up to dot2. */
	rc = cm_jwt_sig_check(jwt, token, (size_t)(dot2 - token), sig, why);
	if (rc != CM_OK)
		goto out;

	rc = cm_jwt_segment_json(dot1 + 1, (size_t)(dot2 - dot1 - 1), out);
	if (rc != CM_OK)
		*why = "payload is not a base64url JSON object";
out:
	json_decref(hdr);
	return rc;
}

enum cm_err
cm_jwt_verify(const struct cm_jwt *jwt, const char *token, time_t now,
    struct cm_jwt_claims *claims)
{
	const char *why = "no claims";
	json_t *payload = NULL;
	enum cm_err rc = CM_EAUTH;

	if (claims == NULL)
		goto out;
	memset(claims, 0, sizeof(*claims));
	rc = cm_jwt_open(jwt, token, NULL, &payload, &why);
	if (rc != CM_OK)
		goto out;
	rc = cm_jwt_claims_check(jwt, payload, now, claims, &why);
out:
	if (rc != CM_OK) {
		cm_log(CM_LOG_DEBUG, NULL, "jwt rejected (%s): %s",
		    cm_err_name(rc), why);
		if (claims != NULL)
			memset(claims, 0, sizeof(*claims));
		/*
		 * OpenSSL's error queue is per thread: a rejected signature
		 * would otherwise linger there for the next caller to find.
		 */
		ERR_clear_error();
	}
	json_decref(payload);
	return rc;
}

enum cm_err
cm_jwt_verify_typed(const struct cm_jwt *jwt, const char *token,
    const char *typ, json_t **payload)
{
	const char *why = "no typ";
	enum cm_err rc = CM_EAUTH;

	if (payload == NULL)
		return CM_EINVAL;
	*payload = NULL;
	if (typ != NULL && *typ != '\0')
		rc = cm_jwt_open(jwt, token, typ, payload, &why);
	if (rc != CM_OK) {
		cm_log(CM_LOG_DEBUG, NULL, "jws rejected (%s): %s",
		    cm_err_name(rc), why);
		ERR_clear_error();
	}
	return rc;
}

/* 32 lowercase hex digits from the CSPRNG, for jti. */
static int
cm_jwt_jti(char out[2 * CM_JWT_JTI_BYTES + 1])
{
	static const char hex[] = "0123456789abcdef";
	unsigned char b[CM_JWT_JTI_BYTES];
	size_t i;

	if (RAND_bytes(b, sizeof(b)) != 1)
		return -1;
	for (i = 0; i < sizeof(b); i++) {
		out[2 * i] = hex[b[i] >> 4];
		out[2 * i + 1] = hex[b[i] & 0x0f];
	}
	out[(size_t)2 * CM_JWT_JTI_BYTES] = '\0';
	return 0;
}

enum cm_err
cm_jwt_issue(const struct cm_jwt *jwt, long long sub, const char *username,
    time_t now, char **out)
{
	return cm_jwt_issue_ver(jwt, sub, username, 0, now, out);
}

enum cm_err
cm_jwt_issue_ver(const struct cm_jwt *jwt, long long sub, const char *username,
    long long ver, time_t now, char **out)
{
	char subbuf[24], jti[2 * CM_JWT_JTI_BYTES + 1];
	const char *what;
	jwt_t *jw = NULL;
	long iat;
	size_t ulen;
	enum cm_err rc = CM_EINVAL;
	int e;

	if (out == NULL)
		return CM_EINVAL;
	*out = NULL;
	if (jwt == NULL || jwt->priv == NULL || jwt->priv_len > INT_MAX ||
	    sub <= 0 || username == NULL || ver < 0 || ver > LONG_MAX)
		goto out;
	ulen = strlen(username);
	if (ulen == 0 || ulen > CM_JWT_USERNAME_MAX)
		goto out;
	if (jwt->ttl <= 0 || now < 0 || (long long)now > LONG_MAX - jwt->ttl)
		goto out;
	iat = (long)now;
	snprintf(subbuf, sizeof(subbuf), "%lld", sub);
	if (cm_jwt_jti(jti) == -1) {
		cm_log(CM_LOG_ERROR, NULL, "jwt issue: RAND_bytes failed");
		rc = CM_EINTERNAL;
		goto out;
	}

	/* Each libjwt call returns an errno value; the first failure wins. */
	what = "jwt_new";
	if ((e = jwt_new(&jw)) != 0)
		goto fail;
	what = "jwt_add_grant";
	if ((e = jwt_add_grant(jw, "sub", subbuf)) != 0 ||
	    (e = jwt_add_grant(jw, "username", username)) != 0 ||
	    (e = jwt_add_grant_int(jw, "iat", iat)) != 0 ||
	    (e = jwt_add_grant_int(jw, "nbf", iat)) != 0 ||
	    (e = jwt_add_grant_int(jw, "exp", iat + jwt->ttl)) != 0 ||
	    (e = jwt_add_grant(jw, "iss", jwt->issuer)) != 0 ||
	    (e = jwt_add_grant(jw, "aud", jwt->audience)) != 0 ||
	    (e = jwt_add_grant(jw, "jti", jti)) != 0 ||
	    (ver > 0 && (e = jwt_add_grant_int(jw, "ver", (long)ver)) != 0))
		goto fail;
	what = "jwt_set_alg";
	if ((e = jwt_set_alg(
	         jw, JWT_ALG_ES256, jwt->priv, (int)jwt->priv_len)) != 0)
		goto fail;
	what = "jwt_encode_str";
	errno = 0;
	if ((*out = jwt_encode_str(jw)) == NULL) {
		e = errno;
		goto fail;
	}
	rc = CM_OK;
	goto out;
fail:
	/*
	 * jansson refuses a string that is not UTF-8 and libjwt reports that
	 * as EINVAL from jwt_add_grant. issuer and audience were checked in
	 * cm_jwt_new, so it is the caller's username. Anything else is ours.
	 */
	if (e == ENOMEM)
		rc = CM_ENOMEM;
	else if (e == EINVAL && strcmp(what, "jwt_add_grant") == 0)
		rc = CM_EINVAL;
	else
		rc = CM_EINTERNAL;
	if (rc != CM_EINVAL)
		cm_log(CM_LOG_ERROR, NULL, "jwt issue failed in %s: %s", what,
		    strerror(e));
	ERR_clear_error();
out:
	jwt_free(jw);
	return rc;
}

/* base64url without padding, in a new string; NULL on out of memory. */
static char *
cm_jwt_b64url_new(const void *b, size_t n)
{
	const int v = sodium_base64_VARIANT_URLSAFE_NO_PADDING;
	size_t cap = sodium_base64_ENCODED_LEN(n, v);
	char *s;

	if ((s = malloc(cap)) == NULL)
		return NULL;
	sodium_bin2base64(s, cap, b, n, v);
	return s;
}

/*
 * ECDSA P-256 over SHA-256 of input with our private key, as JOSE wants it:
 * r || s, 32 bytes each (OpenSSL produces DER).
 */
static enum cm_err
cm_jwt_sign_raw(const struct cm_jwt *jwt, const char *input, size_t len,
    unsigned char raw[CM_JWT_SIG_BYTES])
{
	unsigned char der[CM_JWT_DER_MAX + 8];
	const unsigned char *dp = der;
	const BIGNUM *r, *s;
	ECDSA_SIG *es = NULL;
	EVP_MD_CTX *ctx = NULL;
	size_t derlen = sizeof(der);
	enum cm_err rc = CM_ENOMEM;

	if ((ctx = EVP_MD_CTX_new()) == NULL)
		goto out;
	rc = CM_EINTERNAL;
	if (EVP_DigestSignInit(ctx, NULL, EVP_sha256(), NULL, jwt->privkey) !=
	        1 ||
	    EVP_DigestSign(
	        ctx, der, &derlen, (const unsigned char *)input, len) != 1 ||
	    (es = d2i_ECDSA_SIG(NULL, &dp, (long)derlen)) == NULL)
		goto out;
	ECDSA_SIG_get0(es, &r, &s);
	if (BN_bn2binpad(r, raw, CM_JWT_SIG_BYTES / 2) !=
	        CM_JWT_SIG_BYTES / 2 ||
	    BN_bn2binpad(s, raw + CM_JWT_SIG_BYTES / 2, CM_JWT_SIG_BYTES / 2) !=
	        CM_JWT_SIG_BYTES / 2)
		goto out;
	rc = CM_OK;
out:
	if (rc == CM_EINTERNAL)
		cm_log(CM_LOG_ERROR, NULL, "jws sign: OpenSSL failed: %s",
		    ERR_reason_error_string(ERR_peek_last_error()) != NULL
		        ? ERR_reason_error_string(ERR_peek_last_error())
		        : "no OpenSSL error");
	ERR_clear_error();
	ECDSA_SIG_free(es);
	EVP_MD_CTX_free(ctx);
	return rc;
}

enum cm_err
cm_jwt_sign_typed(const struct cm_jwt *jwt, const char *typ,
    const json_t *payload, char **out)
{
	unsigned char raw[CM_JWT_SIG_BYTES];
	char *hdr = NULL, *body = NULL, *h64 = NULL, *p64 = NULL, *s64 = NULL;
	char *tok = NULL;
	json_t *h = NULL;
	size_t len;
	enum cm_err rc = CM_EINVAL;

	if (out == NULL)
		return CM_EINVAL;
	*out = NULL;
	if (jwt == NULL || jwt->privkey == NULL || typ == NULL ||
	    *typ == '\0' || strcasecmp(typ, "JWT") == 0 ||
	    !json_is_object(payload))
		goto out;
	rc = CM_ENOMEM;
	/* Sorted keys: the same message always signs the same bytes. */
	if ((h = json_pack("{s:s,s:s}", "alg", "ES256", "typ", typ)) == NULL ||
	    (hdr = json_dumps(h, JSON_COMPACT | JSON_SORT_KEYS)) == NULL ||
	    (body = json_dumps(payload, JSON_COMPACT | JSON_SORT_KEYS)) ==
	        NULL ||
	    (h64 = cm_jwt_b64url_new(hdr, strlen(hdr))) == NULL ||
	    (p64 = cm_jwt_b64url_new(body, strlen(body))) == NULL)
		goto out;
	len = strlen(h64) + 1 + strlen(p64);
	if ((tok = malloc(len + 1 + CM_JWT_SIG_CHARS + 1)) == NULL)
		goto out;
	snprintf(tok, len + 1, "%s.%s", h64, p64);
	if ((rc = cm_jwt_sign_raw(jwt, tok, len, raw)) != CM_OK)
		goto out;
	rc = CM_ENOMEM;
	if ((s64 = cm_jwt_b64url_new(raw, sizeof(raw))) == NULL)
		goto out;
	tok[len] = '.';
	memcpy(tok + len + 1, s64, CM_JWT_SIG_CHARS + 1);
	*out = tok;
	tok = NULL;
	rc = CM_OK;
out:
	free(tok);
	free(s64);
	free(p64);
	free(h64);
	free(body);
	free(hdr);
	json_decref(h);
	return rc;
}

/* A key file's PEM text (cm_config_file), refusing an empty file. */
static enum cm_err
cm_jwt_file_read(const char *path, unsigned char **out, size_t *outlen,
    char *err, size_t errlen)
{
	enum cm_err rc;
	char *buf;

	*out = NULL;
	rc =
	    cm_config_file(path, CM_JWT_KEYFILE_MAX, &buf, outlen, err, errlen);
	if (rc != CM_OK)
		return rc;
	if (*outlen == 0) {
		snprintf(err, errlen, "%s: empty file, not a PEM key", path);
		free(buf);
		return CM_EINVAL;
	}
	*out = (unsigned char *)buf;
	return CM_OK;
}

/*
 * Parse a PEM key (the first PUBLIC KEY block, which cm_jwt_verify then
 * uses, or the first private key block, the one libjwt will sign with) and
 * insist on EC over P-256, the only curve ES256 allows.
 */
static enum cm_err
cm_jwt_key_parse(const char *path, const unsigned char *pem, size_t len,
    int is_private, EVP_PKEY **out, char *err, size_t errlen)
{
	char group[64];
	EVP_PKEY *pkey = NULL;
	BIO *bio = NULL;
	size_t glen = 0;
	enum cm_err rc = CM_EINVAL;

	*out = NULL;
	if ((bio = BIO_new_mem_buf(pem, (int)len)) == NULL) {
		snprintf(err, errlen, "%s: out of memory", path);
		rc = CM_ENOMEM;
		goto out;
	}
	/*
	 * No callback and an empty passphrase: an encrypted key fails to
	 * decrypt instead of OpenSSL prompting on a terminal for one.
	 */
	if (is_private)
		pkey = PEM_read_bio_PrivateKey(bio, NULL, NULL, (void *)"");
	else
		pkey = PEM_read_bio_PUBKEY(bio, NULL, NULL, (void *)"");
	if (pkey == NULL) {
		snprintf(err, errlen, "%s: no %s in PEM format%s", path,
		    is_private ? "unencrypted private key" : "public key",
		    is_private ? "" : " (BEGIN PUBLIC KEY)");
		goto out;
	}
	if (EVP_PKEY_get_base_id(pkey) != EVP_PKEY_EC) {
		snprintf(
		    err, errlen, "%s: not an EC key, ES256 needs P-256", path);
		goto out;
	}
	if (EVP_PKEY_get_group_name(pkey, group, sizeof(group), &glen) != 1 ||
	    (OBJ_sn2nid(group) != NID_X9_62_prime256v1 &&
	        EC_curve_nist2nid(group) != NID_X9_62_prime256v1)) {
		snprintf(err, errlen,
		    "%s: EC key not on curve P-256 (prime256v1)", path);
		goto out;
	}
	*out = pkey;
	pkey = NULL;
	rc = CM_OK;
out:
	EVP_PKEY_free(pkey);
	BIO_free(bio);
	ERR_clear_error();
	return rc;
}

/* jansson, and so libjwt, only accepts UTF-8 strings in claims. */
static int
cm_jwt_utf8(const char *s)
{
	json_t *v;

	if ((v = json_string(s)) == NULL)
		return 0;
	json_decref(v);
	return 1;
}

enum cm_err
cm_jwt_new(struct cm_jwt **out, const char *priv_path, const char *pub_path,
    const char *issuer, const char *audience, long ttl, char *err,
    size_t errlen)
{
	struct cm_jwt *jwt = NULL;
	unsigned char *pubpem = NULL;
	size_t pubpem_len = 0;
	enum cm_err rc = CM_EINVAL;

	if (out == NULL)
		return CM_EINVAL;
	*out = NULL;
	if (err != NULL && errlen > 0)
		err[0] = '\0';
	if (pub_path == NULL || *pub_path == '\0') {
		snprintf(err, errlen, "jwt: no public key file given");
		goto out;
	}
	if (issuer == NULL || *issuer == '\0' || audience == NULL ||
	    *audience == '\0') {
		snprintf(err, errlen, "jwt: issuer and audience must be set");
		goto out;
	}
	if (!cm_jwt_utf8(issuer) || !cm_jwt_utf8(audience)) {
		snprintf(err, errlen, "jwt: issuer and audience must be UTF-8");
		goto out;
	}
	if (priv_path != NULL && ttl <= 0) {
		snprintf(
		    err, errlen, "jwt: token lifetime %ld must be > 0", ttl);
		goto out;
	}
	if ((jwt = calloc(1, sizeof(*jwt))) == NULL) {
		snprintf(err, errlen, "jwt: out of memory");
		rc = CM_ENOMEM;
		goto out;
	}
	jwt->ttl = ttl;
	jwt->leeway = CM_JWT_LEEWAY_DEFAULT;
	jwt->cache_id = atomic_fetch_add(&cm_jwt_cache_ids, 1) + 1;
	if ((jwt->issuer = strdup(issuer)) == NULL ||
	    (jwt->audience = strdup(audience)) == NULL) {
		snprintf(err, errlen, "jwt: out of memory");
		rc = CM_ENOMEM;
		goto out;
	}

	/* The PEM text is not needed once parsed: verification uses pub. */
	if ((rc = cm_jwt_file_read(
	         pub_path, &pubpem, &pubpem_len, err, errlen)) != CM_OK)
		goto out;
	if ((rc = cm_jwt_key_parse(pub_path, pubpem, pubpem_len, 0, &jwt->pub,
	         err, errlen)) != CM_OK)
		goto out;
	if (priv_path != NULL) {
		if ((rc = cm_jwt_file_read(priv_path, &jwt->priv,
		         &jwt->priv_len, err, errlen)) != CM_OK)
			goto out;
		/* Kept for cm_jwt_sign_typed, which signs without libjwt. */
		if ((rc = cm_jwt_key_parse(priv_path, jwt->priv, jwt->priv_len,
		         1, &jwt->privkey, err, errlen)) != CM_OK)
			goto out;
		/*
		 * A service that signs with one key and verifies with another
		 * would reject every token it issues; say so at start.
		 */
		if (EVP_PKEY_eq(jwt->privkey, jwt->pub) != 1) {
			snprintf(err, errlen,
			    "%s: private key does not match public key %s",
			    priv_path, pub_path);
			rc = CM_EINVAL;
			ERR_clear_error();
			goto out;
		}
	}
	*out = jwt;
	jwt = NULL;
	rc = CM_OK;
out:
	free(pubpem);
	cm_jwt_free(jwt);
	return rc;
}

void
cm_jwt_free(struct cm_jwt *jwt)
{
	if (jwt == NULL)
		return;
	if (jwt->priv != NULL) {
		OPENSSL_cleanse(jwt->priv, jwt->priv_len);
		free(jwt->priv);
	}
	EVP_PKEY_free(jwt->pub);
	EVP_PKEY_free(jwt->privkey);
	free(jwt->issuer);
	free(jwt->audience);
	free(jwt);
}

/*
 * The cache of verified tokens, one per process, shared by its threads:
 * CM_JWT_CACHE_SETS sets of CM_JWT_CACHE_WAYS entries, a token's set
 * chosen by 16 bits of its BLAKE2b-256 digest, the least recently used
 * entry of a full set replaced. 4,096 tokens in about 0.9 MiB of zeroed
 * memory (resident only as sets fill), so thousands of active users per
 * replica hit while memory stays bounded. The cache it replaces was
 * per thread and direct-mapped on one byte: 16 of the bench's 64 tokens
 * shared a slot with another and evicted it on every use, and each thread
 * verified every token again, so a fifth of a replica's CPU went to ECDSA
 * verifies on an authenticated list (profile of 2026-12-01 19:41). One
 * cache per process verifies a token once, not once per worker, and holds
 * WORKERS times more tokens in the same memory; a hit holds its set's lock
 * for a digest compare and a copy of the claims. Only tokens that verified get in, so filling a set takes tokens we
 * issued, and an eviction costs one verify, never a wrong answer.
 */
#define CM_JWT_CACHE_SETS 512
#define CM_JWT_CACHE_WAYS 8

struct cm_jwt_cache_ent {
	unsigned long long keyset; /* cm_jwt.cache_id; 0: empty */
	unsigned long long used; /* the set's clock at the last use */
	long long verified_at; /* now at the full check */
	unsigned char digest[crypto_generichash_BYTES];
	struct cm_jwt_claims claims;
};

struct cm_jwt_cache_set {
	pthread_mutex_t mu;
	unsigned long long clock;
	struct cm_jwt_cache_ent ent[CM_JWT_CACHE_WAYS];
};

/* All zeros (glibc's PTHREAD_MUTEX_INITIALIZER too), so in .bss. */
static struct cm_jwt_cache_set cm_jwt_cache[CM_JWT_CACHE_SETS] = {
    [0 ... CM_JWT_CACHE_SETS - 1] = {.mu = PTHREAD_MUTEX_INITIALIZER}};

/* The entry of (keyset, d) in set s, or NULL. s->mu held. */
static struct cm_jwt_cache_ent *
cm_jwt_cache_find(struct cm_jwt_cache_set *s, unsigned long long keyset,
    const unsigned char d[crypto_generichash_BYTES])
{
	size_t i;

	for (i = 0; i < CM_JWT_CACHE_WAYS; i++)
		if (s->ent[i].keyset == keyset &&
		    sodium_memcmp(
		        s->ent[i].digest, d, crypto_generichash_BYTES) == 0)
			return &s->ent[i];
	return NULL;
}

/*
 * Keep claims of a token that verified at now: in its old entry if another
 * thread put it there meanwhile, else in an empty or the least recently
 * used one. s->mu held.
 */
static void
cm_jwt_cache_put(struct cm_jwt_cache_set *s, unsigned long long keyset,
    const unsigned char d[crypto_generichash_BYTES], time_t now,
    const struct cm_jwt_claims *claims)
{
	struct cm_jwt_cache_ent *e;
	size_t i;

	/* Empty entries have used 0, so they go first. */
	if ((e = cm_jwt_cache_find(s, keyset, d)) == NULL)
		for (e = &s->ent[0], i = 1; i < CM_JWT_CACHE_WAYS; i++)
			if (s->ent[i].used < e->used)
				e = &s->ent[i];
	e->keyset = keyset;
	e->used = ++s->clock;
	e->verified_at = (long long)now;
	memcpy(e->digest, d, crypto_generichash_BYTES);
	e->claims = *claims;
}

enum cm_err
cm_jwt_verify_cached(const struct cm_jwt *jwt, const char *token, time_t now,
    struct cm_jwt_claims *claims)
{
	unsigned char d[crypto_generichash_BYTES];
	struct cm_jwt_cache_set *s;
	struct cm_jwt_cache_ent *e;
	size_t len;
	enum cm_err rc;

	if (jwt == NULL || token == NULL || claims == NULL ||
	    (len = strnlen(token, CM_JWT_TOKEN_MAX + 1)) > CM_JWT_TOKEN_MAX)
		return cm_jwt_verify(jwt, token, now, claims);
	crypto_generichash(
	    d, sizeof(d), (const unsigned char *)token, len, NULL, 0);
	s = &cm_jwt_cache[((size_t)d[0] | (size_t)d[1] << 8) %
	    CM_JWT_CACHE_SETS];
	pthread_mutex_lock(&s->mu);
	if ((e = cm_jwt_cache_find(s, jwt->cache_id, d)) != NULL) {
		/*
		 * The full check's expiry test, leeway included, so an
		 * expired token is never served from here. A clock that went
		 * back before the full check could make nbf fail: check again.
		 */
		if ((long long)now - jwt->leeway >= (long long)e->claims.exp) {
			e->keyset = 0;
			e->used = 0;
		} else if ((long long)now >= e->verified_at) {
			e->used = ++s->clock;
			*claims = e->claims;
			pthread_mutex_unlock(&s->mu);
			return CM_OK;
		}
	}
	pthread_mutex_unlock(&s->mu);
	rc = cm_jwt_verify(jwt, token, now, claims);
	if (rc == CM_OK) {
		pthread_mutex_lock(&s->mu);
		cm_jwt_cache_put(s, jwt->cache_id, d, now, claims);
		pthread_mutex_unlock(&s->mu);
	}
	return rc;
}
