/*
 * pay_migrate.h: apply pay_migrations[] (see cm_migration.h).
 */
#ifndef PAY_MIGRATE_H
#define PAY_MIGRATE_H

/* 0 when the schema is current, -1 (logged) otherwise. */
int pay_migrate_run(const char *db_url);

#endif
