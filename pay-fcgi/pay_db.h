/*
 * pay_db.h: one PostgreSQL connection per worker thread, its prepared
 * statements, and the one way handlers talk to the database.
 */
#ifndef PAY_DB_H
#define PAY_DB_H

#include "cm_req.h"
#include "pay_check.h"

/* Every statement the service runs; all prepared once per connection. */
enum pay_stmt {
	PAY_STMT_PING = 0,
	PAY_STMT_PRUNE,
	PAY_STMT_DEPOSIT,
	PAY_STMT_PAYMENT,
	PAY_STMT_REFUND,
	PAY_STMT_ACCOUNT_OPEN,
	PAY_STMT_ACCOUNTS_LIST,
	PAY_STMT_ACCOUNT_GET,
	PAY_STMT_ENTRIES_LIST,
	PAY_STMT_PAYMENTS_LIST,
	PAY_STMT_PAYMENT_GET,
	PAY_STMT_REFUNDS_LIST,
	PAY_STMT_IDENT_APPLY,
	PAY_STMT_USER_IDENT,
	PAY_STMT_CURRENCIES_LIST,
	PAY_STMT_DEPOSIT_GET,
	PAY_STMT_COUNT
};

struct pay_db;

/*
 * cm_server_conf.worker_open / worker_close. Opening never fails because the
 * database is down: the connection is (re)made lazily, with backoff.
 */
void *pay_db_open(void *app, int idx);
void pay_db_close(void *worker);

/*
 * cm_server_conf.after: deletes a batch of expired Idempotency-Keys every
 * ten minutes per worker, after a response has been sent.
 */
void pay_db_prune(void *worker);

/*
 * Run an operation statement (one returning status, body, replayed) with
 * text parameters (NULL is SQL NULL) and answer the request with its result:
 * the status, the body as the SQL function rendered it, and
 * Idempotent-Replayed: true for a replay. Deadlocks and serialization
 * failures are retried; CM_EUNAVAIL when the database cannot be reached or
 * a timeout hits, CM_EDB for anything unexpected (logged).
 */
enum cm_err pay_db_call(
    struct cm_req *req, enum pay_stmt st, const char *const *params);

/*
 * The two reads every resource has, answered as pay_db_call answers, with
 * the caller's user id as the statement's first parameter. pay_db_object:
 * (user, the path's id); an id that cannot be one is the same 404 as an
 * unknown one (pay_error_not_found with noun). pay_db_page: (user, key,
 * starting_after, limit), the query's limit and starting_after checked
 * first (400); key is what the page is of (an id, a direction, a name).
 */
enum cm_err pay_db_object(
    struct cm_req *req, enum pay_stmt st, const char *noun);
enum cm_err pay_db_page(struct cm_req *req, enum pay_stmt st, const char *key);
/* pay_db_page with the path's id as key, checked as pay_db_object does. */
enum cm_err pay_db_page_of(
    struct cm_req *req, enum pay_stmt st, const char *noun);

/*
 * The parameters the three money movements (deposit, payment, refund)
 * share, as text: the caller's id, the request's fingerprint (the one its
 * Idempotency-Key is bound to) and the amount. CM_ENOMEM is the only error.
 */
struct pay_db_move {
	char uid[24];
	char fp[PAY_FINGERPRINT_LEN + 1];
	char amount[24];
};
enum cm_err pay_db_move_params(
    struct cm_req *req, long long amount, struct pay_db_move *m);

/*
 * What the blog told pay about user_id (pay_ident.c): *ver its identity
 * version (0 when never told) and name its username ("" when it has none
 * pay may use). CM_EUNAVAIL / CM_EDB as pay_db_call.
 */
enum cm_err pay_db_user_ident(struct cm_req *req, long long user_id,
    long long *ver, char *name, size_t namelen);

/*
 * Readiness: CM_OK when the database answers and has the migration of
 * version recorded (the newest this binary embeds), CM_ENOTFOUND when it
 * answers without it; CM_EUNAVAIL / CM_EDB as pay_db_call.
 */
enum cm_err pay_db_ping(struct cm_req *req, int version);

#endif
