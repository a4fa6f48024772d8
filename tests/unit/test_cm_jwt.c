/*
 * test_cm_jwt.c: cm_jwt against real keys made at run time, and against
 * tokens forged the ways attackers forge them (alg none, HS256 keyed with
 * the public key, other keys, other algorithms, edited claims).
 *
 * Tokens with arbitrary headers and claims are signed here directly with
 * OpenSSL, independently of libjwt, which also shows that what cm_jwt
 * accepts is standard JOSE ES256 and not a libjwt dialect.
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <limits.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "unit.h"

#include <jwt.h>
#include <openssl/bn.h>
#include <openssl/core_names.h>
#include <openssl/ec.h>
#include <openssl/encoder.h>
#include <openssl/evp.h>
#include <openssl/hmac.h>
#include <openssl/pem.h>

#include "cm_jwt.h"

#define T_NOW 1700000000L
#define T_TTL 3600L
#define T_ISS "conduit"
#define T_AUD "conduit"
#define T_HDR "{\"alg\":\"ES256\",\"typ\":\"JWT\"}"

struct t_state {
	char dir[64];
	char priv_a[128], pub_a[128]; /* P-256, PKCS#8 */
	char priv_b[128], pub_b[128]; /* P-256, "EC PRIVATE KEY" */
	char priv_rsa[128], pub_rsa[128];
	char priv_p384[128], pub_p384[128];
	char priv_enc[128]; /* encrypted P-256 */
	char empty[128], junk[128];
	EVP_PKEY *key_a, *key_b, *key_rsa, *key_p384;
	struct cm_jwt *jwt; /* key A, signs and verifies */
	struct cm_jwt *verifier; /* key A, public key only */
};

static const char t_b64url_alphabet[] =
    "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";

/* Base64url without padding, malloc'd. */
static char *
t_b64url(const void *data, size_t len)
{
	char *out;
	size_t i, n;

	out = malloc(4 * ((len + 2) / 3) + 1);
	assert_non_null(out);
	n = (size_t)EVP_EncodeBlock((unsigned char *)out, data, (int)len);
	while (n > 0 && out[n - 1] == '=')
		n--;
	out[n] = '\0';
	for (i = 0; i < n; i++) {
		if (out[i] == '+')
			out[i] = '-';
		else if (out[i] == '/')
			out[i] = '_';
	}
	return out;
}

/* Decode a base64url segment (test inputs are well-formed), malloc'd. */
static unsigned char *
t_b64url_dec(const char *seg, size_t len, size_t *outlen)
{
	unsigned char *out;
	char *tmp;
	size_t i, pad;
	int n;

	pad = (4 - len % 4) % 4;
	tmp = malloc(len + pad + 1);
	assert_non_null(tmp);
	for (i = 0; i < len; i++) {
		if (seg[i] == '-')
			tmp[i] = '+';
		else if (seg[i] == '_')
			tmp[i] = '/';
		else
			tmp[i] = seg[i];
	}
	for (i = 0; i < pad; i++)
		tmp[len + i] = '=';
	tmp[len + pad] = '\0';
	out = malloc(len + 3);
	assert_non_null(out);
	n = EVP_DecodeBlock(out, (unsigned char *)tmp, (int)(len + pad));
	assert_true(n >= 0);
	*outlen = (size_t)n - pad;
	free(tmp);
	return out;
}

/* Token segments joined with dots, malloc'd: "a.b.c", or "a.b" without c. */
static char *
t_join(const char *a, const char *b, const char *c)
{
	size_t n = strlen(a) + strlen(b) + (c == NULL ? 0 : strlen(c)) + 3;
	char *out;

	out = malloc(n);
	assert_non_null(out);
	if (c == NULL)
		snprintf(out, n, "%s.%s", a, b);
	else
		snprintf(out, n, "%s.%s.%s", a, b, c);
	return out;
}

/* The "header.payload" text a signature covers. */
static char *
t_signing_input(const char *hdr, const char *payload)
{
	char *h, *p, *out;

	h = t_b64url(hdr, strlen(hdr));
	p = t_b64url(payload, strlen(payload));
	out = t_join(h, p, NULL);
	free(h);
	free(p);
	return out;
}

/*
 * Sign hdr.payload with an EC key, as JOSE (r || s, each padded to 32
 * bytes) or, with der set, as the DER that OpenSSL produces natively.
 */
static char *
t_sign_es256(EVP_PKEY *key, const char *hdr, const char *payload, int der)
{
	unsigned char dersig[128], raw[64];
	const unsigned char *p;
	const BIGNUM *r, *s;
	ECDSA_SIG *es;
	EVP_MD_CTX *ctx;
	char *input, *sig, *tok;
	size_t dlen = sizeof(dersig);

	input = t_signing_input(hdr, payload);
	ctx = EVP_MD_CTX_new();
	assert_non_null(ctx);
	assert_int_equal(
	    EVP_DigestSignInit(ctx, NULL, EVP_sha256(), NULL, key), 1);
	assert_int_equal(EVP_DigestSign(ctx, dersig, &dlen,
	                     (unsigned char *)input, strlen(input)),
	    1);
	EVP_MD_CTX_free(ctx);
	if (der) {
		sig = t_b64url(dersig, dlen);
	} else {
		p = dersig;
		es = d2i_ECDSA_SIG(NULL, &p, (long)dlen);
		assert_non_null(es);
		ECDSA_SIG_get0(es, &r, &s);
		assert_int_equal(BN_bn2binpad(r, raw, 32), 32);
		assert_int_equal(BN_bn2binpad(s, raw + 32, 32), 32);
		ECDSA_SIG_free(es);
		sig = t_b64url(raw, sizeof(raw));
	}
	tok = t_join(input, sig, NULL);
	free(input);
	free(sig);
	return tok;
}

/* Check a JOSE ES256 token's signature with OpenSSL alone. */
static int
t_openssl_verify(EVP_PKEY *key, const char *tok)
{
	unsigned char *raw, *der = NULL;
	const char *dot;
	ECDSA_SIG *es;
	EVP_MD_CTX *ctx;
	size_t rawlen;
	int derlen, ok;

	dot = strrchr(tok, '.');
	raw = t_b64url_dec(dot + 1, strlen(dot + 1), &rawlen);
	if (rawlen != 64) {
		free(raw);
		return 0;
	}
	es = ECDSA_SIG_new();
	assert_non_null(es);
	assert_int_equal(ECDSA_SIG_set0(es, BN_bin2bn(raw, 32, NULL),
	                     BN_bin2bn(raw + 32, 32, NULL)),
	    1);
	derlen = i2d_ECDSA_SIG(es, &der);
	assert_true(derlen > 0);
	ctx = EVP_MD_CTX_new();
	assert_non_null(ctx);
	assert_int_equal(
	    EVP_DigestVerifyInit(ctx, NULL, EVP_sha256(), NULL, key), 1);
	ok = EVP_DigestVerify(ctx, der, (size_t)derlen, (unsigned char *)tok,
	         (size_t)(dot - tok)) == 1;
	EVP_MD_CTX_free(ctx);
	OPENSSL_free(der);
	ECDSA_SIG_free(es);
	free(raw);
	return ok;
}

/* The decoded JSON text of segment i (0 header, 1 payload), malloc'd. */
static char *
t_segment(const char *tok, int i)
{
	const char *s = tok, *e;
	unsigned char *raw;
	size_t n;

	while (i-- > 0)
		s = strchr(s, '.') + 1;
	e = strchr(s, '.');
	raw = t_b64url_dec(s, (size_t)(e - s), &n);
	raw[n] = '\0';
	return (char *)raw;
}

/* A payload from a format, malloc'd. */
static char *
t_fmt(const char *fmt, va_list ap)
{
	va_list ap2;
	char *out;
	int n;

	va_copy(ap2, ap);
	n = vsnprintf(NULL, 0, fmt, ap2);
	va_end(ap2);
	assert_true(n > 0);
	out = malloc((size_t)n + 1);
	assert_non_null(out);
	assert_int_equal(vsnprintf(out, (size_t)n + 1, fmt, ap), n);
	return out;
}

/*
 * Sign (key A, standard header) the payload given as a format, verify it
 * at now, and expect rc. The payload is printed when the answer differs.
 */
static void
t_expect(struct t_state *st, enum cm_err want, long now, const char *fmt, ...)
{
	struct cm_jwt_claims claims;
	va_list ap;
	char *payload, *tok;
	enum cm_err rc;

	va_start(ap, fmt);
	payload = t_fmt(fmt, ap);
	va_end(ap);
	tok = t_sign_es256(st->key_a, T_HDR, payload, 0);
	rc = cm_jwt_verify(st->jwt, tok, now, &claims);
	if (rc != want)
		print_error(
		    "payload %.300s: got %d, want %d\n", payload, rc, want);
	free(tok);
	free(payload);
	assert_int_equal(rc, want);
}

