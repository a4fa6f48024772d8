/*
 * blog_users.h: registration, login, the current user and its update.
 */
#ifndef BLOG_USERS_H
#define BLOG_USERS_H

#include "cm_router.h"

/* The routes it serves, for cm_router_join; its handlers are static. */
extern const struct cm_route blog_users_routes[];

#endif
