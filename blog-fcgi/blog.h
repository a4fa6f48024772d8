/*
 * blog.h: the process-wide context of blog-fcgi, shared read-only by every
 * worker once the server runs.
 */
#ifndef BLOG_H
#define BLOG_H

#include "cm_jwt.h"

/* Field limits (characters, not bytes); the 422 messages name them. */
#define BLOG_USERNAME_MAX 64
/*
 * Usernames are also bounded in bytes (a token and every payments row carry
 * them): 128 bytes is 42 Chinese characters. Their canonical key may be
 * longer than the name (NFKC turns "㍿" into four characters, case folding
 * "ß" into "ss"); users.username_key holds 255.
 */
#define BLOG_USERNAME_BYTES_MAX 128
#define BLOG_USERNAME_KEY_MAX 255
/* The key's confusable skeleton (UTS 39): "m" becomes "rn", so longer. */
#define BLOG_USERNAME_SKELETON_MAX 510
#define BLOG_EMAIL_MAX 254
#define BLOG_PASSWORD_MIN 8
#define BLOG_PASSWORD_MAX 256
#define BLOG_BIO_MAX 2000
#define BLOG_IMAGE_MAX 2000
#define BLOG_TITLE_MAX 255
#define BLOG_DESCRIPTION_MAX 1000
#define BLOG_BODY_MAX 100000
#define BLOG_COMMENT_MAX 10000
#define BLOG_TAG_MAX 64
#define BLOG_TAGS_MAX 32
#define BLOG_LIMIT_DEFAULT 20
#define BLOG_LIMIT_MAX 100
#define BLOG_OFFSET_MAX 1000000000LL

struct blog_ident_relay;
struct blog_cache;

struct blog_app {
	struct cm_jwt *jwt;
	/* Identity delivery to pay (blog_ident.c); npay_urls 0: none. */
	char **pay_urls; /* BLOG_IDENTITY_URLS, split */
	size_t npay_urls;
	long ident_timeout_ms; /* BLOG_IDENTITY_TIMEOUT_MS */
	long ident_relay_ms; /* BLOG_IDENTITY_RELAY_MS */
	struct blog_ident_relay *relay;
	char *db_host;
	unsigned int db_port;
	char *db_socket; /* wins over host/port when set */
	char *db_user;
	char *db_password;
	char *db_name;
	int db_tls; /* BLOG_DB_TLS=verify-full */
	char *db_tls_ca; /* BLOG_DB_TLS_CA_FILE */
	long idem_ttl_hours; /* Idempotency-Keys kept at least this long */
	/* Kept answers (blog_cache.c); NULL when BLOG_READ_CACHE_MB is 0. */
	struct blog_cache *cache;
	/*
	 * BLOG_READ_VERSION_WINDOW_US: version reads shared over this long,
	 * and every write answered that long after its commit (blog_cache.c).
	 */
	long read_window_us;
};

#endif