/* Like t_expect with the header given too. */
static void
t_expect_hdr(struct t_state *st, enum cm_err want, const char *hdr)
{
	struct cm_jwt_claims claims;
	char payload[512], *tok;
	enum cm_err rc;

	snprintf(payload, sizeof(payload),
	    "{\"sub\":\"42\",\"username\":"
	    "\"alice\",\"iat\":%ld,\"exp\":%ld,\"iss\":\"" T_ISS "\","
	    "\"aud\":\"" T_AUD "\"}",
	    T_NOW, T_NOW + T_TTL);
	tok = t_sign_es256(st->key_a, hdr, payload, 0);
	rc = cm_jwt_verify(st->jwt, tok, T_NOW, &claims);
	if (rc != want)
		print_error("header %s: got %d, want %d\n", hdr, rc, want);
	free(tok);
	assert_int_equal(rc, want);
}

/* Verify a literal token string and expect rc. */
static void
t_expect_tok(struct t_state *st, enum cm_err want, const char *tok)
{
	struct cm_jwt_claims claims;
	enum cm_err rc;

	rc = cm_jwt_verify(st->jwt, tok, T_NOW, &claims);
	if (rc != want)
		print_error(
		    "token \"%.200s\": got %d, want %d\n", tok, rc, want);
	assert_int_equal(rc, want);
	if (rc != CM_OK) {
		/* A rejected token must not leave claims behind. */
		assert_int_equal(claims.sub, 0);
		assert_string_equal(claims.username, "");
	}
}

/* Like t_expect_tok for tok with bytes around it: fmt has one %s. */
static void
t_expect_around(
    struct t_state *st, enum cm_err want, const char *fmt, const char *tok)
{
	char *s;

	assert_true(asprintf(&s, fmt, tok) > 0);
	t_expect_tok(st, want, s);
	free(s);
}

static void
t_write_file(const char *path, const void *data, size_t len)
{
	FILE *fp;

	fp = fopen(path, "wb");
	assert_non_null(fp);
	assert_int_equal(fwrite(data, 1, len, fp), len);
	assert_int_equal(fclose(fp), 0);
}

static void
t_write_pubkey(const char *path, EVP_PKEY *key)
{
	FILE *fp;

	fp = fopen(path, "wb");
	assert_non_null(fp);
	assert_int_equal(PEM_write_PUBKEY(fp, key), 1);
	assert_int_equal(fclose(fp), 0);
}

static void
t_write_privkey(const char *path, EVP_PKEY *key, const EVP_CIPHER *enc)
{
	FILE *fp;

	fp = fopen(path, "wb");
	assert_non_null(fp);
	assert_int_equal(PEM_write_PrivateKey(fp, key, enc,
	                     enc != NULL ? (unsigned char *)"secret" : NULL,
	                     enc != NULL ? 6 : 0, NULL, NULL),
	    1);
	assert_int_equal(fclose(fp), 0);
}

/*
 * What `openssl ecparam -genkey` writes: an EC PARAMETERS block, then an
 * EC PRIVATE KEY (SEC1) block.
 */
static void
t_write_sec1(const char *path, EVP_PKEY *key)
{
	OSSL_ENCODER_CTX *ectx;
	FILE *fp;

	fp = fopen(path, "wb");
	assert_non_null(fp);
	ectx = OSSL_ENCODER_CTX_new_for_pkey(key,
	    OSSL_KEYMGMT_SELECT_DOMAIN_PARAMETERS, "PEM", "type-specific",
	    NULL);
	assert_non_null(ectx);
	assert_int_equal(OSSL_ENCODER_to_fp(ectx, fp), 1);
	OSSL_ENCODER_CTX_free(ectx);
	ectx = OSSL_ENCODER_CTX_new_for_pkey(key,
	    OSSL_KEYMGMT_SELECT_KEYPAIR | OSSL_KEYMGMT_SELECT_DOMAIN_PARAMETERS,
	    "PEM", "type-specific", NULL);
	assert_non_null(ectx);
	assert_int_equal(OSSL_ENCODER_to_fp(ectx, fp), 1);
	OSSL_ENCODER_CTX_free(ectx);
	assert_int_equal(fclose(fp), 0);
}

static void
t_path(struct t_state *st, char *out, const char *name)
{
	snprintf(out, 128, "%s/%s", st->dir, name);
}

static int
t_setup(void **state)
{
	struct t_state *st;
	char err[256];

	st = calloc(1, sizeof(*st));
	assert_non_null(st);
	snprintf(st->dir, sizeof(st->dir), "/tmp/test_cm_jwt.XXXXXX");
	assert_non_null(mkdtemp(st->dir));
	st->key_a = EVP_PKEY_Q_keygen(NULL, NULL, "EC", "P-256");
	st->key_b = EVP_PKEY_Q_keygen(NULL, NULL, "EC", "P-256");
	st->key_rsa = EVP_PKEY_Q_keygen(NULL, NULL, "RSA", (size_t)2048);
	st->key_p384 = EVP_PKEY_Q_keygen(NULL, NULL, "EC", "P-384");
	assert_non_null(st->key_a);
	assert_non_null(st->key_b);
	assert_non_null(st->key_rsa);
	assert_non_null(st->key_p384);

	t_path(st, st->priv_a, "a.key");
	t_path(st, st->pub_a, "a.pub");
	t_path(st, st->priv_b, "b.key");
	t_path(st, st->pub_b, "b.pub");
	t_path(st, st->priv_rsa, "rsa.key");
	t_path(st, st->pub_rsa, "rsa.pub");
	t_path(st, st->priv_p384, "p384.key");
	t_path(st, st->pub_p384, "p384.pub");
	t_path(st, st->priv_enc, "enc.key");
	t_path(st, st->empty, "empty.pem");
	t_path(st, st->junk, "junk.pem");
	t_write_privkey(st->priv_a, st->key_a, NULL);
	t_write_pubkey(st->pub_a, st->key_a);
	t_write_sec1(st->priv_b, st->key_b);
	t_write_pubkey(st->pub_b, st->key_b);
	t_write_privkey(st->priv_rsa, st->key_rsa, NULL);
	t_write_pubkey(st->pub_rsa, st->key_rsa);
	t_write_privkey(st->priv_p384, st->key_p384, NULL);
	t_write_pubkey(st->pub_p384, st->key_p384);
	t_write_privkey(st->priv_enc, st->key_a, EVP_aes_256_cbc());
	t_write_file(st->empty, "", 0);
	t_write_file(st->junk,
	    "-----BEGIN PUBLIC KEY-----\nAAAA\n"
	    "-----END PUBLIC KEY-----\n",
	    56);

	assert_int_equal(cm_jwt_new(&st->jwt, st->priv_a, st->pub_a, T_ISS,
	                     T_AUD, T_TTL, err, sizeof(err)),
	    CM_OK);
	assert_int_equal(cm_jwt_new(&st->verifier, NULL, st->pub_a, T_ISS,
	                     T_AUD, 0, err, sizeof(err)),
	    CM_OK);
	*state = st;
	return 0;
}

static int
t_teardown(void **state)
{
	struct t_state *st = *state;
	const char *files[] = {st->priv_a, st->pub_a, st->priv_b, st->pub_b,
	    st->priv_rsa, st->pub_rsa, st->priv_p384, st->pub_p384,
	    st->priv_enc, st->empty, st->junk};
	EVP_PKEY *keys[] = {st->key_a, st->key_b, st->key_rsa, st->key_p384};
	size_t i;

	for (i = 0; i < sizeof(files) / sizeof(files[0]); i++)
		unlink(files[i]);
	rmdir(st->dir);
	cm_jwt_free(st->jwt);
	cm_jwt_free(st->verifier);
	for (i = 0; i < sizeof(keys) / sizeof(keys[0]); i++)
		EVP_PKEY_free(keys[i]);
	free(st);
	return 0;
}

/* Each test starts from the default leeway whatever the last one did. */
static int
t_reset(void **state)
{
	struct t_state *st = *state;

	st->jwt->leeway = CM_JWT_LEEWAY_DEFAULT;
	return 0;
}

static void
test_roundtrip(void **state)
{
	struct t_state *st = *state;
	struct cm_jwt_claims claims;
	char *tok, *hdr, *payload;

	assert_int_equal(
	    cm_jwt_issue(st->jwt, 42, "alice", T_NOW, &tok), CM_OK);
	assert_int_equal(cm_jwt_verify(st->jwt, tok, T_NOW, &claims), CM_OK);
	assert_int_equal(claims.sub, 42);
	assert_string_equal(claims.username, "alice");
	assert_int_equal(claims.iat, T_NOW);
	assert_int_equal(claims.exp, T_NOW + T_TTL);

	/* A service holding only the public key accepts it too. */
	memset(&claims, 0xa5, sizeof(claims));
	assert_int_equal(
	    cm_jwt_verify(st->verifier, tok, T_NOW + 10, &claims), CM_OK);
	assert_int_equal(claims.sub, 42);
	assert_string_equal(claims.username, "alice");

	/* What is on the wire is what the header file promises. */
	hdr = t_segment(tok, 0);
	payload = t_segment(tok, 1);
	assert_non_null(strstr(hdr, "\"alg\":\"ES256\""));
	assert_non_null(strstr(hdr, "\"typ\":\"JWT\""));
	assert_non_null(strstr(payload, "\"sub\":\"42\""));
	assert_non_null(strstr(payload, "\"username\":\"alice\""));
	assert_non_null(strstr(payload, "\"iat\":1700000000"));
	assert_non_null(strstr(payload, "\"nbf\":1700000000"));
	assert_non_null(strstr(payload, "\"exp\":1700003600"));
	assert_non_null(strstr(payload, "\"iss\":\"conduit\""));
	assert_non_null(strstr(payload, "\"aud\":\"conduit\""));
	assert_non_null(strstr(payload, "\"jti\":\""));
	assert_int_equal(
	    strspn(strstr(payload, "\"jti\":\"") + 7, "0123456789abcdef"), 32);
	free(hdr);
	free(payload);
	free(tok);
}

