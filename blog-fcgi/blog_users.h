/*
 * blog_users.h: registration, login, the current user and its update.
 */
#ifndef BLOG_USERS_H
#define BLOG_USERS_H

#include "cm_err.h"
#include "cm_req.h"

enum cm_err blog_users_register(struct cm_req *req);
enum cm_err blog_users_login(struct cm_req *req);
enum cm_err blog_users_current(struct cm_req *req);
enum cm_err blog_users_update(struct cm_req *req);
enum cm_err blog_users_logout_all(struct cm_req *req);

#endif
