/*
 * blog_db.c: the per-worker MariaDB connection, the table of every query the
 * service runs, and the prepared-statement cache over it.
 */
#include <poll.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <errmsg.h>
#include <mysqld_error.h>

#include "blog_db.h"
#include "cm_clock.h"
#include "cm_reconnect.h"
#include "cm_metrics.h"
#include "cm_log.h"

/*
 * The statement table: every query is an entry of blog_db_queries below,
 * reached only through the typed functions of blog_db.h, which bind its
 * parameters in the order of its SQL. Nothing outside this file names a
 * query or counts its placeholders.
 *
 * List filters: a bit set selecting one of the list query variants.
 */
#define BLOG_LIST_TAG 0x1
#define BLOG_LIST_FAVORITED 0x2
#define BLOG_LIST_AUTHOR 0x4

enum blog_q {
	BLOG_Q_BEGIN,
	BLOG_Q_COMMIT,
	BLOG_Q_ROLLBACK,
	BLOG_Q_PING,
	BLOG_Q_SCHEMA,
	BLOG_Q_USER_INSERT,
	BLOG_Q_USER_BY_ID,
	BLOG_Q_USER_BY_EMAIL,
	BLOG_Q_USER_UPDATE,
	BLOG_Q_USER_VER,
	BLOG_Q_READ_VERSION,
	BLOG_Q_VIEWER_MARKS,
	BLOG_Q_USER_LOCK,
	BLOG_Q_USER_VER_BUMP,
	BLOG_Q_OUTBOX_ADD,
	BLOG_Q_OUTBOX_GET,
	BLOG_Q_OUTBOX_PENDING,
	BLOG_Q_OUTBOX_DONE,
	BLOG_Q_LOGIN_LOCKED,
	BLOG_Q_LOGIN_FAILED,
	BLOG_Q_LOGIN_RESET,
	BLOG_Q_PROFILE,
	BLOG_Q_FOLLOW,
	BLOG_Q_UNFOLLOW,
	BLOG_Q_ARTICLE_BY_SLUG,
	BLOG_Q_ARTICLE_BY_ID,
	BLOG_Q_ARTICLE_HEAD,
	BLOG_Q_ARTICLE_LOCK,
	BLOG_Q_ARTICLE_INSERT,
	BLOG_Q_ARTICLE_UPDATE,
	BLOG_Q_ARTICLE_DELETE,
	BLOG_Q_ARTICLE_COUNT_ADD,
	BLOG_Q_TAG_UPSERT,
	BLOG_Q_ARTICLE_TAG_ADD,
	BLOG_Q_ARTICLE_TAGS_CLEAR,
	BLOG_Q_TAGS,
	BLOG_Q_FAV_ADD,
	BLOG_Q_FAV_DEL,
	BLOG_Q_FAV_INC,
	BLOG_Q_FAV_DEC,
	BLOG_Q_COMMENT_INSERT,
	BLOG_Q_COMMENT_BY_ID,
	BLOG_Q_COMMENTS,
	BLOG_Q_COMMENT_HEAD,
	BLOG_Q_COMMENT_DELETE,
	BLOG_Q_IDEM_LOCK,
	BLOG_Q_IDEM_UNLOCK,
	BLOG_Q_IDEM_GET,
	BLOG_Q_IDEM_PUT,
	BLOG_Q_IDEM_PRUNE,
	BLOG_Q_FEED,
	BLOG_Q_FEED_HEADS,
	BLOG_Q_FEED_BOUNDED,
	BLOG_Q_LIST, /* + filter bits: 8 variants */
	BLOG_Q_LIST_COUNT = BLOG_Q_LIST + 8,
	BLOG_Q_MAX = BLOG_Q_LIST_COUNT + 8,
};

/*
 * The feed reads each followed author's newest articles through one IN
 * list of this many ids (see blog_db_feed_page); a reader who follows more
 * gets the plain join.
 */
#define BLOG_DB_FEED_AUTHORS 24
#define BLOG_DB_MAXARGS (BLOG_DB_FEED_AUTHORS + 8)

/*
 * One parameter of an execution, in the order of the SQL's placeholders:
 * an integer, or a string (NULL is SQL NULL; it must outlive the
 * execution). The typed functions below pass their parameters as a
 * compound literal,
 *
 *	blog_db_row(db, rid, BLOG_Q_PROFILE,
 *	    BLOG_DB_ARGS(BLOG_DB_INT(viewer), BLOG_DB_STR(username)), out);
 *
 * so that the bind order stands beside the call and the compiler checks
 * every value's type (a pointer where an integer goes, or the reverse, does
 * not build); blog_db_exec checks their number against the SQL's.
 */
enum blog_db_kind {
	BLOG_DB_KIND_INT,
	BLOG_DB_KIND_STR, /* NUL-terminated */
	BLOG_DB_KIND_STRN, /* len bytes */
};

struct blog_db_arg {
	enum blog_db_kind kind;
	long long i;
	const char *s;
	size_t len;
};

#define BLOG_DB_INT(v)                                                         \
	((struct blog_db_arg){.kind = BLOG_DB_KIND_INT, .i = (v)})
#define BLOG_DB_STR(p)                                                         \
	((struct blog_db_arg){.kind = BLOG_DB_KIND_STR, .s = (p)})
#define BLOG_DB_STRN(p, n)                                                     \
	((struct blog_db_arg){.kind = BLOG_DB_KIND_STRN, .s = (p), .len = (n)})
/* The array and its length, as the runners below take them. */
#define BLOG_DB_ARGS(...)                                                      \
	(const struct blog_db_arg[]){__VA_ARGS__},                             \
	    sizeof((const struct blog_db_arg[]){__VA_ARGS__}) /                \
	    sizeof(struct blog_db_arg)
#define BLOG_DB_NOARGS NULL, 0

/*
 * Execute query q with its n args. On CM_OK *out (may be NULL for
 * statements without a result) is the statement, ready for blog_db_fetch.
 * Errors: CM_EUNAVAIL (connection lost or down), CM_ECONFLICT (duplicate
 * key; blog_db_dup_key tells which), CM_ENOTFOUND (a referenced row does
 * not exist), CM_EDB (anything else, logged with rid). A deadlock is
 * CM_EDB with blog_db_retryable() true.
 */
static enum cm_err blog_db_exec(struct blog_db *db, const char *rid,
    enum blog_q q, const struct blog_db_arg *args, size_t n,
    struct blog_db_stmt **out);

struct blog_db_col {
	char *buf;
	size_t cap;
	unsigned long len;
	my_bool null;
	my_bool err;
	long long i;
	MYSQL_TIME t;
	char ts[32]; /* formatted time */
};

struct blog_db_stmt {
	MYSQL_STMT *stmt;
	const char *cols; /* result column kinds, see struct blog_db_query */
	size_t ncols;
	MYSQL_BIND *rb;
	struct blog_db_col *col;
};

/*
 * Result column kinds: 'i' integer, 's' string, 't' DATETIME. A statement
 * whose kinds are "" returns no rows.
 */
struct blog_db_query {
	const char *sql;
	const char *cols;
	int readonly; /* safe to re-run after a lost connection */
};

/*
 * The article columns (enum blog_acol). The two placeholders are the
 * viewer's user id (0 when anonymous, which matches no row): favorited and
 * following are answered in the same query, never per article.
 */
#define BLOG_A_COLS(body)                                                      \
	"a.id, a.slug, a.title, a.description, " body ", a.tag_list, "         \
	"a.created_at, a.updated_at, a.favorites_count, a.author_id, "         \
	"u.username, u.bio, u.image, "                                         \
	"EXISTS (SELECT 1 FROM favorites f WHERE f.user_id = ? "               \
	"AND f.article_id = a.id), "                                           \
	"EXISTS (SELECT 1 FROM follows fo WHERE fo.follower_id = ? "           \
	"AND fo.followee_id = a.author_id)"
#define BLOG_A_KINDS "isssssttiisssii"

/*
 * The list variants: the filters are joins (tag, favorited) and a WHERE
 * (author); placeholders appear in the order tag, favorited, author. The
 * page is chosen first on narrow rows (id, created_at) and only its rows are
 * joined to the wide columns: sorting the wide rows of every match would
 * need a temporary table with TEXT columns.
 */
#define BLOG_J_TAG                                                             \
	" JOIN tags t ON t.name = ?"                                           \
	" JOIN article_tags at ON at.tag_id = t.id AND at.article_id = a.id"
#define BLOG_J_FAV                                                             \
	" JOIN users fu ON fu.username = ?"                                    \
	" JOIN favorites fv ON fv.user_id = fu.id AND fv.article_id = a.id"
#define BLOG_UJOIN " JOIN users u ON u.id = a.author_id"
#define BLOG_W_AUTHOR " WHERE u.username = ?"
#define BLOG_ORDER " ORDER BY a.created_at DESC, a.id DESC LIMIT ? OFFSET ?"
#define BLOG_PAGE(from)                                                        \
	"SELECT " BLOG_A_COLS("NULL") " FROM (SELECT a.id, a.created_at"       \
	                              " FROM " from BLOG_ORDER                 \
	                              ") p JOIN articles a ON a.id = p.id"     \
	                              " JOIN users u ON u.id = a.author_id"    \
	                              " ORDER BY p.created_at DESC, p.id DESC"

#define BLOG_DB_FEED_IDS                                                       \
	"?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, "   \
	"?, ?"

#define BLOG_LIST(tag, fav, ujoin, author)                                     \
	{                                                                      \
		BLOG_PAGE("articles a" ujoin tag fav author), BLOG_A_KINDS, 1  \
	}
#define BLOG_LIST_COUNT(tag, fav, ujoin, author)                               \
	{                                                                      \
		"SELECT COUNT(*) FROM articles a" ujoin tag fav author, "i", 1 \
	}

