/*
 * cm_migration.h: SQL migrations embedded in a binary at build time.
 *
 * The Makefile turns <binary>/migrations/NNN_name.sql into a generated C
 * file that defines <prefix>_migrations[] and <prefix>_migrations_count in
 * ascending version order (see common/embed/cm_embed.c). Each binary
 * declares its own array beside its migration code, so common names none
 * of its clients.
 */
#ifndef CM_MIGRATION_H
#define CM_MIGRATION_H

#include <stddef.h>

struct cm_migration {
	int version; /* NNN from the file name */
	const char *name; /* the file name */
	const char *sql; /* the whole file, NUL-terminated */
};

#endif
