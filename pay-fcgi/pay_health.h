/*
 * pay_health.h: liveness (no database) and readiness (database answers).
 */
#ifndef PAY_HEALTH_H
#define PAY_HEALTH_H

#include "cm_err.h"
#include "cm_req.h"

enum cm_err pay_health_live(struct cm_req *req);
enum cm_err pay_health_ready(struct cm_req *req);

#endif
