/*
 * cm_config.c: settings from the environment, with NAME_FILE for secrets.
 */
#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "cm_config.h"
#include "cm_log.h"

#define CM_CONFIG_FILE_MAX ((size_t)64 * 1024)

enum cm_err
cm_config_file(const char *path, size_t max, char **out, size_t *len, char *err,
    size_t errlen)
{
	char *tmp = NULL;
	FILE *fp = NULL;
	size_t n = 0;
	enum cm_err rc = CM_EINVAL;

	*out = NULL;
	*len = 0;
	if ((fp = fopen(path, "rb")) == NULL) {
		snprintf(
		    err, errlen, "%s: cannot open: %s", path, strerror(errno));
		goto out;
	}
	/* One byte more than the limit tells "too big" from "just fits". */
	if ((tmp = malloc(max + 1)) == NULL)
		goto nomem;
	n = fread(tmp, 1, max + 1, fp);
	if (ferror(fp)) {
		snprintf(
		    err, errlen, "%s: cannot read: %s", path, strerror(errno));
		goto out;
	}
	if (n > max) {
		snprintf(err, errlen, "%s: larger than %zu bytes", path, max);
		goto out;
	}
	if ((*out = malloc(n + 1)) == NULL)
		goto nomem;
	memcpy(*out, tmp, n);
	(*out)[n] = '\0';
	*len = n;
	rc = CM_OK;
	goto out;
nomem:
	snprintf(err, errlen, "%s: out of memory", path);
	rc = CM_ENOMEM;
out:
	if (tmp != NULL) {
		explicit_bzero(tmp, n);
		free(tmp);
	}
	if (fp != NULL)
		fclose(fp);
	return rc;
}

/*
 * Read the raw value of name: from the environment, or from the file named
 * by name_FILE. *out is malloc'd or NULL when neither is set.
 */
static enum cm_err
cm_config_raw(const char *name, char **out, char *err, size_t errlen)
{
	char fname[256], why[512], *buf;
	const char *val, *path;
	size_t n;
	enum cm_err rc;

	*out = NULL;
	snprintf(fname, sizeof(fname), "%s_FILE", name);
	val = getenv(name);
	path = getenv(fname);
	if (val != NULL && path != NULL) {
		snprintf(err, errlen, "%s and %s are both set; set only one",
		    name, fname);
		return CM_EINVAL;
	}
	if (val != NULL) {
		if ((*out = strdup(val)) == NULL) {
			snprintf(err, errlen, "%s: out of memory", name);
			return CM_ENOMEM;
		}
		return CM_OK;
	}
	if (path == NULL)
		return CM_OK;
	rc = cm_config_file(
	    path, CM_CONFIG_FILE_MAX, &buf, &n, why, sizeof(why));
	if (rc != CM_OK) {
		snprintf(err, errlen, "%s: %s", fname, why);
		return rc;
	}
	/* Secrets files usually end with a newline that is not the value. */
	while (n > 0 && (buf[n - 1] == '\n' || buf[n - 1] == '\r'))
		n--;
	buf[n] = '\0';
	if (strlen(buf) != n) {
		snprintf(
		    err, errlen, "%s: %s contains a NUL byte", fname, path);
		free(buf);
		return CM_EINVAL;
	}
	*out = buf;
	return CM_OK;
}

enum cm_err
cm_config_str(const char *name, const char *def, int required, char **out,
    char *err, size_t errlen)
{
	enum cm_err rc;
	char *v;

	*out = NULL;
	if ((rc = cm_config_raw(name, &v, err, errlen)) != CM_OK)
		return rc;
	if (v != NULL && *v == '\0') {
		free(v);
		v = NULL;
	}
	if (v == NULL && def != NULL && (v = strdup(def)) == NULL) {
		snprintf(err, errlen, "%s: out of memory", name);
		return CM_ENOMEM;
	}
	if (v == NULL && required) {
		snprintf(err, errlen, "%s is required but not set", name);
		return CM_EINVAL;
	}
	*out = v;
	return CM_OK;
}

enum cm_err
cm_config_long(const char *name, long def, long min, long max, long *out,
    char *err, size_t errlen)
{
	enum cm_err rc;
	char *v, *end;
	long n;

	*out = def;
	if ((rc = cm_config_raw(name, &v, err, errlen)) != CM_OK)
		return rc;
	if (v == NULL || *v == '\0') {
		free(v);
		return CM_OK;
	}
	errno = 0;
	n = strtol(v, &end, 10);
	if (errno != 0 || end == v || *end != '\0' || n < min || n > max) {
		snprintf(err, errlen,
		    "%s=%.64s is invalid: expected an integer "
		    "from %ld to %ld",
		    name, v, min, max);
		free(v);
		return CM_EINVAL;
	}
	free(v);
	*out = n;
	return CM_OK;
}

