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

static const char *const pay_payments_fields[] = {
    "to", "amount", "currency", "description", "reference", NULL};
static const char *const pay_payments_refund_fields[] = {"amount", NULL};

static enum cm_err
pay_payments_create(struct cm_req *req)
{
	struct pay_check_err e;
	const char *to, *description, *reference;
	struct pay_db_move m;
	char currency[4];
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
	if (pay_db_move_params(req, amount, &m) != CM_OK)
		return CM_ENOMEM;
	return pay_db_call(req, PAY_STMT_PAYMENT,
	    (const char *const[]){m.uid, req->username, req->idempotency_key,
	        m.fp, to, currency, m.amount, description, reference});
}

static enum cm_err
pay_payments_list(struct cm_req *req)
{
	const char *dir = cm_req_query(req, "direction");

	if (dir == NULL)
		dir = "all";
	if (strcmp(dir, "all") != 0 && strcmp(dir, "sent") != 0 &&
	    strcmp(dir, "received") != 0)
		return pay_error(&req->resp, 400, "invalid_request_error",
		    "parameter_invalid",
		    "direction must be sent, received "
		    "or all.",
		    "direction");
	return pay_db_page(req, PAY_STMT_PAYMENTS_LIST, dir);
}

static enum cm_err
pay_payments_get(struct cm_req *req)
{
	return pay_db_object(req, PAY_STMT_PAYMENT_GET, "payment");
}

static enum cm_err
pay_payments_refund(struct cm_req *req)
{
	struct pay_check_err e;
	const char *id = cm_req_param(req, "id");
	struct pay_db_move m;
	long long amount;

	if (pay_check_body(req->content_type, req->body, req->body_len,
	        pay_payments_refund_fields, &req->json, &e) != CM_OK ||
	    pay_check_key(req->idempotency_key, &e) != CM_OK)
		return pay_error_check(&req->resp, &e);
	if (!pay_check_id_ok(id))
		return pay_error_not_found(&req->resp, "payment");
	if (pay_check_amount(
	        req->json, "amount", 0, PAY_AMOUNT_MAX, &amount, &e) != CM_OK)
		return pay_error_check(&req->resp, &e);
	if (pay_db_move_params(req, amount, &m) != CM_OK)
		return CM_ENOMEM;
	/* No amount (0) is NULL: refund what remains. */
	return pay_db_call(req, PAY_STMT_REFUND,
	    (const char *const[]){m.uid, req->idempotency_key, m.fp, id,
	        amount > 0 ? m.amount : NULL});
}

static enum cm_err
pay_payments_refunds(struct cm_req *req)
{
	return pay_db_page_of(req, PAY_STMT_REFUNDS_LIST, "payment");
}

const struct cm_route pay_payments_routes[] = {
    {"GET", "/pay/v1/payments", pay_payments_list, CM_AUTH_REQUIRED, 0},
    {"POST", "/pay/v1/payments", pay_payments_create, CM_AUTH_REQUIRED, 0},
    {"GET", "/pay/v1/payments/:id", pay_payments_get, CM_AUTH_REQUIRED, 0},
    {"GET", "/pay/v1/payments/:id/refunds", pay_payments_refunds,
        CM_AUTH_REQUIRED, 0},
    {"POST", "/pay/v1/payments/:id/refunds", pay_payments_refund,
        CM_AUTH_REQUIRED, 0},
    {0},
};
