/*
 * cm_router.c: matching a path against a const table of patterns.
 *
 * The path comes from nginx's $document_uri, which nginx has already
 * percent-decoded and normalised, so parameters are taken as they are.
 */
#include <stdlib.h>
#include <string.h>

#include "cm_router.h"

/*
 * Match one pattern. On success stores the parameters in req (names point
 * into the pattern, values are request-lifetime copies) and returns 1.
 * Returns 0 on mismatch, -1 on out of memory.
 */
static int
cm_router_try(
    const char *pat, const char *path, struct cm_req *req, int capture)
{
	const char *pe, *se;
	size_t np = 0, plen, slen;
	char *v;

	while (*pat != '\0' && *path != '\0') {
		if (*pat != '/' || *path != '/')
			return 0;
		pat++;
		path++;
		pe = strchr(pat, '/');
		se = strchr(path, '/');
		plen = pe ? (size_t)(pe - pat) : strlen(pat);
		slen = se ? (size_t)(se - path) : strlen(path);
		if (*pat == ':') {
			if (slen == 0 || np >= CM_REQ_MAX_PARAMS)
				return 0;
			if (capture) {
				if ((v = cm_req_alloc(req, slen + 1)) == NULL)
					return -1;
				memcpy(v, path, slen);
				v[slen] = '\0';
				/* Names are the pattern's text after ':'. */
				req->pname[np] = pat + 1;
				req->pvalue[np] = v;
			}
			np++;
		} else if (plen != slen || memcmp(pat, path, plen) != 0) {
			return 0;
		}
		pat += plen;
		path += slen;
	}
	if (*pat != '\0' || *path != '\0')
		return 0;
	if (capture)
		req->nparams = np;
	return 1;
}

enum cm_err
cm_router_match(const struct cm_route *routes, size_t n, struct cm_req *req,
    struct cm_router_match *match)
{
	size_t i, k;
	int path_known = 0;
	char *name;

	match->route = NULL;
	match->allow[0] = '\0';
	if (req->path == NULL || req->path[0] != '/')
		return CM_ENOTFOUND;
	for (i = 0; i < n; i++) {
		if (cm_router_try(routes[i].pattern, req->path, req, 0) == 0)
			continue;
		path_known = 1;
		if (strcmp(routes[i].method, req->method) != 0 &&
		    !(strcmp(req->method, "HEAD") == 0 &&
		        strcmp(routes[i].method, "GET") == 0))
			continue;
		if (cm_router_try(routes[i].pattern, req->path, req, 1) < 0)
			return CM_ENOMEM;
		/*
		 * Parameter names were stored as "slug/comments/:id": cut
		 * each at its '/' into a request-lifetime copy.
		 */
		for (k = 0; k < req->nparams; k++) {
			const char *e = strchr(req->pname[k], '/');
			size_t len = e ? (size_t)(e - req->pname[k])
			               : strlen(req->pname[k]);

			if ((name = cm_req_alloc(req, len + 1)) == NULL)
				return CM_ENOMEM;
			memcpy(name, req->pname[k], len);
			name[len] = '\0';
			req->pname[k] = name;
		}
		match->route = &routes[i];
		req->route = routes[i].pattern;
		req->matched = &routes[i];
		return CM_OK;
	}
	if (!path_known)
		return CM_ENOTFOUND;
	/* Known path, wrong method: list what is allowed. */
	for (i = 0; i < n; i++) {
		if (cm_router_try(routes[i].pattern, req->path, req, 0) != 1)
			continue;
		if (strstr(match->allow, routes[i].method) != NULL)
			continue;
		if (match->allow[0] != '\0')
			strncat(match->allow, ", ",
			    sizeof(match->allow) - strlen(match->allow) - 1);
		strncat(match->allow, routes[i].method,
		    sizeof(match->allow) - strlen(match->allow) - 1);
	}
	return CM_EMETHOD;
}

struct cm_route *
cm_router_join(const struct cm_route *const *tables, size_t *n)
{
	const struct cm_route *const *t;
	const struct cm_route *r;
	struct cm_route *all;
	size_t k = 0;

	for (t = tables; *t != NULL; t++)
		for (r = *t; r->method != NULL; r++)
			k++;
	/* One spare row: calloc(0) may answer NULL. */
	if ((all = calloc(k + 1, sizeof(*all))) == NULL)
		return NULL;
	*n = 0;
	for (t = tables; *t != NULL; t++)
		for (r = *t; r->method != NULL; r++)
			all[(*n)++] = *r;
	return all;
}
