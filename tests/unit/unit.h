/*
 * unit.h: what the cmocka programs in tests/unit share. A program whose
 * main only runs its tests ends with UNIT_MAIN(the tests) or, when the
 * whole group needs a set-up and tear-down, UNIT_MAIN_GROUP(setup,
 * teardown, the tests); main then exits with the number that failed.
 */
#ifndef UNIT_H
#define UNIT_H

/* cmocka.h needs these before it. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#define UNIT_MAIN_GROUP(setup, teardown, ...)                                  \
	int main(void)                                                         \
	{                                                                      \
		const struct CMUnitTest unit_tests[] = {__VA_ARGS__};          \
		return cmocka_run_group_tests_name(                            \
		    __FILE__, unit_tests, setup, teardown);                    \
	}

#define UNIT_MAIN(...) UNIT_MAIN_GROUP(NULL, NULL, __VA_ARGS__)

#endif
