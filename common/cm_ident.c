/*
 * cm_ident.c: identity events (see cm_ident.h) and the reserved names.
 */
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include <jansson.h>

#include "cm_ident.h"
#include "cm_log.h"

/*
 * "system" is the counterparty of every deposit in pay's statements; the
 * others are names a reader of a statement or a profile would take for the
 * platform itself.
 */
static const char *const cm_ident_reserved_names[] = {"system", "admin",
    "administrator", "root", "platform", "conduit", "support", "security",
    "pay", "payments", "billing", "treasury", "bank", "deposit", "refund"};

int
cm_ident_reserved(const char *name, size_t len)
{
	size_t i;

	if (name == NULL)
		return 0;
	for (i = 0; i < sizeof(cm_ident_reserved_names) /
	         sizeof(cm_ident_reserved_names[0]);
	     i++) {
		if (strlen(cm_ident_reserved_names[i]) == len &&
		    strncasecmp(cm_ident_reserved_names[i], name, len) == 0)
			return 1;
	}
	return 0;
}

const char *
cm_ident_reserved_name(size_t i)
{
	if (i >= sizeof(cm_ident_reserved_names) /
	        sizeof(cm_ident_reserved_names[0]))
		return NULL;
	return cm_ident_reserved_names[i];
}

/* "<audience>:identity" into buf; -1 when it does not fit. */
static int
cm_ident_aud(const struct cm_jwt *jwt, char *buf, size_t len)
{
	int n = snprintf(buf, len, "%s%s", jwt->audience, CM_IDENT_AUD_SUFFIX);

	return n < 0 || (size_t)n >= len ? -1 : 0;
}

enum cm_err
cm_ident_encode(const struct cm_jwt *jwt, const struct cm_ident_event *ev,
    time_t now, char **out)
{
	char aud[512], sub[24];
	json_t *c;
	size_t ulen;
	enum cm_err rc;

	if (out == NULL)
		return CM_EINVAL;
	*out = NULL;
	if (jwt == NULL || ev == NULL || ev->sub <= 0 || ev->ver < 1 ||
	    ev->seq < 1 || cm_ident_aud(jwt, aud, sizeof(aud)) != 0)
		return CM_EINVAL;
	ulen = strnlen(ev->username, sizeof(ev->username));
	if (ulen == 0 || ulen > CM_JWT_USERNAME_MAX)
		return CM_EINVAL;
	snprintf(sub, sizeof(sub), "%lld", ev->sub);
	c = json_pack("{s:s,s:s,s:s,s:I,s:I,s:s%,s:I}", "iss", jwt->issuer,
	    "aud", aud, "sub", sub, "ver", (json_int_t)ev->ver, "seq",
	    (json_int_t)ev->seq, "username", ev->username, ulen, "iat",
	    (json_int_t)now);
	if (c == NULL)
		return CM_EINVAL; /* not UTF-8, or out of memory */
	rc = cm_jwt_sign_typed(jwt, CM_IDENT_TYP, c, out);
	json_decref(c);
	return rc;
}

/* A positive JSON integer; a decimal string is accepted for sub. */
static int
cm_ident_int(const json_t *v, int str_ok, long long *out)
{
	const char *s;
	char *end;
	long long n;

	if (json_is_integer(v)) {
		if (json_integer_value(v) < 1)
			return -1;
		*out = json_integer_value(v);
		return 0;
	}
	if (!str_ok || !json_is_string(v))
		return -1;
	s = json_string_value(v);
	if (s[0] < '1' || s[0] > '9')
		return -1;
	n = strtoll(s, &end, 10);
	if (*end != '\0' || n == LLONG_MAX)
		return -1;
	*out = n;
	return 0;
}

enum cm_err
cm_ident_decode(
    const struct cm_jwt *jwt, const char *jws, struct cm_ident_event *ev)
{
	const char *why = "claims";
	char aud[512];
	json_t *c = NULL, *v;
	enum cm_err rc;

	if (ev == NULL)
		return CM_EINVAL;
	memset(ev, 0, sizeof(*ev));
	if (jwt == NULL || cm_ident_aud(jwt, aud, sizeof(aud)) != 0)
		return CM_EINVAL;
	if ((rc = cm_jwt_verify_typed(jwt, jws, CM_IDENT_TYP, &c)) != CM_OK)
		return rc;
	rc = CM_EAUTH;
	if ((v = json_object_get(c, "iss")) == NULL || !json_is_string(v) ||
	    strcmp(json_string_value(v), jwt->issuer) != 0) {
		why = "iss is not ours";
		goto out;
	}
	if ((v = json_object_get(c, "aud")) == NULL || !json_is_string(v) ||
	    strcmp(json_string_value(v), aud) != 0) {
		why = "aud is not our identity audience";
		goto out;
	}
	if (cm_ident_int(json_object_get(c, "sub"), 1, &ev->sub) != 0 ||
	    cm_ident_int(json_object_get(c, "ver"), 0, &ev->ver) != 0 ||
	    cm_ident_int(json_object_get(c, "seq"), 0, &ev->seq) != 0) {
		why = "sub, ver or seq is not a positive integer";
		goto out;
	}
	if ((v = json_object_get(c, "username")) == NULL ||
	    !json_is_string(v) || json_string_length(v) == 0 ||
	    json_string_length(v) > CM_JWT_USERNAME_MAX ||
	    strlen(json_string_value(v)) != json_string_length(v)) {
		why = "username missing or invalid";
		goto out;
	}
	memcpy(ev->username, json_string_value(v), json_string_length(v));
	ev->username[json_string_length(v)] = '\0';
	rc = CM_OK;
out:
	if (rc != CM_OK) {
		cm_log(CM_LOG_DEBUG, NULL, "identity event rejected: %s", why);
		memset(ev, 0, sizeof(*ev));
	}
	json_decref(c);
	return rc;
}
