/*
 * pay_deposits.c: POST /pay/v1/deposits, sandbox funding from the
 * currency's system account. Off unless PAY_SANDBOX=1.
 */
#include <stdio.h>

#include "pay.h"
#include "pay_deposits.h"
#include "pay_check.h"
#include "pay_db.h"
#include "pay_error.h"

enum cm_err
pay_deposits_create(struct cm_req *req)
{
	const struct pay_app *app = req->app;
	struct pay_check_err e;
	const char *params[6];
	char uid[24], amt[24], currency[4], fp[PAY_FINGERPRINT_LEN + 1];
	long long amount;

	/* Rejections before execution are not stored: key stays free. */
	if (pay_check_key(req->idempotency_key, &e) != CM_OK)
		return pay_error_check(&req->resp, &e);
	if (!app->sandbox)
		return pay_error(&req->resp, 403, "permission_error",
		    "deposits_disabled",
		    "Deposits are only available in "
		    "sandbox mode.",
		    NULL);
	if (pay_check_object(req->json, &e) != CM_OK ||
	    pay_check_currency(req->json, currency, &e) != CM_OK ||
	    pay_check_amount(
	        req->json, "amount", 1, app->max_deposit, &amount, &e) != CM_OK)
		return pay_error_check(&req->resp, &e);
	if (pay_check_fingerprint(req->method, req->path, req->json, fp) !=
	    CM_OK)
		return CM_ENOMEM;
	snprintf(uid, sizeof(uid), "%lld", req->user_id);
	snprintf(amt, sizeof(amt), "%lld", amount);
	params[0] = uid;
	params[1] = req->username;
	params[2] = req->idempotency_key;
	params[3] = fp;
	params[4] = currency;
	params[5] = amt;
	return pay_db_call(req, PAY_STMT_DEPOSIT, params);
}