/* The per-thread cache answers exactly as the full check would. */
static void
test_verify_cached(void **state)
{
	struct t_state *st = *state;
	struct cm_jwt_claims claims;
	long exp = T_NOW + T_TTL;
	char *tok, *bad;
	size_t n;

	assert_int_equal(
	    cm_jwt_issue(st->jwt, 77, "carol", T_NOW, &tok), CM_OK);
	assert_int_equal(
	    cm_jwt_verify_cached(st->jwt, tok, T_NOW, &claims), CM_OK);
	memset(&claims, 0, sizeof(claims));
	assert_int_equal(
	    cm_jwt_verify_cached(st->jwt, tok, T_NOW + 1, &claims), CM_OK);
	assert_int_equal(claims.sub, 77);
	assert_string_equal(claims.username, "carol");
	/* Another key set does not reuse this one's entry. */
	assert_int_equal(
	    cm_jwt_verify_cached(st->verifier, tok, T_NOW, &claims), CM_OK);
	/* A tampered copy of a cached token is checked in full. */
	bad = strdup(tok);
	assert_non_null(bad);
	n = strlen(bad);
	bad[n - 2] = bad[n - 2] == 'A' ? 'B' : 'A';
	assert_int_equal(
	    cm_jwt_verify_cached(st->jwt, bad, T_NOW, &claims), CM_EAUTH);
	/* Expiry is checked on a hit too, leeway included. */
	assert_int_equal(
	    cm_jwt_verify_cached(st->jwt, tok, exp + 59, &claims), CM_OK);
	assert_int_equal(
	    cm_jwt_verify_cached(st->jwt, tok, exp + 60, &claims), CM_EEXPIRED);
	assert_int_equal(cm_jwt_verify_cached(st->jwt, "x.y.z", T_NOW, &claims),
	    CM_EAUTH);
	free(bad);
	free(tok);
}

/*
 * More tokens than the cache this one replaced had slots (256, one per
 * value of a digest's first byte): all of them stay cached.
 */
#define T_CACHE_TOKENS 320

/* Token of user i (sub i + 1, "user<i>", ver i % 5 + 1), signed with key A. */
static char *
t_cache_token(struct t_state *st, size_t i)
{
	char payload[512];

	snprintf(payload, sizeof(payload),
	    "{\"sub\":\"%zu\",\"username\":\"user%zu\",\"ver\":%zu,"
	    "\"iat\":%ld,\"nbf\":%ld,\"exp\":%ld,\"iss\":\"" T_ISS "\","
	    "\"aud\":\"" T_AUD "\"}",
	    i + 1, i, i % 5 + 1, T_NOW, T_NOW, T_NOW + T_TTL);
	return t_sign_es256(st->key_a, T_HDR, payload, 0);
}

/* Whether claims are those of t_cache_token(i). */
static int
t_cache_claims_ok(const struct cm_jwt_claims *c, size_t i)
{
	char name[32];

	snprintf(name, sizeof(name), "user%zu", i);
	return c->sub == (long long)i + 1 && c->ver == (long long)(i % 5 + 1) &&
	       strcmp(c->username, name) == 0 && c->exp == T_NOW + T_TTL;
}

/*
 * With on set, every full check with st->jwt fails (its issuer is not the
 * tokens'), so CM_OK from cm_jwt_verify_cached can only be a cache hit.
 */
static void
t_cache_only(struct t_state *st, int on)
{
	static char other[] = "not-" T_ISS;
	static char *saved;

	if (on) {
		saved = st->jwt->issuer;
		st->jwt->issuer = other;
	} else {
		st->jwt->issuer = saved;
	}
}

static void
test_verify_cached_working_set(void **state)
{
	struct t_state *st = *state;
	struct cm_jwt_claims claims;
	char *tok[T_CACHE_TOKENS], *fresh;
	size_t i, misses = 0;

	for (i = 0; i < T_CACHE_TOKENS; i++) {
		tok[i] = t_cache_token(st, i);
		assert_int_equal(
		    cm_jwt_verify_cached(st->jwt, tok[i], T_NOW, &claims),
		    CM_OK);
		assert_true(t_cache_claims_ok(&claims, i));
	}
	t_cache_only(st, 1);
	fresh = t_cache_token(st, T_CACHE_TOKENS);
	assert_int_equal(cm_jwt_verify_cached(st->jwt, fresh, T_NOW, &claims),
	    CM_EAUTH);
	for (i = 0; i < T_CACHE_TOKENS; i++) {
		memset(&claims, 0, sizeof(claims));
		if (cm_jwt_verify_cached(st->jwt, tok[i], T_NOW + 1, &claims) !=
		        CM_OK ||
		    !t_cache_claims_ok(&claims, i))
			misses++;
	}
	t_cache_only(st, 0);
	if (misses > 0)
		print_error("%zu of %d tokens were not served from the cache\n",
		    misses, T_CACHE_TOKENS);
	assert_int_equal(misses, 0);
	for (i = 0; i < T_CACHE_TOKENS; i++)
		free(tok[i]);
	free(fresh);
}

/*
 * A clock stepped back to before a token's nbf: the full check refuses it,
 * so the cache must too, though it verified a moment ago.
 */
static void
test_verify_cached_clock_back(void **state)
{
	struct t_state *st = *state;
	struct cm_jwt_claims claims;
	char *tok = t_cache_token(st, 7);

	assert_int_equal(
	    cm_jwt_verify_cached(st->jwt, tok, T_NOW + 100, &claims), CM_OK);
	assert_int_equal(
	    cm_jwt_verify(st->jwt, tok, T_NOW - 61, &claims), CM_EAUTH);
	assert_int_equal(
	    cm_jwt_verify_cached(st->jwt, tok, T_NOW - 61, &claims), CM_EAUTH);
	assert_int_equal(claims.sub, 0);
	assert_int_equal(
	    cm_jwt_verify_cached(st->jwt, tok, T_NOW - 60, &claims), CM_OK);
	assert_true(t_cache_claims_ok(&claims, 7));
	free(tok);
}

#define T_CACHE_THREADS 4
#define T_CACHE_SHARED 64

struct t_cache_worker {
	pthread_t thread;
	struct t_state *st;
	char **tok;
	size_t first; /* each thread walks the tokens from its own start */
	size_t wrong;
};

static void *
t_cache_worker_run(void *arg)
{
	struct t_cache_worker *w = arg;
	struct cm_jwt_claims claims;
	size_t round, k, i;

	for (round = 0; round < 3; round++)
		for (k = 0; k < T_CACHE_SHARED; k++) {
			i = (w->first + k) % T_CACHE_SHARED;
			memset(&claims, 0, sizeof(claims));
			if (cm_jwt_verify_cached(w->st->jwt, w->tok[i],
			        T_NOW + (long)round, &claims) != CM_OK ||
			    !t_cache_claims_ok(&claims, i))
				w->wrong++;
		}
	return NULL;
}

/*
 * Threads verifying the same tokens at once each get their own token's
 * claims, and a token one thread verified is a hit in every other.
 */
static void
test_verify_cached_threads(void **state)
{
	struct t_state *st = *state;
	struct t_cache_worker w[T_CACHE_THREADS];
	char *tok[T_CACHE_SHARED];
	size_t i, wrong = 0;

	for (i = 0; i < T_CACHE_SHARED; i++)
		tok[i] = t_cache_token(st, i);
	for (i = 0; i < T_CACHE_THREADS; i++) {
		w[i] = (struct t_cache_worker){.st = st, .tok = tok,
		    .first = i * T_CACHE_SHARED / T_CACHE_THREADS};
		assert_int_equal(pthread_create(&w[i].thread, NULL,
		                     t_cache_worker_run, &w[i]),
		    0);
	}
	for (i = 0; i < T_CACHE_THREADS; i++) {
		assert_int_equal(pthread_join(w[i].thread, NULL), 0);
		wrong += w[i].wrong;
	}
	assert_int_equal(wrong, 0);

	/* Verified by the workers above, so hits in a new thread. */
	t_cache_only(st, 1);
	w[0] = (struct t_cache_worker){.st = st, .tok = tok};
	assert_int_equal(
	    pthread_create(&w[0].thread, NULL, t_cache_worker_run, &w[0]), 0);
	assert_int_equal(pthread_join(w[0].thread, NULL), 0);
	t_cache_only(st, 0);
	assert_int_equal(w[0].wrong, 0);
	for (i = 0; i < T_CACHE_SHARED; i++)
		free(tok[i]);
}

