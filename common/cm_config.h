/*
 * cm_config.h: settings from environment variables (12-factor). NAME_FILE,
 * when set, names a file whose content (trailing newline removed) is the
 * value; setting both NAME and NAME_FILE is an error.
 *
 * Each getter returns CM_OK, or CM_EINVAL with one line naming the variable
 * in err. cm_config_fatal prints that line and exits: use it only at start.
 */
#ifndef CM_CONFIG_H
#define CM_CONFIG_H

#include <stddef.h>

#include "cm_err.h"

/*
 * *out is malloc'd (caller frees) or NULL when unset and def is NULL.
 * required: unset (and no default) is an error.
 */
enum cm_err cm_config_str(const char *name, const char *def, int required,
    char **out, char *err, size_t errlen);

/* Decimal integer within [min, max]; def when unset. */
enum cm_err cm_config_long(const char *name, long def, long min, long max,
    long *out, char *err, size_t errlen);

/* "0/1/true/false/yes/no/on/off"; def when unset. */
enum cm_err cm_config_bool(
    const char *name, int def, int *out, char *err, size_t errlen);

void cm_config_fatal(const char *prog, const char *err)
    __attribute__((noreturn));

#endif
