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
 * arrive while one is in flight (blog_cache_version); a read that fails
 * fails the requests waiting for it. A write makes every
 * kept answer useless (one version for everything: simple, and a replica
 * refills in one request per key); writes cost one row update per changed
 * row in the same transaction.
 *
 * The window (BLOG_READ_VERSION_WINDOW_US, W): a request may also use a
 * version read that began less than W before the request did, if every
 * write waits W after its commit before it is answered. Why that is still
 * never stale, with durations only (each on its own host's monotonic
 * clock; no clocks are compared across hosts):
 *   - a write commits at c and is answered at a >= c + W (it waits);
 *   - a request acknowledged-after that write begins at b > a, and
 *     blog_cache_version is called at t >= b;
 *   - it uses a read whose query was sent at s >= r, where r is when the
 *     read was recorded as begun (before sending) and t - r < W;
 *   so s >= r > t - W >= b - W > a - W >= c: the read reached the database
 * after the commit returned and sees it (InnoDB gives each autocommit
 * SELECT a fresh snapshot; Galera reads wait for it, wsrep_sync_wait). The
 * two durations are measured on different hosts' clocks, whose rates may
 * differ by NTP's slew limit (500 ppm): writes wait W plus a sixteenth
 * (blog_cache_write_wait_us), far more than that. The price: every write
 * is answered W later (default 1 ms against writes of 10-70 ms), a writing
 * worker sleeps meanwhile, and every replica must run with a W no larger
 * than the writers' (one setting for the service). A write by hand in SQL,
 * or by a replica without the wait (an older binary during a rolling
 * upgrade), may be missed for up to W after its commit.
 *
 * The table is set-associative: a key's hash picks a set of four slots,
 * and a key that finds its set full replaces the answer used least
 * recently. (Direct-mapped, a colliding pair kept replacing each other:
 * 20,000 articles in 65,536 slots missed 14 % of reads once all were kept;
 * four ways leave about 1 %.) When the byte budget is full, a clock sweep
 * drops answers not read lately, wherever they are, to make room
 * (blog_cache_room). All kept answers share one version, so a new
 * version empties the table at once instead of leaving it full of answers
 * nobody can use.
 */
#include <errno.h>
#include <pthread.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "blog.h"
#include "blog_cache.h"
#include "blog_db.h"
#include "blog_idem.h"
#include "cm_clock.h"
#include "cm_json.h"
#include "cm_log.h"

/*
 * A power of two; 2.5 MiB of slots. The bench reads 20,000 articles at
 * random: with 8192 slots most of them could never stay.
 */
#define BLOG_CACHE_SLOTS 65536
#define BLOG_CACHE_WAYS 4
#define BLOG_CACHE_SETS (BLOG_CACHE_SLOTS / BLOG_CACHE_WAYS)
/*
 * The most slots one put looks at to make room (blog_cache_room): two
 * turns of the clock, so that room is found whenever answers not being
 * read add up to it. Usually a few slots do (the answers are mostly
 * unread ones); the worst case, a sparse table of large answers all read
 * lately, is 131,072 slot checks under the lock (not measured).
 */
#define BLOG_CACHE_SWEEP ((size_t)2 * BLOG_CACHE_SLOTS)

struct blog_cache_entry {
	uint64_t hash;
	char *key; /* key, NUL, then the body: one allocation */
	char *body;
	size_t len;
	unsigned long long used_at; /* the cache's tick at its last use */
	int ref; /* read since the clock hand last passed */
};

struct blog_cache {
	pthread_mutex_t mu; /* the table */
	struct blog_cache_entry slot[BLOG_CACHE_SLOTS];
	long long version; /* of every kept answer; 0: none yet */
	size_t bytes, max_bytes, max_entry;
	size_t used; /* slots holding an answer */
	unsigned long long tick; /* counts gets and puts, for used_at */
	size_t hand; /* the clock's: next slot blog_cache_room looks at */
	unsigned long long hits, misses;

	pthread_mutex_t gmu; /* the version reads */
	pthread_cond_t gcv;
	unsigned long long started; /* reads begun */
	unsigned long long done; /* the last read finished */
	int busy; /* a read is in flight */
	long long busy_us; /* when the read in flight began (cm_clock_us) */
	enum cm_err grc; /* the last read's result */
	long long gver;
	long long gbegan_us; /* when the last read began */
	long long window_us; /* blog_cache_window; 0: none */
	unsigned long long callers; /* of blog_cache_version */
};