static void
test_roundtrip_unicode_and_long_username(void **state)
{
	struct t_state *st = *state;
	struct cm_jwt_claims claims;
	char name[CM_JWT_USERNAME_MAX + 1], *tok;

	assert_int_equal(
	    cm_jwt_issue(st->jwt, LLONG_MAX, "J\xc3\xb6rg \"q\"", T_NOW, &tok),
	    CM_OK);
	assert_int_equal(cm_jwt_verify(st->jwt, tok, T_NOW, &claims), CM_OK);
	assert_true(claims.sub == LLONG_MAX);
	assert_string_equal(claims.username, "J\xc3\xb6rg \"q\"");
	free(tok);

	memset(name, 'x', CM_JWT_USERNAME_MAX);
	name[CM_JWT_USERNAME_MAX] = '\0';
	assert_int_equal(cm_jwt_issue(st->jwt, 1, name, T_NOW, &tok), CM_OK);
	assert_int_equal(cm_jwt_verify(st->jwt, tok, T_NOW, &claims), CM_OK);
	assert_string_equal(claims.username, name);
	free(tok);
}

/*
 * libjwt must emit JOSE signatures (r || s, 64 bytes), each half padded
 * to 32 bytes. About one signature in 128 has a half with a leading zero
 * byte, so 256 tokens find a padding bug with high probability.
 */
static void
test_issue_signature_is_jose(void **state)
{
	struct t_state *st = *state;
	struct cm_jwt_claims claims;
	const char *sig;
	char *tok;
	int i;

	for (i = 1; i <= 256; i++) {
		assert_int_equal(
		    cm_jwt_issue(st->jwt, i, "bob", T_NOW, &tok), CM_OK);
		sig = strrchr(tok, '.') + 1;
		assert_int_equal(strlen(sig), 86);
		assert_true(t_openssl_verify(st->key_a, tok));
		assert_int_equal(
		    cm_jwt_verify(st->jwt, tok, T_NOW, &claims), CM_OK);
		assert_int_equal(claims.sub, i);
		free(tok);
	}
}

/* Tokens signed by OpenSSL directly (any JOSE implementation) verify. */
static void
test_openssl_signed_token(void **state)
{
	struct t_state *st = *state;

	t_expect(st, CM_OK, T_NOW,
	    "{\"sub\":\"7\",\"username\":\"carol\","
	    "\"exp\":%ld,\"iss\":\"conduit\",\"aud\":\"conduit\"}",
	    T_NOW + 5);
	t_expect_hdr(st, CM_OK, "{\"alg\":\"ES256\"}");
	t_expect_hdr(st, CM_OK,
	    "{\"typ\":\"JWT\",\"alg\":\"ES256\","
	    "\"kid\":\"k1\"}");
}

static void
test_expired(void **state)
{
	struct t_state *st = *state;
	struct cm_jwt_claims claims;
	long exp = T_NOW + T_TTL;
	char *tok;

	assert_int_equal(
	    cm_jwt_issue(st->jwt, 42, "alice", T_NOW, &tok), CM_OK);
	/* The leeway (60 s by default) is honoured to the second. */
	assert_int_equal(cm_jwt_verify(st->jwt, tok, exp + 59, &claims), CM_OK);
	assert_int_equal(
	    cm_jwt_verify(st->jwt, tok, exp + 60, &claims), CM_EEXPIRED);
	assert_int_equal(claims.sub, 0);
	assert_int_equal(
	    cm_jwt_verify(st->jwt, tok, exp + 86400 * 365, &claims),
	    CM_EEXPIRED);
	st->jwt->leeway = 0;
	assert_int_equal(cm_jwt_verify(st->jwt, tok, exp - 1, &claims), CM_OK);
	assert_int_equal(
	    cm_jwt_verify(st->jwt, tok, exp, &claims), CM_EEXPIRED);
	free(tok);

	t_expect(st, CM_EEXPIRED, T_NOW,
	    "{\"sub\":\"1\",\"username\":\"a\","
	    "\"exp\":%ld,\"iss\":\"conduit\",\"aud\":\"conduit\"}",
	    0L);
	t_expect(st, CM_EEXPIRED, T_NOW,
	    "{\"sub\":\"1\",\"username\":\"a\","
	    "\"exp\":%ld,\"iss\":\"conduit\",\"aud\":\"conduit\"}",
	    -1L);
}

/* EEXPIRED is a promise that the token was otherwise good. */
static void
test_expired_but_invalid_is_eauth(void **state)
{
	struct t_state *st = *state;
	char *tok;

	/* Expired and signed with another key. */
	tok = t_sign_es256(st->key_b, T_HDR,
	    "{\"sub\":\"1\",\"username\":"
	    "\"a\",\"exp\":1,\"iss\":\"conduit\",\"aud\":\"conduit\"}",
	    0);
	t_expect_tok(st, CM_EAUTH, tok);
	free(tok);
	/* Expired and for another audience, issuer, or without a subject. */
	t_expect(st, CM_EAUTH, T_NOW,
	    "{\"sub\":\"1\",\"username\":\"a\","
	    "\"exp\":1,\"iss\":\"conduit\",\"aud\":\"other\"}");
	t_expect(st, CM_EAUTH, T_NOW,
	    "{\"sub\":\"1\",\"username\":\"a\","
	    "\"exp\":1,\"iss\":\"other\",\"aud\":\"conduit\"}");
	t_expect(st, CM_EAUTH, T_NOW,
	    "{\"username\":\"a\","
	    "\"exp\":1,\"iss\":\"conduit\",\"aud\":\"conduit\"}");
	/* Expired with an alg none header. */
	t_expect_tok(st, CM_EAUTH,
	    "eyJhbGciOiJub25lIn0.eyJzdWIiOiIxIiwidXNl"
	    "cm5hbWUiOiJhIiwiZXhwIjoxLCJpc3MiOiJjb25kdWl0IiwiYXVkIjoiY29uZHV"
	    "pdCJ9.");
}

static void
test_not_yet_valid(void **state)
{
	struct t_state *st = *state;
	struct cm_jwt_claims claims;
	const char *fmt =
	    "{\"sub\":\"1\",\"username\":\"a\",\"nbf\":%ld,"
	    "\"exp\":%ld,\"iss\":\"conduit\",\"aud\":\"conduit\"}";
	char *tok;

	t_expect(st, CM_EAUTH, T_NOW, fmt, T_NOW + 3600, T_NOW + 7200);
	t_expect(st, CM_EAUTH, T_NOW, fmt, T_NOW + 61, T_NOW + 7200);
	t_expect(st, CM_OK, T_NOW, fmt, T_NOW + 60, T_NOW + 7200);
	t_expect(st, CM_OK, T_NOW, fmt, T_NOW, T_NOW + 7200);
	t_expect(st, CM_EAUTH, T_NOW, fmt, LONG_MAX, LONG_MAX);
	t_expect(st, CM_EAUTH, T_NOW,
	    "{\"sub\":\"1\",\"username\":\"a\","
	    "\"nbf\":\"0\",\"exp\":%ld,\"iss\":\"conduit\","
	    "\"aud\":\"conduit\"}",
	    T_NOW + 60);

	/* Our own tokens carry nbf = iat. */
	assert_int_equal(
	    cm_jwt_issue(st->jwt, 42, "alice", T_NOW, &tok), CM_OK);
	assert_int_equal(
	    cm_jwt_verify(st->jwt, tok, T_NOW - 60, &claims), CM_OK);
	assert_int_equal(
	    cm_jwt_verify(st->jwt, tok, T_NOW - 61, &claims), CM_EAUTH);
	free(tok);
}

/*
 * Tokens from a signer with the same key but another issuer or audience
 * name: valid for that signer, refused by ours.
 */
static void
test_other_issuer_or_audience(void **state)
{
	static const char *const names[][2] = {{"evil", T_AUD}, {T_ISS, "pay"}};
	struct t_state *st = *state;
	struct cm_jwt_claims claims;
	struct cm_jwt *other;
	char err[256], *tok;
	size_t i;

	for (i = 0; i < sizeof(names) / sizeof(names[0]); i++) {
		assert_int_equal(cm_jwt_new(&other, st->priv_a, st->pub_a,
		                     names[i][0], names[i][1], T_TTL, err,
		                     sizeof(err)),
		    CM_OK);
		assert_int_equal(
		    cm_jwt_issue(other, 42, "alice", T_NOW, &tok), CM_OK);
		assert_int_equal(
		    cm_jwt_verify(other, tok, T_NOW, &claims), CM_OK);
		assert_int_equal(
		    cm_jwt_verify(st->jwt, tok, T_NOW, &claims), CM_EAUTH);
		free(tok);
		cm_jwt_free(other);
	}
}

