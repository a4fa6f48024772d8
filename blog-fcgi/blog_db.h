/*
 * blog_db.h: one MariaDB connection per worker, with its prepared
 * statements.
 *
 * Every query the service runs is a typed function below, whose SQL and
 * bind order sit beside it in blog_db.c (a private table of statements):
 * each is prepared the first time a worker needs it and reused for the life
 * of the connection. When the connection is lost it is dropped with all its
 * statements and re-opened (with a short backoff) by the next request; while
 * the database is down requests fail fast with CM_EUNAVAIL.
 *
 * Results are fully buffered on the client (mysql_stmt_store_result), so
 * several statements may be open at once. Column buffers belong to the
 * statement and are reused; strings returned by blog_db_str stay valid until
 * the next fetch or execute of the same statement.
 */
#ifndef BLOG_DB_H
#define BLOG_DB_H

#include <stddef.h>

#include <jansson.h>
#include <mysql.h>

#include "blog.h"
#include "cm_err.h"
#include "cm_req.h"

/*
 * Result columns of the article queries (by slug, by id, list, feed): one
 * layout so that one function turns any of them into JSON. Lists select NULL
 * for the body.
 */
enum blog_acol {
	BLOG_A_ID,
	BLOG_A_SLUG,
	BLOG_A_TITLE,
	BLOG_A_DESCRIPTION,
	BLOG_A_BODY,
	BLOG_A_TAGS,
	BLOG_A_CREATED,
	BLOG_A_UPDATED,
	BLOG_A_FAVCOUNT,
	BLOG_A_AUTHOR_ID,
	BLOG_A_USERNAME,
	BLOG_A_BIO,
	BLOG_A_IMAGE,
	BLOG_A_FAVORITED,
	BLOG_A_FOLLOWING,
};

/* Slots of the article_count table (migration 002). */
#define BLOG_DB_COUNT_SLOTS 16

/* A prepared statement and its current row; opaque. */
struct blog_db_stmt;

/* A worker's connection and its statements; opaque. */
struct blog_db;

/* The process-wide settings the connection was opened with. */
const struct blog_app *blog_db_app(const struct blog_db *db);

/* Worker lifetime. blog_db_new never fails for a down database. */
struct blog_db *blog_db_new(const struct blog_app *app,
    unsigned int connect_timeout, unsigned int rw_timeout);
void blog_db_free(struct blog_db *db);

/*
 * Connect now if not connected (respecting the backoff). CM_OK or
 * CM_EUNAVAIL.
 */
enum cm_err blog_db_ready(struct blog_db *db, const char *rid);

/*
 * For --migrate only: let the next connection run multi-statement scripts
 * (trusted migration text), and connect at the next blog_db_ready whatever
 * the backoff says (the caller waits by itself).
 */
void blog_db_set_migrating(struct blog_db *db);
void blog_db_retry_now(struct blog_db *db);

/* The last error from the server or client library, for --migrate. */
unsigned int blog_db_last_errno(const struct blog_db *db);
const char *blog_db_last_error(const struct blog_db *db);

/* The raw connection, for --migrate only (text protocol, DDL). */
MYSQL *blog_db_conn(struct blog_db *db);

/* CM_OK with a row, CM_ENOTFOUND after the last row, or an error. */
enum cm_err blog_db_fetch(
    struct blog_db *db, const char *rid, struct blog_db_stmt *s);

/*
 * Fetch every remaining row of s into a new array, one element per row as
 * row_json makes it (NULL: out of memory). CM_OK with *arr, or an error.
 */
enum cm_err blog_db_rows_json(struct blog_db *db, const char *rid,
    struct blog_db_stmt *s, json_t *(*row_json)(struct blog_db_stmt *s),
    json_t **arr);

/*
 * A list answer: when rc, the result of the query that made s, is CM_OK,
 * answer 200 with {key: [...]}, one element per remaining row of s as
 * row_json makes it. Releases s (may be NULL) either way; returns rc or
 * what answering met.
 */
enum cm_err blog_db_rows_answer(struct cm_req *req, enum cm_err rc,
    struct blog_db_stmt *s, const char *key,
    json_t *(*row_json)(struct blog_db_stmt *s));

