/*
 * blog_cache.h: answers to reads kept per replica, served only while the
 * data version they were read at is still the current one.
 */
#ifndef BLOG_CACHE_H
#define BLOG_CACHE_H

#include <stddef.h>
#include <stdint.h>

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
 * Share version reads over a window of window_us microseconds (0, the
 * default: no window): see blog_cache_version. Set before the cache is
 * used; every replica's writes must then wait blog_cache_write_wait.
 */
void blog_cache_window(struct blog_cache *c, long long window_us);

/*
 * The data version as of some moment after this call began, less the
 * window: concurrent callers share one read (read(arg, ...) by one of them)
 * as long as it started after each of them arrived, or less than the
 * window before, so a replica under load pays one database round trip per
 * batch of requests or per window, not per request. A failed read fails
 * every caller waiting when it ended, including those that arrived after
 * it began (the database is down or hung for them too: no second wait),
 * and is never reused by a later caller.
 */
enum cm_err blog_cache_version(
    struct blog_cache *c, blog_cache_read_fn read, void *arg, long long *ver);

/*
 * What a write waits after its commit, before it is answered, so that
 * readers sharing version reads over window_us never miss it: window_us
 * plus a margin for clocks that run at slightly different rates. 0 when
 * window_us is 0.
 */
long long blog_cache_write_wait_us(long long window_us);

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

/*
 * The hash that places key in the table: FNV-1a, 64 bits. Keys are short,
 * and no one gains by colliding them (a collision only replaces another
 * key's answer); tests use it to make keys that collide.
 */
uint64_t blog_cache_hash(const char *key);

/* Counters since start, for tests and the bench. */
void blog_cache_stats(struct blog_cache *c, unsigned long long *hits,
    unsigned long long *misses, unsigned long long *reads,
    unsigned long long *callers);

/*
 * The counters and the fill in Prometheus' text format, for /metrics
 * (a cm_metrics_extra_fn; arg is the cache).
 */
int blog_cache_metrics(void *arg, char *buf, size_t cap);

/*
 * The blog's use (req->app is a struct blog_app, req->worker a blog_db).
 * blog_cache_around runs a CM_ROUTE_CACHE handler from the cache when it
 * can and keeps its 200 answers; other routes go to blog_idem_around.
 * blog_cache_ident is the user's identity version, from the cache when
 * nothing was written since it was read. A request that may write (any
 * method but GET and HEAD) is answered only after blog_cache_write_wait_us
 * of the app's read_window_us, cache or none on this replica.
 */
enum cm_err blog_cache_around(struct cm_req *req, cm_handler handler);
enum cm_err blog_cache_ident(
    struct cm_req *req, long long user_id, long long *ident_ver);

#endif