/*
 * The issuer and audience claims as a token may carry them: only the exact
 * issuer and our audience (alone or in an array of strings) pass.
 */
static void
test_iss_aud_claims(void **state)
{
	static const struct {
		enum cm_err want;
		const char *claims;
	} cases[] = {
	    {CM_OK, "\"iss\":\"conduit\",\"aud\":\"conduit\""},
	    {CM_EAUTH, "\"aud\":\"conduit\""},
	    {CM_EAUTH, "\"iss\":null,\"aud\":\"conduit\""},
	    {CM_EAUTH, "\"iss\":[\"conduit\"],\"aud\":\"conduit\""},
	    {CM_EAUTH, "\"iss\":\"Conduit\",\"aud\":\"conduit\""},
	    {CM_EAUTH, "\"iss\":\"conduitx\",\"aud\":\"conduit\""},
	    {CM_EAUTH, "\"iss\":\"conduit\\u0000x\",\"aud\":\"conduit\""},
	    {CM_EAUTH, "\"iss\":\"conduit\""},
	    {CM_EAUTH, "\"iss\":\"conduit\",\"aud\":\"\""},
	    {CM_EAUTH, "\"iss\":\"conduit\",\"aud\":1"},
	    {CM_EAUTH, "\"iss\":\"conduit\",\"aud\":{}"},
	    {CM_EAUTH, "\"iss\":\"conduit\",\"aud\":\"con\""},
	    {CM_OK, "\"iss\":\"conduit\",\"aud\":[\"conduit\"]"},
	    {CM_OK, "\"iss\":\"conduit\",\"aud\":[\"pay\",\"conduit\"]"},
	    {CM_EAUTH, "\"iss\":\"conduit\",\"aud\":[]"},
	    {CM_EAUTH, "\"iss\":\"conduit\",\"aud\":[\"pay\",\"blog\"]"},
	    {CM_EAUTH, "\"iss\":\"conduit\",\"aud\":[[\"conduit\"]]"},
	    /* An array with junk in it is not a valid audience at all. */
	    {CM_EAUTH, "\"iss\":\"conduit\",\"aud\":[\"conduit\",5]"},
	};
	struct t_state *st = *state;
	size_t i;

	for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++)
		t_expect(st, cases[i].want, T_NOW,
		    "{\"sub\":\"1\",\"username\":\"a\",\"exp\":%ld,%s}",
		    T_NOW + 60, cases[i].claims);
}

/* Swap the payload of a genuine token for an edited one. */
static void
test_tampered_payload(void **state)
{
	struct t_state *st = *state;
	char *tok, *forged, *hdr64, *p64, *dot1, *dot2, payload[256];
	size_t i;

	assert_int_equal(
	    cm_jwt_issue(st->jwt, 42, "alice", T_NOW, &tok), CM_OK);
	dot1 = strchr(tok, '.');
	dot2 = strchr(dot1 + 1, '.');
	*dot1 = '\0';
	*dot2 = '\0';
	hdr64 = tok;
	snprintf(payload, sizeof(payload),
	    "{\"sub\":\"1\",\"username\":"
	    "\"admin\",\"iat\":%ld,\"nbf\":%ld,\"exp\":%ld,\"iss\":\"conduit\","
	    "\"aud\":\"conduit\"}",
	    T_NOW, T_NOW, T_NOW + T_TTL);
	p64 = t_b64url(payload, strlen(payload));
	forged = t_join(hdr64, p64, dot2 + 1);
	t_expect_tok(st, CM_EAUTH, forged);
	free(forged);
	free(p64);

	/* Every single-character edit of the payload is caught. */
	*dot1 = '.';
	*dot2 = '.';
	for (i = (size_t)(dot1 - tok) + 1; i < (size_t)(dot2 - tok); i++) {
		char saved = tok[i];

		tok[i] = saved == 'A' ? 'B' : 'A';
		t_expect_tok(st, CM_EAUTH, tok);
		tok[i] = saved;
	}
	t_expect_tok(st, CM_OK, tok);
	free(tok);
}

static void
test_tampered_signature(void **state)
{
	struct t_state *st = *state;
	char *tok, *sig, *der, *copy, saved, hdr[] = T_HDR;
	char payload[256];
	size_t i, n;

	assert_int_equal(
	    cm_jwt_issue(st->jwt, 42, "alice", T_NOW, &tok), CM_OK);
	sig = strrchr(tok, '.') + 1;
	n = strlen(sig);
	/* The last character carries 2 unused bits: skip it here. */
	for (i = 0; i < n - 1; i++) {
		saved = sig[i];
		sig[i] = saved == 'A' ? 'B' : 'A';
		t_expect_tok(st, CM_EAUTH, tok);
		sig[i] = saved;
	}
	t_expect_tok(st, CM_OK, tok);

	/*
	 * The last character's low 4 bits are unused: setting one decodes to
	 * the same 64 bytes, which a lenient decoder (libjwt's) accepts.
	 */
	saved = sig[n - 1];
	sig[n - 1] = t_b64url_alphabet[(strchr(t_b64url_alphabet, saved) -
	                                   t_b64url_alphabet) |
	    1];
	t_expect_tok(st, CM_EAUTH, tok);
	sig[n - 1] = saved;

	/* Truncated, extended, padded, emptied. */
	copy = strndup(tok, strlen(tok) - 1);
	assert_non_null(copy);
	t_expect_tok(st, CM_EAUTH, copy);
	free(copy);
	t_expect_around(st, CM_EAUTH, "%sAAA", tok);
	t_expect_around(st, CM_EAUTH, "%s==", tok);
	copy = strndup(tok, (size_t)(sig - tok));
	assert_non_null(copy);
	t_expect_tok(st, CM_EAUTH, copy);
	free(copy);

	/* A valid signature of the same content, but DER-encoded. */
	snprintf(payload, sizeof(payload),
	    "{\"sub\":\"42\",\"username\":"
	    "\"alice\",\"exp\":%ld,\"iss\":\"conduit\",\"aud\":\"conduit\"}",
	    T_NOW + 60);
	der = t_sign_es256(st->key_a, hdr, payload, 1);
	t_expect_tok(st, CM_EAUTH, der);
	free(der);
	free(tok);
}

/* tok with its signature replaced by the raw r || s in sig, malloc'd. */
static char *
t_resign(const char *tok, const unsigned char sig[64])
{
	const char *dot = strrchr(tok, '.');
	char *s64, *out;
	size_t n;

	s64 = t_b64url(sig, 64);
	n = (size_t)(dot - tok) + 1 + strlen(s64) + 1;
	out = malloc(n);
	assert_non_null(out);
	snprintf(out, n, "%.*s.%s", (int)(dot - tok), tok, s64);
	free(s64);
	return out;
}

/* Set half (0 for r, 1 for s) of sig to bn, big-endian in 32 bytes. */
static void
t_set_scalar(unsigned char sig[64], int half, const BIGNUM *bn)
{
	assert_int_equal(BN_bn2binpad(bn, sig + 32 * half, 32), 32);
}

/*
 * The scalars of a signature: zero or not below the group order n is never
 * a signature, whatever the rest says. (r, n - s), the "high s" twin of a
 * good signature, is pinned as accepted: ECDSA as RFC 7518 specifies it
 * allows either s, and OpenSSL, which signs what libjwt issues, produces a
 * high s about half the time.
 */