static const struct blog_db_query blog_db_queries[BLOG_Q_MAX] = {
    [BLOG_Q_BEGIN] = {"START TRANSACTION", "", 0},
    [BLOG_Q_COMMIT] = {"COMMIT", "", 0},
    [BLOG_Q_ROLLBACK] = {"ROLLBACK", "", 0},
    [BLOG_Q_PING] = {"SELECT 1", "i", 1},
    [BLOG_Q_SCHEMA] = {"SELECT 1 FROM schema_migrations WHERE version = ?", "i",
        1},
    [BLOG_Q_USER_INSERT] =
        {"INSERT INTO users (username, username_key, username_skeleton,"
         " email, password_hash, bio, image, created_at, updated_at)"
         " VALUES (?, ?, ?, ?, ?, ?, ?, UTC_TIMESTAMP(3), UTC_TIMESTAMP(3))",
            "", 0},
    [BLOG_Q_USER_BY_ID] = {"SELECT id, username, email, bio, image, ident_ver"
                           " FROM users WHERE id = ?",
        "issssi", 1},
    [BLOG_Q_USER_BY_EMAIL] =
        {"SELECT id, username, email, bio, image, ident_ver, password_hash"
         " FROM users WHERE email = ?",
            "issssis", 1},
    /* Identity (blog_ident.c): versions and the outbox, migration 006. */
    [BLOG_Q_USER_VER] = {"SELECT ident_ver FROM users WHERE id = ?", "i", 1},
    /*
     * What a viewer's flags depend on (blog_cache.c): 0 and the slug of
     * each article they favourited, 1 and the name of each user they
     * follow. One more row than the cache takes says "too many".
     */
    [BLOG_Q_VIEWER_MARKS] = {"SELECT 0, a.slug FROM favorites f JOIN articles a"
                             " ON a.id = f.article_id WHERE f.user_id = ?"
                             " UNION ALL SELECT 1, u.username FROM follows fo"
                             " JOIN users u ON u.id = fo.followee_id"
                             " WHERE fo.follower_id = ? LIMIT ?",
        "is", 1},
    [BLOG_Q_READ_VERSION] = {"SELECT CAST(SUM(v) AS SIGNED) FROM read_version",
        "i", 1},
    [BLOG_Q_USER_LOCK] = {"SELECT username FROM users WHERE id = ?"
                          " FOR UPDATE",
        "s", 0},
    [BLOG_Q_USER_VER_BUMP] =
        {"UPDATE users SET ident_ver = ident_ver + 1 WHERE id = ?", "", 0},
    [BLOG_Q_OUTBOX_ADD] = {"INSERT INTO ident_outbox (user_id, ver, username,"
                           " created_at) SELECT id, ident_ver, username,"
                           " UTC_TIMESTAMP(3) FROM users WHERE id = ?",
        "", 0},
    [BLOG_Q_OUTBOX_GET] = {"SELECT seq, user_id, ver, username FROM"
                           " ident_outbox WHERE seq = ?",
        "iiis", 1},
    /* Failed-login throttling per email, migration 008 (its comment). */
    [BLOG_Q_LOGIN_LOCKED] =
        {"SELECT CEIL(TIMESTAMPDIFF(MICROSECOND, UTC_TIMESTAMP(3),"
         " locked_until) / 1000000) FROM login_throttle WHERE email = ?"
         " AND locked_until > UTC_TIMESTAMP(3)",
            "i", 1},
    [BLOG_Q_LOGIN_FAILED] =
        {"INSERT INTO login_throttle (email, failures, locked_until,"
         " last_failure) VALUES (?, 1, NULL, UTC_TIMESTAMP(3))"
         " ON DUPLICATE KEY UPDATE"
         " failures = IF(last_failure < UTC_TIMESTAMP(3) - INTERVAL 1 DAY,"
         " 1, failures + 1),"
         " locked_until = IF(failures < 5, NULL, UTC_TIMESTAMP(3) +"
         " INTERVAL LEAST(300, 15 << LEAST(failures - 5, 5)) SECOND),"
         " last_failure = UTC_TIMESTAMP(3)",
            "", 0},
    [BLOG_Q_LOGIN_RESET] = {"DELETE FROM login_throttle WHERE email = ?", "",
        0},
    [BLOG_Q_OUTBOX_PENDING] = {"SELECT seq, user_id, ver, username FROM"
                               " ident_outbox WHERE delivered_at IS NULL"
                               " ORDER BY seq LIMIT 100",
        "iiis", 1},
    [BLOG_Q_OUTBOX_DONE] = {"UPDATE ident_outbox SET delivered_at ="
                            " UTC_TIMESTAMP(3) WHERE seq = ?"
                            " AND delivered_at IS NULL",
        "", 0},
    /*
	 * A partial update in one statement: NULL keeps username (and its
	 * key and skeleton), email and password; bio and image take a flag because NULL is
	 * a value there.
	 */
    [BLOG_Q_USER_UPDATE] = {"UPDATE users SET username = COALESCE(?, username),"
                            " username_key = COALESCE(?, username_key),"
                            " username_skeleton = COALESCE(?,"
                            " username_skeleton),"
                            " email = COALESCE(?, email),"
                            " password_hash = COALESCE(?, password_hash),"
                            " bio = IF(?, ?, bio), image = IF(?, ?, image),"
                            " updated_at = UTC_TIMESTAMP(3) WHERE id = ?",
        "", 0},
    [BLOG_Q_PROFILE] =
        {"SELECT u.id, u.username, u.bio, u.image, EXISTS (SELECT 1 FROM"
         " follows fo WHERE fo.follower_id = ? AND fo.followee_id = u.id)"
         " FROM users u WHERE u.username = ?",
            "isssi", 1},
    [BLOG_Q_FOLLOW] =
        {"INSERT INTO follows (follower_id, followee_id, created_at)"
         " VALUES (?, ?, UTC_TIMESTAMP(3))"
         " ON DUPLICATE KEY UPDATE follower_id = follower_id",
            "", 0},
    [BLOG_Q_UNFOLLOW] =
        {"DELETE FROM follows WHERE follower_id = ? AND followee_id = ?", "",
            0},
    [BLOG_Q_ARTICLE_BY_SLUG] =
        {"SELECT " BLOG_A_COLS(
             "a.body") " FROM articles a"
                       " JOIN users u ON u.id = a.author_id WHERE a.slug = ?",
            BLOG_A_KINDS, 1},
    [BLOG_Q_ARTICLE_BY_ID] =
        {"SELECT " BLOG_A_COLS(
             "a.body") " FROM articles a"
                       " JOIN users u ON u.id = a.author_id WHERE a.id = ?",
            BLOG_A_KINDS, 1},
    [BLOG_Q_ARTICLE_HEAD] =
        {"SELECT id, author_id, title FROM articles WHERE slug = ?", "iis", 1},
    [BLOG_Q_ARTICLE_LOCK] =
        {"SELECT id FROM articles WHERE slug = ? FOR UPDATE", "i", 0},
    [BLOG_Q_ARTICLE_INSERT] =
        {"INSERT INTO articles (slug, author_id, title, description, body,"
         " tag_list, created_at, updated_at) VALUES (?, ?, ?, ?, ?, ?,"
         " UTC_TIMESTAMP(3), UTC_TIMESTAMP(3))",
            "", 0},
    /*
	 * updatedAt must change even when the update lands in the same
	 * millisecond as the previous write.
	 */
    [BLOG_Q_ARTICLE_UPDATE] =
        {"UPDATE articles SET slug = COALESCE(?, slug),"
         " title = COALESCE(?, title),"
         " description = COALESCE(?, description),"
         " body = COALESCE(?, body), tag_list = COALESCE(?, tag_list),"
         " updated_at = GREATEST(UTC_TIMESTAMP(3),"
         " updated_at + INTERVAL 1000 MICROSECOND) WHERE id = ?",
            "", 0},
    [BLOG_Q_ARTICLE_DELETE] = {"DELETE FROM articles WHERE id = ?", "", 0},
    [BLOG_Q_ARTICLE_COUNT_ADD] = {"UPDATE article_count SET n = n + ?"
                                  " WHERE slot = ?",
        "", 0},
    /* LAST_INSERT_ID(id) makes the existing tag's id the insert id. */
    [BLOG_Q_TAG_UPSERT] = {"INSERT INTO tags (name) VALUES (?)"
                           " ON DUPLICATE KEY UPDATE id = LAST_INSERT_ID(id)",
        "", 0},
    [BLOG_Q_ARTICLE_TAG_ADD] =
        {"INSERT INTO article_tags (article_id, tag_id) VALUES (?, ?)", "", 0},
    [BLOG_Q_ARTICLE_TAGS_CLEAR] =
        {"DELETE FROM article_tags WHERE article_id = ?", "", 0},
    /*
     * A scalar subquery with LIMIT 1, not EXISTS: for EXISTS MariaDB picks a
     * materialisation that scans all of article_tags (24 ms with 60k rows);
     * this is one index probe per tag (6 ms, and it does not grow with
     * the number of articles).
     */
    [BLOG_Q_TAGS] = {"SELECT t.name FROM tags t WHERE (SELECT 1 FROM"
                     " article_tags at WHERE at.tag_id = t.id LIMIT 1)"
                     " IS NOT NULL ORDER BY t.name",
        "s", 1},
    [BLOG_Q_FAV_ADD] =
        {"INSERT INTO favorites (user_id, article_id, created_at)"
         " VALUES (?, ?, UTC_TIMESTAMP(3))"
         " ON DUPLICATE KEY UPDATE user_id = user_id",
            "", 0},
    [BLOG_Q_FAV_DEL] =
        {"DELETE FROM favorites WHERE user_id = ? AND article_id = ?", "", 0},
    [BLOG_Q_FAV_INC] =
        {"UPDATE articles SET favorites_count = favorites_count + 1"
         " WHERE id = ?",
            "", 0},
    [BLOG_Q_FAV_DEC] =
        {"UPDATE articles SET favorites_count = favorites_count - 1"
         " WHERE id = ? AND favorites_count > 0",
            "", 0},
    [BLOG_Q_COMMENT_INSERT] =
        {"INSERT INTO comments (article_id, author_id, body, created_at,"
         " updated_at) VALUES (?, ?, ?, UTC_TIMESTAMP(3),"
         " UTC_TIMESTAMP(3))",
            "", 0},
    [BLOG_Q_COMMENT_BY_ID] =
        {"SELECT c.id, c.created_at, c.updated_at, c.body, u.username,"
         " u.bio, u.image, EXISTS (SELECT 1 FROM follows fo WHERE"
         " fo.follower_id = ? AND fo.followee_id = c.author_id)"
         " FROM comments c JOIN users u ON u.id = c.author_id"
         " WHERE c.id = ?",
            "ittssssi", 1},
    [BLOG_Q_COMMENTS] =
        {"SELECT c.id, c.created_at, c.updated_at, c.body, u.username,"
         " u.bio, u.image, EXISTS (SELECT 1 FROM follows fo WHERE"
         " fo.follower_id = ? AND fo.followee_id = c.author_id)"
         " FROM comments c JOIN users u ON u.id = c.author_id"
         " WHERE c.article_id = ? ORDER BY c.created_at, c.id",
            "ittssssi", 1},
    [BLOG_Q_COMMENT_HEAD] =
        {"SELECT author_id FROM comments WHERE id = ? AND article_id = ?", "i",
            1},
    [BLOG_Q_COMMENT_DELETE] = {"DELETE FROM comments WHERE id = ?", "", 0},
    /*
     * Idempotency-Key store (blog_idem.c). A named lock per user and key
     * tells "still executing" (409) without waiting; the server drops it
     * with the session if the process dies.
     */
    [BLOG_Q_IDEM_LOCK] = {"SELECT GET_LOCK(CONCAT('blog_idem_',"
                          " SHA1(CONCAT(?, ':', ?))), 0)",
        "i", 0},
    [BLOG_Q_IDEM_UNLOCK] = {"SELECT RELEASE_LOCK(CONCAT('blog_idem_',"
                            " SHA1(CONCAT(?, ':', ?))))",
        "i", 0},
    [BLOG_Q_IDEM_GET] = {"SELECT fingerprint, status, body FROM"
                         " idempotency_keys WHERE user_id = ? AND"
                         " idem_key = ?",
        "sis", 1},
    [BLOG_Q_IDEM_PUT] = {"INSERT INTO idempotency_keys (user_id, idem_key,"
                         " fingerprint, status, body, created_at) VALUES"
                         " (?, ?, ?, ?, ?, UTC_TIMESTAMP(3))",
        "", 0},
    [BLOG_Q_IDEM_PRUNE] = {"DELETE FROM idempotency_keys WHERE created_at <"
                           " UTC_TIMESTAMP(3) - INTERVAL ? HOUR LIMIT 1000",
        "", 0},
    [BLOG_Q_FEED] =
        {BLOG_PAGE("follows fd JOIN articles a"
                   " ON a.author_id = fd.followee_id WHERE fd.follower_id = ?"),
            BLOG_A_KINDS, 1},
    /*
     * Each followed author with their counter (migration 009) and the time
     * of their (limit + offset)-th newest article (NULL when they have
     * fewer), from the (author_id, created_at, id) index: a walk of limit +
     * offset entries, however many articles they wrote.
     */
    [BLOG_Q_FEED_HEADS] = {"SELECT fd.followee_id, COALESCE(c.n, 0),"
                           " CAST((SELECT a.created_at FROM articles a"
                           " WHERE a.author_id = fd.followee_id"
                           " ORDER BY a.created_at DESC, a.id DESC"
                           " LIMIT 1 OFFSET ?) AS CHAR)"
                           " FROM follows fd LEFT JOIN article_count_author c"
                           " ON c.author_id = fd.followee_id"
                           " WHERE fd.follower_id = ?",
        "iis", 1},
    /*
     * The feed page from those authors' articles since a time: one range
     * of the same index per author (unused ids are 0, nobody).
     */
    [BLOG_Q_FEED_BOUNDED] =
        {BLOG_PAGE("articles a WHERE a.author_id IN (" BLOG_DB_FEED_IDS
                   ") AND a.created_at >= ?"),
            BLOG_A_KINDS, 1},
    [BLOG_Q_LIST + 0] = BLOG_LIST("", "", "", ""),
    /*
     * By tag alone (the common filter): the page is an ordered range of
     * article_tags' (tag_id, created_at, article_id) index, see migration 003.
     */
    [BLOG_Q_LIST + 1] = {"SELECT " BLOG_A_COLS(
                             "NULL") " FROM (SELECT at.article_id AS id,"
                                     " at.created_at FROM tags t"
                                     " JOIN article_tags at ON at.tag_id = t.id"
                                     " WHERE t.name = ?"
                                     " ORDER BY at.created_at DESC,"
                                     " at.article_id DESC LIMIT ? OFFSET ?) p"
                                     " JOIN articles a ON a.id = p.id"
                                     " JOIN users u ON u.id = a.author_id"
                                     " ORDER BY p.created_at DESC, p.id DESC",
        BLOG_A_KINDS, 1},
    [BLOG_Q_LIST + 2] = BLOG_LIST("", BLOG_J_FAV, "", ""),
    [BLOG_Q_LIST + 3] = BLOG_LIST(BLOG_J_TAG, BLOG_J_FAV, "", ""),
    [BLOG_Q_LIST + 4] = BLOG_LIST("", "", BLOG_UJOIN, BLOG_W_AUTHOR),
    [BLOG_Q_LIST + 5] = BLOG_LIST(BLOG_J_TAG, "", BLOG_UJOIN, BLOG_W_AUTHOR),
    [BLOG_Q_LIST + 6] = BLOG_LIST("", BLOG_J_FAV, BLOG_UJOIN, BLOG_W_AUTHOR),
    [BLOG_Q_LIST + 7] =
        BLOG_LIST(BLOG_J_TAG, BLOG_J_FAV, BLOG_UJOIN, BLOG_W_AUTHOR),
    /* All articles: the counter, not a scan (migration 002). */
    [BLOG_Q_LIST_COUNT + 0] = {"SELECT CAST(COALESCE(SUM(n), 0) AS SIGNED)"
                               " FROM article_count",
        "i", 1},
    /* One filter: its counter (migration 009), or a bounded count. */
    [BLOG_Q_LIST_COUNT + 1] = {"SELECT CAST(COALESCE(SUM(c.n), 0) AS SIGNED)"
                               " FROM tags t JOIN article_count_tag c"
                               " ON c.tag_id = t.id WHERE t.name = ?",
        "i", 1},
    /*
     * A user's favourites, from the favorites key alone (its foreign key
     * means an article): as many as the user made, not growing with the
     * articles, so no counter (one would have to move for every fan of a
     * deleted article).
     */
    [BLOG_Q_LIST_COUNT + 2] = {"SELECT COUNT(*) FROM users fu"
                               " JOIN favorites fv ON fv.user_id = fu.id"
                               " WHERE fu.username = ?",
        "i", 1},
    [BLOG_Q_LIST_COUNT + 4] = {"SELECT CAST(COALESCE(SUM(c.n), 0) AS SIGNED)"
                               " FROM users u JOIN article_count_author c"
                               " ON c.author_id = u.id WHERE u.username = ?",
        "i", 1},
    /*
     * Two or three filters count their matches: no front-end combines
     * them, and the join starts from the most selective one.
     */
    [BLOG_Q_LIST_COUNT + 3] = BLOG_LIST_COUNT(BLOG_J_TAG, BLOG_J_FAV, "", ""),
    [BLOG_Q_LIST_COUNT + 5] =
        BLOG_LIST_COUNT(BLOG_J_TAG, "", BLOG_UJOIN, BLOG_W_AUTHOR),
    [BLOG_Q_LIST_COUNT + 6] =
        BLOG_LIST_COUNT("", BLOG_J_FAV, BLOG_UJOIN, BLOG_W_AUTHOR),
    [BLOG_Q_LIST_COUNT + 7] =
        BLOG_LIST_COUNT(BLOG_J_TAG, BLOG_J_FAV, BLOG_UJOIN, BLOG_W_AUTHOR),
};

