/*
 * blog_migrate.h: `blog-fcgi --migrate`: apply blog_migrations[] in order.
 */
#ifndef BLOG_MIGRATE_H
#define BLOG_MIGRATE_H

#include "blog.h"

/*
 * Connect (waiting up to wait_seconds for the database to come up), take
 * GET_LOCK('blog_migrate') so that replicas starting together never race,
 * and apply each migration not yet recorded in schema_migrations. Returns 0,
 * or -1 after logging why.
 */
int blog_migrate_run(const struct blog_app *app, int wait_seconds);

#endif