static void
test_signature_scalars(void **state)
{
	struct t_state *st = *state;
	unsigned char raw[64], bad[64], *dec, *der = NULL;
	BIGNUM *n = NULL, *r, *s, *twin, *zero;
	ECDSA_SIG *es;
	char payload[256], *tok, *forged, *s64;
	size_t rawlen;
	int half, derlen;

	snprintf(payload, sizeof(payload),
	    "{\"sub\":\"42\",\"username\":"
	    "\"alice\",\"exp\":%ld,\"iss\":\"conduit\",\"aud\":\"conduit\"}",
	    T_NOW + 60);
	tok = t_sign_es256(st->key_a, T_HDR, payload, 0);
	s64 = strrchr(tok, '.') + 1;
	dec = t_b64url_dec(s64, strlen(s64), &rawlen);
	assert_int_equal(rawlen, 64);
	memcpy(raw, dec, 64);
	free(dec);
	t_expect_tok(st, CM_OK, tok);

	assert_int_not_equal(BN_hex2bn(&n,
	                         "FFFFFFFF00000000FFFFFFFFFFFFFFFF"
	                         "BCE6FAADA7179E84F3B9CAC2FC632551"),
	    0);
	r = BN_bin2bn(raw, 32, NULL);
	s = BN_bin2bn(raw + 32, 32, NULL);
	twin = BN_new();
	zero = BN_new();
	assert_non_null(r);
	assert_non_null(s);
	assert_non_null(twin);
	assert_non_null(zero);
	BN_zero(zero);

	/* The high s twin verifies and says the same. */
	assert_int_equal(BN_sub(twin, n, s), 1);
	memcpy(bad, raw, 64);
	t_set_scalar(bad, 1, twin);
	forged = t_resign(tok, bad);
	assert_string_not_equal(forged, tok);
	assert_true(t_openssl_verify(st->key_a, forged));
	t_expect_tok(st, CM_OK, forged);
	free(forged);

	/* r or s zero, equal to n, or all ones. */
	for (half = 0; half < 2; half++) {
		memcpy(bad, raw, 64);
		t_set_scalar(bad, half, zero);
		forged = t_resign(tok, bad);
		t_expect_tok(st, CM_EAUTH, forged);
		free(forged);
		t_set_scalar(bad, half, n);
		forged = t_resign(tok, bad);
		t_expect_tok(st, CM_EAUTH, forged);
		free(forged);
		memset(bad + 32 * half, 0xff, 32);
		forged = t_resign(tok, bad);
		t_expect_tok(st, CM_EAUTH, forged);
		free(forged);
	}
	memset(bad, 0, sizeof(bad));
	forged = t_resign(tok, bad);
	t_expect_tok(st, CM_EAUTH, forged);
	free(forged);

	/* r and s swapped, and r negated the way s may be. */
	t_set_scalar(bad, 0, s);
	t_set_scalar(bad, 1, r);
	forged = t_resign(tok, bad);
	t_expect_tok(st, CM_EAUTH, forged);
	free(forged);
	assert_int_equal(BN_sub(twin, n, r), 1);
	memcpy(bad, raw, 64);
	t_set_scalar(bad, 0, twin);
	forged = t_resign(tok, bad);
	t_expect_tok(st, CM_EAUTH, forged);
	free(forged);

	/*
	 * The genuine signature's DER inside a 64-byte segment, cut or
	 * zero-padded to fit, is neither DER nor r || s to a strict reader.
	 */
	es = ECDSA_SIG_new();
	assert_non_null(es);
	assert_int_equal(ECDSA_SIG_set0(es, BN_dup(r), BN_dup(s)), 1);
	derlen = i2d_ECDSA_SIG(es, &der);
	assert_true(derlen > 64);
	memcpy(bad, der, 64);
	forged = t_resign(tok, bad);
	t_expect_tok(st, CM_EAUTH, forged);
	free(forged);
	OPENSSL_free(der);
	ECDSA_SIG_free(es);

	BN_free(zero);
	BN_free(twin);
	BN_free(s);
	BN_free(r);
	BN_free(n);
	free(tok);
}

/* Hand-built alg none tokens, with and without something in the sig. */
static void
test_alg_none(void **state)
{
	struct t_state *st = *state;
	const char *hdrs[] = {"{\"alg\":\"none\"}",
	    "{\"alg\":\"none\",\"typ\":\"JWT\"}", "{\"alg\":\"None\"}",
	    "{\"alg\":\"NONE\"}", "{\"alg\":\"\"}", "{\"alg\":null}", "{}"};
	unsigned char zero[64] = {0};
	char payload[256], *h, *p, *s, *tok;
	size_t i;

	snprintf(payload, sizeof(payload),
	    "{\"sub\":\"42\",\"username\":"
	    "\"alice\",\"exp\":%ld,\"iss\":\"conduit\",\"aud\":\"conduit\"}",
	    T_NOW + 60);
	p = t_b64url(payload, strlen(payload));
	s = t_b64url(zero, sizeof(zero));
	for (i = 0; i < sizeof(hdrs) / sizeof(hdrs[0]); i++) {
		h = t_b64url(hdrs[i], strlen(hdrs[i]));
		tok = t_join(h, p, "");
		t_expect_tok(st, CM_EAUTH, tok);
		free(tok);
		tok = t_join(h, p, s);
		t_expect_tok(st, CM_EAUTH, tok);
		free(tok);
		free(h);
	}
	free(s);
	free(p);
}

/*
 * A token with good claims signed by libjwt with alg, keyed with the bytes
 * of the file at path (read into key, keylen of them); malloc'd.
 */
static char *
t_libjwt_token(jwt_alg_t alg, const char *path, unsigned char *key,
    size_t keysize, size_t *keylen)
{
	jwt_t *j;
	char *tok;
	FILE *fp;

	fp = fopen(path, "rb");
	assert_non_null(fp);
	*keylen = fread(key, 1, keysize, fp);
	fclose(fp);
	assert_true(*keylen > 0);
	assert_int_equal(jwt_new(&j), 0);
	assert_int_equal(jwt_add_grant(j, "sub", "42"), 0);
	assert_int_equal(jwt_add_grant(j, "username", "alice"), 0);
	assert_int_equal(jwt_add_grant_int(j, "exp", T_NOW + 60), 0);
	assert_int_equal(jwt_add_grant(j, "iss", T_ISS), 0);
	assert_int_equal(jwt_add_grant(j, "aud", T_AUD), 0);
	assert_int_equal(jwt_set_alg(j, alg, key, (int)*keylen), 0);
	tok = jwt_encode_str(j);
	assert_non_null(tok);
	jwt_free(j);
	return tok;
}

/*
 * The classic confusion attack: HS256 with the public key's PEM bytes as
 * the HMAC secret. The HMAC is checked here first, so the test proves it
 * rejects a token that is genuinely valid under HS256.
 */
static void
test_alg_hs256_public_key_as_secret(void **state)
{
	struct t_state *st = *state;
	unsigned char pem[4096], mac[EVP_MAX_MD_SIZE];
	unsigned int maclen;
	char *tok, *macb64;
	size_t n;

	tok = t_libjwt_token(JWT_ALG_HS256, st->pub_a, pem, sizeof(pem), &n);
	assert_non_null(HMAC(EVP_sha256(), pem, (int)n, (unsigned char *)tok,
	    (size_t)(strrchr(tok, '.') - tok), mac, &maclen));
	macb64 = t_b64url(mac, maclen);
	assert_string_equal(strrchr(tok, '.') + 1, macb64);
	free(macb64);

	t_expect_tok(st, CM_EAUTH, tok);
	assert_int_equal(
	    cm_jwt_verify(st->verifier, tok, T_NOW, &(struct cm_jwt_claims){0}),
	    CM_EAUTH);
	free(tok);
}

/* Another algorithm, really signed with a key of that kind. */
static void
test_alg_other(void **state)
{
	struct t_state *st = *state;
	unsigned char pem[8192];
	const struct {
		jwt_alg_t alg;
		const char *path;
	} cases[] = {
	    {JWT_ALG_RS256, st->priv_rsa},
	    {JWT_ALG_ES384, st->priv_p384},
	    {JWT_ALG_HS384, st->pub_a},
	    {JWT_ALG_HS512, st->pub_a},
	};
	char *tok;
	size_t i, n;

	for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		tok = t_libjwt_token(
		    cases[i].alg, cases[i].path, pem, sizeof(pem), &n);
		t_expect_tok(st, CM_EAUTH, tok);
		free(tok);
	}

	/* Right key and signature, header says something else. */
	t_expect_hdr(st, CM_EAUTH, "{\"alg\":\"ES384\"}");
	t_expect_hdr(st, CM_EAUTH, "{\"alg\":\"RS256\"}");
	t_expect_hdr(st, CM_EAUTH, "{\"alg\":\"HS256\"}");
	t_expect_hdr(st, CM_EAUTH, "{\"alg\":\"es256\"}");
	t_expect_hdr(st, CM_EAUTH, "{\"alg\":\"ES256 \"}");
	t_expect_hdr(st, CM_EAUTH, "{\"alg\":\"ES256\\u0000\"}");
	t_expect_hdr(st, CM_EAUTH, "{\"alg\":7}");
	t_expect_hdr(st, CM_EAUTH, "{\"alg\":[\"ES256\"]}");
	t_expect_hdr(st, CM_EAUTH, "{\"typ\":\"JWT\"}");
	t_expect_hdr(st, CM_EAUTH, "{\"alg\":\"ES256\",\"alg\":\"none\"}");
	t_expect_hdr(st, CM_EAUTH, "{\"alg\":\"none\",\"alg\":\"ES256\"}");
	t_expect_hdr(st, CM_EAUTH, "{\"alg\":\"ES256\",\"typ\":\"at+jwt\"}");
	t_expect_hdr(st, CM_EAUTH, "{\"alg\":\"ES256\",\"typ\":7}");
	t_expect_hdr(st, CM_EAUTH, "{\"alg\":\"ES256\",\"crit\":[\"exp\"]}");
	t_expect_hdr(st, CM_EAUTH, "[\"ES256\"]");
	t_expect_hdr(st, CM_EAUTH, "\"ES256\"");
	t_expect_hdr(st, CM_EAUTH, "{\"alg\":\"ES256\"");
	t_expect_hdr(st, CM_OK, "{\"alg\":\"ES256\",\"typ\":\"jwt\"}");
}

