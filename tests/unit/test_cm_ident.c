/*
 * test_cm_ident.c: identity events (sign, verify, refuse what is forged or
 * mistyped), the ver claim of tokens, and the reserved names.
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "unit.h"

#include <jansson.h>
#include <jwt.h>
#include <openssl/evp.h>
#include <openssl/pem.h>

#include "cm_ident.h"
#include "cm_jwt.h"

#define T_NOW 1700000000L

struct t_state {
	char dir[64];
	char priv_a[128], pub_a[128], priv_b[128], pub_b[128];
	struct cm_jwt *a; /* signs and verifies with key A */
	struct cm_jwt *a_pub; /* key A, verify only: what pay holds */
	struct cm_jwt *b; /* another key */
	struct cm_jwt *a_other_aud; /* key A, another audience */
};

static void
t_keypair(const char *priv, const char *pub)
{
	EVP_PKEY *k = EVP_EC_gen("P-256");
	FILE *f;

	assert_non_null(k);
	assert_non_null(f = fopen(priv, "w"));
	assert_int_equal(
	    PEM_write_PrivateKey(f, k, NULL, NULL, 0, NULL, NULL), 1);
	fclose(f);
	assert_non_null(f = fopen(pub, "w"));
	assert_int_equal(PEM_write_PUBKEY(f, k), 1);
	fclose(f);
	EVP_PKEY_free(k);
}

static int
t_setup(void **state)
{
	struct t_state *st = calloc(1, sizeof(*st));
	char err[256];

	assert_non_null(st);
	strcpy(st->dir, "/tmp/test_cm_ident.XXXXXX");
	assert_non_null(mkdtemp(st->dir));
	snprintf(st->priv_a, sizeof(st->priv_a), "%s/a.pem", st->dir);
	snprintf(st->pub_a, sizeof(st->pub_a), "%s/a.pub", st->dir);
	snprintf(st->priv_b, sizeof(st->priv_b), "%s/b.pem", st->dir);
	snprintf(st->pub_b, sizeof(st->pub_b), "%s/b.pub", st->dir);
	t_keypair(st->priv_a, st->pub_a);
	t_keypair(st->priv_b, st->pub_b);
	assert_int_equal(cm_jwt_new(&st->a, st->priv_a, st->pub_a, "conduit",
	                     "conduit", 3600, err, sizeof(err)),
	    CM_OK);
	assert_int_equal(cm_jwt_new(&st->a_pub, NULL, st->pub_a, "conduit",
	                     "conduit", 0, err, sizeof(err)),
	    CM_OK);
	assert_int_equal(cm_jwt_new(&st->b, st->priv_b, st->pub_b, "conduit",
	                     "conduit", 3600, err, sizeof(err)),
	    CM_OK);
	assert_int_equal(cm_jwt_new(&st->a_other_aud, st->priv_a, st->pub_a,
	                     "conduit", "elsewhere", 3600, err, sizeof(err)),
	    CM_OK);
	*state = st;
	return 0;
}

static int
t_teardown(void **state)
{
	struct t_state *st = *state;
	struct cm_jwt *jwts[] = {st->a, st->a_pub, st->b, st->a_other_aud};
	const char *files[] = {st->priv_a, st->pub_a, st->priv_b, st->pub_b};
	size_t i;

	for (i = 0; i < sizeof(jwts) / sizeof(jwts[0]); i++)
		cm_jwt_free(jwts[i]);
	for (i = 0; i < sizeof(files) / sizeof(files[0]); i++)
		unlink(files[i]);
	rmdir(st->dir);
	free(st);
	return 0;
}

static struct cm_ident_event
t_event(long long sub, long long ver, long long seq, const char *name)
{
	struct cm_ident_event ev;

	memset(&ev, 0, sizeof(ev));
	ev.sub = sub;
	ev.ver = ver;
	ev.seq = seq;
	snprintf(ev.username, sizeof(ev.username), "%s", name);
	return ev;
}

/* Signed by the blog's key, read back by a verify-only key set. */
static void
test_round_trip(void **state)
{
	struct t_state *st = *state;
	struct cm_ident_event ev = t_event(42, 3, 17, "J\xc3\xb6rg"), got;
	char *jws = NULL;

	assert_int_equal(cm_ident_encode(st->a, &ev, T_NOW, &jws), CM_OK);
	assert_int_equal(cm_ident_decode(st->a_pub, jws, &got), CM_OK);
	assert_int_equal(got.sub, 42);
	assert_int_equal(got.ver, 3);
	assert_int_equal(got.seq, 17);
	assert_string_equal(got.username, "J\xc3\xb6rg");
	/* The same event signs to a different JWS (ECDSA is randomised) that
	 * says the same thing: pay keys nothing on the bytes. */
	free(jws);
	jws = NULL;
	assert_int_equal(cm_ident_encode(st->a, &ev, T_NOW, &jws), CM_OK);
	assert_int_equal(cm_ident_decode(st->a_pub, jws, &got), CM_OK);
	assert_int_equal(got.ver, 3);
	free(jws);
}

