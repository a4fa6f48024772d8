/*
 * pay_deposits.h: sandbox deposits (PAY_SANDBOX=1), and reading one.
 */
#ifndef PAY_DEPOSITS_H
#define PAY_DEPOSITS_H

#include "cm_err.h"
#include "cm_req.h"

enum cm_err pay_deposits_create(struct cm_req *req);
enum cm_err pay_deposits_get(struct cm_req *req);

#endif
