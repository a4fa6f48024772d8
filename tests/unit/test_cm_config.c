/* Unit tests for cm_config: env values, _FILE variants, clear errors. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "unit.h"

#include "cm_config.h"
#include "cm_err.h"

static void
test_str(void **state)
{
	char err[256], *v;

	(void)state;
	unsetenv("T_STR");
	unsetenv("T_STR_FILE");
	assert_int_equal(cm_config_str("T_STR", "def", 0, &v, err,
	    sizeof(err)), CM_OK);
	assert_string_equal(v, "def");
	free(v);
	assert_int_equal(cm_config_str("T_STR", NULL, 0, &v, err,
	    sizeof(err)), CM_OK);
	assert_null(v);
	assert_int_equal(cm_config_str("T_STR", NULL, 1, &v, err,
	    sizeof(err)), CM_EINVAL);
	assert_non_null(strstr(err, "T_STR"));
	setenv("T_STR", "value", 1);
	assert_int_equal(cm_config_str("T_STR", "def", 1, &v, err,
	    sizeof(err)), CM_OK);
	assert_string_equal(v, "value");
	free(v);
	unsetenv("T_STR");
}

/* A new file from the mkstemp template path, holding len bytes of data. */
static void
t_tmpfile(char *path, const char *data, size_t len)
{
	int fd = mkstemp(path);

	assert_true(fd >= 0);
	assert_int_equal(write(fd, data, len), (ssize_t)len);
	close(fd);
}

static void
test_file(void **state)
{
	char path[] = "/tmp/cm_config_testXXXXXX", err[256], *v;

	(void)state;
	t_tmpfile(path, "s3cret\n", 7);
	setenv("T_SECRET_FILE", path, 1);
	assert_int_equal(cm_config_str("T_SECRET", NULL, 1, &v, err,
	    sizeof(err)), CM_OK);
	assert_string_equal(v, "s3cret");
	free(v);
	/* Both set is ambiguous. */
	setenv("T_SECRET", "x", 1);
	assert_int_equal(cm_config_str("T_SECRET", NULL, 1, &v, err,
	    sizeof(err)), CM_EINVAL);
	assert_non_null(strstr(err, "T_SECRET_FILE"));
	unsetenv("T_SECRET");
	unlink(path);
	assert_int_equal(cm_config_str("T_SECRET", NULL, 1, &v, err,
	    sizeof(err)), CM_EINVAL);
	assert_non_null(strstr(err, path));
	unsetenv("T_SECRET_FILE");
}

/* cm_config_file: the bytes as they are, a NUL after them, and a bound. */
static void
test_file_bounds(void **state)
{
	char path[] = "/tmp/cm_config_testXXXXXX", err[256], *buf;
	size_t len;

	(void)state;
	t_tmpfile(path, "ab\0cd", 5);
	assert_int_equal(
	    cm_config_file(path, 5, &buf, &len, err, sizeof(err)), CM_OK);
	assert_int_equal(len, 5);
	assert_memory_equal(buf, "ab\0cd", 6);
	free(buf);
	/* One byte over the bound. */
	assert_int_equal(
	    cm_config_file(path, 4, &buf, &len, err, sizeof(err)), CM_EINVAL);
	assert_null(buf);
	assert_non_null(strstr(err, "larger than 4 bytes"));
	/* As a setting's file, the NUL is refused and the setting named. */
	setenv("T_NUL_FILE", path, 1);
	assert_int_equal(
	    cm_config_str("T_NUL", NULL, 1, &buf, err, sizeof(err)), CM_EINVAL);
	assert_non_null(strstr(err, "T_NUL_FILE"));
	assert_non_null(strstr(err, "NUL byte"));
	unsetenv("T_NUL_FILE");
	unlink(path);
}

static void
test_long(void **state)
{
	char err[256];
	long n;

	(void)state;
	unsetenv("T_N");
	assert_int_equal(cm_config_long("T_N", 8, 1, 64, &n, err, sizeof(err)),
	    CM_OK);
	assert_int_equal(n, 8);
	setenv("T_N", "16", 1);
	assert_int_equal(cm_config_long("T_N", 8, 1, 64, &n, err, sizeof(err)),
	    CM_OK);
	assert_int_equal(n, 16);
	setenv("T_N", "65", 1);
	assert_int_equal(cm_config_long("T_N", 8, 1, 64, &n, err, sizeof(err)),
	    CM_EINVAL);
	assert_non_null(strstr(err, "T_N=65"));
	setenv("T_N", "12abc", 1);
	assert_int_equal(cm_config_long("T_N", 8, 1, 64, &n, err, sizeof(err)),
	    CM_EINVAL);
	setenv("T_N", "99999999999999999999999", 1);
	assert_int_equal(cm_config_long("T_N", 8, 1, 64, &n, err, sizeof(err)),
	    CM_EINVAL);
	unsetenv("T_N");
}