/*
 * Typed queries: each binds its parameters in the order of its SQL above,
 * so a handler never counts placeholders. The viewer is the requesting
 * user's id (0 when anonymous, which matches no row); the article and
 * comment columns use it for favorited and following.
 */

/* Execute and position on the first row: CM_ENOTFOUND when there is none. */
static enum cm_err
blog_db_row(struct blog_db *db, const char *rid, enum blog_q q,
    const struct blog_db_arg *args, size_t n, struct blog_db_stmt **out)
{
	enum cm_err rc;

	*out = NULL;
	if ((rc = blog_db_exec(db, rid, q, args, n, out)) != CM_OK)
		return rc;
	if ((rc = blog_db_fetch(db, rid, *out)) != CM_OK) {
		blog_db_done(*out);
		*out = NULL;
	}
	return rc;
}

/*
 * The one number a statement answers: the first column of its one row
 * (CM_ENOTFOUND when there is none), the id it inserted, or how many rows
 * it changed. *v is 0 unless CM_OK.
 */
enum blog_db_number_of {
	BLOG_DB_COLUMN,
	BLOG_DB_INSERT_ID,
	BLOG_DB_CHANGED,
};

static enum cm_err
blog_db_number(struct blog_db *db, const char *rid, enum blog_q q,
    enum blog_db_number_of what, const struct blog_db_arg *args, size_t n,
    long long *v)
{
	struct blog_db_stmt *s;
	enum cm_err rc;

	*v = 0;
	if (what == BLOG_DB_COLUMN) {
		if ((rc = blog_db_row(db, rid, q, args, n, &s)) == CM_OK)
			*v = blog_db_int(s, 0);
		blog_db_done(s);
	} else if ((rc = blog_db_exec(db, rid, q, args, n, &s)) == CM_OK) {
		*v = what == BLOG_DB_INSERT_ID ? blog_db_insert_id(s)
		                               : blog_db_affected(s);
	}
	return rc;
}

/* BLOG_A_COLS: the viewer twice, for favorited and for following. */
#define BLOG_DB_VIEWER(viewer) BLOG_DB_INT(viewer), BLOG_DB_INT(viewer)

