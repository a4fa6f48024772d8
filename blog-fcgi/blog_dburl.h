/*
 * blog_dburl.h: BLOG_DB_URL, the one-setting form of the database address:
 *
 *   mysql://USER[:PASSWORD]@HOST[:PORT]/DATABASE[?socket=/path/to.sock]
 *
 * USER and PASSWORD may be percent-encoded; "mariadb://" is accepted too.
 */
#ifndef BLOG_DBURL_H
#define BLOG_DBURL_H

#include <stddef.h>

#include "cm_err.h"

struct blog_dburl {
	char *user;
	char *password; /* NULL when absent */
	char *host;
	unsigned int port; /* 3306 when absent */
	char *name;
	char *socket; /* NULL when absent */
};

/*
 * Parse url into out (strings malloc'd; release with blog_dburl_free).
 * CM_EINVAL with a reason in err (never echoing the password), CM_ENOMEM.
 */
enum cm_err blog_dburl_parse(
    const char *url, struct blog_dburl *out, char *err, size_t errlen);

/* Safe on a zeroed or partly filled struct. */
void blog_dburl_free(struct blog_dburl *u);

#endif