static void
test_signed_with_another_key(void **state)
{
	struct t_state *st = *state;
	struct cm_jwt_claims claims;
	struct cm_jwt *other;
	char err[256], *tok;

	/* Key B is stored the way `openssl ecparam -genkey` stores it. */
	assert_int_equal(cm_jwt_new(&other, st->priv_b, st->pub_b, T_ISS, T_AUD,
	                     T_TTL, err, sizeof(err)),
	    CM_OK);
	assert_int_equal(cm_jwt_issue(other, 42, "alice", T_NOW, &tok), CM_OK);
	assert_int_equal(cm_jwt_verify(other, tok, T_NOW, &claims), CM_OK);
	t_expect_tok(st, CM_EAUTH, tok);
	assert_int_equal(
	    cm_jwt_verify(st->verifier, tok, T_NOW, &claims), CM_EAUTH);
	free(tok);
	cm_jwt_free(other);
}

static const char t_pad_fmt[] =
    "{\"sub\":\"1\",\"username\":\"a\","
    "\"exp\":%ld,\"iss\":\"conduit\",\"aud\":\"conduit\",\"pad\":\"%s\"}";

/*
 * A validly signed token of exactly want characters, padded through a
 * claim. Unpadded base64url never has a length of 4n + 1, so the header
 * comes in two sizes (36 and 38 characters) to reach every total.
 */
static char *
t_token_of_len(struct t_state *st, char *pad, size_t want)
{
	const char *hdrs[] = {
	    T_HDR, "{\"alg\":\"ES256\", \"typ\":\"JWT\"}", NULL};
	char *payload, *tok;
	size_t h, k, hlen, plen, total = 0;

	for (h = 0; h < 2; h++) {
		hlen = (4 * strlen(hdrs[h]) + 2) / 3;
		/* Minus "%ld" and "%s", plus a 10-digit time. */
		plen = strlen(t_pad_fmt) - 5 + 10;
		for (k = 0; k < want; k++) {
			total = hlen + 1 + (4 * (plen + k) + 2) / 3 + 1 + 86;
			if (total >= want)
				break;
		}
		if (total == want)
			break;
	}
	if (h == 2)
		fail_msg("no padding gives a token of %zu characters", want);
	memset(pad, 'x', k);
	pad[k] = '\0';
	payload = malloc(plen + k + 1);
	assert_non_null(payload);
	snprintf(payload, plen + k + 1, t_pad_fmt, T_NOW + 60, pad);
	tok = t_sign_es256(st->key_a, hdrs[h], payload, 0);
	free(payload);
	assert_int_equal(strlen(tok), want);
	return tok;
}

static void
test_garbage(void **state)
{
	struct t_state *st = *state;
	struct cm_jwt_claims claims;
	const char *junk[] = {
	    "",
	    ".",
	    "..",
	    "...",
	    "a",
	    "a.b",
	    "a.b.c",
	    "a.b.c.d",
	    "...a",
	    "!!!.???.***",
	    "a b.c d.e f",
	    "\xff.\xfe.\xfd",
	    "eyJhbGciOiJFUzI1NiJ9",
	    "eyJhbGciOiJFUzI1NiJ9.",
	    ".eyJ9.",
	    "eyJhbGciOiJFUzI1NiJ9..",
	    "eyJhbGciOiJFUzI1NiJ9.e30.",
	    /* Padding and the standard (not url) alphabet. */
	    "eyJhbGciOiJFUzI1NiJ9.e30=.AAAA",
	    "eyJhbGciOiJFUzI1NiJ9.e3+/.AAAA",
	    "eyJhbGciOiJFUzI1NiJ9.e30.AAAA",
	};
	char *tok, *big;
	size_t i;

	for (i = 0; i < sizeof(junk) / sizeof(junk[0]); i++)
		t_expect_tok(st, CM_EAUTH, junk[i]);
	assert_int_equal(
	    cm_jwt_verify(st->jwt, NULL, T_NOW, &claims), CM_EAUTH);
	assert_int_equal(
	    cm_jwt_verify(NULL, "a.b.c", T_NOW, &claims), CM_EAUTH);

	/* Whitespace around a good token is not part of it. */
	assert_int_equal(
	    cm_jwt_issue(st->jwt, 42, "alice", T_NOW, &tok), CM_OK);
	t_expect_around(st, CM_EAUTH, " %s", tok);
	t_expect_around(st, CM_EAUTH, "%s\n", tok);
	assert_int_equal(cm_jwt_verify(st->jwt, tok, T_NOW, NULL), CM_EAUTH);
	free(tok);

	/* Huge: a megabyte of base64url, then validly signed big tokens. */
	big = malloc(1024 * 1024 + 1);
	assert_non_null(big);
	memset(big, 'A', 1024 * 1024);
	big[1024 * 1024] = '\0';
	big[1000] = '.';
	big[2000] = '.';
	t_expect_tok(st, CM_EAUTH, big);
	/* Validly signed tokens of exactly CM_JWT_TOKEN_MAX chars, and one more. */
	tok = t_token_of_len(st, big, CM_JWT_TOKEN_MAX);
	t_expect_tok(st, CM_OK, tok);
	free(tok);
	tok = t_token_of_len(st, big, CM_JWT_TOKEN_MAX + 1);
	t_expect_tok(st, CM_EAUTH, tok);
	free(tok);
	memset(big, 'x', 100000);
	big[100000] = '\0';
	t_expect(st, CM_EAUTH, T_NOW, t_pad_fmt, T_NOW + 60, big);
	free(big);

	/* Signed, but the payload is not a JSON object. */
	t_expect(st, CM_EAUTH, T_NOW, "[1,2]");
	t_expect(st, CM_EAUTH, T_NOW, "\"sub\"");
	t_expect(st, CM_EAUTH, T_NOW, "{\"sub\":\"1\"");
	t_expect(st, CM_EAUTH, T_NOW,
	    "{\"sub\":\"1\",\"sub\":\"2\","
	    "\"username\":\"a\",\"exp\":%ld,\"iss\":\"conduit\","
	    "\"aud\":\"conduit\"}",
	    T_NOW + 60);
}

static void
test_missing_or_bad_exp(void **state)
{
	struct t_state *st = *state;
	const char *fmt = "{\"sub\":\"1\",\"username\":\"a\",%s"
	                  "\"iss\":\"conduit\",\"aud\":\"conduit\"}";

	t_expect(st, CM_EAUTH, T_NOW, fmt, "");
	t_expect(st, CM_EAUTH, T_NOW, fmt, "\"exp\":null,");
	t_expect(st, CM_EAUTH, T_NOW, fmt, "\"exp\":\"1700003600\",");
	t_expect(st, CM_EAUTH, T_NOW, fmt, "\"exp\":1700003600.5,");
	t_expect(st, CM_EAUTH, T_NOW, fmt, "\"exp\":true,");
	t_expect(st, CM_EAUTH, T_NOW, fmt, "\"exp\":1e10,");
	t_expect(st, CM_OK, T_NOW, fmt, "\"exp\":1700003600,");
	t_expect(st, CM_OK, T_NOW, fmt, "\"exp\":9223372036854775807,");
	/* iat is optional, but when present an integer time. */
	t_expect(st, CM_EAUTH, T_NOW, fmt, "\"exp\":1700003600,\"iat\":\"1\",");
	t_expect(st, CM_EAUTH, T_NOW, fmt, "\"exp\":1700003600,\"iat\":-1,");
}

static void
test_sub(void **state)
{
	struct t_state *st = *state;
	struct cm_jwt_claims claims;
	const char *bad[] = {"", "\"sub\":null,", "\"sub\":0,",
	    "\"sub\":\"0\",", "\"sub\":-5,", "\"sub\":\"-5\",",
	    "\"sub\":\"+5\",", "\"sub\":\"\",", "\"sub\":\"abc\",",
	    "\"sub\":\"12a\",", "\"sub\":\"1 \",", "\"sub\":\" 1\",",
	    "\"sub\":\"007\",", "\"sub\":\"0x1f\",", "\"sub\":1.5,",
	    "\"sub\":1.0,", "\"sub\":true,", "\"sub\":[1],", "\"sub\":{},",
	    "\"sub\":\"9223372036854775808\",",
	    "\"sub\":\"99999999999999999999\",", "\"sub\":\"1\\u00002\",",
	    "\"sub\":\"\xd9\xa1\","};
	const char *fmt = "{%s\"username\":\"a\",\"exp\":%ld,"
	                  "\"iss\":\"conduit\",\"aud\":\"conduit\"}";
	char payload[256], *tok;
	size_t i;

	for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
		t_expect(st, CM_EAUTH, T_NOW, fmt, bad[i], T_NOW + 60);

	snprintf(payload, sizeof(payload), fmt, "\"sub\":42,", T_NOW + 60);
	tok = t_sign_es256(st->key_a, T_HDR, payload, 0);
	assert_int_equal(cm_jwt_verify(st->jwt, tok, T_NOW, &claims), CM_OK);
	assert_int_equal(claims.sub, 42);
	free(tok);
	snprintf(payload, sizeof(payload), fmt,
	    "\"sub\":\"9223372036854775807\",", T_NOW + 60);
	tok = t_sign_es256(st->key_a, T_HDR, payload, 0);
	assert_int_equal(cm_jwt_verify(st->jwt, tok, T_NOW, &claims), CM_OK);
	assert_true(claims.sub == LLONG_MAX);
	free(tok);
}