enum cm_err
blog_db_ping(struct blog_db *db, const char *rid)
{
	long long one;

	return blog_db_number(
	    db, rid, BLOG_Q_PING, BLOG_DB_COLUMN, BLOG_DB_NOARGS, &one);
}

enum cm_err
blog_db_schema_ready(struct blog_db *db, const char *rid, int version)
{
	long long one;
	enum cm_err rc;

	rc = blog_db_number(db, rid, BLOG_Q_SCHEMA, BLOG_DB_COLUMN,
	    BLOG_DB_ARGS(BLOG_DB_INT(version)), &one);
	/* No schema_migrations table at all: not migrated either. */
	if (rc == CM_EDB && blog_db_last_errno(db) == ER_NO_SUCH_TABLE)
		rc = CM_ENOTFOUND;
	return rc;
}

enum cm_err
blog_db_login_locked(struct blog_db *db, const char *rid, const char *email,
    size_t len, long long *secs)
{
	enum cm_err rc;

	rc = blog_db_number(db, rid, BLOG_Q_LOGIN_LOCKED, BLOG_DB_COLUMN,
	    BLOG_DB_ARGS(BLOG_DB_STRN(email, len)), secs);
	/* Locked for less than a second is still locked. */
	if (rc == CM_OK && *secs <= 0)
		*secs = 1;
	return rc == CM_ENOTFOUND ? CM_OK : rc;
}

enum cm_err
blog_db_login_failed(
    struct blog_db *db, const char *rid, const char *email, size_t len)
{
	return blog_db_exec(db, rid, BLOG_Q_LOGIN_FAILED,
	    BLOG_DB_ARGS(BLOG_DB_STRN(email, len)), NULL);
}

enum cm_err
blog_db_login_reset(
    struct blog_db *db, const char *rid, const char *email, size_t len)
{
	return blog_db_exec(db, rid, BLOG_Q_LOGIN_RESET,
	    BLOG_DB_ARGS(BLOG_DB_STRN(email, len)), NULL);
}

/* INSERT and UPDATE of a user start with the same five columns. */
#define BLOG_DB_USER_COLS(u)                                                   \
	BLOG_DB_STRN((u)->username, (u)->username_len),                        \
	    BLOG_DB_STRN((u)->username_key, (u)->username_key_len),            \
	    BLOG_DB_STRN((u)->username_skeleton, (u)->username_skeleton_len),  \
	    BLOG_DB_STRN((u)->email, (u)->email_len),                          \
	    BLOG_DB_STR((u)->password_hash)

enum cm_err
blog_db_user_insert(struct blog_db *db, const char *rid,
    const struct blog_db_user *u, long long *id)
{
	return blog_db_number(db, rid, BLOG_Q_USER_INSERT, BLOG_DB_INSERT_ID,
	    BLOG_DB_ARGS(BLOG_DB_USER_COLS(u), BLOG_DB_STRN(u->bio, u->bio_len),
	        BLOG_DB_STRN(u->image, u->image_len)),
	    id);
}

enum cm_err
blog_db_user_update(struct blog_db *db, const char *rid, long long id,
    const struct blog_db_user *u)
{
	/* NULL is a value for bio and image: a flag says whether to set. */
	return blog_db_exec(db, rid, BLOG_Q_USER_UPDATE,
	    BLOG_DB_ARGS(BLOG_DB_USER_COLS(u), BLOG_DB_INT(u->set_bio),
	        BLOG_DB_STRN(u->bio, u->bio_len), BLOG_DB_INT(u->set_image),
	        BLOG_DB_STRN(u->image, u->image_len), BLOG_DB_INT(id)),
	    NULL);
}

enum cm_err
blog_db_user_by_id(struct blog_db *db, const char *rid, long long id,
    struct blog_db_stmt **out)
{
	return blog_db_row(
	    db, rid, BLOG_Q_USER_BY_ID, BLOG_DB_ARGS(BLOG_DB_INT(id)), out);
}

enum cm_err
blog_db_user_by_email(struct blog_db *db, const char *rid, const char *email,
    size_t len, struct blog_db_stmt **out)
{
	return blog_db_row(db, rid, BLOG_Q_USER_BY_EMAIL,
	    BLOG_DB_ARGS(BLOG_DB_STRN(email, len)), out);
}

enum cm_err
blog_db_user_lock(struct blog_db *db, const char *rid, long long id,
    struct blog_db_stmt **out)
{
	return blog_db_row(
	    db, rid, BLOG_Q_USER_LOCK, BLOG_DB_ARGS(BLOG_DB_INT(id)), out);
}

enum cm_err
blog_db_user_ver(
    struct blog_db *db, const char *rid, long long id, long long *ver)
{
	return blog_db_number(db, rid, BLOG_Q_USER_VER, BLOG_DB_COLUMN,
	    BLOG_DB_ARGS(BLOG_DB_INT(id)), ver);
}

enum cm_err
blog_db_viewer_marks(struct blog_db *db, const char *rid, long long viewer,
    long long limit, struct blog_db_stmt **out)
{
	return blog_db_exec(db, rid, BLOG_Q_VIEWER_MARKS,
	    BLOG_DB_ARGS(BLOG_DB_VIEWER(viewer), BLOG_DB_INT(limit)), out);
}

enum cm_err
blog_db_read_version(struct blog_db *db, const char *rid, long long *ver)
{
	return blog_db_number(
	    db, rid, BLOG_Q_READ_VERSION, BLOG_DB_COLUMN, BLOG_DB_NOARGS, ver);
}

enum cm_err
blog_db_user_ver_bump(struct blog_db *db, const char *rid, long long id)
{
	return blog_db_exec(
	    db, rid, BLOG_Q_USER_VER_BUMP, BLOG_DB_ARGS(BLOG_DB_INT(id)), NULL);
}

enum cm_err
blog_db_outbox_add(
    struct blog_db *db, const char *rid, long long user_id, long long *seq)
{
	return blog_db_number(db, rid, BLOG_Q_OUTBOX_ADD, BLOG_DB_INSERT_ID,
	    BLOG_DB_ARGS(BLOG_DB_INT(user_id)), seq);
}

enum cm_err
blog_db_outbox_get(struct blog_db *db, const char *rid, long long seq,
    struct blog_db_stmt **out)
{
	return blog_db_row(
	    db, rid, BLOG_Q_OUTBOX_GET, BLOG_DB_ARGS(BLOG_DB_INT(seq)), out);
}

enum cm_err
blog_db_outbox_pending(
    struct blog_db *db, const char *rid, struct blog_db_stmt **out)
{
	return blog_db_exec(
	    db, rid, BLOG_Q_OUTBOX_PENDING, BLOG_DB_NOARGS, out);
}

enum cm_err
blog_db_outbox_done(struct blog_db *db, const char *rid, long long seq)
{
	return blog_db_exec(
	    db, rid, BLOG_Q_OUTBOX_DONE, BLOG_DB_ARGS(BLOG_DB_INT(seq)), NULL);
}

/* The Idempotency-Key statements all start with (user_id, key). */
#define BLOG_DB_IDEM(user_id, key) BLOG_DB_INT(user_id), BLOG_DB_STR(key)

enum cm_err
blog_db_idem_lock(struct blog_db *db, const char *rid, long long user_id,
    const char *key, int *taken)
{
	long long got;
	enum cm_err rc;

	rc = blog_db_number(db, rid, BLOG_Q_IDEM_LOCK, BLOG_DB_COLUMN,
	    BLOG_DB_ARGS(BLOG_DB_IDEM(user_id, key)), &got);
	*taken = rc == CM_OK && got == 1;
	/* GET_LOCK always answers one row. */
	return rc == CM_ENOTFOUND ? CM_EDB : rc;
}

void
blog_db_idem_unlock(
    struct blog_db *db, const char *rid, long long user_id, const char *key)
{
	struct blog_db_stmt *s = NULL;

	if (blog_db_exec(db, rid, BLOG_Q_IDEM_UNLOCK,
	        BLOG_DB_ARGS(BLOG_DB_IDEM(user_id, key)), &s) == CM_OK)
		blog_db_done(s);
}

enum cm_err
blog_db_idem_get(struct blog_db *db, const char *rid, long long user_id,
    const char *key, struct blog_db_stmt **out)
{
	return blog_db_row(db, rid, BLOG_Q_IDEM_GET,
	    BLOG_DB_ARGS(BLOG_DB_IDEM(user_id, key)), out);
}

enum cm_err
blog_db_idem_put(struct blog_db *db, const char *rid, long long user_id,
    const char *key, const char *fingerprint, int status, const char *body,
    size_t len)
{
	return blog_db_exec(db, rid, BLOG_Q_IDEM_PUT,
	    BLOG_DB_ARGS(BLOG_DB_IDEM(user_id, key), BLOG_DB_STR(fingerprint),
	        BLOG_DB_INT(status), BLOG_DB_STRN(body, len)),
	    NULL);
}

enum cm_err
blog_db_idem_prune(struct blog_db *db, const char *rid, long hours)
{
	return blog_db_exec(
	    db, rid, BLOG_Q_IDEM_PRUNE, BLOG_DB_ARGS(BLOG_DB_INT(hours)), NULL);
}

enum cm_err
blog_db_article_by_slug(struct blog_db *db, const char *rid, long long viewer,
    const char *slug, struct blog_db_stmt **out)
{
	return blog_db_row(db, rid, BLOG_Q_ARTICLE_BY_SLUG,
	    BLOG_DB_ARGS(BLOG_DB_VIEWER(viewer), BLOG_DB_STR(slug)), out);
}

enum cm_err
blog_db_article_by_id(struct blog_db *db, const char *rid, long long viewer,
    long long id, struct blog_db_stmt **out)
{
	return blog_db_row(db, rid, BLOG_Q_ARTICLE_BY_ID,
	    BLOG_DB_ARGS(BLOG_DB_VIEWER(viewer), BLOG_DB_INT(id)), out);
}

enum cm_err
blog_db_article_head(struct blog_db *db, const char *rid, const char *slug,
    struct blog_db_stmt **out)
{
	return blog_db_row(
	    db, rid, BLOG_Q_ARTICLE_HEAD, BLOG_DB_ARGS(BLOG_DB_STR(slug)), out);
}