enum cm_err
cm_config_bool(const char *name, int def, int *out, char *err, size_t errlen)
{
	static const char *const yes[] = {"1", "true", "yes", "on"};
	static const char *const no[] = {"0", "false", "no", "off"};
	enum cm_err rc;
	size_t i;
	char *v;

	*out = def;
	if ((rc = cm_config_raw(name, &v, err, errlen)) != CM_OK)
		return rc;
	if (v == NULL || *v == '\0') {
		free(v);
		return CM_OK;
	}
	for (i = 0; i < 4; i++) {
		if (strcasecmp(v, yes[i]) == 0 || strcasecmp(v, no[i]) == 0) {
			*out = strcasecmp(v, yes[i]) == 0;
			free(v);
			return CM_OK;
		}
	}
	snprintf(err, errlen,
	    "%s=%.64s is invalid: expected 1/0, true/false, "
	    "yes/no or on/off",
	    name, v);
	free(v);
	return CM_EINVAL;
}

void
cm_config_fatal(const char *prog, const char *err)
{
	fprintf(stderr, "%s: configuration error: %s\n", prog, err);
	exit(2);
}

char *
cm_config_str_or_exit(
    const char *prog, const char *name, const char *def, int required)
{
	char err[256], *v;

	if (cm_config_str(name, def, required, &v, err, sizeof(err)) != CM_OK)
		cm_config_fatal(prog, err);
	return v;
}

long
cm_config_long_or_exit(
    const char *prog, const char *name, long def, long min, long max)
{
	char err[256];
	long v;

	if (cm_config_long(name, def, min, max, &v, err, sizeof(err)) != CM_OK)
		cm_config_fatal(prog, err);
	return v;
}

int
cm_config_args(int argc, char **argv, const char *prog)
{
	if (argc == 2 && strcmp(argv[1], "--migrate") == 0)
		return 1;
	if (argc != 1) {
		fprintf(stderr, "usage: %s [--migrate]\n", prog);
		exit(2);
	}
	return 0;
}

void
cm_config_log_level(const char *prog)
{
	char *level = cm_config_str_or_exit(prog, "LOG_LEVEL", "info", 0);

	if (cm_log_set_level(level) != 0)
		cm_config_fatal(
		    prog, "LOG_LEVEL: must be debug, info, warn or error");
	free(level);
}

void
cm_config_server(const char *prog, const char *listen, long max_workers,
    struct cm_server_conf *conf)
{
	conf->listen = cm_config_str_or_exit(prog, "LISTEN", listen, 0);
	conf->admin_listen =
	    cm_config_str_or_exit(prog, "ADMIN_LISTEN", NULL, 0);
	conf->workers =
	    (int)cm_config_long_or_exit(prog, "WORKERS", 8, 1, max_workers);
	conf->max_body = (size_t)cm_config_long_or_exit(
	    prog, "MAX_BODY_BYTES", 1048576, 1024, 64L * 1024 * 1024);
	conf->shutdown_grace = (int)cm_config_long_or_exit(
	    prog, "SHUTDOWN_GRACE_SECONDS", 20, 0, 3600);
}

void
cm_config_server_free(struct cm_server_conf *conf)
{
	/* Both were allocated by cm_config_server, const only for the server. */
	free((char *)(uintptr_t)conf->listen);
	free((char *)(uintptr_t)conf->admin_listen);
	conf->listen = NULL;
	conf->admin_listen = NULL;
}

struct cm_jwt *
cm_config_jwt(const char *prog, int issues)
{
	struct cm_jwt *jwt;
	char err[256], *pub, *priv = NULL, *issuer, *audience;
	long ttl = 0;

	if (issues)
		ttl = cm_config_long_or_exit(
		    prog, "JWT_TTL_SECONDS", 86400L * 30, 60, 86400L * 366);
	pub = cm_config_str_or_exit(prog, "JWT_PUBLIC_KEY_FILE", NULL, 1);
	if (issues)
		priv = cm_config_str_or_exit(
		    prog, "JWT_PRIVATE_KEY_FILE", NULL, 1);
	issuer = cm_config_str_or_exit(prog, "JWT_ISSUER", "conduit", 0);
	audience = cm_config_str_or_exit(prog, "JWT_AUDIENCE", "conduit", 0);
	/* cm_jwt_new reads the files and copies the strings. */
	if (cm_jwt_new(&jwt, priv, pub, issuer, audience, ttl, err,
	        sizeof(err)) != CM_OK)
		cm_config_fatal(prog, err);
	free(pub);
	free(priv);
	free(issuer);
	free(audience);
	return jwt;
}
