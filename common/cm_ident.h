/*
 * cm_ident.h: identity events, the only way pay-fcgi learns who is who.
 *
 * blog-fcgi owns users. Every change of a user's identity (created, username
 * changed, password changed, "log out everywhere") bumps the user's identity
 * version and is written to an outbox in the same transaction; the blog
 * then delivers it to pay's internal route as an event: a compact JWS
 * signed with the blog's ES256 key (the key pay already trusts for tokens),
 * typed "conduit-identity+jwt" and addressed to "<audience>:identity", so
 * that an event can never pass for a token nor a token for an event.
 *
 * An event carries the user's whole identity state (id, version, username)
 * and the outbox sequence number, not a difference: applying the newest
 * version and ignoring older ones is the same as applying all in order,
 * which makes delivery idempotent and safe to repeat or reorder.
 */
#ifndef CM_IDENT_H
#define CM_IDENT_H

#include <stddef.h>
#include <time.h>

#include "cm_err.h"
#include "cm_jwt.h"

#define CM_IDENT_TYP "conduit-identity+jwt"
#define CM_IDENT_AUD_SUFFIX ":identity"

struct cm_ident_event {
	long long sub; /* the blog's user id, > 0 */
	long long ver; /* identity version, >= 1 */
	long long seq; /* outbox sequence, >= 1: orders name changes */
	char username[CM_JWT_USERNAME_MAX + 1];
};

/*
 * Sign ev as an event (claims iss, aud, sub, ver, seq, username, iat).
 * On CM_OK *out is a malloc'd compact JWS the caller frees. CM_EINVAL for
 * an event out of range or a key set without a private key.
 */
enum cm_err cm_ident_encode(const struct cm_jwt *jwt,
    const struct cm_ident_event *ev, time_t now, char **out);

/*
 * Verify an event with the public key (typ, signature, iss, aud) and read
 * it into ev. CM_EAUTH for anything forged, malformed or out of range;
 * CM_ENOMEM; CM_EINTERNAL. Events carry no expiry: replaying an old one
 * changes nothing (its version is not newer).
 */
enum cm_err cm_ident_decode(
    const struct cm_jwt *jwt, const char *jws, struct cm_ident_event *ev);

/*
 * True when name is one the platform uses for itself (the system account
 * of payment statements, and names people would take for the operator),
 * compared without ASCII case so that "System" cannot pass for "system".
 * The blog refuses such usernames; pay never resolves a payee to one.
 */
int cm_ident_reserved(const char *name, size_t len);

/*
 * The i-th reserved name, NULL past the last: for the blog's look-alike
 * check ("ѕуѕтем" in Cyrillic), which needs ICU and so lives in the blog.
 */
const char *cm_ident_reserved_name(size_t i);

#endif