/*
 * The variant of BLOG_Q_LIST (or _COUNT) for the filters that are set, and
 * their parameters appended to a[*n], in the order tag, favorited, author.
 */
static unsigned int
blog_db_filter(const struct blog_db_filter *f, struct blog_db_arg *a, size_t *n)
{
	unsigned int mask = 0;

	if (f->tag != NULL) {
		a[(*n)++] = BLOG_DB_STR(f->tag);
		mask |= BLOG_LIST_TAG;
	}
	if (f->favorited != NULL) {
		a[(*n)++] = BLOG_DB_STR(f->favorited);
		mask |= BLOG_LIST_FAVORITED;
	}
	if (f->author != NULL) {
		a[(*n)++] = BLOG_DB_STR(f->author);
		mask |= BLOG_LIST_AUTHOR;
	}
	return mask;
}

enum cm_err
blog_db_articles_page(struct blog_db *db, const char *rid, long long viewer,
    const struct blog_db_filter *f, long long limit, long long offset,
    struct blog_db_stmt **out)
{
	struct blog_db_arg a[7] = {BLOG_DB_VIEWER(viewer)};
	size_t n = 2;
	unsigned int mask;

	mask = blog_db_filter(f, a, &n);
	a[n++] = BLOG_DB_INT(limit);
	a[n++] = BLOG_DB_INT(offset);
	return blog_db_exec(db, rid, BLOG_Q_LIST + mask, a, n, out);
}

enum cm_err
blog_db_articles_count(struct blog_db *db, const char *rid,
    const struct blog_db_filter *f, long long *count)
{
	struct blog_db_arg a[3];
	size_t n = 0;
	unsigned int mask;
	enum cm_err rc;

	mask = blog_db_filter(f, a, &n);
	rc = blog_db_number(
	    db, rid, BLOG_Q_LIST_COUNT + mask, BLOG_DB_COLUMN, a, n, count);
	return rc == CM_ENOTFOUND ? CM_OK : rc;
}

/*
 * The followed authors of viewer (up to BLOG_DB_FEED_AUTHORS, *n of them;
 * more sets *n past it), their article count, and the latest of their
 * k-th newest articles' times ("" when none has k), in *bound.
 */
static enum cm_err
blog_db_feed_heads(struct blog_db *db, const char *rid, long long viewer,
    long long k, long long *ids, size_t *n, long long *count, char (*bound)[32])
{
	struct blog_db_stmt *s = NULL;
	const char *t;
	enum cm_err rc;

	*n = 0;
	*count = 0;
	(*bound)[0] = '\0';
	if ((rc = blog_db_exec(db, rid, BLOG_Q_FEED_HEADS,
	         BLOG_DB_ARGS(BLOG_DB_INT(k - 1), BLOG_DB_INT(viewer)), &s)) !=
	    CM_OK)
		return rc;
	while ((rc = blog_db_fetch(db, rid, s)) == CM_OK) {
		if (*n < BLOG_DB_FEED_AUTHORS)
			ids[*n] = blog_db_int(s, 0);
		(*n)++;
		*count += blog_db_int(s, 1);
		/* "YYYY-MM-DD hh:mm:ss.fff": text order is time order. */
		t = blog_db_str(s, 2);
		if (t != NULL && strlen(t) < sizeof(*bound) &&
		    strcmp(t, *bound) > 0)
			snprintf(*bound, sizeof(*bound), "%s", t);
	}
	blog_db_done(s);
	return rc == CM_ENOTFOUND ? CM_OK : rc;
}

/*
 * A feed page must not read every article of every followed author (500
 * each at the bench's x50, 3,000 index entries sorted for 20 rows). Its
 * limit + offset = k newest articles are among each author's k newest, so
 * they are all at least as new as the latest of the authors' k-th newest
 * times: the page reads each author's articles since then, one index range
 * of at most about k entries each. The heads query that finds that time
 * also sums the authors' counters, which is articlesCount. A reader who
 * follows more than BLOG_DB_FEED_AUTHORS authors gets the plain join.
 */
enum cm_err
blog_db_feed_page(struct blog_db *db, const char *rid, long long viewer,
    long long limit, long long offset, long long *count,
    struct blog_db_stmt **out)
{
	long long ids[BLOG_DB_FEED_AUTHORS];
	struct blog_db_arg a[BLOG_DB_FEED_AUTHORS + 5] = {
	    BLOG_DB_VIEWER(viewer)};
	char bound[32];
	enum cm_err rc;
	size_t i, n;

	*out = NULL;
	/* limit 0 needs no bound, only the count (and k - 1 >= 0). */
	if ((rc = blog_db_feed_heads(db, rid, viewer,
	         limit > 0 ? limit + offset : 1, ids, &n, count, &bound)) !=
	    CM_OK)
		return rc;
	if (limit == 0 || n > BLOG_DB_FEED_AUTHORS)
		/* The viewer a third time: the follower whose feed this is. */
		return blog_db_exec(db, rid, BLOG_Q_FEED,
		    BLOG_DB_ARGS(BLOG_DB_VIEWER(viewer), BLOG_DB_INT(viewer),
		        BLOG_DB_INT(limit), BLOG_DB_INT(offset)),
		    out);
	for (i = 0; i < BLOG_DB_FEED_AUTHORS; i++)
		a[2 + i] = BLOG_DB_INT(i < n ? ids[i] : 0);
	n = 2 + BLOG_DB_FEED_AUTHORS;
	a[n++] = BLOG_DB_STR(bound[0] != '\0' ? bound : "1000-01-01");
	a[n++] = BLOG_DB_INT(limit);
	a[n++] = BLOG_DB_INT(offset);
	return blog_db_exec(db, rid, BLOG_Q_FEED_BOUNDED, a, n, out);
}

enum cm_err
blog_db_article_insert(struct blog_db *db, const char *rid,
    const struct blog_db_article *w, long long *id)
{
	return blog_db_number(db, rid, BLOG_Q_ARTICLE_INSERT, BLOG_DB_INSERT_ID,
	    BLOG_DB_ARGS(BLOG_DB_STR(w->slug), BLOG_DB_INT(w->author_id),
	        BLOG_DB_STR(w->title),
	        BLOG_DB_STRN(w->description, w->description_len),
	        BLOG_DB_STRN(w->body, w->body_len), BLOG_DB_STR(w->tag_list)),
	    id);
}

enum cm_err
blog_db_article_update(struct blog_db *db, const char *rid, long long id,
    const struct blog_db_article *w)
{
	/* NULL keeps a column (COALESCE); author_id is not changed. */
	return blog_db_exec(db, rid, BLOG_Q_ARTICLE_UPDATE,
	    BLOG_DB_ARGS(BLOG_DB_STR(w->slug), BLOG_DB_STR(w->title),
	        BLOG_DB_STRN(w->description, w->description_len),
	        BLOG_DB_STRN(w->body, w->body_len), BLOG_DB_STR(w->tag_list),
	        BLOG_DB_INT(id)),
	    NULL);
}

enum cm_err
blog_db_article_delete(
    struct blog_db *db, const char *rid, long long id, int *deleted)
{
	long long rows;
	enum cm_err rc;

	rc = blog_db_number(db, rid, BLOG_Q_ARTICLE_DELETE, BLOG_DB_CHANGED,
	    BLOG_DB_ARGS(BLOG_DB_INT(id)), &rows);
	*deleted = rows == 1;
	return rc;
}

enum cm_err
blog_db_article_count_add(
    struct blog_db *db, const char *rid, long long delta, unsigned int slot)
{
	return blog_db_exec(db, rid, BLOG_Q_ARTICLE_COUNT_ADD,
	    BLOG_DB_ARGS(BLOG_DB_INT(delta),
	        BLOG_DB_INT((long long)(slot % BLOG_DB_COUNT_SLOTS))),
	    NULL);
}

enum cm_err
blog_db_article_tag(
    struct blog_db *db, const char *rid, long long id, const char *tag)
{
	long long tag_id;
	enum cm_err rc;

	if ((rc = blog_db_number(db, rid, BLOG_Q_TAG_UPSERT, BLOG_DB_INSERT_ID,
	         BLOG_DB_ARGS(BLOG_DB_STR(tag)), &tag_id)) != CM_OK)
		return rc;
	return blog_db_exec(db, rid, BLOG_Q_ARTICLE_TAG_ADD,
	    BLOG_DB_ARGS(BLOG_DB_INT(id), BLOG_DB_INT(tag_id)), NULL);
}

enum cm_err
blog_db_article_tags_clear(struct blog_db *db, const char *rid, long long id)
{
	return blog_db_exec(db, rid, BLOG_Q_ARTICLE_TAGS_CLEAR,
	    BLOG_DB_ARGS(BLOG_DB_INT(id)), NULL);
}

enum cm_err
blog_db_article_lock(
    struct blog_db *db, const char *rid, const char *slug, long long *id)
{
	return blog_db_number(db, rid, BLOG_Q_ARTICLE_LOCK, BLOG_DB_COLUMN,
	    BLOG_DB_ARGS(BLOG_DB_STR(slug)), id);
}

enum cm_err
blog_db_favorite(struct blog_db *db, const char *rid, long long user_id,
    long long article_id, int add)
{
	long long rows;
	enum cm_err rc;

	if ((rc = blog_db_number(db, rid, add ? BLOG_Q_FAV_ADD : BLOG_Q_FAV_DEL,
	         BLOG_DB_CHANGED,
	         BLOG_DB_ARGS(BLOG_DB_INT(user_id), BLOG_DB_INT(article_id)),
	         &rows)) != CM_OK)
		return rc;
	/* The count moves exactly when a row came or went. */
	if (rows != 1)
		return CM_OK;
	return blog_db_exec(db, rid, add ? BLOG_Q_FAV_INC : BLOG_Q_FAV_DEC,
	    BLOG_DB_ARGS(BLOG_DB_INT(article_id)), NULL);
}

enum cm_err
blog_db_tags(struct blog_db *db, const char *rid, struct blog_db_stmt **out)
{
	return blog_db_exec(db, rid, BLOG_Q_TAGS, BLOG_DB_NOARGS, out);
}