uint64_t
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

/* Drop one kept answer; c->mu held. */
static void
blog_cache_drop(struct blog_cache *c, struct blog_cache_entry *e)
{
	free(e->key);
	c->bytes -= e->len;
	c->used--;
	memset(e, 0, sizeof(*e));
}

/* Drop every kept answer; c->mu held. */
static void
blog_cache_flush(struct blog_cache *c)
{
	size_t i;

	/* Every write ends here once: skip the empty slots quickly. */
	for (i = 0; c->used > 0 && i < BLOG_CACHE_SLOTS; i++)
		if (c->slot[i].key != NULL)
			blog_cache_drop(c, &c->slot[i]);
}

/*
 * Make room for an answer that needs need more bytes than the budget has,
 * sparing keep (the slot it goes to): a clock sweep over the whole table
 * drops the answers not read since the hand last passed and clears the
 * mark of those that were, for at most BLOG_CACHE_SWEEP slots. Without it
 * a full budget kept a new answer only in place of a larger one in its
 * own set: at x50 the bench's articles filled the 32 MiB and a 20 KB list
 * page, once replaced, was never kept again. c->mu held.
 */
static void
blog_cache_room(
    struct blog_cache *c, const struct blog_cache_entry *keep, size_t need)
{
	struct blog_cache_entry *e;
	size_t n;

	for (n = 0; c->bytes + need > c->max_bytes && n < BLOG_CACHE_SWEEP;
	     n++) {
		e = &c->slot[c->hand];
		c->hand = (c->hand + 1) & (BLOG_CACHE_SLOTS - 1);
		if (e->key == NULL || e == keep)
			continue;
		if (e->ref) {
			e->ref = 0;
			continue;
		}
		blog_cache_drop(c, e);
	}
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

void
blog_cache_window(struct blog_cache *c, long long window_us)
{
	c->window_us = window_us > 0 ? window_us : 0;
}

long long
blog_cache_write_wait_us(long long window_us)
{
	/* The margin: see the top comment (clock rates, not offsets). */
	return window_us > 0 ? window_us + window_us / 16 + 1 : 0;
}

enum cm_err
blog_cache_version(
    struct blog_cache *c, blog_cache_read_fn read, void *arg, long long *ver)
{
	unsigned long long need, gen, seen;
	long long v = 0, now = cm_clock_us(), began;
	enum cm_err rc;

