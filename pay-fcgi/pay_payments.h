/*
 * pay_payments.h: payments between users and their refunds.
 */
#ifndef PAY_PAYMENTS_H
#define PAY_PAYMENTS_H

#include "cm_router.h"

/* The routes it serves, for cm_router_join; its handlers are static. */
extern const struct cm_route pay_payments_routes[];

#endif