enum cm_err
blog_db_comment_insert(struct blog_db *db, const char *rid,
    long long article_id, long long author_id, const char *body, size_t len,
    long long *id)
{
	return blog_db_number(db, rid, BLOG_Q_COMMENT_INSERT, BLOG_DB_INSERT_ID,
	    BLOG_DB_ARGS(BLOG_DB_INT(article_id), BLOG_DB_INT(author_id),
	        BLOG_DB_STRN(body, len)),
	    id);
}

enum cm_err
blog_db_comment_by_id(struct blog_db *db, const char *rid, long long viewer,
    long long id, struct blog_db_stmt **out)
{
	return blog_db_row(db, rid, BLOG_Q_COMMENT_BY_ID,
	    BLOG_DB_ARGS(BLOG_DB_INT(viewer), BLOG_DB_INT(id)), out);
}

enum cm_err
blog_db_comments_of(struct blog_db *db, const char *rid, long long viewer,
    long long article_id, struct blog_db_stmt **out)
{
	return blog_db_exec(db, rid, BLOG_Q_COMMENTS,
	    BLOG_DB_ARGS(BLOG_DB_INT(viewer), BLOG_DB_INT(article_id)), out);
}

enum cm_err
blog_db_comment_author(struct blog_db *db, const char *rid, long long id,
    long long article_id, long long *author_id)
{
	return blog_db_number(db, rid, BLOG_Q_COMMENT_HEAD, BLOG_DB_COLUMN,
	    BLOG_DB_ARGS(BLOG_DB_INT(id), BLOG_DB_INT(article_id)), author_id);
}

enum cm_err
blog_db_comment_delete(struct blog_db *db, const char *rid, long long id)
{
	return blog_db_exec(db, rid, BLOG_Q_COMMENT_DELETE,
	    BLOG_DB_ARGS(BLOG_DB_INT(id)), NULL);
}

enum cm_err
blog_db_profile(struct blog_db *db, const char *rid, long long viewer,
    const char *username, struct blog_db_stmt **out)
{
	return blog_db_row(db, rid, BLOG_Q_PROFILE,
	    BLOG_DB_ARGS(BLOG_DB_INT(viewer), BLOG_DB_STR(username)), out);
}

enum cm_err
blog_db_follow(struct blog_db *db, const char *rid, long long follower,
    long long followee, int follow)
{
	return blog_db_exec(db, rid, follow ? BLOG_Q_FOLLOW : BLOG_Q_UNFOLLOW,
	    BLOG_DB_ARGS(BLOG_DB_INT(follower), BLOG_DB_INT(followee)), NULL);
}

#define BLOG_DB_BACKOFF_MIN 100
#define BLOG_DB_BACKOFF_MAX 2000
/* A lost connection answered faster than this was a dead one, not a hang. */
#define BLOG_DB_FAST_FAIL_MS 1000
/*
 * How long a statement that may run again (blog_db_rerun_safe) waits for a
 * fresh connection after losing one.
 */
#define BLOG_DB_RERUN_MS 1500

struct blog_db {
	const struct blog_app *app;
	MYSQL *conn; /* NULL when disconnected */
	int in_txn;
	int outer; /* blog_db_outer_begin: begin/commit join one transaction */
	struct cm_reconnect reconnect;
	unsigned int last_errno;
	char last_error[256];
	unsigned int connect_timeout;
	unsigned int rw_timeout;
	unsigned long client_flags; /* CLIENT_MULTI_STATEMENTS for --migrate */
	struct blog_db_stmt st[BLOG_Q_MAX];
};
#define BLOG_DB_STRCAP 256

static void
blog_db_stmt_clear(struct blog_db_stmt *s)
{
	size_t i;

	if (s->stmt != NULL)
		mysql_stmt_close(s->stmt);
	if (s->col != NULL)
		for (i = 0; i < s->ncols; i++)
			free(s->col[i].buf);
	free(s->col);
	free(s->rb);
	memset(s, 0, sizeof(*s));
}

/*
 * Forget the connection and every statement prepared on it. A transaction
 * that was open stays "open" (and failing) until the caller rolls back, so
 * that its remaining statements cannot run outside it on a new connection.
 */
static void
blog_db_drop(struct blog_db *db)
{
	size_t i;

	for (i = 0; i < BLOG_Q_MAX; i++)
		blog_db_stmt_clear(&db->st[i]);
	if (db->conn != NULL)
		mysql_close(db->conn);
	db->conn = NULL;
}

struct blog_db *
blog_db_new(const struct blog_app *app, unsigned int connect_timeout,
    unsigned int rw_timeout)
{
	struct blog_db *db;

	if ((db = calloc(1, sizeof(*db))) == NULL)
		return NULL;
	db->app = app;
	db->connect_timeout = connect_timeout;
	db->rw_timeout = rw_timeout;
	db->reconnect.min_ms = BLOG_DB_BACKOFF_MIN;
	db->reconnect.max_ms = BLOG_DB_BACKOFF_MAX;
	return db;
}

void
blog_db_free(struct blog_db *db)
{
	if (db == NULL)
		return;
	blog_db_drop(db);
	free(db);
}

static enum cm_err
blog_db_connect(void *arg, const char *rid)
{
	struct blog_db *db = arg;
	const struct blog_app *app = db->app;
	/*
	 * Sessions work in UTC; lock waits give up well before the client's
	 * read timeout would cut the connection.
	 */
	const char *init = "SET time_zone = '+00:00', "
	                   "innodb_lock_wait_timeout = 1";
	MYSQL *c;

	if ((c = mysql_init(NULL)) == NULL)
		return CM_ENOMEM;
	mysql_options(c, MYSQL_OPT_CONNECT_TIMEOUT, &db->connect_timeout);
	mysql_options(c, MYSQL_OPT_READ_TIMEOUT, &db->rw_timeout);
	mysql_options(c, MYSQL_OPT_WRITE_TIMEOUT, &db->rw_timeout);
	mysql_options(c, MYSQL_SET_CHARSET_NAME, "utf8mb4");
	mysql_options(c, MYSQL_INIT_COMMAND, init);
	if (app->db_tls) {
		/*
		 * Like libpq's sslmode=verify-full: TLS or no connection, the
		 * server's chain checked against our CA file only, and its
		 * name against BLOG_DB_HOST. TCP even for "localhost", which
		 * the client library would otherwise take to mean the socket.
		 */
		my_bool on = 1;
		unsigned int tcp = MYSQL_PROTOCOL_TCP;

		mysql_options(c, MYSQL_OPT_PROTOCOL, &tcp);
		mysql_options(c, MYSQL_OPT_SSL_CA, app->db_tls_ca);
		mysql_options(c, MYSQL_OPT_SSL_VERIFY_SERVER_CERT, &on);
		mysql_options(c, MYSQL_OPT_SSL_ENFORCE, &on);
	}
	if (mysql_real_connect(c, app->db_socket != NULL ? NULL : app->db_host,
	        app->db_user, app->db_password, app->db_name, app->db_port,
	        app->db_socket, db->client_flags) == NULL) {
		db->last_errno = mysql_errno(c);
		snprintf(db->last_error, sizeof(db->last_error), "%s",
		    mysql_error(c));
		cm_log(CM_LOG_WARN, rid, "database connect failed: %s (%u)",
		    db->last_error, db->last_errno);
		mysql_close(c);
		return CM_EUNAVAIL;
	}
	db->conn = c;
	return CM_OK;
}

const struct blog_app *
blog_db_app(const struct blog_db *db)
{
	return db->app;
}

enum cm_err
blog_db_ready(struct blog_db *db, const char *rid)
{
	struct pollfd pfd;

	if (db == NULL)
		return CM_EUNAVAIL;
	if (db->conn != NULL && !db->in_txn) {
		/*
		 * An idle connection must have nothing to read: if it is
		 * readable the server closed it (restart, wait_timeout), and
		 * a statement sent on it would fail. One poll(2) is cheaper
		 * than a failed request.
		 */
		pfd.fd = (int)mysql_get_socket(db->conn);
		pfd.events = POLLIN | POLLRDHUP;
		pfd.revents = 0;
		if (poll(&pfd, 1, 0) != 0) {
			cm_log(CM_LOG_INFO, rid,
			    "database connection closed "
			    "by the server; reconnecting");
			blog_db_drop(db);
		}
	}
	if (db->conn != NULL)
		return CM_OK;
	if (db->in_txn)
		return CM_EUNAVAIL;
	return cm_reconnect(&db->reconnect, blog_db_connect, db, rid);
}

void
blog_db_set_migrating(struct blog_db *db)
{
	db->client_flags = CLIENT_MULTI_STATEMENTS;
}

void
blog_db_retry_now(struct blog_db *db)
{
	cm_reconnect_now(&db->reconnect);
}

unsigned int
blog_db_last_errno(const struct blog_db *db)
{
	return db->last_errno;
}

const char *
blog_db_last_error(const struct blog_db *db)
{
	return db->last_error;
}

MYSQL *
blog_db_conn(struct blog_db *db)
{
	return db->conn;
}

/*
 * Classify the last error of stmt (or of the connection when stmt is NULL),
 * log what the client will not see, and drop a broken connection.
 */
static enum cm_err
blog_db_error(struct blog_db *db, const char *rid, MYSQL_STMT *stmt,
    enum blog_q q, const char *what)
{
	const char *state;
	unsigned int e;

