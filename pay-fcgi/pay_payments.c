/*
 * pay_payments.c: payments between users and their refunds.
 *
 * A payment or refund is validated here, then decided and carried out by
 * one SQL function in one transaction together with its Idempotency-Key
 * record (see R__functions.sql). The payer and the payee may read a
 * payment; anyone else gets 404. Only the payee may refund.
 */
#include <stdio.h>
#include <string.h>

#include "cm_ident.h"
#include "pay.h"
#include "pay_payments.h"
#include "pay_check.h"
#include "pay_db.h"
#include "pay_error.h"

static enum cm_err
pay_payments_not_found(struct cm_req *req)
{
	return pay_error(&req->resp, 404, "not_found_error", "no_such_payment",
	    "No such payment.", NULL);
}

static const char *const pay_payments_fields[] = {
    "to", "amount", "currency", "description", "reference", NULL};
static const char *const pay_payments_refund_fields[] = {"amount", NULL};

enum cm_err
pay_payments_create(struct cm_req *req)
{
	struct pay_check_err e;
	const char *params[9], *to, *description, *reference;
	char uid[24], amt[24], currency[4], fp[PAY_FINGERPRINT_LEN + 1];
	long long amount;

	if (pay_check_body(req->content_type, req->body, req->body_len,
	        pay_payments_fields, &req->json, &e) != CM_OK ||
	    pay_check_key(req->idempotency_key, &e) != CM_OK ||
	    pay_check_text(req->json, "to", PAY_NAME_MAX, 1, &to, &e) !=
	        CM_OK ||
	    pay_check_amount(
	        req->json, "amount", 1, PAY_AMOUNT_MAX, &amount, &e) != CM_OK ||
	    pay_check_currency(req->json, currency, &e) != CM_OK ||
	    pay_check_text(req->json, "description", PAY_DESCRIPTION_MAX, 0,
	        &description, &e) != CM_OK ||
	    pay_check_text(req->json, "reference", PAY_REFERENCE_MAX, 0,
	        &reference, &e) != CM_OK)
		return pay_error_check(&req->resp, &e);
	/*
	 * Reserved names belong to the platform (the system funding accounts
	 * appear as "system" in statements), never to a payee: refused before
	 * any lookup, so no directory entry can ever make them resolve.
	 */
	if (cm_ident_reserved(to, strlen(to)))
		return pay_error(&req->resp, 400, "invalid_request_error",
		    "parameter_invalid",
		    "to names the platform (a reserved name), not a user.",
		    "to");
	if (strcmp(to, req->username) == 0)
		return pay_error(&req->resp, 400, "invalid_request_error",
		    "parameter_invalid", "You cannot pay yourself.", "to");
	if (pay_check_fingerprint(req->method, req->path, req->json, fp) !=
	    CM_OK)
		return CM_ENOMEM;
	snprintf(uid, sizeof(uid), "%lld", req->user_id);
	snprintf(amt, sizeof(amt), "%lld", amount);
	params[0] = uid;
	params[1] = req->username;
	params[2] = req->idempotency_key;
	params[3] = fp;
	params[4] = to;
	params[5] = currency;
	params[6] = amt;
	params[7] = description;
	params[8] = reference;
	return pay_db_call(req, PAY_STMT_PAYMENT, params);
}

enum cm_err
pay_payments_list(struct cm_req *req)
{
	struct pay_check_err e;
	const char *params[4], *dir = cm_req_query(req, "direction");
	const char *after = cm_req_query(req, "starting_after");
	char uid[24], lim[8];
	int limit;

	if (dir == NULL)
		dir = "all";
	if (strcmp(dir, "all") != 0 && strcmp(dir, "sent") != 0 &&
	    strcmp(dir, "received") != 0)
		return pay_error(&req->resp, 400, "invalid_request_error",
		    "parameter_invalid",
		    "direction must be sent, received "
		    "or all.",
		    "direction");
	if (pay_check_limit(cm_req_query(req, "limit"), &limit, &e) != CM_OK ||
	    pay_check_cursor(after, &e) != CM_OK)
		return pay_error_check(&req->resp, &e);
	snprintf(uid, sizeof(uid), "%lld", req->user_id);
	snprintf(lim, sizeof(lim), "%d", limit);
	params[0] = uid;
	params[1] = dir;
	params[2] = after;
	params[3] = lim;
	return pay_db_call(req, PAY_STMT_PAYMENTS_LIST, params);
}

enum cm_err
pay_payments_get(struct cm_req *req)
{
	const char *params[2], *id = cm_req_param(req, "id");
	char uid[24];

	if (!pay_check_id_ok(id))
		return pay_payments_not_found(req);
	snprintf(uid, sizeof(uid), "%lld", req->user_id);
	params[0] = uid;
	params[1] = id;
	return pay_db_call(req, PAY_STMT_PAYMENT_GET, params);
}

enum cm_err
pay_payments_refund(struct cm_req *req)
{
	struct pay_check_err e;
	const char *params[5], *id = cm_req_param(req, "id");
	char uid[24], amt[24], fp[PAY_FINGERPRINT_LEN + 1];
	long long amount;

	if (pay_check_body(req->content_type, req->body, req->body_len,
	        pay_payments_refund_fields, &req->json, &e) != CM_OK ||
	    pay_check_key(req->idempotency_key, &e) != CM_OK)
		return pay_error_check(&req->resp, &e);
	if (!pay_check_id_ok(id))
		return pay_payments_not_found(req);
	if (pay_check_amount(
	        req->json, "amount", 0, PAY_AMOUNT_MAX, &amount, &e) != CM_OK)
		return pay_error_check(&req->resp, &e);
	if (pay_check_fingerprint(req->method, req->path, req->json, fp) !=
	    CM_OK)
		return CM_ENOMEM;
	snprintf(uid, sizeof(uid), "%lld", req->user_id);
	snprintf(amt, sizeof(amt), "%lld", amount);
	params[0] = uid;
	params[1] = req->idempotency_key;
	params[2] = fp;
	params[3] = id;
	params[4] = amount > 0 ? amt : NULL; /* NULL: what remains */
	return pay_db_call(req, PAY_STMT_REFUND, params);
}

enum cm_err
pay_payments_refunds(struct cm_req *req)
{
	struct pay_check_err e;
	const char *params[4], *id = cm_req_param(req, "id");
	const char *after = cm_req_query(req, "starting_after");
	char uid[24], lim[8];
	int limit;

	if (!pay_check_id_ok(id))
		return pay_payments_not_found(req);
	if (pay_check_limit(cm_req_query(req, "limit"), &limit, &e) != CM_OK ||
	    pay_check_cursor(after, &e) != CM_OK)
		return pay_error_check(&req->resp, &e);
	snprintf(uid, sizeof(uid), "%lld", req->user_id);
	snprintf(lim, sizeof(lim), "%d", limit);
	params[0] = uid;
	params[1] = id;
	params[2] = after;
	params[3] = lim;
	return pay_db_call(req, PAY_STMT_REFUNDS_LIST, params);
}
