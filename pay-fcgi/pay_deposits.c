/*
 * pay_deposits.c: POST /pay/v1/deposits, sandbox funding from the
 * currency's system account. Off unless PAY_SANDBOX=1. GET
 * /pay/v1/deposits/{id}: one of the caller's deposits.
 */
#include <stdio.h>

#include "pay.h"
#include "pay_deposits.h"
#include "pay_check.h"
#include "pay_db.h"
#include "pay_error.h"

static const char *const pay_deposits_fields[] = {"currency", "amount", NULL};

/*
 * Only the request's shape is checked here. Whether deposits are on
 * (PAY_SANDBOX) and the limit (PAY_MAX_DEPOSIT) are decided by pay_deposit
 * after the key is looked up, so that a stored outcome replays even when
 * either setting changed since (pay.md, Idempotency).
 */
static enum cm_err
pay_deposits_create(struct cm_req *req)
{
	const struct pay_app *app = req->app;
	struct pay_check_err e;
	struct pay_db_move m;
	char max[24], currency[4];
	long long amount;

	/* Rejections before execution are not stored: key stays free. */
	if (pay_check_body(req->content_type, req->body, req->body_len,
	        pay_deposits_fields, &req->json, &e) != CM_OK ||
	    pay_check_key(req->idempotency_key, &e) != CM_OK ||
	    pay_check_currency(req->json, currency, &e) != CM_OK ||
	    pay_check_amount(
	        req->json, "amount", 1, PAY_AMOUNT_MAX, &amount, &e) != CM_OK)
		return pay_error_check(&req->resp, &e);
	if (pay_db_move_params(req, amount, &m) != CM_OK)
		return CM_ENOMEM;
	snprintf(max, sizeof(max), "%ld", app->max_deposit);
	return pay_db_call(req, PAY_STMT_DEPOSIT,
	    (const char *const[]){m.uid, req->username, req->idempotency_key,
	        m.fp, currency, m.amount, app->sandbox ? "true" : "false",
	        max});
}

static enum cm_err
pay_deposits_get(struct cm_req *req)
{
	return pay_db_object(req, PAY_STMT_DEPOSIT_GET, "deposit");
}

const struct cm_route pay_deposits_routes[] = {
    {"POST", "/pay/v1/deposits", pay_deposits_create, CM_AUTH_REQUIRED, 0},
    {"GET", "/pay/v1/deposits/:id", pay_deposits_get, CM_AUTH_REQUIRED, 0},
    {0},
};
