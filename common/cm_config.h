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
#include "cm_server.h"

/*
 * The whole file at path, at most max bytes, in a new buffer of exactly its
 * size plus a NUL (*len bytes before it), so that a caller holding a secret
 * knows how much to wipe; the scratch buffer is wiped too. CM_EINVAL or
 * CM_ENOMEM with "path: why" in err.
 */
enum cm_err cm_config_file(const char *path, size_t max, char **out,
    size_t *len, char *err, size_t errlen);

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

/*
 * cm_config_str and cm_config_long for start-up, where a bad value is
 * fatal: one line naming it (cm_config_fatal), then exit.
 */
char *cm_config_str_or_exit(
    const char *prog, const char *name, const char *def, int required);
long cm_config_long_or_exit(
    const char *prog, const char *name, long def, long min, long max);

/*
 * What both services' mains read the same way; a bad value is fatal (one
 * line naming it). cm_config_args: 1 for "prog --migrate", 0 for "prog";
 * anything else prints the usage and exits 2. cm_config_log_level: applies
 * LOG_LEVEL (default info).
 */
int cm_config_args(int argc, char **argv, const char *prog);
void cm_config_log_level(const char *prog);

/*
 * The server's settings into conf: LISTEN (default listen), ADMIN_LISTEN
 * (no admin port when unset), WORKERS (1..max_workers, default 8),
 * MAX_BODY_BYTES (1 KiB..64 MiB, default 1 MiB) and SHUTDOWN_GRACE_SECONDS
 * (0..3600, default 20). The two strings are conf's until
 * cm_config_server_free.
 */
void cm_config_server(const char *prog, const char *listen, long max_workers,
    struct cm_server_conf *conf);
void cm_config_server_free(struct cm_server_conf *conf);

/*
 * The token keys, read the same way by both services: JWT_PUBLIC_KEY_FILE
 * (required), JWT_ISSUER and JWT_AUDIENCE (default "conduit"); with issues
 * set (the blog signs tokens) also JWT_PRIVATE_KEY_FILE (required) and
 * JWT_TTL_SECONDS (60 s..366 days, default 30 days). A bad one, or keys
 * that do not load, is fatal. The caller frees with cm_jwt_free.
 */
struct cm_jwt *cm_config_jwt(const char *prog, int issues);

#endif