	*ver = 0;
	pthread_mutex_lock(&c->gmu);
	c->callers++;
	seen = c->done;
	/*
	 * A read already in flight may have read the version before this
	 * request began: only one that starts from now on will do, or, with
	 * a window, one that began less than the window before now.
	 */
	need = c->started + 1;
	if (c->busy && now - c->busy_us < c->window_us)
		need = c->started;
	for (;;) {
		if (c->done >= need) {
			rc = c->grc;
			*ver = c->gver;
			break;
		}
		/*
		 * A read that failed while this caller waited fails it too. A
		 * failure holds no version, so it cannot be stale; reading
		 * again would only meet the same dead or hung database after
		 * the first caller had already waited out its timeouts (the
		 * HA drill's MariaDB outage: 503s after a wait for a failed
		 * read and then a read of their own, 3.2-4.2 s instead of
		 * 1.6-2.6 s; after a 6 s read timeout it would be 12 s).
		 */
		if (c->done > seen && c->grc != CM_OK) {
			rc = c->grc;
			break;
		}
		if (c->done > 0 && c->grc == CM_OK &&
		    now - c->gbegan_us < c->window_us) {
			rc = CM_OK;
			*ver = c->gver;
			break;
		}
		if (!c->busy) {
			gen = ++c->started;
			c->busy = 1;
			/* Before the query is sent: the earlier, the safer. */
			began = c->busy_us = cm_clock_us();
			pthread_mutex_unlock(&c->gmu);
			rc = read(arg, &v);
			pthread_mutex_lock(&c->gmu);
			c->busy = 0;
			c->done = gen;
			c->grc = rc;
			c->gver = v;
			c->gbegan_us = began;
			pthread_cond_broadcast(&c->gcv);
			*ver = v;
			break;
		}
		pthread_cond_wait(&c->gcv, &c->gmu);
	}
	pthread_mutex_unlock(&c->gmu);
	return rc;
}

/* The slot holding key in its set, or NULL; c->mu held. */
static struct blog_cache_entry *
blog_cache_find(struct blog_cache *c, uint64_t h, const char *key)
{
	struct blog_cache_entry *set =
	    &c->slot[(h & (BLOG_CACHE_SETS - 1)) * BLOG_CACHE_WAYS];
	size_t i;

	for (i = 0; i < BLOG_CACHE_WAYS; i++)
		if (set[i].key != NULL && set[i].hash == h &&
		    strcmp(set[i].key, key) == 0)
			return &set[i];
	return NULL;
}

/* Where key goes: its own slot, an empty one, or the least recently used. */
static struct blog_cache_entry *
blog_cache_victim(struct blog_cache *c, uint64_t h, const char *key)
{
	struct blog_cache_entry *set, *v;
	size_t i;

	if ((v = blog_cache_find(c, h, key)) != NULL)
		return v;
	set = &c->slot[(h & (BLOG_CACHE_SETS - 1)) * BLOG_CACHE_WAYS];
	v = &set[0];
	for (i = 0; i < BLOG_CACHE_WAYS; i++) {
		if (set[i].key == NULL)
			return &set[i];
		if (set[i].used_at < v->used_at)
			v = &set[i];
	}
	return v;
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
	if (ver == c->version && (e = blog_cache_find(c, h, key)) != NULL) {
		e->used_at = ++c->tick;
		e->ref = 1;
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
	size_t klen = strlen(key), size = klen + 1 + len, old;
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
	e = blog_cache_victim(c, h, key);
	old = e->key != NULL ? e->len : 0;
	if (ver == c->version && c->bytes - old + len > c->max_bytes)
		blog_cache_room(c, e, len - old);
	if (ver != c->version || c->bytes - old + len > c->max_bytes) {
		pthread_mutex_unlock(&c->mu);
		free(mem);
		return;
	}
	if (e->key != NULL)
		c->bytes -= e->len;
	else
		c->used++;
	free(e->key);
	e->hash = h;
	e->key = mem;
	e->body = mem + klen + 1;
	e->len = len;
	e->used_at = ++c->tick;
	e->ref = 0;
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

int
blog_cache_metrics(void *arg, char *buf, size_t cap)
{
	struct blog_cache *c = arg;
	unsigned long long hits, misses, reads, callers;
	size_t used, bytes;

	blog_cache_stats(c, &hits, &misses, &reads, &callers);
	pthread_mutex_lock(&c->mu);
	used = c->used;
	bytes = c->bytes;
	pthread_mutex_unlock(&c->mu);
	return snprintf(buf, cap,
	    "# HELP blog_read_cache_lookups_total Answers looked for in the "
	    "read cache, by result.\n"
	    "# TYPE blog_read_cache_lookups_total counter\n"
	    "blog_read_cache_lookups_total{result=\"hit\"} %llu\n"
	    "blog_read_cache_lookups_total{result=\"miss\"} %llu\n"
	    "# HELP blog_read_cache_version_requests_total Requests that "
	    "needed the data version.\n"
	    "# TYPE blog_read_cache_version_requests_total counter\n"
	    "blog_read_cache_version_requests_total %llu\n"
	    "# HELP blog_read_cache_version_reads_total Data-version reads "
	    "sent to the database (shared by the requests above).\n"
	    "# TYPE blog_read_cache_version_reads_total counter\n"
	    "blog_read_cache_version_reads_total %llu\n"
	    "# HELP blog_read_cache_entries Answers kept now.\n"
	    "# TYPE blog_read_cache_entries gauge\n"
	    "blog_read_cache_entries %zu\n"
	    "# HELP blog_read_cache_bytes Bytes of answers kept now.\n"
	    "# TYPE blog_read_cache_bytes gauge\n"
	    "blog_read_cache_bytes %zu\n",
	    hits, misses, callers, reads, used, bytes);
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
 * Shared answers. Most kept answers are the same for every viewer but for
 * "favorited" (of an article) and "following" (of a profile or an author):
 * they are kept once, made as for an anonymous reader (every flag false),
 * with the places of those flags and what each is about (the article's
 * slug, the user's name). A viewer's answer is that copy with the flags of
 * the articles they favourited and the users they follow turned to "true "
 * (same length, valid JSON). What a viewer favourites and follows is kept
 * too ("marks <id>"), under the same version as everything else.
 * The feed's very content is the viewer's: kept per viewer, as it is.
 */
#define BLOG_CACHE_MARKS_MAX 4096 /* more: that viewer's reads bypass */
#define BLOG_CACHE_FAV 0
#define BLOG_CACHE_FOLLOW 1

static const char *const blog_cache_flag[2] = {
    "\"favorited\":false", "\"following\":false"};

struct blog_cache_name {
	const char *s;
	size_t len;
};

/* A viewer's marks, or a shared answer's flags: names of each kind. */
struct blog_cache_names {
	struct blog_cache_name *v[2];
	size_t n[2];
	size_t *off[2]; /* shared answers: where each flag's "false" starts */
};

static int
blog_cache_name_cmp(const void *a, const void *b)
{
	const struct blog_cache_name *x = a, *y = b;
	size_t n = x->len < y->len ? x->len : y->len;
	int r = memcmp(x->s, y->s, n);

	if (r != 0)
		return r;
	return x->len < y->len ? -1 : x->len > y->len;
}

/*
 * The encoding of both kept forms: a 32-bit count of each kind, then per
 * name its flag offset (shared answers; 0 for marks), length and bytes.
 */
static char *
blog_cache_encode(const struct blog_cache_names *nm, size_t *out_len)
{
	size_t size = 8, k, i, o = 0;
	uint32_t u;
	char *buf;

	for (k = 0; k < 2; k++)
		for (i = 0; i < nm->n[k]; i++)
			size += 8 + nm->v[k][i].len;
	if ((buf = malloc(size)) == NULL)
		return NULL;
	for (k = 0; k < 2; k++) {
		u = (uint32_t)nm->n[k];
		memcpy(buf + o, &u, 4);
		o += 4;
	}
	for (k = 0; k < 2; k++)
		for (i = 0; i < nm->n[k]; i++) {
			u = nm->off[k] != NULL ? (uint32_t)nm->off[k][i] : 0;
			memcpy(buf + o, &u, 4);
			u = (uint32_t)nm->v[k][i].len;
			memcpy(buf + o + 4, &u, 4);
			memcpy(buf + o + 8, nm->v[k][i].s, nm->v[k][i].len);
			o += 8 + nm->v[k][i].len;
		}
	*out_len = size;
	return buf;
}

/* Decode into request memory, pointing into buf. -1 when malformed. */
static int
blog_cache_decode(struct cm_req *req, const char *buf, size_t len,
    struct blog_cache_names *nm)
{
	size_t o = 8, k, i;
	uint32_t u, l;

	memset(nm, 0, sizeof(*nm));
	if (len < 8)
		return -1;
	for (k = 0; k < 2; k++) {
		memcpy(&u, buf + 4 * k, 4);
		nm->n[k] = u;
		if (u > len / 8)
			return -1;
		nm->v[k] = cm_req_alloc(req, (u + 1) * sizeof(*nm->v[k]));
		nm->off[k] = cm_req_alloc(req, (u + 1) * sizeof(size_t));
		if (nm->v[k] == NULL || nm->off[k] == NULL)
			return -1;
	}
	for (k = 0; k < 2; k++)
		for (i = 0; i < nm->n[k]; i++) {
			if (len - o < 8)
				return -1;
			memcpy(&u, buf + o, 4);
			memcpy(&l, buf + o + 4, 4);
			if (len - o - 8 < l)
				return -1;
			nm->off[k][i] = u;
			nm->v[k][i].s = buf + o + 8;
			nm->v[k][i].len = l;
			o += 8 + l;
		}
	return 0;
}

/*
 * The viewer's marks, kept or read now. *nm points into *mem (request
 * memory). 1: too many to keep (the caller bypasses the cache).
 */
static enum cm_err
blog_cache_marks(struct cm_req *req, struct blog_cache *c,
    struct blog_cache_names *nm, int *too_many)
{
	struct blog_db_stmt *s = NULL;
	struct blog_cache_names got;
	char key[40], *buf = NULL, *copy;
	size_t len = 0, k, cap = BLOG_CACHE_MARKS_MAX;
	enum cm_err rc;
	int n;

	*too_many = 0;
	snprintf(key, sizeof(key), "marks %lld", req->user_id);
	if ((n = blog_cache_get(c, key, req->data_version, &buf, &len)) < 0)
		return CM_ENOMEM;
	if (n > 0) {
		copy = cm_req_alloc(req, len);
		if (copy != NULL)
			memcpy(copy, buf, len);
		free(buf);
		if (copy == NULL || blog_cache_decode(req, copy, len, nm) != 0)
			return CM_ENOMEM;
		return CM_OK;
	}
	memset(&got, 0, sizeof(got));
	for (k = 0; k < 2; k++)
		if ((got.v[k] = cm_req_alloc(req, cap * sizeof(*got.v[k]))) ==
		    NULL)
			return CM_ENOMEM;
	rc = blog_db_viewer_marks(
	    req->worker, req->request_id, req->user_id, (long long)cap + 1, &s);
	while (rc == CM_OK &&
	    (rc = blog_db_fetch(req->worker, req->request_id, s)) == CM_OK) {
		k = blog_db_int(s, 0) == 0 ? BLOG_CACHE_FAV : BLOG_CACHE_FOLLOW;
		if (got.n[0] + got.n[1] >= cap) {
			*too_many = 1;
			break;
		}
		got.v[k][got.n[k]].len = blog_db_len(s, 1);
		got.v[k][got.n[k]].s = cm_req_alloc(req, blog_db_len(s, 1) + 1);
		if (got.v[k][got.n[k]].s == NULL) {
			rc = CM_ENOMEM;
			break;
		}
		memcpy((char *)(uintptr_t)got.v[k][got.n[k]].s,
		    blog_db_str(s, 1), blog_db_len(s, 1));
		got.n[k]++;
	}
	blog_db_done(s);
	if (rc == CM_ENOTFOUND)
		rc = CM_OK;
	if (rc != CM_OK || *too_many)
		return rc;
	for (k = 0; k < 2; k++)
		qsort(
		    got.v[k], got.n[k], sizeof(*got.v[k]), blog_cache_name_cmp);
	*nm = got;
	if ((buf = blog_cache_encode(&got, &len)) != NULL) {
		blog_cache_put(c, key, req->data_version, buf, len);
		free(buf);
	}
	return CM_OK;
}

/* The name of member key of object o, or -1 when it has none. */
static int
blog_cache_str(const json_t *o, const char *key, struct blog_cache_name *out)
{
	const json_t *v = json_object_get(o, key);

	if (!json_is_string(v))
		return -1;
	out->s = json_string_value(v);
	out->len = json_string_length(v);
	return 0;
}

/* One article object: its slug (favorited) and author (following). */
static int
blog_cache_article(const json_t *a, struct blog_cache_names *nm)
{
	if (blog_cache_str(a, "slug", &nm->v[0][nm->n[0]]) != 0 ||
	    blog_cache_str(json_object_get(a, "author"), "username",
	        &nm->v[1][nm->n[1]]) != 0)
		return -1;
	nm->n[0]++;
	nm->n[1]++;
	return 0;
}

/*
 * The flags of an answer made for an anonymous reader, in the order they
 * are written, with the offsets of their "false" in body. -1 when the
 * answer is not of a known shape or its flags are not where expected: it
 * is then not shared.
 */
static int
blog_cache_flags(struct cm_req *req, const json_t *root, const char *body,
    size_t len, struct blog_cache_names *nm)
{
	const json_t *arr, *v;
	const char *p, *end = body + len;
	size_t i, k, n = 1, flen;

	memset(nm, 0, sizeof(*nm));
	if ((arr = json_object_get(root, "articles")) != NULL ||
	    (arr = json_object_get(root, "comments")) != NULL)
		n = json_array_size(arr) + 1;
	for (k = 0; k < 2; k++) {
		nm->v[k] = cm_req_alloc(req, n * sizeof(*nm->v[k]));
		nm->off[k] = cm_req_alloc(req, n * sizeof(size_t));
		if (nm->v[k] == NULL || nm->off[k] == NULL)
			return -1;
	}
	if ((v = json_object_get(root, "article")) != NULL) {
		if (blog_cache_article(v, nm) != 0)
			return -1;
	} else if ((arr = json_object_get(root, "articles")) != NULL) {
		json_array_foreach(
		    arr, i, v) if (blog_cache_article(v, nm) != 0) return -1;
	} else if ((v = json_object_get(root, "profile")) != NULL) {
		if (blog_cache_str(v, "username", &nm->v[1][nm->n[1]++]) != 0)
			return -1;
	} else if ((arr = json_object_get(root, "comments")) != NULL) {
		json_array_foreach(
		    arr, i, v) if (blog_cache_str(json_object_get(v, "author"),
		                       "username",
		                       &nm->v[1][nm->n[1]++]) != 0) return -1;
	} else if (!json_is_array(json_object_get(root, "tags"))) {
		/* The tag list has no flags: one answer for every reader. */
		return -1;
	}
	/*
	 * Strings are written escaped (a quote inside one is \"), so these
	 * byte sequences occur only as the members themselves.
	 */
	for (k = 0; k < 2; k++) {
		flen = strlen(blog_cache_flag[k]);
		p = body;
		for (i = 0;; i++) {
			p = memmem(
			    p, (size_t)(end - p), blog_cache_flag[k], flen);
			if (p == NULL)
				break;
			if (i >= nm->n[k])
				return -1;
			nm->off[k][i] = (size_t)(p - body) + flen - 5;
			p += flen;
		}
		if (i != nm->n[k])
			return -1;
	}
	return 0;
}

static int
blog_cache_marked(const struct blog_cache_names *marks, size_t k,
    const struct blog_cache_name *name)
{
	return marks->n[k] > 0 &&
	    bsearch(name, marks->v[k], marks->n[k], sizeof(*marks->v[k]),
	        blog_cache_name_cmp) != NULL;
}

/*
 * Answer from a shared entry (the encoded flags, then the body), patched
 * for the viewer's marks. entry is taken: it becomes the response's body
 * (the body moved to its start), so a hit costs one copy, the one
 * blog_cache_get made.
 */
static enum cm_err
blog_cache_answer(struct cm_req *req, char *entry, size_t len,
    const struct blog_cache_names *marks, const char *status)
{
	/* "false" becomes "true " in place: same length, no terminator. */
	static const char yes[5] = {'t', 'r', 'u', 'e', ' '};
	struct blog_cache_names flags;
	uint32_t flen = 0;
	size_t i, k, blen;
	char *body;

	if (len >= 4)
		memcpy(&flen, entry, 4);
	if (len < 4 || flen > len - 4 ||
	    blog_cache_decode(req, entry + 4, flen, &flags) != 0) {
		free(entry);
		return CM_EINTERNAL;
	}
	blen = len - 4 - flen;
	body = entry + 4 + flen;
	for (k = 0; marks != NULL && k < 2; k++)
		for (i = 0; i < flags.n[k]; i++)
			if (flags.off[k][i] + sizeof(yes) <= blen &&
			    blog_cache_marked(marks, k, &flags.v[k][i]))
				memcpy(
				    body + flags.off[k][i], yes, sizeof(yes));
	/* The names decoded above are no longer needed: overwrite them. */
	memmove(entry, body, blen);
	if (cm_resp_raw(&req->resp, 200, entry, blen) != CM_OK)
		return CM_ENOMEM;
	return cm_resp_header(&req->resp, "X-Blog-Cache", status);
}

/* Keep resp (made for an anonymous reader) as a shared entry. */
static char *
blog_cache_share(struct cm_req *req, size_t *out_len)
{
	struct blog_cache_names flags;
	char *enc, *entry;
	size_t elen = 0;
	uint32_t u;

	if (blog_cache_flags(req, req->resp.body, req->resp.raw,
	        req->resp.raw_len, &flags) != 0 ||
	    (enc = blog_cache_encode(&flags, &elen)) == NULL)
		return NULL;
	if ((entry = malloc(4 + elen + req->resp.raw_len)) != NULL) {
		u = (uint32_t)elen;
		memcpy(entry, &u, 4);
		memcpy(entry + 4, enc, elen);
		memcpy(entry + 4 + elen, req->resp.raw, req->resp.raw_len);
		*out_len = 4 + elen + req->resp.raw_len;
	}
	free(enc);
	return entry;
}

/* Serialise the handler's 200 answer into resp.raw. */
static enum cm_err
blog_cache_dump(struct cm_req *req)
{
	char *body;
	size_t len = 0;

	if (req->resp.raw != NULL)
		return CM_OK;
	if ((body = cm_json_dump(req->resp.body, &len)) == NULL)
		return CM_ENOMEM;
	/* Keep the tree: blog_cache_share reads the names from it. */
	free(req->resp.raw);
	req->resp.raw = body;
	req->resp.raw_len = len;
	return CM_OK;
}

static int
blog_cache_keepable(const struct cm_req *req)
{
	/* Errors and answers with headers of their own are not kept. */
	return req->resp.status == 200 && req->resp.nheaders == 0 &&
	    (req->resp.body != NULL || req->resp.raw != NULL);
}

/* Kept per viewer, as it is: the feed (and any viewer bypassing). */
static enum cm_err
blog_cache_own(struct cm_req *req, struct blog_cache *c, cm_handler handler)
{
	size_t n = strlen(req->path) + strlen(req->query_string) + 32, len;
	char *key, *body = NULL;
	enum cm_err rc;
	int hit;

	if ((key = cm_req_alloc(req, n)) == NULL)
		return CM_ENOMEM;
	snprintf(
	    key, n, "%lld %s?%s", req->user_id, req->path, req->query_string);
	if ((hit = blog_cache_get(c, key, req->data_version, &body, &len)) < 0)
		return CM_ENOMEM;
	if (hit > 0) {
		if ((rc = cm_resp_raw(&req->resp, 200, body, len)) != CM_OK)
			return rc;
		return cm_resp_header(&req->resp, "X-Blog-Cache", "hit");
	}
	if ((rc = handler(req)) != CM_OK || !blog_cache_keepable(req))
		return rc;
	if ((rc = blog_cache_dump(req)) != CM_OK)
		return rc;
	blog_cache_put(
	    c, key, req->data_version, req->resp.raw, req->resp.raw_len);
	return cm_resp_header(&req->resp, "X-Blog-Cache", "miss");
}

/*
 * A request that may have written is answered only once the readers'
 * window has passed since its commit (the top comment): the handler has
 * committed when it returns, so the wait starts after it.
 */
static void
blog_cache_settle(const struct cm_req *req)
{
	const struct blog_app *app = req->app;
	struct timespec until;
	long long wait;

	if (app == NULL || strcmp(req->method, "GET") == 0 ||
	    strcmp(req->method, "HEAD") == 0 ||
	    (wait = blog_cache_write_wait_us(app->read_window_us)) == 0)
		return;
	until = cm_clock_deadline(CLOCK_MONOTONIC, wait);
	/* Absolute: a signal cannot cut the wait short. */
	while (clock_nanosleep(CLOCK_MONOTONIC, TIMER_ABSTIME, &until, NULL) ==
	    EINTR)
		;
}

enum cm_err
blog_cache_around(struct cm_req *req, cm_handler handler)
{
	struct blog_cache *c = blog_cache_of(req);
	struct blog_cache_names marks, *mp = NULL;
	size_t n, len = 0;
	long long viewer;
	char *key, *entry = NULL;
	enum cm_err rc;
	int hit, too_many = 0;

	if (c == NULL || req->matched == NULL ||
	    (req->matched->flags & CM_ROUTE_CACHE) == 0 ||
	    strcmp(req->method, "GET") != 0) {
		rc = blog_idem_around(req, handler);
		blog_cache_settle(req);
		return rc;
	}
	if ((rc = blog_cache_req_version(req, c)) != CM_OK)
		return rc;
	if (strcmp(req->matched->pattern, "/api/articles/feed") == 0)
		return blog_cache_own(req, c, handler);
	if (req->user_id != 0) {
		if ((rc = blog_cache_marks(req, c, &marks, &too_many)) != CM_OK)
			return rc;
		if (too_many)
			return handler(req);
		mp = &marks;
	}
	n = strlen(req->path) + strlen(req->query_string) + 8;
	if ((key = cm_req_alloc(req, n)) == NULL)
		return CM_ENOMEM;
	snprintf(key, n, "* %s?%s", req->path, req->query_string);
	if ((hit = blog_cache_get(c, key, req->data_version, &entry, &len)) < 0)
		return CM_ENOMEM;
	if (hit > 0) {
		return blog_cache_answer(req, entry, len, mp, "hit");
	}
	/* Made for nobody in particular; the viewer's flags come after. */
	viewer = req->user_id;
	req->user_id = 0;
	rc = handler(req);
	req->user_id = viewer;
	if (rc != CM_OK || !blog_cache_keepable(req))
		return rc;
	if ((rc = blog_cache_dump(req)) != CM_OK)
		return rc;
	if ((entry = blog_cache_share(req, &len)) == NULL) {
		/* Not of a shape we can share: answer the viewer afresh. */
		cm_resp_clear(&req->resp);
		return blog_cache_own(req, c, handler);
	}
	blog_cache_put(c, key, req->data_version, entry, len);
	cm_resp_clear(&req->resp);
	return blog_cache_answer(req, entry, len, mp, "miss");
}
