/*
 * blog_dburl.c: parsing BLOG_DB_URL (see blog_dburl.h).
 */
#include <stdlib.h>
#include <string.h>
#include <stdio.h>

#include "blog_dburl.h"
#include "cm_url.h"

/* A percent-decoded copy of s[0..len); NULL on a bad escape or ENOMEM. */
static char *
blog_dburl_decode(const char *s, size_t len)
{
	char *out;

	if ((out = malloc(len + 1)) == NULL)
		return NULL;
	if (cm_url_decode(s, len, 0, out) < 0) {
		free(out);
		return NULL;
	}
	return out;
}

enum cm_err
blog_dburl_parse(
    const char *url, struct blog_dburl *out, char *err, size_t errlen)
{
	const char *p, *at, *slash, *colon, *q, *end;
	char *portstr = NULL, *e;
	long port = 3306;

	memset(out, 0, sizeof(*out));
	if (strncmp(url, "mysql://", 8) == 0)
		p = url + 8;
	else if (strncmp(url, "mariadb://", 10) == 0)
		p = url + 10;
	else {
		snprintf(err, errlen,
		    "BLOG_DB_URL must start with mysql:// or mariadb://");
		return CM_EINVAL;
	}
	/* The last '@' before the path ends the credentials. */
	slash = strchr(p, '/');
	if (slash == NULL) {
		snprintf(err, errlen, "BLOG_DB_URL has no /DATABASE");
		return CM_EINVAL;
	}
	at = NULL;
	for (q = p; q < slash; q++)
		if (*q == '@')
			at = q;
	if (at == NULL || at == p) {
		snprintf(err, errlen, "BLOG_DB_URL has no USER@ part");
		return CM_EINVAL;
	}
	colon = memchr(p, ':', (size_t)(at - p));
	out->user = blog_dburl_decode(p, (size_t)((colon ? colon : at) - p));
	if (colon != NULL)
		out->password =
		    blog_dburl_decode(colon + 1, (size_t)(at - colon - 1));
	if (out->user == NULL || *out->user == '\0' ||
	    (colon != NULL && out->password == NULL)) {
		snprintf(err, errlen,
		    "BLOG_DB_URL: the user or password is empty or has a bad "
		    "%%-escape");
		goto fail;
	}
	/* host[:port] */
	colon = memchr(at + 1, ':', (size_t)(slash - at - 1));
	end = colon != NULL ? colon : slash;
	if (end == at + 1) {
		snprintf(err, errlen, "BLOG_DB_URL has no host");
		goto fail;
	}
	if ((out->host = strndup(at + 1, (size_t)(end - at - 1))) == NULL)
		goto nomem;
	if (colon != NULL) {
		if ((portstr = strndup(
		         colon + 1, (size_t)(slash - colon - 1))) == NULL)
			goto nomem;
		port = strtol(portstr, &e, 10);
		if (*portstr == '\0' || *e != '\0' || port < 1 ||
		    port > 65535) {
			snprintf(err, errlen,
			    "BLOG_DB_URL: port must be 1 to 65535");
			goto fail;
		}
	}
	out->port = (unsigned int)port;
	/* /name[?socket=path] */
	q = strchr(slash + 1, '?');
	end = q != NULL ? q : slash + strlen(slash);
	if (end == slash + 1) {
		snprintf(err, errlen, "BLOG_DB_URL has an empty database name");
		goto fail;
	}
	if ((out->name = blog_dburl_decode(
	         slash + 1, (size_t)(end - slash - 1))) == NULL) {
		snprintf(err, errlen, "BLOG_DB_URL: bad %%-escape in the name");
		goto fail;
	}
	if (q != NULL) {
		if (strncmp(q, "?socket=", 8) != 0 || q[8] == '\0') {
			snprintf(err, errlen,
			    "BLOG_DB_URL: the only option is ?socket=/path");
			goto fail;
		}
		if ((out->socket = blog_dburl_decode(q + 8, strlen(q + 8))) ==
		    NULL) {
			snprintf(err, errlen,
			    "BLOG_DB_URL: bad %%-escape in the socket");
			goto fail;
		}
	}
	free(portstr);
	return CM_OK;
nomem:
	snprintf(err, errlen, "BLOG_DB_URL: out of memory");
	free(portstr);
	blog_dburl_free(out);
	return CM_ENOMEM;
fail:
	free(portstr);
	blog_dburl_free(out);
	return CM_EINVAL;
}

void
blog_dburl_free(struct blog_dburl *u)
{
	free(u->user);
	free(u->password);
	free(u->host);
	free(u->name);
	free(u->socket);
	memset(u, 0, sizeof(*u));
}