static void
test_username(void **state)
{
	struct t_state *st = *state;
	char name[CM_JWT_USERNAME_MAX + 2];
	const char *fmt = "{\"sub\":\"1\",%s\"exp\":%ld,"
	                  "\"iss\":\"conduit\",\"aud\":\"conduit\"}";
	char field[CM_JWT_USERNAME_MAX + 32];

	t_expect(st, CM_EAUTH, T_NOW, fmt, "", T_NOW + 60);
	t_expect(st, CM_EAUTH, T_NOW, fmt, "\"username\":null,", T_NOW + 60);
	t_expect(st, CM_EAUTH, T_NOW, fmt, "\"username\":5,", T_NOW + 60);
	t_expect(st, CM_EAUTH, T_NOW, fmt, "\"username\":\"\",", T_NOW + 60);
	t_expect(st, CM_EAUTH, T_NOW, fmt, "\"username\":\"a\\u0000b\",",
	    T_NOW + 60);
	memset(name, 'n', sizeof(name) - 1);
	name[CM_JWT_USERNAME_MAX] = '\0';
	snprintf(field, sizeof(field), "\"username\":\"%s\",", name);
	t_expect(st, CM_OK, T_NOW, fmt, field, T_NOW + 60);
	name[CM_JWT_USERNAME_MAX] = 'n';
	name[CM_JWT_USERNAME_MAX + 1] = '\0';
	snprintf(field, sizeof(field), "\"username\":\"%s\",", name);
	t_expect(st, CM_EAUTH, T_NOW, fmt, field, T_NOW + 60);
}

/* cm_jwt_new fails with CM_EINVAL and names the file it could not use. */
static void
t_expect_new(const char *priv, const char *pub, const char *blame,
    const char *iss, const char *aud, long ttl)
{
	struct cm_jwt *jwt = (struct cm_jwt *)&jwt;
	char err[512];

	memset(err, 0, sizeof(err));
	assert_int_equal(
	    cm_jwt_new(&jwt, priv, pub, iss, aud, ttl, err, sizeof(err)),
	    CM_EINVAL);
	assert_null(jwt);
	assert_true(err[0] != '\0');
	if (blame != NULL && strstr(err, blame) == NULL) {
		print_error("\"%s\" does not name %s\n", err, blame);
		fail();
	}
}

static void
test_new_errors(void **state)
{
	struct t_state *st = *state;
	char missing[160];

	snprintf(missing, sizeof(missing), "%s/no-such.pem", st->dir);
	t_expect_new(NULL, missing, missing, T_ISS, T_AUD, 0);
	t_expect_new(missing, st->pub_a, missing, T_ISS, T_AUD, T_TTL);
	t_expect_new(NULL, st->dir, st->dir, T_ISS, T_AUD, 0);
	t_expect_new(NULL, st->empty, st->empty, T_ISS, T_AUD, 0);
	t_expect_new(NULL, st->junk, st->junk, T_ISS, T_AUD, 0);
	/* Not EC, or EC on another curve. */
	t_expect_new(NULL, st->pub_rsa, st->pub_rsa, T_ISS, T_AUD, 0);
	t_expect_new(
	    st->priv_rsa, st->pub_a, st->priv_rsa, T_ISS, T_AUD, T_TTL);
	t_expect_new(NULL, st->pub_p384, st->pub_p384, T_ISS, T_AUD, 0);
	t_expect_new(
	    st->priv_p384, st->pub_a, st->priv_p384, T_ISS, T_AUD, T_TTL);
	/* A private key where the public one belongs, and the reverse. */
	t_expect_new(NULL, st->priv_a, st->priv_a, T_ISS, T_AUD, 0);
	t_expect_new(st->pub_a, st->pub_a, st->pub_a, T_ISS, T_AUD, T_TTL);
	/* An encrypted key is refused, without asking for a passphrase. */
	t_expect_new(
	    st->priv_enc, st->pub_a, st->priv_enc, T_ISS, T_AUD, T_TTL);
	/* Two good keys that are not a pair. */
	t_expect_new(st->priv_b, st->pub_a, st->priv_b, T_ISS, T_AUD, T_TTL);
	/* Settings. */
	t_expect_new(NULL, NULL, NULL, T_ISS, T_AUD, 0);
	t_expect_new(NULL, "", NULL, T_ISS, T_AUD, 0);
	t_expect_new(NULL, st->pub_a, NULL, "", T_AUD, 0);
	t_expect_new(NULL, st->pub_a, NULL, T_ISS, NULL, 0);
	t_expect_new(NULL, st->pub_a, NULL, "\xff", T_AUD, 0);
	t_expect_new(st->priv_a, st->pub_a, NULL, T_ISS, T_AUD, 0);
	t_expect_new(st->priv_a, st->pub_a, NULL, T_ISS, T_AUD, -1);

	cm_jwt_free(NULL);
}

static void
test_issue_errors(void **state)
{
	struct t_state *st = *state;
	char name[CM_JWT_USERNAME_MAX + 2], *tok = (char *)&tok;

	assert_int_equal(
	    cm_jwt_issue(st->verifier, 1, "a", T_NOW, &tok), CM_EINVAL);
	assert_null(tok);
	assert_int_equal(cm_jwt_issue(NULL, 1, "a", T_NOW, &tok), CM_EINVAL);
	assert_int_equal(cm_jwt_issue(st->jwt, 0, "a", T_NOW, &tok), CM_EINVAL);
	assert_int_equal(
	    cm_jwt_issue(st->jwt, -1, "a", T_NOW, &tok), CM_EINVAL);
	assert_int_equal(
	    cm_jwt_issue(st->jwt, 1, NULL, T_NOW, &tok), CM_EINVAL);
	assert_int_equal(cm_jwt_issue(st->jwt, 1, "", T_NOW, &tok), CM_EINVAL);
	assert_int_equal(
	    cm_jwt_issue(st->jwt, 1, "\xff\xfe", T_NOW, &tok), CM_EINVAL);
	assert_null(tok);
	memset(name, 'n', sizeof(name) - 1);
	name[sizeof(name) - 1] = '\0';
	assert_int_equal(
	    cm_jwt_issue(st->jwt, 1, name, T_NOW, &tok), CM_EINVAL);
	assert_int_equal(
	    cm_jwt_issue(st->jwt, 1, "a", LONG_MAX, &tok), CM_EINVAL);
	assert_int_equal(cm_jwt_issue(st->jwt, 1, "a", T_NOW, NULL), CM_EINVAL);
	assert_null(tok);
}

UNIT_MAIN_GROUP(t_setup, t_teardown,
    cmocka_unit_test_setup(test_roundtrip, t_reset),
    cmocka_unit_test_setup(test_verify_cached, t_reset),
    cmocka_unit_test_setup(test_verify_cached_working_set, t_reset),
    cmocka_unit_test_setup(test_verify_cached_clock_back, t_reset),
    cmocka_unit_test_setup(test_verify_cached_threads, t_reset),
    cmocka_unit_test_setup(
        test_roundtrip_unicode_and_long_username, t_reset),
    cmocka_unit_test_setup(test_issue_signature_is_jose, t_reset),
    cmocka_unit_test_setup(test_openssl_signed_token, t_reset),
    cmocka_unit_test_setup(test_expired, t_reset),
    cmocka_unit_test_setup(test_expired_but_invalid_is_eauth, t_reset),
    cmocka_unit_test_setup(test_not_yet_valid, t_reset),
    cmocka_unit_test_setup(test_other_issuer_or_audience, t_reset),
    cmocka_unit_test_setup(test_iss_aud_claims, t_reset),
    cmocka_unit_test_setup(test_tampered_payload, t_reset),
    cmocka_unit_test_setup(test_tampered_signature, t_reset),
    cmocka_unit_test_setup(test_signature_scalars, t_reset),
    cmocka_unit_test_setup(test_alg_none, t_reset),
    cmocka_unit_test_setup(
        test_alg_hs256_public_key_as_secret, t_reset),
    cmocka_unit_test_setup(test_alg_other, t_reset),
    cmocka_unit_test_setup(test_signed_with_another_key, t_reset),
    cmocka_unit_test_setup(test_garbage, t_reset),
    cmocka_unit_test_setup(test_missing_or_bad_exp, t_reset),
    cmocka_unit_test_setup(test_sub, t_reset),
    cmocka_unit_test_setup(test_username, t_reset),
    cmocka_unit_test_setup(test_new_errors, t_reset),
    cmocka_unit_test_setup(test_issue_errors, t_reset))
