/*
 * pay_accounts.h: the caller's accounts: list, open, one account, its
 * statement; and the currencies an account may be opened in.
 */
#ifndef PAY_ACCOUNTS_H
#define PAY_ACCOUNTS_H

#include "cm_router.h"

/* The routes it serves, for cm_router_join; its handlers are static. */
extern const struct cm_route pay_accounts_routes[];

#endif
