/*
 * pay_accounts.h: the caller's accounts: list, open, one account, its
 * statement; and the currencies an account may be opened in.
 */
#ifndef PAY_ACCOUNTS_H
#define PAY_ACCOUNTS_H

#include "cm_err.h"
#include "cm_req.h"

enum cm_err pay_accounts_list(struct cm_req *req);
enum cm_err pay_accounts_open(struct cm_req *req);
enum cm_err pay_accounts_get(struct cm_req *req);
enum cm_err pay_accounts_entries(struct cm_req *req);
enum cm_err pay_accounts_currencies(struct cm_req *req);

#endif
