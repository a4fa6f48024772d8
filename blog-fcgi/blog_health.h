/*
 * blog_health.h: liveness (no database) and readiness (database answers).
 */
#ifndef BLOG_HEALTH_H
#define BLOG_HEALTH_H

#include "cm_err.h"
#include "cm_req.h"

enum cm_err blog_health_live(struct cm_req *req);
enum cm_err blog_health_ready(struct cm_req *req);

#endif
