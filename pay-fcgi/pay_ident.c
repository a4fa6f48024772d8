/*
 * pay_ident.c: what pay knows about who is who, and only from the blog.
 *
 * The blog delivers identity events (common/cm_ident.h) to the internal
 * route POST /internal/identity on pay's admin port; each is a JWS signed
 * with the blog's key and verified here with the public key pay already
 * holds for tokens. pay_ident_apply (R__functions.sql) applies them in outbox
 * order, idempotently. Payees are resolved by username only through that
 * directory, so no token, old or new, can change who receives money.
 *
 * Every authenticated request also passes pay_ident_check: a token older
 * than the user's identity version is revoked (401 token_revoked), and the
 * caller's username (payer name, "cannot pay yourself") is the directory's,
 * never the token's claim.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cm_ident.h"
#include "cm_log.h"
#include "pay.h"
#include "pay_db.h"
#include "pay_error.h"
#include "pay_ident.h"

/* One delivery carries at most this many events (the blog sends 100). */
#define PAY_IDENT_BATCH_MAX 1000

enum cm_err
pay_ident_check(struct cm_req *req, const struct cm_jwt_claims *claims)
{
	char name[CM_JWT_USERNAME_MAX + 1];
	long long ver;
	enum cm_err rc;

	rc = pay_db_user_ident(req, claims->sub, &ver, name, sizeof(name));
	if (rc != CM_OK)
		return rc;
	/*
	 * A token newer than what pay knows was issued by the blog after a
	 * change still on its way here: it is accepted, and the older tokens
	 * it replaces stop working when the event lands.
	 */
	if (claims->ver < ver)
		return CM_EAUTH;
	/*
	 * A user the blog has not named to pay (yet) gets a placeholder that
	 * no username can equal (the blog allows no '#'), so it neither
	 * impersonates anyone nor receives anything by name.
	 */
	if (name[0] == '\0')
		snprintf(name, sizeof(name), "#%lld", claims->sub);
	snprintf(req->username, sizeof(req->username), "%s", name);
	return CM_OK;
}

/* POST /internal/identity (admin port only): apply a batch of events. */
static enum cm_err
pay_ident_receive(struct cm_req *req)
{
	const struct pay_app *app = req->app;
	struct cm_ident_event ev;
	const json_t *events, *v;
	json_t *out = NULL, *item;
	const char *params[1];
	char *text = NULL, msg[128];
	size_t i;
	enum cm_err rc = CM_ENOMEM;

	events = json_is_object(req->json)
	    ? json_object_get(req->json, "events")
	    : NULL;
	if (!json_is_array(events) || json_array_size(events) == 0 ||
	    json_array_size(events) > PAY_IDENT_BATCH_MAX)
		return pay_error(&req->resp, 400, "invalid_request_error",
		    "parameter_invalid",
		    "events must be an array of 1 to 1000 signed identity "
		    "events.",
		    "events");
	if ((out = json_array()) == NULL)
		goto out;
	json_array_foreach(events, i, v)
	{
		rc = json_is_string(v)
		    ? cm_ident_decode(app->jwt, json_string_value(v), &ev)
		    : CM_EAUTH;
		if (rc == CM_EAUTH) {
			cm_log(CM_LOG_WARN, req->request_id,
			    "identity: event %zu refused (not signed by the "
			    "blog, or malformed)",
			    i);
			snprintf(msg, sizeof(msg),
			    "Event %zu is not an identity event signed by the "
			    "blog; nothing was applied.",
			    i);
			rc = pay_error(&req->resp, 401, "authentication_error",
			    "event_invalid", msg, "events");
			goto out;
		}
		if (rc != CM_OK)
			goto out;
		item = json_pack("{s:I,s:I,s:I,s:s?}", "sub",
		    (json_int_t)ev.sub, "ver", (json_int_t)ev.ver, "seq",
		    (json_int_t)ev.seq, "username",
		    cm_ident_reserved(ev.username, strlen(ev.username))
		        ? NULL
		        : ev.username);
		if (item == NULL || json_array_append_new(out, item) != 0) {
			rc = CM_ENOMEM;
			goto out;
		}
	}
	rc = CM_ENOMEM;
	if ((text = json_dumps(out, JSON_COMPACT)) == NULL)
		goto out;
	params[0] = text;
	rc = pay_db_call(req, PAY_STMT_IDENT_APPLY, params);
out:
	free(text);
	json_decref(out);
	return rc;
}

const struct cm_route pay_ident_routes[] = {
    {"POST", "/internal/identity", pay_ident_receive, CM_AUTH_NONE,
        CM_ROUTE_BODY | CM_ROUTE_INTERNAL},
    {0},
};
