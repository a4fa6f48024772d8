/*
 * blog_ident.h: the blog's side of identity (DESIGN.md, "Identity").
 *
 * Every identity change (user created, username or password changed, log
 * out everywhere) is recorded in the same transaction as the change: the
 * user's identity version goes up (except at creation) and a row is added
 * to ident_outbox (migration 006). After the commit the request delivers
 * its own event to pay at once (blog_ident_push), so that when the client
 * sees the answer pay already knows; a relay thread per replica delivers
 * whatever is still undelivered (pay was down, the push timed out, the
 * backfill) every BLOG_IDENTITY_RELAY_MS until pay acknowledges. Pay
 * applies events idempotently, so several relays and a push racing one
 * another are harmless.
 *
 * Tokens carry the version they were issued at; blog_ident_check refuses
 * older ones on every authenticated request.
 */
#ifndef BLOG_IDENT_H
#define BLOG_IDENT_H

#include "blog.h"
#include "blog_db.h"
#include "cm_jwt.h"
#include "cm_req.h"

/*
 * cm_server_conf.auth_check: CM_EAUTH when the user no longer exists or
 * the token's version is older than the user's; CM_EUNAVAIL (503) when
 * the database cannot say.
 */
enum cm_err blog_ident_check(
    struct cm_req *req, const struct cm_jwt_claims *claims);

/*
 * Inside a transaction: bump the user's identity version when bump is set,
 * then add the user's current identity to the outbox. *seq is the outbox
 * row, for blog_ident_push after the commit.
 */
enum cm_err blog_ident_record(struct blog_db *db, const char *rid,
    long long user_id, int bump, long long *seq);

/*
 * After the commit: deliver outbox row seq to pay now (bounded by
 * BLOG_IDENTITY_TIMEOUT_MS per address). A failure is logged and left to
 * the relay; the request still succeeds, since the change is committed.
 */
void blog_ident_push(struct cm_req *req, long long seq);

/*
 * The relay thread (process lifetime). Start returns 0, or -1 (logged)
 * when the thread cannot start; without BLOG_IDENTITY_URLS there is no
 * relay and events wait in the outbox. Stop is safe when never started.
 */
int blog_ident_relay_start(struct blog_app *app);
void blog_ident_relay_stop(struct blog_app *app);

#endif