/* Release the buffered result; safe on NULL. */
void blog_db_done(struct blog_db_stmt *s);

/* Column accessors for the current row. */
const char *blog_db_str(const struct blog_db_stmt *s, size_t i);
size_t blog_db_len(const struct blog_db_stmt *s, size_t i);
long long blog_db_int(const struct blog_db_stmt *s, size_t i);
const char *blog_db_time(struct blog_db_stmt *s, size_t i);
long long blog_db_affected(const struct blog_db_stmt *s);
long long blog_db_insert_id(const struct blog_db_stmt *s);

/* Transactions (prepared START TRANSACTION / COMMIT / ROLLBACK). */
enum cm_err blog_db_begin(struct blog_db *db, const char *rid);
enum cm_err blog_db_commit(struct blog_db *db, const char *rid);
/* Safe to call when no transaction is open. */
void blog_db_rollback(struct blog_db *db, const char *rid);

/*
 * Run fn inside a transaction: commit when it returns CM_OK, roll back
 * otherwise; a deadlock or lock wait timeout runs it again (a few times).
 */
/*
 * One transaction around a whole handler (the Idempotency-Key store, whose
 * key row must commit with the write or not at all). While it is held,
 * blog_db_begin and blog_db_commit inside the handler join it; a rollback
 * ends it, and the next statement begins another, so nothing the handler
 * does escapes it. blog_db_outer_commit commits; blog_db_outer_abort rolls
 * back (both end the mode; abort is safe when nothing is open).
 */
enum cm_err blog_db_outer_begin(struct blog_db *db, const char *rid);
enum cm_err blog_db_outer_commit(struct blog_db *db, const char *rid);
void blog_db_outer_abort(struct blog_db *db, const char *rid);

typedef enum cm_err (*blog_db_txn_fn)(
    struct blog_db *db, const char *rid, void *ctx);
enum cm_err blog_db_txn(
    struct blog_db *db, const char *rid, blog_db_txn_fn fn, void *ctx);

/* After CM_ECONFLICT: is name the duplicate key (an index name)? */
int blog_db_dup_key(const struct blog_db *db, const char *name);
/* After CM_EDB: a deadlock or lock wait timeout worth one more try. */
int blog_db_retryable(const struct blog_db *db);

/*
 * Whether a statement that failed with error err, outside any transaction,
 * may run again on a fresh connection without the client hearing of it:
 * only when it cannot have had an effect the client would see twice. One
 * never sent (sent 0: no connection could be opened) or refused by a Galera
 * node (1047: outside the primary component, or under maintenance) never
 * ran, so even a write may. A read may also
 * when its connection was found gone (2006) or was lost within elapsed_ms
 * < BLOG_DB_FAST_FAIL_MS (2013: the server died). A write whose connection
 * broke may have committed: never. Pure, for tests/unit.
 */
int blog_db_rerun_safe(
    unsigned int err, int sent, int readonly, int in_txn, long long elapsed_ms);

/*
 * Typed queries (beside their SQL in blog_db.c). viewer is the requesting
 * user's id, 0 when anonymous. The *_by_*, _head and _profile ones position
 * *out on the one row (CM_ENOTFOUND when there is none, *out then NULL);
 * the lists leave *out ready for blog_db_fetch. The caller releases *out
 * with blog_db_done.
 */

/* SELECT 1: CM_OK when the database answers. */
enum cm_err blog_db_ping(struct blog_db *db, const char *rid);
/*
 * Readiness: CM_OK when the database answers and has the migration of
 * version (the newest this binary embeds) recorded; CM_ENOTFOUND when it
 * answers without it (a bare apply before the migration Job ran).
 */
enum cm_err blog_db_schema_ready(
    struct blog_db *db, const char *rid, int version);

/*
 * Failed-login throttling per email (migration 008). login_locked: *secs
 * is how long the email stays locked (0: not locked). login_failed counts
 * one failure and locks the email from the 5th on; login_reset forgets the
 * email's failures after a success.
 */
enum cm_err blog_db_login_locked(struct blog_db *db, const char *rid,
    const char *email, size_t len, long long *secs);
enum cm_err blog_db_login_failed(
    struct blog_db *db, const char *rid, const char *email, size_t len);
