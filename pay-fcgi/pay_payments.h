/*
 * pay_payments.h: payments between users and their refunds.
 */
#ifndef PAY_PAYMENTS_H
#define PAY_PAYMENTS_H

#include "cm_err.h"
#include "cm_req.h"

enum cm_err pay_payments_create(struct cm_req *req);
enum cm_err pay_payments_list(struct cm_req *req);
enum cm_err pay_payments_get(struct cm_req *req);
enum cm_err pay_payments_refund(struct cm_req *req);
enum cm_err pay_payments_refunds(struct cm_req *req);

#endif