	if (stmt != NULL) {
		e = mysql_stmt_errno(stmt);
		state = mysql_stmt_sqlstate(stmt);
		snprintf(db->last_error, sizeof(db->last_error), "%s",
		    mysql_stmt_error(stmt));
	} else {
		e = mysql_errno(db->conn);
		state = mysql_sqlstate(db->conn);
		snprintf(db->last_error, sizeof(db->last_error), "%s",
		    mysql_error(db->conn));
	}
	db->last_errno = e;
	/*
	 * The client's data, not our failure: SQLSTATE class 22 (data
	 * exception), and MariaDB's errors for the same things that report
	 * HY000 (bytes that are not UTF-8, a collation mix that only such
	 * bytes cause). A 400, logged at warn; the handlers' own checks should
	 * catch these first.
	 */
	if ((state != NULL && strncmp(state, "22", 2) == 0) ||
	    e == ER_TRUNCATED_WRONG_VALUE_FOR_FIELD ||
	    e == ER_INVALID_CHARACTER_STRING ||
	    e == ER_CANT_AGGREGATE_2COLLATIONS ||
	    e == ER_CANT_AGGREGATE_3COLLATIONS ||
	    e == ER_CANT_AGGREGATE_NCOLLATIONS) {
		cm_log(CM_LOG_WARN, rid, "database %s (query %d): %s (%u)",
		    what, (int)q, db->last_error, e);
		return CM_EINVAL;
	}
	switch (e) {
	case ER_DUP_ENTRY:
		return CM_ECONFLICT;
	case ER_NO_REFERENCED_ROW:
	case ER_NO_REFERENCED_ROW_2:
		return CM_ENOTFOUND;
	case ER_LOCK_DEADLOCK:
	case ER_LOCK_WAIT_TIMEOUT:
		cm_log(CM_LOG_WARN, rid, "database %s (query %d): %s (%u)",
		    what, (int)q, db->last_error, e);
		return CM_EDB;
	case ER_SERVER_SHUTDOWN:
	case ER_CONNECTION_KILLED:
	/*
	 * A Galera node outside the primary component (joining, or cut off)
	 * refuses every statement: this connection is no use, the next one
	 * goes through the proxy to a node that is in.
	 */
	case ER_UNKNOWN_COM_ERROR:
		break;
	default:
		/* 2000..2999 are client errors: the connection is unusable. */
		if (e >= 2000 && e < 3000)
			break;
		cm_log(CM_LOG_ERROR, rid, "database %s (query %d): %s (%u)",
		    what, (int)q, db->last_error, e);
		cm_metrics_db_error();
		return CM_EDB;
	}
	cm_log(CM_LOG_WARN, rid,
	    "database connection lost during %s "
	    "(query %d): %s (%u)",
	    what, (int)q, db->last_error, e);
	cm_metrics_db_error();
	blog_db_drop(db);
	return CM_EUNAVAIL;
}

/* Prepare q on this connection if needed and set up its result buffers. */
static enum cm_err
blog_db_prepare(struct blog_db *db, const char *rid, enum blog_q q,
    struct blog_db_stmt **out)
{
	const struct blog_db_query *bq = &blog_db_queries[q];
	struct blog_db_stmt *s = &db->st[q];
	enum cm_err rc;
	size_t i;

	*out = s;
	if (s->stmt != NULL)
		return CM_OK;
	if (bq->sql == NULL) {
		cm_log(CM_LOG_ERROR, rid, "query %d is not defined", (int)q);
		return CM_EINTERNAL;
	}
	if ((s->stmt = mysql_stmt_init(db->conn)) == NULL)
		return CM_ENOMEM;
	if (mysql_stmt_prepare(s->stmt, bq->sql, strlen(bq->sql)) != 0) {
		rc = blog_db_error(db, rid, s->stmt, q, "prepare");
		blog_db_stmt_clear(s);
		return rc;
	}
	s->cols = bq->cols;
	s->ncols = strlen(bq->cols);
	if (mysql_stmt_field_count(s->stmt) != s->ncols) {
		cm_log(CM_LOG_ERROR, rid, "query %d: %u columns, expected %zu",
		    (int)q, mysql_stmt_field_count(s->stmt), s->ncols);
		blog_db_stmt_clear(s);
		return CM_EINTERNAL;
	}
	if (s->ncols == 0)
		return CM_OK;
	s->rb = calloc(s->ncols, sizeof(*s->rb));
	s->col = calloc(s->ncols, sizeof(*s->col));
	if (s->rb == NULL || s->col == NULL) {
		blog_db_stmt_clear(s);
		return CM_ENOMEM;
	}
	for (i = 0; i < s->ncols; i++) {
		MYSQL_BIND *b = &s->rb[i];
		struct blog_db_col *c = &s->col[i];

		b->is_null = &c->null;
		b->length = &c->len;
		b->error = &c->err;
		switch (s->cols[i]) {
		case 's':
			if ((c->buf = malloc(BLOG_DB_STRCAP)) == NULL) {
				blog_db_stmt_clear(s);
				return CM_ENOMEM;
			}
			c->cap = BLOG_DB_STRCAP;
			b->buffer_type = MYSQL_TYPE_STRING;
			b->buffer = c->buf;
			/* One byte stays free for the terminating NUL. */
			b->buffer_length = c->cap - 1;
			break;
		case 't':
			b->buffer_type = MYSQL_TYPE_DATETIME;
			b->buffer = &c->t;
			b->buffer_length = sizeof(c->t);
			break;
		default:
			b->buffer_type = MYSQL_TYPE_LONGLONG;
			b->buffer = &c->i;
			b->buffer_length = sizeof(c->i);
			break;
		}
	}
	return CM_OK;
}

/* The MYSQL_BIND form of an execution's args, on blog_db_exec's stack. */
struct blog_db_binds {
	MYSQL_BIND b[BLOG_DB_MAXARGS];
	unsigned long len[BLOG_DB_MAXARGS];
	size_t n;
};

static enum cm_err
blog_db_bind(const char *rid, enum blog_q q, const struct blog_db_arg *args,
    size_t n, struct blog_db_binds *bb)
{
	const struct blog_db_arg *a;
	MYSQL_BIND *b;
	size_t i;

	if (n > BLOG_DB_MAXARGS) {
		cm_log(CM_LOG_ERROR, rid, "query %d: %zu arguments, at most %d",
		    (int)q, n, BLOG_DB_MAXARGS);
		return CM_EINTERNAL;
	}
	memset(bb->b, 0, n * sizeof(bb->b[0]));
	bb->n = n;
	for (i = 0; i < n; i++) {
		a = &args[i];
		b = &bb->b[i];
		/* The library only reads input buffers. */
		if (a->kind == BLOG_DB_KIND_INT) {
			b->buffer_type = MYSQL_TYPE_LONGLONG;
			b->buffer = (void *)(uintptr_t)&a->i;
		} else if (a->s == NULL) {
			b->buffer_type = MYSQL_TYPE_NULL;
		} else {
			bb->len[i] = (unsigned long)(a->kind == BLOG_DB_KIND_STR
			        ? strlen(a->s)
			        : a->len);
			b->buffer_type = MYSQL_TYPE_STRING;
			b->buffer = (void *)(uintptr_t)a->s;
			b->buffer_length = bb->len[i];
			b->length = &bb->len[i];
		}
	}
	return CM_OK;
}

static enum cm_err
blog_db_exec1(struct blog_db *db, const char *rid, enum blog_q q,
    struct blog_db_binds *bb, struct blog_db_stmt **out, int *sent)
{
	struct blog_db_stmt *s;
	enum cm_err rc;

	*sent = 0;
	if ((rc = blog_db_ready(db, rid)) != CM_OK)
		return rc;
	if ((rc = blog_db_prepare(db, rid, q, &s)) != CM_OK)
		return rc;
	mysql_stmt_free_result(s->stmt);
	if (bb->n != mysql_stmt_param_count(s->stmt)) {
		cm_log(CM_LOG_ERROR, rid,
		    "query %d: %zu arguments, expected %lu", (int)q, bb->n,
		    mysql_stmt_param_count(s->stmt));
		return CM_EINTERNAL;
	}
	if (bb->n > 0 && mysql_stmt_bind_param(s->stmt, bb->b))
		return blog_db_error(db, rid, s->stmt, q, "bind");
	/* From here on the server may have run it. */
	*sent = 1;
	if (mysql_stmt_execute(s->stmt) != 0)
		return blog_db_error(db, rid, s->stmt, q, "execute");
	if (s->ncols > 0) {
		if (mysql_stmt_bind_result(s->stmt, s->rb) != 0)
			return blog_db_error(db, rid, s->stmt, q, "bind");
		if (mysql_stmt_store_result(s->stmt) != 0)
			return blog_db_error(db, rid, s->stmt, q, "fetch");
	}
	*out = s;
	return CM_OK;
}

static enum cm_err
blog_db_exec(struct blog_db *db, const char *rid, enum blog_q q,
    const struct blog_db_arg *args, size_t n, struct blog_db_stmt **out)
{
	struct blog_db_stmt *s = NULL;
	struct blog_db_binds bb;
	enum cm_err rc;
	int in_txn, had_conn, sent;
	long long t0, t1;

	if (out != NULL)
		*out = NULL;
	if (db == NULL)
		return CM_EUNAVAIL;
	if ((rc = blog_db_bind(rid, q, args, n, &bb)) != CM_OK)
		return rc;
	/* Under an outer transaction nothing runs outside one. */
	if (db->outer && !db->in_txn && q != BLOG_Q_BEGIN &&
	    q != BLOG_Q_COMMIT && q != BLOG_Q_ROLLBACK &&
	    (rc = blog_db_begin(db, rid)) != CM_OK)
		return rc;
	in_txn = db->in_txn;
	had_conn = db->conn != NULL;
	t0 = cm_clock_ms();
	rc = blog_db_exec1(db, rid, q, &bb, &s, &sent);
	/*
	 * A statement whose connection broke, or that a Galera node refused,
	 * runs once more on a fresh connection when that cannot repeat an
	 * effect (blog_db_rerun_safe). A slow 2013 is a timeout and is not
	 * retried: the database is hung and the client waited enough.
	 */
	if (rc == CM_EUNAVAIL && had_conn && db->conn == NULL &&
	    blog_db_rerun_safe(db->last_errno, sent,
	        blog_db_queries[q].readonly, in_txn, cm_clock_ms() - t0)) {
		/*
		 * The first connections after a failover may still reach the
		 * dead or drained node while the proxy in front has not moved
		 * yet: a few spaced tries, bounded by BLOG_DB_RERUN_MS.
		 */
		t1 = t0 = cm_clock_ms();
		for (;;) {
			cm_reconnect_now(&db->reconnect);
			rc = blog_db_exec1(db, rid, q, &bb, &s, &sent);
			if (rc != CM_EUNAVAIL || db->conn != NULL ||
			    cm_clock_ms() - t0 >= BLOG_DB_RERUN_MS ||
			    !blog_db_rerun_safe(db->last_errno, sent,
			        blog_db_queries[q].readonly, 0,
			        cm_clock_ms() - t1))
				break;
			usleep(200 * 1000);
			t1 = cm_clock_ms();
		}
	}
	if (rc == CM_OK && out != NULL)
		*out = s;
	return rc;
}

