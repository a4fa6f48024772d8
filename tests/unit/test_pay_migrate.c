/*
 * Pay's embedded migrations: numbered files whose versions increase, so
 * that none is skipped because another took its number.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include "unit.h"

#include "../../pay-fcgi/pay_migrate.h"

static void
test_versions(void **state)
{
	(void)state;
	assert_true(pay_migrations_count > 0);
	assert_int_equal(
	    cm_migration_check(pay_migrations, pay_migrations_count), 0);
}

UNIT_MAIN(
    cmocka_unit_test(test_versions))