enum cm_err blog_db_login_reset(
    struct blog_db *db, const char *rid, const char *email, size_t len);

/*
 * A user's columns as written. On update NULL keeps username (with its key
 * and skeleton), email and password_hash; bio and image are written only
 * when set_bio / set_image, and NULL there clears them.
 */
struct blog_db_user {
	const char *username, *username_key, *username_skeleton;
	size_t username_len, username_key_len, username_skeleton_len;
	const char *email;
	size_t email_len;
	const char *password_hash;
	int set_bio, set_image; /* update only */
	const char *bio, *image;
	size_t bio_len, image_len;
};

enum cm_err blog_db_user_insert(struct blog_db *db, const char *rid,
    const struct blog_db_user *u, long long *id);
enum cm_err blog_db_user_update(struct blog_db *db, const char *rid,
    long long id, const struct blog_db_user *u);
/* Columns id, username, email, bio, image, ident_ver. */
enum cm_err blog_db_user_by_id(struct blog_db *db, const char *rid,
    long long id, struct blog_db_stmt **out);
/* The same and password_hash. */
enum cm_err blog_db_user_by_email(struct blog_db *db, const char *rid,
    const char *email, size_t len, struct blog_db_stmt **out);
/* SELECT username ... FOR UPDATE: orders concurrent updates of one user. */
enum cm_err blog_db_user_lock(struct blog_db *db, const char *rid, long long id,
    struct blog_db_stmt **out);

/*
 * The data version (migration 010): it goes up with every committed write
 * that a kept answer can show, and only then.
 */
enum cm_err blog_db_read_version(
    struct blog_db *db, const char *rid, long long *ver);
/*
 * At most limit rows (kind, name): 0 and the slug of an article the viewer
 * favourited, 1 and the name of a user the viewer follows. Fetch them.
 */
enum cm_err blog_db_viewer_marks(struct blog_db *db, const char *rid,
    long long viewer, long long limit, struct blog_db_stmt **out);

/* Identity (blog_ident.c): the user's version and the outbox. */
enum cm_err blog_db_user_ver(
    struct blog_db *db, const char *rid, long long id, long long *ver);
enum cm_err blog_db_user_ver_bump(
    struct blog_db *db, const char *rid, long long id);
/* A row for the user's current name and version; *seq its number. */
enum cm_err blog_db_outbox_add(
    struct blog_db *db, const char *rid, long long user_id, long long *seq);
/* Columns seq, user_id, ver, username: one row, or the undelivered. */
enum cm_err blog_db_outbox_get(struct blog_db *db, const char *rid,
    long long seq, struct blog_db_stmt **out);
enum cm_err blog_db_outbox_pending(
    struct blog_db *db, const char *rid, struct blog_db_stmt **out);
enum cm_err blog_db_outbox_done(
    struct blog_db *db, const char *rid, long long seq);

/*
 * Idempotency-Key (blog_idem.c), by (user, key): a lock held by one request
 * at a time (*taken 0: another holds it), the stored answer (columns
 * fingerprint, status, body), storing one, and pruning by age.
 */
enum cm_err blog_db_idem_lock(struct blog_db *db, const char *rid,
    long long user_id, const char *key, int *taken);
void blog_db_idem_unlock(
    struct blog_db *db, const char *rid, long long user_id, const char *key);
enum cm_err blog_db_idem_get(struct blog_db *db, const char *rid,
    long long user_id, const char *key, struct blog_db_stmt **out);
enum cm_err blog_db_idem_put(struct blog_db *db, const char *rid,
    long long user_id, const char *key, const char *fingerprint, int status,
    const char *body, size_t len);
enum cm_err blog_db_idem_prune(struct blog_db *db, const char *rid, long hours);

/* One article with its body (columns: enum blog_acol). */
enum cm_err blog_db_article_by_slug(struct blog_db *db, const char *rid,
    long long viewer, const char *slug, struct blog_db_stmt **out);
enum cm_err blog_db_article_by_id(struct blog_db *db, const char *rid,
    long long viewer, long long id, struct blog_db_stmt **out);
/* Columns id, author_id, title. */
enum cm_err blog_db_article_head(struct blog_db *db, const char *rid,
    const char *slug, struct blog_db_stmt **out);

