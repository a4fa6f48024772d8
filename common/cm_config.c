/*
 * cm_config.c: settings from the environment, with NAME_FILE for secrets.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "cm_config.h"

#define CM_CONFIG_FILE_MAX ((size_t)64 * 1024)

/*
 * Read the raw value of name: from the environment, or from the file named
 * by name_FILE. *out is malloc'd or NULL when neither is set.
 */
static enum cm_err
cm_config_raw(const char *name, char **out, char *err, size_t errlen)
{
	char fname[256], *buf = NULL;
	const char *val, *path;
	FILE *fp = NULL;
	size_t n;
	enum cm_err rc = CM_EINVAL;

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
	if ((fp = fopen(path, "r")) == NULL) {
		snprintf(err, errlen, "%s: cannot open %s: %s", fname, path,
		    strerror(errno));
		goto out;
	}
	if ((buf = malloc(CM_CONFIG_FILE_MAX + 1)) == NULL) {
		snprintf(err, errlen, "%s: out of memory", fname);
		rc = CM_ENOMEM;
		goto out;
	}
	n = fread(buf, 1, CM_CONFIG_FILE_MAX + 1, fp);
	if (ferror(fp) || n > CM_CONFIG_FILE_MAX) {
		snprintf(err, errlen,
		    "%s: cannot read %s (or larger than "
		    "%zu bytes)",
		    fname, path, CM_CONFIG_FILE_MAX);
		goto out;
	}
	/* Secrets files usually end with a newline that is not the value. */
	while (n > 0 && (buf[n - 1] == '\n' || buf[n - 1] == '\r'))
		n--;
	buf[n] = '\0';
	if (strlen(buf) != n) {
		snprintf(
		    err, errlen, "%s: %s contains a NUL byte", fname, path);
		goto out;
	}
	*out = buf;
	buf = NULL;
	rc = CM_OK;
out:
	free(buf);
	if (fp != NULL)
		fclose(fp);
	return rc;
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
