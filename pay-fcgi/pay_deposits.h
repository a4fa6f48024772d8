/*
 * pay_deposits.h: sandbox deposits (PAY_SANDBOX=1).
 */
#ifndef PAY_DEPOSITS_H
#define PAY_DEPOSITS_H

#include "cm_err.h"
#include "cm_req.h"

enum cm_err pay_deposits_create(struct cm_req *req);

#endif
