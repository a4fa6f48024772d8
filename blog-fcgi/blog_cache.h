/*
 * blog_cache.h: answers to reads kept per replica, served only while the
 * data version they were read at is still the current one.
 */
#ifndef BLOG_CACHE_H
#define BLOG_CACHE_H

#include <stddef.h>

#include "cm_err.h"
#include "cm_req.h"
#include "cm_router.h"

struct blog_cache;

/* Read the current data version into *ver (blog_db_read_version). */
typedef enum cm_err (*blog_cache_read_fn)(void *arg, long long *ver);

/*
 * A cache holding at most max_bytes of answers (an answer larger than a
 * sixty-fourth of that is never kept). NULL on out of memory.
 */
struct blog_cache *blog_cache_new(size_t max_bytes);
void blog_cache_free(struct blog_cache *c);

/*
 * The data version as of some moment after this call began: concurrent
 * callers share one read (read(arg, ...) by one of them) as long as it
 * started after each of them arrived, so a replica under load pays one
 * database round trip per batch of requests, not per request. A failed
 * read fails every caller that waited for it.
 */
enum cm_err blog_cache_version(
    struct blog_cache *c, blog_cache_read_fn read, void *arg, long long *ver);

/*
 * A copy of the answer kept for key at version ver: 1 and *body (caller
 * frees) when there is one, 0 when not, -1 on out of memory.
 */
int blog_cache_get(struct blog_cache *c, const char *key, long long ver,
    char **body, size_t *len);

/*
 * Keep body for key, read at version ver (the version read before the
 * queries that made it). A newer version drops every older answer; an
 * answer older than the newest kept is not kept.
 */
void blog_cache_put(struct blog_cache *c, const char *key, long long ver,
    const char *body, size_t len);

/* Counters since start, for tests and the bench. */
void blog_cache_stats(struct blog_cache *c, unsigned long long *hits,
    unsigned long long *misses, unsigned long long *reads,
    unsigned long long *callers);

/*
 * The blog's use (req->app is a struct blog_app, req->worker a blog_db).
 * blog_cache_around runs a CM_ROUTE_CACHE handler from the cache when it
 * can and keeps its 200 answers; other routes go to blog_idem_around.
 * blog_cache_ident is the user's identity version, from the cache when
 * nothing was written since it was read.
 */
enum cm_err blog_cache_around(struct cm_req *req, cm_handler handler);
enum cm_err blog_cache_ident(
    struct cm_req *req, long long user_id, long long *ident_ver);

#endif
