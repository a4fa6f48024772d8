/*
 * blog_health.h: liveness (no database) and readiness (database answers).
 */
#ifndef BLOG_HEALTH_H
#define BLOG_HEALTH_H

#include "cm_router.h"

/* The routes it serves, for cm_router_join; its handlers are static. */
extern const struct cm_route blog_health_routes[];

#endif
