/*
 * pay_deposits.h: sandbox deposits (PAY_SANDBOX=1), and reading one.
 */
#ifndef PAY_DEPOSITS_H
#define PAY_DEPOSITS_H

#include "cm_router.h"

/* The routes it serves, for cm_router_join; its handlers are static. */
extern const struct cm_route pay_deposits_routes[];

#endif
