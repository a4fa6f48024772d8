/*
 * pay_health.h: liveness (no database) and readiness (database answers).
 */
#ifndef PAY_HEALTH_H
#define PAY_HEALTH_H

#include "cm_router.h"

/* The routes it serves, for cm_router_join; its handlers are static. */
extern const struct cm_route pay_health_routes[];

#endif
