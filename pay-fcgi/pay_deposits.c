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
enum cm_err
pay_deposits_create(struct cm_req *req)
{
	const struct pay_app *app = req->app;
	struct pay_check_err e;
	const char *params[8];
	char uid[24], amt[24], max[24], currency[4];
	char fp[PAY_FINGERPRINT_LEN + 1];
	long long amount;

	/* Rejections before execution are not stored: key stays free. */
	if (pay_check_body(req->content_type, req->body, req->body_len,
	        pay_deposits_fields, &req->json, &e) != CM_OK ||
	    pay_check_key(req->idempotency_key, &e) != CM_OK ||
	    pay_check_currency(req->json, currency, &e) != CM_OK ||
	    pay_check_amount(
	        req->json, "amount", 1, PAY_AMOUNT_MAX, &amount, &e) != CM_OK)
		return pay_error_check(&req->resp, &e);
	if (pay_check_fingerprint(req->method, req->path, req->json, fp) !=
	    CM_OK)
		return CM_ENOMEM;
	snprintf(uid, sizeof(uid), "%lld", req->user_id);
	snprintf(amt, sizeof(amt), "%lld", amount);
	snprintf(max, sizeof(max), "%ld", app->max_deposit);
	params[0] = uid;
	params[1] = req->username;
	params[2] = req->idempotency_key;
	params[3] = fp;
	params[4] = currency;
	params[5] = amt;
	params[6] = app->sandbox ? "true" : "false";
	params[7] = max;
	return pay_db_call(req, PAY_STMT_DEPOSIT, params);
}

enum cm_err
pay_deposits_get(struct cm_req *req)
{
	const char *params[2], *id = cm_req_param(req, "id");
	char uid[24];

	if (!pay_check_id_ok(id))
		return pay_error(&req->resp, 404, "not_found_error",
		    "no_such_deposit", "No such deposit.", NULL);
	snprintf(uid, sizeof(uid), "%lld", req->user_id);
	params[0] = uid;
	params[1] = id;
	return pay_db_call(req, PAY_STMT_DEPOSIT_GET, params);
}