/* Another key, another audience, a changed byte: all refused. */
static void
test_forged(void **state)
{
	struct t_state *st = *state;
	struct cm_ident_event ev = t_event(42, 3, 17, "eve"), got;
	char *jws = NULL, *p;

	assert_int_equal(cm_ident_encode(st->b, &ev, T_NOW, &jws), CM_OK);
	assert_int_equal(cm_ident_decode(st->a_pub, jws, &got), CM_EAUTH);
	assert_int_equal(got.sub, 0);
	free(jws);
	jws = NULL;
	assert_int_equal(
	    cm_ident_encode(st->a_other_aud, &ev, T_NOW, &jws), CM_OK);
	assert_int_equal(cm_ident_decode(st->a_pub, jws, &got), CM_EAUTH);
	free(jws);
	jws = NULL;
	/* Flip one character of the payload: the signature no longer fits. */
	assert_int_equal(cm_ident_encode(st->a, &ev, T_NOW, &jws), CM_OK);
	p = strchr(jws, '.') + 5;
	*p = *p == 'A' ? 'B' : 'A';
	assert_int_equal(cm_ident_decode(st->a_pub, jws, &got), CM_EAUTH);
	free(jws);
	/* Unsigned and garbage. */
	assert_int_equal(
	    cm_ident_decode(st->a_pub,
	        "eyJhbGciOiJub25lIiwidHlwIjoiY29uZHVpdC1pZGVudGl0eStqd3QifQ."
	        "eyJzdWIiOiI0MiJ9.",
	        &got),
	    CM_EAUTH);
	assert_int_equal(cm_ident_decode(st->a_pub, "a.b.c", &got), CM_EAUTH);
	assert_int_equal(cm_ident_decode(st->a_pub, "", &got), CM_EAUTH);
	assert_int_equal(cm_ident_decode(st->a_pub, NULL, &got), CM_EAUTH);
}

/* A token is not an event, and an event is not a token. */
static void
test_types_do_not_mix(void **state)
{
	struct t_state *st = *state;
	struct cm_ident_event ev = t_event(42, 1, 1, "alice"), got;
	struct cm_jwt_claims claims;
	char *tok = NULL, *jws = NULL;
	json_t *empty = json_object();

	assert_int_equal(
	    cm_jwt_issue_ver(st->a, 42, "alice", 1, T_NOW, &tok), CM_OK);
	assert_int_equal(cm_ident_decode(st->a_pub, tok, &got), CM_EAUTH);
	assert_int_equal(cm_ident_encode(st->a, &ev, T_NOW, &jws), CM_OK);
	assert_int_equal(
	    cm_jwt_verify(st->a_pub, jws, T_NOW, &claims), CM_EAUTH);
	/* A typed message with typ JWT cannot even be made. */
	free(jws);
	jws = NULL;
	assert_int_equal(
	    cm_jwt_sign_typed(st->a, "JWT", empty, &jws), CM_EINVAL);
	assert_null(jws);
	json_decref(empty);
	free(tok);
}

static void
test_encode_refuses(void **state)
{
	struct t_state *st = *state;
	struct cm_ident_event ev;
	char *jws = NULL;

	ev = t_event(0, 1, 1, "a");
	assert_int_equal(cm_ident_encode(st->a, &ev, T_NOW, &jws), CM_EINVAL);
	ev = t_event(1, 0, 1, "a");
	assert_int_equal(cm_ident_encode(st->a, &ev, T_NOW, &jws), CM_EINVAL);
	ev = t_event(1, 1, 0, "a");
	assert_int_equal(cm_ident_encode(st->a, &ev, T_NOW, &jws), CM_EINVAL);
	ev = t_event(1, 1, 1, "");
	assert_int_equal(cm_ident_encode(st->a, &ev, T_NOW, &jws), CM_EINVAL);
	ev = t_event(1, 1, 1, "\xff");
	assert_int_equal(cm_ident_encode(st->a, &ev, T_NOW, &jws), CM_EINVAL);
	/* No private key: pay can verify events but never make one. */
	ev = t_event(1, 1, 1, "a");
	assert_int_equal(
	    cm_ident_encode(st->a_pub, &ev, T_NOW, &jws), CM_EINVAL);
	assert_null(jws);
}

