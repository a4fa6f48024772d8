/*
 * test_cm_password.c: Argon2id hashing at the "test" cost (8 MiB, one
 * pass), which cm_password_init reads from PASSWORD_HASH_COST once.
 *
 * test_init must run first: it checks what happens before and during the
 * first cm_password_init, which later calls no longer repeat.
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <cmocka.h>

#include "cm_password.h"

static void
test_init(void **state)
{
	char hash[CM_PASSWORD_HASH_MAX];

	(void)state;
	/* Nothing works before init: there is no dummy hash yet. */
	assert_int_equal(cm_password_hash("pw", hash), CM_EINTERNAL);
	assert_int_equal(cm_password_verify(NULL, "pw"), CM_EINTERNAL);

	assert_int_equal(setenv("PASSWORD_HASH_COST", "cheap", 1), 0);
	assert_int_equal(cm_password_init(), CM_EINVAL);
	assert_int_equal(cm_password_hash("pw", hash), CM_EINTERNAL);
	assert_int_equal(setenv("PASSWORD_HASH_COST", "Test", 1), 0);
	assert_int_equal(cm_password_init(), CM_EINVAL);

	assert_int_equal(setenv("PASSWORD_HASH_COST", "test", 1), 0);
	/* The budget must hold one hash (8 MiB at "test") and be a number. */
	assert_int_equal(setenv("PASSWORD_HASH_MEMORY_BUDGET_MIB", "4", 1), 0);
	assert_int_equal(cm_password_init(), CM_EINVAL);
	assert_int_equal(
	    setenv("PASSWORD_HASH_MEMORY_BUDGET_MIB", "16x", 1), 0);
	assert_int_equal(cm_password_init(), CM_EINVAL);
	assert_int_equal(
	    setenv("PASSWORD_HASH_MEMORY_BUDGET_MIB", "20", 1), 0);
	assert_int_equal(setenv("PASSWORD_HASH_WAIT_MS", "-1", 1), 0);
	assert_int_equal(cm_password_init(), CM_EINVAL);
	assert_int_equal(setenv("PASSWORD_HASH_WAIT_MS", "500", 1), 0);
	assert_int_equal(cm_password_init(), CM_OK);
	/* 20 MiB / 8 MiB per hash: two at once, rounded down. */
	assert_int_equal(cm_password_concurrency(), 2);
	/* Read once: a later change of the variable is ignored. */
	assert_int_equal(setenv("PASSWORD_HASH_COST", "bogus", 1), 0);
	assert_int_equal(cm_password_init(), CM_OK);
	assert_int_equal(setenv("PASSWORD_HASH_COST", "test", 1), 0);
}

static int
t_setup(void **state)
{
	(void)state;
	if (setenv("PASSWORD_HASH_COST", "test", 1) != 0)
		return -1;
	return cm_password_init() == CM_OK ? 0 : -1;
}

static void
test_hash_verify(void **state)
{
	char hash[CM_PASSWORD_HASH_MAX];

	(void)state;
	assert_int_equal(cm_password_hash("correct horse", hash), CM_OK);
	/* Argon2id at the cost PASSWORD_HASH_COST=test asked for. */
	assert_memory_equal(hash, "$argon2id$v=19$m=8192,t=1,p=1$", 30);
	assert_true(strlen(hash) < CM_PASSWORD_HASH_MAX);
	assert_int_equal(cm_password_verify(hash, "correct horse"), CM_OK);
}

static void
test_wrong_password(void **state)
{
	char hash[CM_PASSWORD_HASH_MAX];
	const char *wrong[] = {"correct hors", "correct horse ",
	    "Correct horse", "", "correct\0horse"};
	size_t i;

	(void)state;
	assert_int_equal(cm_password_hash("correct horse", hash), CM_OK);
	for (i = 0; i < sizeof(wrong) / sizeof(wrong[0]); i++)
		assert_int_equal(cm_password_verify(hash, wrong[i]), CM_EAUTH);
	assert_int_equal(cm_password_verify(hash, NULL), CM_EAUTH);
}

static void
test_null_hash(void **state)
{
	(void)state;
	assert_int_equal(cm_password_verify(NULL, "anything"), CM_EAUTH);
	assert_int_equal(cm_password_verify(NULL, ""), CM_EAUTH);
	assert_int_equal(cm_password_verify(NULL, NULL), CM_EAUTH);
}

/* The same password twice: different salts, so different hashes. */
static void
test_salted(void **state)
{
	char h1[CM_PASSWORD_HASH_MAX], h2[CM_PASSWORD_HASH_MAX];

	(void)state;
	assert_int_equal(cm_password_hash("same", h1), CM_OK);
	assert_int_equal(cm_password_hash("same", h2), CM_OK);
	assert_string_not_equal(h1, h2);
	assert_int_equal(cm_password_verify(h1, "same"), CM_OK);
	assert_int_equal(cm_password_verify(h2, "same"), CM_OK);
}