/* What GET /api/articles filters on; NULL is no filter. */
struct blog_db_filter {
	const char *tag;
	const char *favorited; /* a username */
	const char *author; /* a username */
};

/* A page of articles, newest first, without bodies (enum blog_acol). */
enum cm_err blog_db_articles_page(struct blog_db *db, const char *rid,
    long long viewer, const struct blog_db_filter *f, long long limit,
    long long offset, struct blog_db_stmt **out);
enum cm_err blog_db_articles_count(struct blog_db *db, const char *rid,
    const struct blog_db_filter *f, long long *count);
/*
 * The same for the articles of the authors viewer follows, with their
 * total number in *count.
 */
enum cm_err blog_db_feed_page(struct blog_db *db, const char *rid,
    long long viewer, long long limit, long long offset, long long *count,
    struct blog_db_stmt **out);

/* An article's columns as written; NULL (update) keeps a column. */
struct blog_db_article {
	const char *slug;
	long long author_id; /* insert only */
	const char *title;
	const char *description;
	size_t description_len;
	const char *body;
	size_t body_len;
	const char *tag_list; /* tags joined, see blog_tags.h */
};

/* Writes, inside a transaction (blog_db_txn) where several go together. */
enum cm_err blog_db_article_insert(struct blog_db *db, const char *rid,
    const struct blog_db_article *w, long long *id);
enum cm_err blog_db_article_update(struct blog_db *db, const char *rid,
    long long id, const struct blog_db_article *w);
/* *deleted: whether this call removed the row (not a concurrent one). */
enum cm_err blog_db_article_delete(
    struct blog_db *db, const char *rid, long long id, int *deleted);
/* Move slot (any number; taken modulo the slots) of the article counter. */
enum cm_err blog_db_article_count_add(
    struct blog_db *db, const char *rid, long long delta, unsigned int slot);
/* Link the tag to the article, creating the tag when it is new. */
enum cm_err blog_db_article_tag(
    struct blog_db *db, const char *rid, long long id, const char *tag);
enum cm_err blog_db_article_tags_clear(
    struct blog_db *db, const char *rid, long long id);
/* SELECT ... FOR UPDATE by slug; CM_ENOTFOUND when there is none. */
enum cm_err blog_db_article_lock(
    struct blog_db *db, const char *rid, const char *slug, long long *id);
/* Add (or remove) the favourite and move the article's count with it. */
enum cm_err blog_db_favorite(struct blog_db *db, const char *rid,
    long long user_id, long long article_id, int add);

/* Every tag in use, by name (one column). */
enum cm_err blog_db_tags(
    struct blog_db *db, const char *rid, struct blog_db_stmt **out);

/* Comments; CM_ENOTFOUND from insert: the article or author is gone. */
enum cm_err blog_db_comment_insert(struct blog_db *db, const char *rid,
    long long article_id, long long author_id, const char *body, size_t len,
    long long *id);
/* Columns id, created, updated, body, username, bio, image, following. */
enum cm_err blog_db_comment_by_id(struct blog_db *db, const char *rid,
    long long viewer, long long id, struct blog_db_stmt **out);
enum cm_err blog_db_comments_of(struct blog_db *db, const char *rid,
    long long viewer, long long article_id, struct blog_db_stmt **out);
/* The author of comment id on this article; CM_ENOTFOUND if none. */
enum cm_err blog_db_comment_author(struct blog_db *db, const char *rid,
    long long id, long long article_id, long long *author_id);
enum cm_err blog_db_comment_delete(
    struct blog_db *db, const char *rid, long long id);

/* Columns id, username, bio, image, following. */
enum cm_err blog_db_profile(struct blog_db *db, const char *rid,
    long long viewer, const char *username, struct blog_db_stmt **out);
/* follow != 0: follow, else unfollow; CM_ENOTFOUND: a user is gone. */
enum cm_err blog_db_follow(struct blog_db *db, const char *rid,
    long long follower, long long followee, int follow);

/* "YYYY-MM-DDTHH:MM:SS.mmmZ" */
void blog_db_format_time(const MYSQL_TIME *t, char out[32]);

#endif