/* A token made with libjwt, with ver set to v (or absent when NULL). */
static char *
t_token_with_ver(struct t_state *st, const char *ver_json)
{
	unsigned char pem[4096];
	char grants[512];
	jwt_t *jw = NULL;
	FILE *f;
	size_t n;
	char *tok;

	assert_non_null(f = fopen(st->priv_a, "rb"));
	n = fread(pem, 1, sizeof(pem), f);
	fclose(f);
	snprintf(grants, sizeof(grants),
	    "{\"sub\":\"7\",\"username\":\"u\",\"iss\":\"conduit\","
	    "\"aud\":\"conduit\",\"exp\":%ld%s%s}",
	    T_NOW + 600, ver_json != NULL ? ",\"ver\":" : "",
	    ver_json != NULL ? ver_json : "");
	assert_int_equal(jwt_new(&jw), 0);
	assert_int_equal(jwt_add_grants_json(jw, grants), 0);
	assert_int_equal(jwt_set_alg(jw, JWT_ALG_ES256, pem, (int)n), 0);
	assert_non_null(tok = jwt_encode_str(jw));
	jwt_free(jw);
	return tok;
}

static void
test_token_ver(void **state)
{
	struct t_state *st = *state;
	struct cm_jwt_claims c;
	char *tok = NULL;

	assert_int_equal(
	    cm_jwt_issue_ver(st->a, 42, "alice", 5, T_NOW, &tok), CM_OK);
	assert_int_equal(cm_jwt_verify(st->a_pub, tok, T_NOW, &c), CM_OK);
	assert_int_equal(c.ver, 5);
	free(tok);
	/* Tokens from before versions existed are version 1. */
	assert_int_equal(cm_jwt_issue(st->a, 42, "alice", T_NOW, &tok), CM_OK);
	assert_int_equal(cm_jwt_verify(st->a_pub, tok, T_NOW, &c), CM_OK);
	assert_int_equal(c.ver, 1);
	free(tok);
	tok = t_token_with_ver(st, NULL);
	assert_int_equal(cm_jwt_verify(st->a_pub, tok, T_NOW, &c), CM_OK);
	assert_int_equal(c.ver, 1);
	free(tok);
	tok = t_token_with_ver(st, "9");
	assert_int_equal(cm_jwt_verify(st->a_pub, tok, T_NOW, &c), CM_OK);
	assert_int_equal(c.ver, 9);
	free(tok);
	tok = t_token_with_ver(st, "0");
	assert_int_equal(cm_jwt_verify(st->a_pub, tok, T_NOW, &c), CM_EAUTH);
	free(tok);
	tok = t_token_with_ver(st, "\"3\"");
	assert_int_equal(cm_jwt_verify(st->a_pub, tok, T_NOW, &c), CM_EAUTH);
	free(tok);
	tok = t_token_with_ver(st, "-2");
	assert_int_equal(cm_jwt_verify(st->a_pub, tok, T_NOW, &c), CM_EAUTH);
	free(tok);
	assert_int_equal(
	    cm_jwt_issue_ver(st->a, 42, "alice", -1, T_NOW, &tok), CM_EINVAL);
}

static void
test_reserved(void **state)
{
	/* Only the whole name, in any case: a prefix or a longer name is a
	 * user's. */
	static const struct {
		const char *name;
		size_t len;
		int reserved;
	} names[] = {{"system", 6, 1}, {"System", 6, 1}, {"SYSTEM", 6, 1},
	    {"admin", 5, 1}, {"system", 5, 0}, {"systems", 7, 0},
	    {"system_", 7, 0}, {"alice", 5, 0}, {"", 0, 0}, {NULL, 0, 0}};
	size_t i;

	(void)state;
	for (i = 0; i < sizeof(names) / sizeof(names[0]); i++)
		assert_int_equal(
		    cm_ident_reserved(names[i].name, names[i].len) != 0,
		    names[i].reserved);
}

/* The list the blog's look-alike check walks: each entry is reserved. */
static void
test_reserved_names(void **state)
{
	const char *s;
	size_t i;

	(void)state;
	assert_string_equal(cm_ident_reserved_name(0), "system");
	for (i = 0; (s = cm_ident_reserved_name(i)) != NULL; i++)
		assert_true(cm_ident_reserved(s, strlen(s)));
	assert_true(i > 1);
	assert_null(cm_ident_reserved_name(i + 1));
}

UNIT_MAIN_GROUP(t_setup, t_teardown,
    cmocka_unit_test(test_round_trip),
    cmocka_unit_test(test_forged),
    cmocka_unit_test(test_types_do_not_mix),
    cmocka_unit_test(test_encode_refuses),
    cmocka_unit_test(test_token_ver),
    cmocka_unit_test(test_reserved),
    cmocka_unit_test(test_reserved_names))
