/*
 * blog_cache.c: answers to reads kept per replica (see blog_cache.h).
 *
 * Why it is never stale: every committed write that a kept answer can show
 * raises the data version in the same transaction (triggers, migration
 * 010). A request reads the version once, after it began; an answer is kept
 * under the version read before the queries that made it, and served only
 * to a request that read that very version. A write acknowledged before a
 * request began committed its bump before that, so the request reads a
 * higher version than any answer made before the write, whichever replica
 * made it, and misses. The version is read from the primary (Galera:
 * wsrep_sync_wait, tests/ha) like every other read.
 *
 * What it costs: one small read per request, shared by all requests that
 * arrive while one is in flight (blog_cache_version). A write makes every
 * kept answer useless (one version for everything: simple, and a replica
 * refills in one request per key); writes cost one row update per changed
 * row in the same transaction.
 *
 * The table is direct-mapped (a key's slot is its hash): a colliding key
 * replaces the older answer. All kept answers share one version, so a new
 * version empties the table at once instead of leaving it full of answers
 * nobody can use.
 */
#include <pthread.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "blog.h"
#include "blog_cache.h"
#include "blog_db.h"
#include "blog_idem.h"
#include "cm_json.h"
#include "cm_log.h"

#define BLOG_CACHE_SLOTS 8192 /* a power of two */

struct blog_cache_entry {
	uint64_t hash;
	char *key; /* key, NUL, then the body: one allocation */
	char *body;
	size_t len;
};

struct blog_cache {
	pthread_mutex_t mu; /* the table */
	struct blog_cache_entry slot[BLOG_CACHE_SLOTS];
	long long version; /* of every kept answer; 0: none yet */
	size_t bytes, max_bytes, max_entry;
	unsigned long long hits, misses;

	pthread_mutex_t gmu; /* the version reads */
	pthread_cond_t gcv;
	unsigned long long started; /* reads begun */
	unsigned long long done; /* the last read finished */
	int busy; /* a read is in flight */
	enum cm_err grc; /* the last read's result */
	long long gver;
	unsigned long long callers; /* of blog_cache_version */
};

/* FNV-1a, 64 bits: keys are short, and no one gains by colliding them
 * (a collision only replaces another key's answer). */
static uint64_t
blog_cache_hash(const char *key)
{
	uint64_t h = 14695981039346656037ULL;

	for (; *key != '\0'; key++) {
		h ^= (unsigned char)*key;
		h *= 1099511628211ULL;
	}
	return h;
}

struct blog_cache *
blog_cache_new(size_t max_bytes)
{
	struct blog_cache *c;

	if ((c = calloc(1, sizeof(*c))) == NULL)
		return NULL;
	c->max_bytes = max_bytes;
	c->max_entry = max_bytes / 64;
	pthread_mutex_init(&c->mu, NULL);
	pthread_mutex_init(&c->gmu, NULL);
	pthread_cond_init(&c->gcv, NULL);
	return c;
}

/* Drop every kept answer; c->mu held. */
static void
blog_cache_flush(struct blog_cache *c)
{
	size_t i;

	for (i = 0; i < BLOG_CACHE_SLOTS; i++) {
		free(c->slot[i].key);
		memset(&c->slot[i], 0, sizeof(c->slot[i]));
	}
	c->bytes = 0;
}

void
blog_cache_free(struct blog_cache *c)
{
	if (c == NULL)
		return;
	blog_cache_flush(c);
	pthread_mutex_destroy(&c->mu);
	pthread_mutex_destroy(&c->gmu);
	pthread_cond_destroy(&c->gcv);
	free(c);
}

enum cm_err
blog_cache_version(
    struct blog_cache *c, blog_cache_read_fn read, void *arg, long long *ver)
{
	unsigned long long need, gen;
	long long v = 0;
	enum cm_err rc;

