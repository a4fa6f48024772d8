/*
 * pay.h: the process-wide settings of pay-fcgi and its request handlers.
 *
 * The handlers validate the shape of a request in C and hand the operation
 * to one SQL function (pay-fcgi/migrations/002_functions.sql) that decides,
 * moves money and renders the answer in a single transaction.
 */
#ifndef PAY_H
#define PAY_H

#include "cm_err.h"
#include "cm_jwt.h"
#include "cm_req.h"

/* Process lifetime: filled at start, read-only while serving. */
struct pay_app {
	char *db_url;
	int sandbox;
	long idempotency_ttl_hours;
	long max_deposit;
	struct cm_jwt *jwt;
};

/* pay_health.c */
enum cm_err pay_health_live(struct cm_req *);
enum cm_err pay_health_ready(struct cm_req *);

/* pay_accounts.c */
enum cm_err pay_accounts_list(struct cm_req *);
enum cm_err pay_accounts_open(struct cm_req *);
enum cm_err pay_accounts_get(struct cm_req *);
enum cm_err pay_accounts_entries(struct cm_req *);

/* pay_deposits.c */
enum cm_err pay_deposits_create(struct cm_req *);

/* pay_payments.c */
enum cm_err pay_payments_create(struct cm_req *);
enum cm_err pay_payments_list(struct cm_req *);
enum cm_err pay_payments_get(struct cm_req *);
enum cm_err pay_payments_refund(struct cm_req *);
enum cm_err pay_payments_refunds(struct cm_req *);

#endif