static void
test_bool(void **state)
{
	char err[256];
	int b;

	(void)state;
	unsetenv("T_B");
	assert_int_equal(cm_config_bool("T_B", 1, &b, err, sizeof(err)), CM_OK);
	assert_int_equal(b, 1);
	setenv("T_B", "off", 1);
	assert_int_equal(cm_config_bool("T_B", 1, &b, err, sizeof(err)), CM_OK);
	assert_int_equal(b, 0);
	setenv("T_B", "YES", 1);
	assert_int_equal(cm_config_bool("T_B", 0, &b, err, sizeof(err)), CM_OK);
	assert_int_equal(b, 1);
	setenv("T_B", "maybe", 1);
	assert_int_equal(cm_config_bool("T_B", 0, &b, err, sizeof(err)),
	    CM_EINVAL);
	assert_non_null(strstr(err, "T_B"));
	unsetenv("T_B");
}

static void
test_err_table(void **state)
{
	static const struct {
		enum cm_err code;
		int status;
	} table[] = {{CM_OK, 200}, {CM_EINVAL, 400}, {CM_EAUTH, 401},
	    {CM_EEXPIRED, 401}, {CM_EREVOKED, 401}, {CM_EFORBIDDEN, 403}, {CM_ENOTFOUND, 404},
	    {CM_EMETHOD, 405}, {CM_ECONFLICT, 409}, {CM_ETOOBIG, 413},
	    {CM_EVALIDATION, 422}, {CM_EUNAVAIL, 503}, {CM_EDB, 500},
	    {(enum cm_err)999, 500}};
	size_t i;

	(void)state;
	for (i = 0; i < sizeof(table) / sizeof(table[0]); i++)
		assert_int_equal(cm_err_status(table[i].code), table[i].status);
	assert_string_equal(cm_err_name(CM_EUNAVAIL), "EUNAVAIL");
}

/* The settings both mains share: defaults, then values from the env. */
static void
test_server(void **state)
{
	char *argv[] = {"prog", "--migrate", NULL};
	struct cm_server_conf conf;
	static const char *const names[] = {"LISTEN", "ADMIN_LISTEN", "WORKERS",
		"MAX_BODY_BYTES", "SHUTDOWN_GRACE_SECONDS"};
	size_t i;

	(void)state;
	assert_int_equal(cm_config_args(1, argv, "prog"), 0);
	assert_int_equal(cm_config_args(2, argv, "prog"), 1);
	for (i = 0; i < sizeof(names) / sizeof(names[0]); i++)
		unsetenv(names[i]);
	memset(&conf, 0, sizeof(conf));
	cm_config_server("prog", "127.0.0.1:9001", 256, &conf);
	assert_string_equal(conf.listen, "127.0.0.1:9001");
	assert_null(conf.admin_listen);
	assert_int_equal(conf.workers, 8);
	assert_int_equal(conf.max_body, 1048576);
	assert_int_equal(conf.shutdown_grace, 20);
	cm_config_server_free(&conf);
	setenv("LISTEN", "/tmp/x.sock", 1);
	setenv("ADMIN_LISTEN", "127.0.0.1:9200", 1);
	setenv("WORKERS", "256", 1);
	setenv("MAX_BODY_BYTES", "1024", 1);
	setenv("SHUTDOWN_GRACE_SECONDS", "0", 1);
	cm_config_server("prog", "127.0.0.1:9001", 256, &conf);
	assert_string_equal(conf.listen, "/tmp/x.sock");
	assert_string_equal(conf.admin_listen, "127.0.0.1:9200");
	assert_int_equal(conf.workers, 256);
	assert_int_equal(conf.max_body, 1024);
	assert_int_equal(conf.shutdown_grace, 0);
	cm_config_server_free(&conf);
	assert_null(conf.listen);
	for (i = 0; i < sizeof(names) / sizeof(names[0]); i++)
		unsetenv(names[i]);
}

UNIT_MAIN(
    cmocka_unit_test(test_str),
    cmocka_unit_test(test_file),
    cmocka_unit_test(test_file_bounds),
    cmocka_unit_test(test_long),
    cmocka_unit_test(test_bool),
    cmocka_unit_test(test_err_table),
    cmocka_unit_test(test_server))