enum cm_err
blog_db_fetch(struct blog_db *db, const char *rid, struct blog_db_stmt *s)
{
	struct blog_db_col *c;
	size_t i, cap;
	char *p;
	int r;

	r = mysql_stmt_fetch(s->stmt);
	if (r == MYSQL_NO_DATA)
		return CM_ENOTFOUND;
	if (r == 1)
		return blog_db_error(db, rid, s->stmt, BLOG_Q_MAX, "fetch");
	if (r == MYSQL_DATA_TRUNCATED) {
		/* Grow the strings that did not fit and fetch them again. */
		for (i = 0; i < s->ncols; i++) {
			c = &s->col[i];
			if (s->cols[i] != 's' || !c->err || c->null)
				continue;
			cap = (size_t)c->len + 1;
			if (cap < c->cap * 2)
				cap = c->cap * 2;
			if ((p = realloc(c->buf, cap)) == NULL)
				return CM_ENOMEM;
			c->buf = p;
			c->cap = cap;
			s->rb[i].buffer = p;
			s->rb[i].buffer_length = cap - 1;
			if (mysql_stmt_fetch_column(
			        s->stmt, &s->rb[i], (unsigned int)i, 0) != 0)
				return blog_db_error(
				    db, rid, s->stmt, BLOG_Q_MAX, "fetch");
		}
		if (mysql_stmt_bind_result(s->stmt, s->rb) != 0)
			return blog_db_error(
			    db, rid, s->stmt, BLOG_Q_MAX, "bind");
	}
	for (i = 0; i < s->ncols; i++) {
		c = &s->col[i];
		if (s->cols[i] == 's' && !c->null && c->len < c->cap)
			c->buf[c->len] = '\0';
		c->ts[0] = '\0';
	}
	return CM_OK;
}

enum cm_err
blog_db_rows_json(struct blog_db *db, const char *rid, struct blog_db_stmt *s,
    json_t *(*row_json)(struct blog_db_stmt *s), json_t **arr)
{
	enum cm_err rc;
	json_t *v;

	if ((*arr = json_array()) == NULL)
		return CM_ENOMEM;
	while ((rc = blog_db_fetch(db, rid, s)) == CM_OK)
		if ((v = row_json(s)) == NULL ||
		    json_array_append_new(*arr, v) != 0) {
			rc = CM_ENOMEM;
			break;
		}
	if (rc == CM_ENOTFOUND)
		return CM_OK;
	json_decref(*arr);
	*arr = NULL;
	return rc;
}

enum cm_err
blog_db_rows_answer(struct cm_req *req, enum cm_err rc, struct blog_db_stmt *s,
    const char *key, json_t *(*row_json)(struct blog_db_stmt *s))
{
	json_t *arr;

	if (rc == CM_OK &&
	    (rc = blog_db_rows_json(
	         req->worker, req->request_id, s, row_json, &arr)) == CM_OK)
		rc = cm_resp_wrap(&req->resp, 200, key, arr);
	blog_db_done(s);
	return rc;
}

void
blog_db_done(struct blog_db_stmt *s)
{
	if (s != NULL && s->stmt != NULL)
		mysql_stmt_free_result(s->stmt);
}

const char *
blog_db_str(const struct blog_db_stmt *s, size_t i)
{
	if (i >= s->ncols || s->col[i].null || s->cols[i] != 's')
		return NULL;
	return s->col[i].buf;
}

size_t
blog_db_len(const struct blog_db_stmt *s, size_t i)
{
	if (i >= s->ncols || s->col[i].null)
		return 0;
	return s->col[i].len;
}

long long
blog_db_int(const struct blog_db_stmt *s, size_t i)
{
	if (i >= s->ncols || s->col[i].null)
		return 0;
	return s->col[i].i;
}

void
blog_db_format_time(const MYSQL_TIME *t, char out[32])
{
	snprintf(out, 32, "%04u-%02u-%02uT%02u:%02u:%02u.%03luZ",
	    t->year % 10000, t->month % 100, t->day % 100, t->hour % 100,
	    t->minute % 100, t->second % 100,
	    (unsigned long)(t->second_part / 1000) % 1000);
}

const char *
blog_db_time(struct blog_db_stmt *s, size_t i)
{
	struct blog_db_col *c;

	if (i >= s->ncols || s->col[i].null)
		return NULL;
	c = &s->col[i];
	if (c->ts[0] == '\0')
		blog_db_format_time(&c->t, c->ts);
	return c->ts;
}

long long
blog_db_affected(const struct blog_db_stmt *s)
{
	return (long long)mysql_stmt_affected_rows(s->stmt);
}

long long
blog_db_insert_id(const struct blog_db_stmt *s)
{
	return (long long)mysql_stmt_insert_id(s->stmt);
}

enum cm_err
blog_db_begin(struct blog_db *db, const char *rid)
{
	enum cm_err rc;

	if (db == NULL)
		return CM_EUNAVAIL;
	if (db->outer && db->in_txn)
		return CM_OK;
	if ((rc = blog_db_exec(db, rid, BLOG_Q_BEGIN, BLOG_DB_NOARGS, NULL)) ==
	    CM_OK)
		db->in_txn = 1;
	return rc;
}

enum cm_err
blog_db_commit(struct blog_db *db, const char *rid)
{
	enum cm_err rc;

	if (db->outer)
		return CM_OK;
	rc = blog_db_exec(db, rid, BLOG_Q_COMMIT, BLOG_DB_NOARGS, NULL);
	if (rc != CM_OK)
		blog_db_rollback(db, rid);
	db->in_txn = 0;
	return rc;
}

void
blog_db_rollback(struct blog_db *db, const char *rid)
{
	if (db == NULL || !db->in_txn)
		return;
	if (db->conn != NULL)
		(void)blog_db_exec(
		    db, rid, BLOG_Q_ROLLBACK, BLOG_DB_NOARGS, NULL);
	db->in_txn = 0;
}

enum cm_err
blog_db_outer_begin(struct blog_db *db, const char *rid)
{
	enum cm_err rc;

	if (db == NULL)
		return CM_EUNAVAIL;
	if ((rc = blog_db_begin(db, rid)) == CM_OK)
		db->outer = 1;
	return rc;
}

enum cm_err
blog_db_outer_commit(struct blog_db *db, const char *rid)
{
	db->outer = 0;
	if (!db->in_txn)
		return CM_OK;
	return blog_db_commit(db, rid);
}

void
blog_db_outer_abort(struct blog_db *db, const char *rid)
{
	if (db == NULL)
		return;
	db->outer = 0;
	blog_db_rollback(db, rid);
}

enum cm_err
blog_db_txn(struct blog_db *db, const char *rid, blog_db_txn_fn fn, void *ctx)
{
	enum cm_err rc;
	int attempt;
	long long t0;

	t0 = cm_clock_ms();
	for (attempt = 0;; attempt++) {
		if ((rc = blog_db_begin(db, rid)) != CM_OK)
			return rc;
		if ((rc = fn(db, rid, ctx)) == CM_OK)
			rc = blog_db_commit(db, rid);
		else
			blog_db_rollback(db, rid);
		if (rc == CM_EDB && blog_db_retryable(db) && attempt < 2)
			continue;
		/*
		 * A Galera node refused a statement or the COMMIT (1047): the
		 * transaction never committed anywhere, so it runs again on a
		 * fresh connection, spaced while the proxy moves to another
		 * node. Any other lost connection may have lost a COMMIT that
		 * did happen: the caller answers 503. Not under an outer
		 * transaction, whose earlier statements went with it.
		 */
		if (rc == CM_EUNAVAIL && db->conn == NULL && !db->outer &&
		    db->last_errno == ER_UNKNOWN_COM_ERROR &&
		    cm_clock_ms() - t0 < BLOG_DB_RERUN_MS) {
			usleep(200 * 1000);
			cm_reconnect_now(&db->reconnect);
			continue;
		}
		break;
	}
	return rc;
}

int
blog_db_dup_key(const struct blog_db *db, const char *name)
{
	const char *key;
	size_t n = strlen(name), k;

	if (db->last_errno != ER_DUP_ENTRY)
		return 0;
	/*
	 * "Duplicate entry '<value>' for key '<name>'" (MySQL 8 writes
	 * 'table.name'): the value is the client's (a username may well be
	 * "uk_users_email"), so only the text after the last "for key '"
	 * counts.
	 */
	if ((key = strstr(db->last_error, "for key '")) == NULL)
		return 0;
	while (strstr(key + 1, "for key '") != NULL)
		key = strstr(key + 1, "for key '");
	key += strlen("for key '");
	k = strcspn(key, "'");
	return k >= n && strncmp(key + k - n, name, n) == 0 &&
	    (k == n || key[k - n - 1] == '.');
}

int
blog_db_retryable(const struct blog_db *db)
{
	return db->last_errno == ER_LOCK_DEADLOCK ||
	    db->last_errno == ER_LOCK_WAIT_TIMEOUT;
}

int
blog_db_rerun_safe(
    unsigned int err, int sent, int readonly, int in_txn, long long elapsed_ms)
{
	/* The transaction went with the connection: blog_db_txn decides. */
	if (in_txn)
		return 0;
	/* No connection to send it on (connect failed): it never ran. */
	if (!sent || err == ER_UNKNOWN_COM_ERROR)
		return 1;
	if (!readonly)
		return 0;
	return err == CR_SERVER_GONE_ERROR ||
	    (err == CR_SERVER_LOST && elapsed_ms < BLOG_DB_FAST_FAIL_MS);
}
