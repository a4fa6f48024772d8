/*
 * pay.h: the process-wide settings of pay-fcgi.
 *
 * The handlers validate the shape of a request in C and hand the operation
 * to one SQL function (pay-fcgi/migrations/R__functions.sql) that decides,
 * moves money and renders the answer in a single transaction.
 */
#ifndef PAY_H
#define PAY_H

#include "cm_jwt.h"

/* Process lifetime: filled at start, read-only while serving. */
struct pay_app {
	char *db_url;
	int sandbox;
	long idempotency_ttl_hours;
	long max_deposit;
	struct cm_jwt *jwt;
};

#endif