	*ver = 0;
	pthread_mutex_lock(&c->gmu);
	c->callers++;
	/*
	 * A read already in flight may have read the version before this
	 * request began: only one that starts from now on will do.
	 */
	need = c->started + 1;
	for (;;) {
		if (c->done >= need) {
			rc = c->grc;
			*ver = c->gver;
			break;
		}
		if (!c->busy) {
			gen = ++c->started;
			c->busy = 1;
			pthread_mutex_unlock(&c->gmu);
			rc = read(arg, &v);
			pthread_mutex_lock(&c->gmu);
			c->busy = 0;
			c->done = gen;
			c->grc = rc;
			c->gver = v;
			pthread_cond_broadcast(&c->gcv);
			*ver = v;
			break;
		}
		pthread_cond_wait(&c->gcv, &c->gmu);
	}
	pthread_mutex_unlock(&c->gmu);
	return rc;
}

int
blog_cache_get(struct blog_cache *c, const char *key, long long ver,
    char **body, size_t *len)
{
	struct blog_cache_entry *e;
	uint64_t h = blog_cache_hash(key);
	int found = 0;

	*body = NULL;
	*len = 0;
	pthread_mutex_lock(&c->mu);
	e = &c->slot[h & (BLOG_CACHE_SLOTS - 1)];
	if (ver == c->version && e->key != NULL && e->hash == h &&
	    strcmp(e->key, key) == 0) {
		/* +1: a NUL after the copy, for callers that want a string */
		if ((*body = malloc(e->len + 1)) == NULL) {
			pthread_mutex_unlock(&c->mu);
			return -1;
		}
		memcpy(*body, e->body, e->len);
		(*body)[e->len] = '\0';
		*len = e->len;
		found = 1;
	}
	if (found)
		c->hits++;
	else
		c->misses++;
	pthread_mutex_unlock(&c->mu);
	return found;
}

void
blog_cache_put(struct blog_cache *c, const char *key, long long ver,
    const char *body, size_t len)
{
	struct blog_cache_entry *e;
	uint64_t h = blog_cache_hash(key);
	size_t klen = strlen(key), size = klen + 1 + len;
	char *mem;

	if (len > c->max_entry || (mem = malloc(size)) == NULL)
		return;
	memcpy(mem, key, klen + 1);
	memcpy(mem + klen + 1, body, len);
	pthread_mutex_lock(&c->mu);
	if (ver > c->version) {
		blog_cache_flush(c);
		c->version = ver;
	}
	e = &c->slot[h & (BLOG_CACHE_SLOTS - 1)];
	if (ver != c->version ||
	    c->bytes - (e->key != NULL ? e->len : 0) + len > c->max_bytes) {
		pthread_mutex_unlock(&c->mu);
		free(mem);
		return;
	}
	if (e->key != NULL)
		c->bytes -= e->len;
	free(e->key);
	e->hash = h;
	e->key = mem;
	e->body = mem + klen + 1;
	e->len = len;
	c->bytes += len;
	pthread_mutex_unlock(&c->mu);
}

void
blog_cache_stats(struct blog_cache *c, unsigned long long *hits,
    unsigned long long *misses, unsigned long long *reads,
    unsigned long long *callers)
{
	pthread_mutex_lock(&c->mu);
	*hits = c->hits;
	*misses = c->misses;
	pthread_mutex_unlock(&c->mu);
	pthread_mutex_lock(&c->gmu);
	*reads = c->done;
	*callers = c->callers;
	pthread_mutex_unlock(&c->gmu);
}

/* The blog's side: the version comes from the worker's connection. */

struct blog_cache_reader {
	struct blog_db *db;
	const char *rid;
};

static enum cm_err
blog_cache_read_db(void *arg, long long *ver)
{
	struct blog_cache_reader *r = arg;

	return blog_db_read_version(r->db, r->rid, ver);
}

