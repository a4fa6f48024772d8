/*
 * pay_accounts.c: GET/POST /pay/v1/accounts, one account, its statement,
 * and the currencies an account may be opened in.
 * Only the caller's own accounts exist for the caller: anyone else's is a
 * 404, decided in SQL by owner.
 */
#include <stdio.h>
#include <string.h>

#include "pay.h"
#include "pay_accounts.h"
#include "pay_check.h"
#include "pay_db.h"
#include "pay_error.h"

static const char *const pay_accounts_fields[] = {"currency", NULL};

enum cm_err
pay_accounts_list(struct cm_req *req)
{
	struct pay_check_err e;
	const char *params[4], *after = cm_req_query(req, "starting_after");
	char uid[24], lim[8];
	int limit;

	if (pay_check_limit(cm_req_query(req, "limit"), &limit, &e) != CM_OK ||
	    pay_check_cursor(after, &e) != CM_OK)
		return pay_error_check(&req->resp, &e);
	snprintf(uid, sizeof(uid), "%lld", req->user_id);
	snprintf(lim, sizeof(lim), "%d", limit);
	params[0] = uid;
	params[1] = req->username;
	params[2] = after;
	params[3] = lim;
	return pay_db_call(req, PAY_STMT_ACCOUNTS_LIST, params);
}

/* GET /pay/v1/currencies: codes, exponents and the deposit limit. */
enum cm_err
pay_accounts_currencies(struct cm_req *req)
{
	const struct pay_app *app = req->app;
	struct pay_check_err e;
	const char *params[3], *after = cm_req_query(req, "starting_after");
	char lim[8], max[24];
	int limit;

	if (pay_check_limit(cm_req_query(req, "limit"), &limit, &e) != CM_OK ||
	    pay_check_cursor(after, &e) != CM_OK)
		return pay_error_check(&req->resp, &e);
	snprintf(lim, sizeof(lim), "%d", limit);
	snprintf(max, sizeof(max), "%ld", app->max_deposit);
	params[0] = after;
	params[1] = lim;
	params[2] = max;
	return pay_db_call(req, PAY_STMT_CURRENCIES_LIST, params);
}

enum cm_err
pay_accounts_open(struct cm_req *req)
{
	struct pay_check_err e;
	const char *params[3];
	char uid[24], currency[4];

	if (pay_check_body(req->content_type, req->body, req->body_len,
	        pay_accounts_fields, &req->json, &e) != CM_OK ||
	    pay_check_currency(req->json, currency, &e) != CM_OK)
		return pay_error_check(&req->resp, &e);
	snprintf(uid, sizeof(uid), "%lld", req->user_id);
	params[0] = uid;
	params[1] = req->username;
	params[2] = currency;
	return pay_db_call(req, PAY_STMT_ACCOUNT_OPEN, params);
}

enum cm_err
pay_accounts_get(struct cm_req *req)
{
	const char *params[2], *id = cm_req_param(req, "id");
	char uid[24];

	if (!pay_check_id_ok(id))
		return pay_error(&req->resp, 404, "not_found_error",
		    "no_such_account", "No such account.", NULL);
	snprintf(uid, sizeof(uid), "%lld", req->user_id);
	params[0] = uid;
	params[1] = id;
	return pay_db_call(req, PAY_STMT_ACCOUNT_GET, params);
}

enum cm_err
pay_accounts_entries(struct cm_req *req)
{
	struct pay_check_err e;
	const char *params[4], *id = cm_req_param(req, "id");
	const char *after = cm_req_query(req, "starting_after");
	char uid[24], lim[8];
	int limit;

	if (!pay_check_id_ok(id))
		return pay_error(&req->resp, 404, "not_found_error",
		    "no_such_account", "No such account.", NULL);
	if (pay_check_limit(cm_req_query(req, "limit"), &limit, &e) != CM_OK ||
	    pay_check_cursor(after, &e) != CM_OK)
		return pay_error_check(&req->resp, &e);
	snprintf(uid, sizeof(uid), "%lld", req->user_id);
	snprintf(lim, sizeof(lim), "%d", limit);
	params[0] = uid;
	params[1] = id;
	params[2] = after;
	params[3] = lim;
	return pay_db_call(req, PAY_STMT_ENTRIES_LIST, params);
}
