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

static enum cm_err
pay_accounts_list(struct cm_req *req)
{
	return pay_db_page(req, PAY_STMT_ACCOUNTS_LIST, req->username);
}

/* GET /pay/v1/currencies: codes, exponents and the deposit limit. */
static enum cm_err
pay_accounts_currencies(struct cm_req *req)
{
	const struct pay_app *app = req->app;
	struct pay_check_err e;
	const char *after = cm_req_query(req, "starting_after");
	char lim[PAY_CHECK_LIM_LEN], max[24];

	if (pay_check_page(cm_req_query(req, "limit"), after, lim, &e) != CM_OK)
		return pay_error_check(&req->resp, &e);
	snprintf(max, sizeof(max), "%ld", app->max_deposit);
	return pay_db_call(req, PAY_STMT_CURRENCIES_LIST,
	    (const char *const[]){after, lim, max});
}

static enum cm_err
pay_accounts_open(struct cm_req *req)
{
	struct pay_check_err e;
	char uid[24], currency[4];

	if (pay_check_body(req->content_type, req->body, req->body_len,
	        pay_accounts_fields, &req->json, &e) != CM_OK ||
	    pay_check_currency(req->json, currency, &e) != CM_OK)
		return pay_error_check(&req->resp, &e);
	snprintf(uid, sizeof(uid), "%lld", req->user_id);
	return pay_db_call(req, PAY_STMT_ACCOUNT_OPEN,
	    (const char *const[]){uid, req->username, currency});
}

static enum cm_err
pay_accounts_get(struct cm_req *req)
{
	return pay_db_object(req, PAY_STMT_ACCOUNT_GET, "account");
}

static enum cm_err
pay_accounts_entries(struct cm_req *req)
{
	return pay_db_page_of(req, PAY_STMT_ENTRIES_LIST, "account");
}

const struct cm_route pay_accounts_routes[] = {
    {"GET", "/pay/v1/accounts", pay_accounts_list, CM_AUTH_REQUIRED, 0},
    {"POST", "/pay/v1/accounts", pay_accounts_open, CM_AUTH_REQUIRED, 0},
    {"GET", "/pay/v1/accounts/:id", pay_accounts_get, CM_AUTH_REQUIRED, 0},
    {"GET", "/pay/v1/accounts/:id/entries", pay_accounts_entries,
        CM_AUTH_REQUIRED, 0},
    {"GET", "/pay/v1/currencies", pay_accounts_currencies, CM_AUTH_REQUIRED, 0},
    {0},
};