/* The version for this request, read once (req->data_version). */
static enum cm_err
blog_cache_req_version(struct cm_req *req, struct blog_cache *c)
{
	struct blog_cache_reader r = {req->worker, req->request_id};
	enum cm_err rc;

	if (req->data_version > 0)
		return CM_OK;
	if (req->worker == NULL)
		return CM_EUNAVAIL;
	rc = blog_cache_version(c, blog_cache_read_db, &r, &req->data_version);
	if (rc != CM_OK)
		req->data_version = 0;
	return rc;
}

static struct blog_cache *
blog_cache_of(const struct cm_req *req)
{
	const struct blog_app *app = req->app;

	return app != NULL ? app->cache : NULL;
}

enum cm_err
blog_cache_ident(struct cm_req *req, long long user_id, long long *ident_ver)
{
	struct blog_cache *c = blog_cache_of(req);
	char key[32], *body = NULL, buf[32];
	size_t len;
	enum cm_err rc;
	int n;

	if (c == NULL)
		return blog_db_user_ver(
		    req->worker, req->request_id, user_id, ident_ver);
	if ((rc = blog_cache_req_version(req, c)) != CM_OK)
		return rc;
	/* Paths start with '/': an identity key never meets an answer's. */
	snprintf(key, sizeof(key), "ident %lld", user_id);
	n = blog_cache_get(c, key, req->data_version, &body, &len);
	if (n < 0)
		return CM_ENOMEM;
	if (n > 0) {
		*ident_ver = strtoll(body, NULL, 10);
		free(body);
		return CM_OK;
	}
	rc = blog_db_user_ver(req->worker, req->request_id, user_id, ident_ver);
	if (rc != CM_OK)
		return rc;
	n = snprintf(buf, sizeof(buf), "%lld", *ident_ver);
	blog_cache_put(c, key, req->data_version, buf, (size_t)n);
	return CM_OK;
}

/*
 * The key: who asks (favorited and following are the viewer's), the path
 * and the raw query. Another spelling of the same query is another key,
 * which costs a miss, never a wrong answer.
 */
static char *
blog_cache_key(struct cm_req *req)
{
	size_t n = strlen(req->path) + strlen(req->query_string) + 32;
	char *key;

	if ((key = cm_req_alloc(req, n)) == NULL)
		return NULL;
	snprintf(
	    key, n, "%lld %s?%s", req->user_id, req->path, req->query_string);
	return key;
}

enum cm_err
blog_cache_around(struct cm_req *req, cm_handler handler)
{
	struct blog_cache *c = blog_cache_of(req);
	char *key, *body = NULL;
	size_t len = 0;
	long long ver;
	enum cm_err rc;
	int n;

	if (c == NULL || req->matched == NULL ||
	    (req->matched->flags & CM_ROUTE_CACHE) == 0 ||
	    strcmp(req->method, "GET") != 0)
		return blog_idem_around(req, handler);
	if ((rc = blog_cache_req_version(req, c)) != CM_OK)
		return rc;
	ver = req->data_version;
	if ((key = blog_cache_key(req)) == NULL)
		return CM_ENOMEM;
	n = blog_cache_get(c, key, ver, &body, &len);
	if (n < 0)
		return CM_ENOMEM;
	if (n > 0) {
		if ((rc = cm_resp_raw(&req->resp, 200, body, len)) != CM_OK)
			return rc;
		return cm_resp_header(&req->resp, "X-Blog-Cache", "hit");
	}
	if ((rc = handler(req)) != CM_OK)
		return rc;
	/* Errors and answers with headers of their own are not kept. */
	if (req->resp.status != 200 || req->resp.nheaders != 0 ||
	    (req->resp.body == NULL && req->resp.raw == NULL))
		return CM_OK;
	if (req->resp.raw == NULL) {
		if ((body = cm_json_dump(req->resp.body, &len)) == NULL)
			return CM_ENOMEM;
		if ((rc = cm_resp_raw(&req->resp, 200, body, len)) != CM_OK)
			return rc;
	}
	blog_cache_put(c, key, ver, req->resp.raw, req->resp.raw_len);
	return cm_resp_header(&req->resp, "X-Blog-Cache", "miss");
}
