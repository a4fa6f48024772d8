/*
 * cm_migration.h: SQL migrations embedded in a binary at build time.
 *
 * The Makefile turns <binary>/migrations/NNN_name.sql into a generated C
 * file that defines <prefix>_migrations[] in ascending version order (see
 * common/cm_embed.c). Each binary applies them with its own database driver.
 */
#ifndef CM_MIGRATION_H
#define CM_MIGRATION_H

#include <stddef.h>

struct cm_migration {
	int version; /* NNN from the file name */
	const char *name; /* the file name */
	const char *sql; /* the whole file, NUL-terminated */
};

extern const struct cm_migration blog_migrations[];
extern const size_t blog_migrations_count;
extern const struct cm_migration pay_migrations[];
extern const size_t pay_migrations_count;

#endif