static void
test_long_password(void **state)
{
	char hash[CM_PASSWORD_HASH_MAX], *pw;

	(void)state;
	pw = malloc(CM_PASSWORD_MAX + 2);
	assert_non_null(pw);
	memset(pw, 'p', CM_PASSWORD_MAX + 1);
	pw[CM_PASSWORD_MAX + 1] = '\0';
	assert_int_equal(cm_password_hash(pw, hash), CM_EINVAL);

	pw[CM_PASSWORD_MAX] = '\0';
	assert_int_equal(cm_password_hash(pw, hash), CM_OK);
	assert_int_equal(cm_password_verify(hash, pw), CM_OK);
	/*
	 * One byte more is refused unhashed, even against a hash that libsodium
	 * made of exactly that password behind our back.
	 */
	pw[CM_PASSWORD_MAX] = 'p';
	assert_int_equal(cm_password_verify(hash, pw), CM_EAUTH);
	assert_int_equal(crypto_pwhash_str_alg(hash, pw, CM_PASSWORD_MAX + 1,
	                     crypto_pwhash_OPSLIMIT_MIN, 8U * 1024 * 1024,
	                     crypto_pwhash_ALG_ARGON2ID13),
	    0);
	assert_int_equal(cm_password_verify(hash, pw), CM_EAUTH);
	free(pw);

	assert_int_equal(cm_password_hash(NULL, hash), CM_EINVAL);
}

static void
test_unicode_password(void **state)
{
	char hash[CM_PASSWORD_HASH_MAX];

	(void)state;
	assert_int_equal(
	    cm_password_hash("p\xc3\xa4ssw\xc3\xb6rd", hash), CM_OK);
	assert_int_equal(
	    cm_password_verify(hash, "p\xc3\xa4ssw\xc3\xb6rd"), CM_OK);
	/* The same text in another Unicode normal form is another password. */
	assert_int_equal(
	    cm_password_verify(hash, "pa\xcc\x88ssw\xc3\xb6rd"), CM_EAUTH);
}

static void
test_malformed_hash(void **state)
{
	char long_hash[300];
	const char *bad[] = {"", "correct horse", "$argon2id$",
	    "$argon2id$v=19$m=8192,t=1,p=1$",
	    "$argon2id$v=19$m=8192,t=1,p=1$c2FsdHNhbHRzYWx0$",
	    "$2b$12$abcdefghijklmnopqrstuuS0F1LF/fStp8M.N0PmpvcoD5cqHsgoi"};
	size_t i;

	(void)state;
	for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
		assert_int_equal(
		    cm_password_verify(bad[i], "correct horse"), CM_EAUTH);
	memset(long_hash, 'a', sizeof(long_hash) - 1);
	long_hash[sizeof(long_hash) - 1] = '\0';
	assert_int_equal(cm_password_verify(long_hash, "x"), CM_EAUTH);
}

/* The cost comes from the stored hash, not from the current setting. */
static void
test_verify_other_cost(void **state)
{
	char hash[crypto_pwhash_STRBYTES];

	(void)state;
	assert_int_equal(crypto_pwhash_str_alg(hash, "pw", 2, 2,
	                     16U * 1024 * 1024, crypto_pwhash_ALG_ARGON2ID13),
	    0);
	assert_int_equal(cm_password_verify(hash, "pw"), CM_OK);
	assert_int_equal(cm_password_verify(hash, "pW"), CM_EAUTH);
}

/*
 * The calling thread's CPU time, not the wall clock: the hash runs in this
 * thread, and CPU time does not grow while a loaded machine schedules
 * something else, so the comparison below holds at any load.
 */
static double
t_seconds(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_THREAD_CPUTIME_ID, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

/*
 * An unknown user (NULL hash) costs a real Argon2id verification. This is
 * a check of work done, not a timing target: both checks are counted in
 * this thread's CPU time (the fastest of several runs), and the dummy
 * must cost at least a quarter of a real one; skipping the dummy check
 * (microseconds against milliseconds of CPU) fails it.
 */
static void
test_null_hash_costs_time(void **state)
{
	char hash[CM_PASSWORD_HASH_MAX];
	double t, real = 1e9, dummy = 1e9;
	int i;

	(void)state;
	assert_int_equal(cm_password_hash("secret", hash), CM_OK);
	for (i = 0; i < 5; i++) {
		t = t_seconds();
		assert_int_equal(cm_password_verify(hash, "wrong"), CM_EAUTH);
		t = t_seconds() - t;
		if (t < real)
			real = t;
		t = t_seconds();
		assert_int_equal(cm_password_verify(NULL, "wrong"), CM_EAUTH);
		t = t_seconds() - t;
		if (t < dummy)
			dummy = t;
	}
	if (dummy < real / 4)
		fail_msg("unknown user took %.6f s, a real check %.6f s", dummy,
		    real);
}

int
main(void)
{
	const struct CMUnitTest first[] = {
	    cmocka_unit_test(test_init),
	};
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_hash_verify),
	    cmocka_unit_test(test_wrong_password),
	    cmocka_unit_test(test_null_hash),
	    cmocka_unit_test(test_salted),
	    cmocka_unit_test(test_long_password),
	    cmocka_unit_test(test_unicode_password),
	    cmocka_unit_test(test_malformed_hash),
	    cmocka_unit_test(test_verify_other_cost),
	    cmocka_unit_test(test_null_hash_costs_time),
	};
	int failed;

	failed =
	    cmocka_run_group_tests_name("cm_password_init", first, NULL, NULL);
	failed +=
	    cmocka_run_group_tests_name("cm_password", tests, t_setup, NULL);
	return failed;
}
